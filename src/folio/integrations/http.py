"""The one way connectors call their sources: through the outbound guard, with the credentials' headers, rate
limits and passing failures retried with backoff, an expired OAuth token refreshed once, and every call's latency
in `folio_integration_request_seconds`.

A source's answer body is never put in an error, a log line or a response: it may echo the credentials.
"""

from __future__ import annotations

import re
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Annotated, Any, Protocol

import anyio
import httpx2
from prometheus_client import Histogram
from pydantic import AfterValidator, SecretStr

from folio.integrations.errors import CredentialsRejected, ItemTooLarge, SourceRefused, SourceUnavailable
from folio.jitter import jitter
from folio.outbound import OutboundPolicy, OutboundRefused, OutboundURLForbidden, ResponseRefused, guarded_client

REQUEST_SECONDS = Histogram(
    "folio_integration_request_seconds",
    "Calls to connected sources (Notion, Confluence, Guru, the web) by kind and outcome (status class, "
    "`rate_limited`, `error` for no answer).",
    ["kind", "outcome"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
# The statuses that say "try again": rate limited, or the source is having a moment.
_PASSING = frozenset({429, 500, 502, 503, 504})
_BACKOFF_CAP_SECONDS = 30.0


def _header_safe(secret: SecretStr) -> SecretStr:
    if not _VISIBLE_ASCII.fullmatch(secret.get_secret_value()):
        raise ValueError("must be visible ASCII characters only (as API tokens are)")
    return secret


_VISIBLE_ASCII = re.compile(r"[\x21-\x7e]+")
# A token sent in a header: no space, control or non-ASCII character can reach one.
HeaderSecret = Annotated[SecretStr, AfterValidator(_header_safe)]


class Authorizer(Protocol):
    def headers(self) -> Mapping[str, str]:
        """The headers that carry the credentials."""
        ...

    async def refresh(self) -> bool:
        """Renew credentials the source called expired; False when they cannot be renewed."""
        ...


@dataclass(frozen=True, slots=True)
class StaticAuth:
    """Credentials that do not expire on their own (an API token, an internal integration's secret)."""

    values: Mapping[str, str]

    def headers(self) -> Mapping[str, str]:
        return self.values

    async def refresh(self) -> bool:
        return False


@dataclass(frozen=True, slots=True)
class Retrying:
    max_retries: int = 5
    max_wait_seconds: float = 60.0


class SourceHttp:
    """An HTTP client for one sync (or one check) of one integration; use it as an async context manager."""

    def __init__(self, kind: str, policy: OutboundPolicy, auth: Authorizer, retrying: Retrying = Retrying()) -> None:
        self.kind = kind
        self.auth = auth
        self.retrying = retrying
        self.requests = 0
        self._client = guarded_client(policy)

    async def __aenter__(self) -> SourceHttp:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        await self._client.aclose()

    async def json(self, method: str, url: str, *, what: str, **kwargs: Any) -> Any:
        """The parsed JSON answer to a call (see `request`)."""
        response = await self.request(method, url, what=what, **kwargs)
        try:
            return response.json()
        except ValueError as exc:
            raise SourceUnavailable(f"The source's answer to {what} is not JSON.") from exc

    async def request(
        self,
        method: str,
        url: str,
        *,
        what: str,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        accept: Collection[int] = (),
        credentials: bool = True,
    ) -> httpx2.Response:
        """A 2xx answer, or one of the statuses in `accept` (a 304, a redirect the caller follows), read whole.
        `what` names the call in errors ("the page listing"). `credentials=False` sends none (a signed URL the source
        redirected to, which carries its own).

        Raises `CredentialsRejected` (401 after a refresh, if any, was tried), `SourceRefused` (another 4xx: the
        connector decides, a 404 often meaning `ItemGone`), `SourceUnavailable` (no answer, 5xx or 429 past the
        retries, or a Retry-After longer than the server waits), `ItemTooLarge`, `OutboundURLForbidden`."""
        refreshed = False
        attempt = 0
        while True:
            sent = {**self.auth.headers(), **(headers or {})} if credentials else dict(headers or {})
            response = await self._send(method, url, what=what, params=params, json=json, headers=sent)
            if response is not None and (response.is_success or response.status_code in accept):
                return response
            if response is not None and response.status_code == 401:
                if not refreshed and await self.auth.refresh():
                    refreshed = True
                    continue
                raise CredentialsRejected()
            if response is not None and response.status_code not in _PASSING:
                raise SourceRefused(response.status_code, what)
            asked = _retry_after(response) if response is not None else None
            if asked is not None and asked > self.retrying.max_wait_seconds:
                raise SourceUnavailable(
                    f"The source asked to wait {asked:.0f} s before {what}.", details={"retry_after_seconds": asked}
                )
            wait = asked
            if wait is None:
                wait = min(2.0**attempt, _BACKOFF_CAP_SECONDS) * jitter(0.5, 1.0)
            if attempt >= self.retrying.max_retries:
                status = None if response is None else response.status_code
                raise SourceUnavailable(
                    f"The source kept failing {what} ({attempt + 1} tries).", details={"status": status}
                )
            attempt += 1
            await anyio.sleep(wait)

    async def _send(
        self,
        method: str,
        url: str,
        *,
        what: str,
        params: Mapping[str, Any] | None,
        json: Any,
        headers: Mapping[str, str],
    ) -> httpx2.Response | None:
        """The answer, or None when none came (a timeout, a refused or broken connection)."""
        started = time.perf_counter()
        outcome = "error"
        try:
            response = await self._client.request(method, url, params=params, json=json, headers=headers)
        except ResponseRefused as exc:
            raise ItemTooLarge(details={"item": what}) from exc
        except OutboundRefused as exc:
            raise OutboundURLForbidden(details={"host": exc.host, "reason": exc.reason}) from exc
        except httpx2.HTTPError:
            return None
        else:
            outcome = "rate_limited" if response.status_code == 429 else f"{response.status_code // 100}xx"
            return response
        finally:
            self.requests += 1
            REQUEST_SECONDS.labels(self.kind, outcome).observe(time.perf_counter() - started)


def _retry_after(response: httpx2.Response) -> float | None:
    """The wait a Retry-After asks for, in seconds (a number of seconds or an HTTP date), if it says one."""
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
