"""structlog configured once; stdlib loggers (uvicorn, alembic) render through the same processors."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any, cast

import orjson
import structlog
from structlog.types import EventDict

from folio.settings import LogSettings

_handler: logging.Handler | None = None

# What every line carries besides its own fields: the request's context variables, level, logger name and time.
_SHARED: tuple[structlog.types.Processor, ...] = (
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
)


def _dumps(event: Any, **options: Any) -> str:
    """orjson (a third of the standard library's time per access line), or `json` for what orjson refuses (an
    integer wider than 64 bits)."""
    try:
        return orjson.dumps(event, default=options.get("default"), option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        return json.dumps(event, **options)


def configure_logging(settings: LogSettings) -> None:
    """Idempotent: replaces only the handler it installed before, never other handlers on the root logger."""
    global _handler
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer(serializer=_dumps)
        if settings.json_output
        else structlog.dev.ConsoleRenderer()
    )
    # Threads and processes are in no line Folio writes: the standard library need not find them out for each
    # record (the logging HOWTO's "Optimization"). Where calls came from stays: pytest's log reports show it.
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    structlog.configure(
        # A line below the level in force is dropped first, before any processor runs (debug lines are many).
        processors=[structlog.stdlib.filter_by_level, *_SHARED, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=_SHARED,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    if _handler is not None:
        root.removeHandler(_handler)
    root.addHandler(handler)
    _handler = handler
    root.setLevel(settings.level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    # Folio writes its own access line per request, with the route template, org and principal.
    logging.getLogger("uvicorn.access").disabled = True


def write_line(logger: logging.Logger, level: int, event: str, fields: dict[str, Any]) -> None:
    """One line of `logger` with structlog's fields, handed to the standard library's handlers as structlog's
    stdlib path hands it (an event dict in `msg`, read by the `ProcessorFormatter`) without what that path costs
    besides: a bound logger's processor chain and the caller's frame looked up (the frame of a hot path's line is
    always the same). Half the CPU of `structlog.get_logger(...).info(...)`: for the access log, a line per request.
    """
    if not logger.isEnabledFor(level):
        return
    method = logging.getLevelName(level).lower()
    event_dict: EventDict = {"event": event, **fields}
    for processor in _SHARED:
        event_dict = cast(EventDict, processor(logger, method, event_dict))
    record = logging.LogRecord(logger.name, level, "", 0, event_dict, None, None)
    # The marks structlog's `wrap_for_formatter` leaves: the formatter takes `msg` as an event dict to render.
    record._logger = logger
    record._name = method
    logger.handle(record)
