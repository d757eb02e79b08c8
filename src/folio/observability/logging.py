"""structlog configured once; stdlib loggers (uvicorn, alembic) render through the same processors."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

import orjson
import structlog

from folio.settings import LogSettings

_handler: logging.Handler | None = None


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
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
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
        processors=[structlog.stdlib.filter_by_level, *shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
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
