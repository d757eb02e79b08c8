"""The private PostgreSQL server that runs when no FOLIO_DATABASE_URL is configured."""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import structlog

with warnings.catch_warnings():
    # platformdirs warns when the machine has no XDG_RUNTIME_DIR; pgserver then uses /tmp, which is fine.
    warnings.simplefilter("ignore", UserWarning)
    from pgserver.postgres_server import get_server

log = structlog.get_logger(__name__)

_HANDLES_FILE = ".handle_pids.json"


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _forget_dead_processes(pgdata: Path) -> None:
    """pgserver stops the server when its last handle exits, counting handles by pid in a file.

    A process killed without cleanup stays in that file forever and keeps the server from ever
    stopping, so pids that are no longer alive are dropped before a new handle is taken.
    """
    handles = pgdata / _HANDLES_FILE
    if not handles.exists():
        return
    pids = [pid for pid in json.loads(handles.read_text() or "[]") if _process_alive(pid)]
    handles.write_text(json.dumps(pids))


class EmbeddedPostgres:
    """A handle on the embedded server. The server stops when the last process holding a handle releases
    it (or exits); its data stays for the next start."""

    def __init__(self, pgdata: Path) -> None:
        pgdata.parent.mkdir(parents=True, exist_ok=True)
        if pgdata.exists():
            _forget_dead_processes(pgdata)
        self._server = get_server(pgdata, cleanup_mode="stop")
        self.url: str = self._server.get_uri()
        log.info("embedded_postgres_ready", data_dir=str(pgdata))

    def release(self) -> None:
        self._server.cleanup()
