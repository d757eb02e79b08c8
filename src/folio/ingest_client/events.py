"""The server's live job events (`GET /api/v1/events`, server-sent events), read on a thread of their own.

`folio ingest` opens the stream before its first upload, so no event of the run's jobs is missed, and reads it from
the start: left unread during a long upload, the socket would fill and the server would drop the stream as a
client too slow to keep up. What the thread keeps is the latest event of each job, so its memory follows the
number of jobs, not the number of events.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import httpx

from folio.ingest_client.http import EVENTS

TYPES = ("job.queued", "job.started", "job.progress", "job.succeeded", "job.failed", "job.cancelled")
FINAL = frozenset({"succeeded", "failed", "cancelled"})
# Four of the server's default heartbeats (15 s): a stream silent for longer is dead.
READ_TIMEOUT = 60.0
# A Folio server subscribes the stream before it answers and then writes a `retry:` line at once; waiting for a
# first line (briefly: another server may send nothing until its first event) makes sure it listens before the
# uploads start.
GREETING_WAIT = 2.0


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    id: str | None
    type: str
    data: str


def parse(lines: Iterable[str]) -> Iterator[ServerSentEvent]:
    """The events of a server-sent-event stream, line by line (comments skipped, a blank line ends an event)."""
    event_id: str | None = None
    event_type = ""
    data: list[str] = []
    for line in lines:
        if not line:
            if data or event_id is not None:
                yield ServerSentEvent(event_id, event_type or "message", "\n".join(data))
            event_id, event_type, data = None, "", []
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            data.append(value)
        elif name == "event":
            event_type = value
        elif name == "id" and "\0" not in value:
            event_id = value


class JobEvents:
    """The latest `data` of each job event received since the last `take()`, from a stream read in the
    background. `failure` says why the stream is not open (None while it is)."""

    def __init__(self, base_url: str, headers: dict[str, str]) -> None:
        self._client = httpx.Client(
            base_url=base_url, headers=headers, timeout=httpx.Timeout(READ_TIMEOUT, connect=5.0)
        )
        self._changed = threading.Condition()
        self._latest: dict[str, dict[str, Any]] = {}
        self._response: httpx.Response | None = None
        self._reader: threading.Thread | None = None
        self._greeted = threading.Event()
        self.last_event_id: str | None = None
        self.failure: str | None = "not opened"
        self.connections = 0

    def open(self) -> bool:
        """Connect, resuming after the last event seen if there was one; False (and `failure` says why) when the
        server does not answer with a stream: an older server (404), a refusal, no connection."""
        headers = {"Accept": "text/event-stream"}
        if self.last_event_id is not None:
            headers["Last-Event-ID"] = self.last_event_id
        request = self._client.build_request("GET", EVENTS, params={"types": ",".join(TYPES)}, headers=headers)
        try:
            response = self._client.send(request, stream=True)
        except httpx.TransportError as exc:
            self.failure = str(exc) or type(exc).__name__
            return False
        if response.status_code != 200 or not response.headers.get("content-type", "").startswith("text/event-stream"):
            response.close()
            self.failure = f"it answers {response.status_code} {response.reason_phrase}"
            return False
        self.connections += 1
        self.failure = None
        self._response = response
        self._greeted.clear()
        self._reader = threading.Thread(target=self._read, args=(response,), name="folio-ingest-events", daemon=True)
        self._reader.start()
        self._greeted.wait(GREETING_WAIT)
        return True

    def take(self, timeout: float) -> dict[str, dict[str, Any]]:
        """Job id -> the latest event data received since the last call, waiting up to `timeout` seconds for one;
        empty after the wait, or at once when the stream has ended (`failure` is set)."""
        with self._changed:
            if not self._latest and self.failure is None:
                self._changed.wait(timeout)
            latest, self._latest = self._latest, {}
            return latest

    def close(self) -> None:
        if self._response is not None:
            # Closing a socket does not wake a thread blocked reading it; shutting it down does.
            stream = self._response.extensions.get("network_stream")
            sock = stream.get_extra_info("socket") if stream is not None else None
            if isinstance(sock, socket.socket):
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
        if self._reader is not None:
            self._reader.join(timeout=5)
        self._client.close()

    def __enter__(self) -> JobEvents:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def _read(self, response: httpx.Response) -> None:
        reason = "the server closed the stream"
        try:
            for event in parse(self._lines(response)):
                self._receive(event)
        except (httpx.HTTPError, httpx.StreamError, OSError) as exc:
            reason = str(exc) or type(exc).__name__
        finally:
            response.close()
            with self._changed:
                self.failure = reason
                self._changed.notify_all()
            self._greeted.set()

    def _lines(self, response: httpx.Response) -> Iterator[str]:
        for line in response.iter_lines():
            self._greeted.set()
            yield line

    def _receive(self, event: ServerSentEvent) -> None:
        try:
            body = json.loads(event.data) if event.data else None
        except ValueError:
            body = None
        subject = body.get("subject") if isinstance(body, dict) else None
        data = body.get("data") if isinstance(body, dict) else None
        with self._changed:
            if event.id is not None:
                self.last_event_id = event.id
            if not (isinstance(subject, dict) and subject.get("type") == "job" and isinstance(data, dict)):
                return
            job_id = str(subject.get("id"))
            known = self._latest.get(job_id)
            # A progress event published late never hides the outcome that came before it.
            if known is None or known.get("status") not in FINAL:
                self._latest[job_id] = data
            self._changed.notify_all()
