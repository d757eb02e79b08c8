"""The client's logic, written once, without I/O.

Every operation is a *flow*: a generator that yields what it needs done (send this request, sleep this long,
refresh the access token, read the next event of a stream…) and receives the outcome. `_drivers.py` runs flows,
synchronously for `Folio` and asynchronously for `AsyncFolio`; that is the only code the two clients do not share.
Retries, token refresh, pagination, waiting for jobs and folder uploads are all flows.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Generator, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import IO, Any, TypeVar, cast
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError
from pydantic_core import to_jsonable_python

from folio_client._sse import ServerSentEvent
from folio_client.errors import APIConnectionError, APITimeoutError, InvalidResponseError, status_error
from folio_client.models import Tokens

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

API = "/api/v1"
# Methods whose repetition has no further effect: retried even when a request may have reached the server.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
# Statuses by which the server says it did not do the work and it may be asked again (with Retry-After).
RETRY_STATUSES = frozenset({429, 503})
# Failures before a request left: repeating it is safe whatever the method.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
INITIAL_BACKOFF = 0.5
MAX_BACKOFF = 8.0
_jitter = random.SystemRandom()


@dataclass(frozen=True)
class Send:
    """Send a request; the response (body read unless `stream`), or the transport error raised into the flow."""

    request: httpx.Request
    stream: bool = False


@dataclass(frozen=True)
class ReadBody:
    """Read (and close) a streamed response, to take its error envelope."""

    response: httpx.Response


@dataclass(frozen=True)
class Sleep:
    seconds: float


@dataclass(frozen=True)
class Refresh:
    """Refresh the access token, once among concurrent requests: unless another one did since `stale` was sent
    (None: refresh whatever the token is). The new `Tokens`, or None when another request had refreshed them."""

    stale: str | None


@dataclass(frozen=True)
class Listen:
    """Read a streamed `text/event-stream` response in the background; a handle for `NextEvent` and `Close`."""

    response: httpx.Response


@dataclass(frozen=True)
class NextEvent:
    """The next event of a listened stream: a `ServerSentEvent`, None when none came within `timeout` seconds,
    or `StreamEnded`."""

    handle: object
    timeout: float


@dataclass(frozen=True)
class Close:
    handle: object


@dataclass(frozen=True)
class StreamEnded:
    reason: str
    last_event_id: str | None


Action = Send | ReadBody | Sleep | Refresh | Listen | NextEvent | Close
Flow = Generator[Action, object, T]


def path(template: str, *ids: object) -> str:
    """An API path with each id quoted as one segment (an id holding `/` or `..` cannot reach another route)."""
    return API + template.format(*(quote(str(each), safe="") for each in ids))


@dataclass(frozen=True)
class Upload:
    """A file for a multipart `files` field, opened anew for every attempt; `on_progress` hears the bytes sent."""

    filename: str
    source: Path | bytes
    on_progress: Callable[[int], None] | None = None

    @contextmanager
    def open(self) -> Iterator[IO[bytes]]:
        stream: IO[bytes]
        if isinstance(self.source, bytes):
            stream = BytesIO(self.source)
        else:
            stream = self.source.open("rb")
        with stream:
            yield stream if self.on_progress is None else cast(IO[bytes], _Counting(stream, self.on_progress))


class _Counting:
    """A binary file that reports how many bytes were read from it so far (httpx reads, seeks and tells)."""

    def __init__(self, stream: IO[bytes], on_progress: Callable[[int], None]) -> None:
        self._stream = stream
        self._on_progress = on_progress
        self._sent = 0

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self._sent += len(data)
        self._on_progress(self._sent)
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        self._sent = self._stream.seek(offset, whence)
        return self._sent

    def tell(self) -> int:
        return self._stream.tell()


@dataclass(frozen=True)
class Call:
    """One API request, as a flow describes it; `Core.send` builds it anew for each attempt."""

    method: str
    path: str
    params: Mapping[str, str | list[str]] | None = None
    json: object = None
    upload: Upload | None = None
    form: Mapping[str, str] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    # Whether the request may be sent again after a failure that leaves unknown whether the server received it;
    # None: when its method is idempotent.
    retry_safe: bool | None = None
    max_retries: int | None = None
    authenticated: bool = True
    stream: bool = False
    timeout: httpx.Timeout | None = None

    @property
    def idempotent(self) -> bool:
        return self.method in IDEMPOTENT_METHODS if self.retry_safe is None else self.retry_safe


class Credentials:
    """An API key, or an access token and the refresh token that renews it. Tokens from `login`, `register` or a
    refresh replace the key; `on_tokens` hears every new pair (to store it)."""

    def __init__(
        self,
        *,
        api_key: str | None,
        access_token: str | None,
        refresh_token: str | None,
        on_tokens: Callable[[Tokens], None] | None,
    ) -> None:
        self.api_key = api_key
        self.access_token = access_token
        self.refresh_token = refresh_token
        self.on_tokens = on_tokens

    def headers(self) -> dict[str, str]:
        if self.access_token:
            return {"Authorization": f"Bearer {self.access_token}"}
        if self.api_key:
            return {"X-API-Key": self.api_key}
        return {}

    def take(self, tokens: Tokens) -> None:
        self.api_key = None
        self.access_token, self.refresh_token = tokens.access_token, tokens.refresh_token
        if self.on_tokens is not None:
            self.on_tokens(tokens)


@dataclass
class Core:
    """What both clients share: where the server is, how to authenticate, and how to retry."""

    base_url: str
    credentials: Credentials
    org_id: str | None
    timeout: httpx.Timeout
    max_retries: int
    max_retry_wait: float
    user_agent: str

    def build(self, call: Call, body: Mapping[str, Any]) -> httpx.Request:
        headers = {"User-Agent": self.user_agent, "Accept": "application/json", **call.headers}
        if call.authenticated:
            headers.update(self.credentials.headers())
            if self.org_id is not None:
                headers["X-Org-Id"] = self.org_id
        timeout = call.timeout or self.timeout
        return httpx.Request(
            call.method,
            self.base_url + call.path,
            params=call.params,
            headers=headers,
            extensions={"timeout": timeout.as_dict()},
            **body,
        )

    def send(self, call: Call) -> Flow[httpx.Response]:
        """The response to `call` (status < 400), after waiting out and retrying what the server asks to retry
        (429, 503: `Retry-After` when it says one, else exponential backoff with jitter), connection failures
        (for any method when the request never left; for retry-safe calls otherwise), and refreshing an expired
        access token once. Raises the `FolioError` of the last answer."""
        attempt = 0
        refreshed = False
        limit = self.max_retries if call.max_retries is None else call.max_retries
        while True:
            presented = self.credentials.access_token
            try:
                with _body(call) as body:
                    response = cast(httpx.Response, (yield Send(self.build(call, body), call.stream)))
            except httpx.TransportError as exc:
                delay = self.backoff(attempt, limit) if call.idempotent or isinstance(exc, _NOT_SENT) else None
                if delay is None:
                    raise _connection_error(exc) from exc
                yield Sleep(delay)
                attempt += 1
                continue
            if response.status_code < 400:
                return response
            if call.stream:
                yield ReadBody(response)
            error = status_error(response)
            renewable = call.authenticated and presented is not None and self.credentials.refresh_token is not None
            if error.code == "AUTH_EXPIRED" and renewable and not refreshed:
                refreshed = True
                yield Refresh(presented)
                continue
            if response.status_code in RETRY_STATUSES:
                delay = self.retry_wait(attempt, limit, error.retry_after)
                if delay is not None:
                    yield Sleep(delay)
                    attempt += 1
                    continue
            raise error

    def fetch(self, call: Call, model: type[M]) -> Flow[M]:
        response = yield from self.send(call)
        return parse(response, model)

    def refresh(self) -> Flow[Tokens]:
        """Trade the refresh token for a new pair. Never sent twice: the server revokes a session whose refresh
        token comes back after use."""
        token = self.credentials.refresh_token
        if token is None:
            raise ValueError("this client holds no refresh token: log in, or pass refresh_token")
        call = Call("POST", path("/auth/refresh"), json={"refresh_token": token}, authenticated=False, retry_safe=False)
        tokens = yield from self.fetch(call, Tokens)
        self.credentials.take(tokens)
        return tokens

    def retry_wait(self, attempt: int, limit: int, retry_after: float | None) -> float | None:
        """How long to wait before retrying an answer that asks for it; None: no retry (the retries are spent, or
        the server asks for a longer wait than `max_retry_wait`)."""
        if attempt >= limit:
            return None
        if retry_after is None:
            return self.backoff(attempt, limit)
        return retry_after if retry_after <= self.max_retry_wait else None

    def backoff(self, attempt: int, limit: int) -> float | None:
        if attempt >= limit:
            return None
        return min(INITIAL_BACKOFF * 2.0**attempt, MAX_BACKOFF) * _jitter.uniform(0.75, 1.0)


@contextmanager
def _body(call: Call) -> Iterator[dict[str, Any]]:
    if call.upload is None:
        yield {} if call.json is None else {"json": to_jsonable_python(call.json)}
        return
    with call.upload.open() as stream:
        yield {"files": {"files": (call.upload.filename, stream)}, "data": dict(call.form or {})}


def _connection_error(exc: httpx.TransportError) -> APIConnectionError:
    reason = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(f"The server did not answer in time ({reason}).")
    return APIConnectionError(f"Cannot reach the server ({reason}).")


def parse(response: httpx.Response, model: type[M]) -> M:
    try:
        return model.model_validate_json(response.content)
    except ValidationError as exc:
        raise InvalidResponseError(
            f"The answer to {response.request.method} {response.request.url.path} is not a {model.__name__}.",
            status=response.status_code,
        ) from exc


def events_of(handle: object, timeout: float) -> Flow[ServerSentEvent | StreamEnded | None]:
    item = yield NextEvent(handle, timeout)
    return cast("ServerSentEvent | StreamEnded | None", item)
