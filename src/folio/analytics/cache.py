"""Analytics answers kept per organization and question.

An answer is kept for `cache_seconds`, and dropped as soon as an event of its organization arrives: this process's
hub hears every process's events (through the bus, or its catch-up read of the outbox), so an answer cached in one
API process goes stale everywhere at once. Searches record no event, so search analytics age out by time alone.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict, defaultdict
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import orjson
from fastapi import Request, Response
from pydantic import BaseModel

from folio.auth.principal import Principal, Scope
from folio.events.outbox import LiveEvent

# Larger answers are computed each time rather than crowd out the rest.
MAX_BODY_BYTES = 1 << 20
CACHE_CONTROL = "private, no-cache"
# The OpenAPI `responses` entry of a cached answer's conditional GET.
NOT_MODIFIED: dict[int | str, dict[str, Any]] = {
    304: {"description": "Not modified: `If-None-Match` holds the answer's current `ETag` (no body)."}
}


@dataclass(frozen=True, slots=True)
class Answer:
    body: bytes
    etag: str
    generation: int
    expires: float


class AnalyticsCache:
    def __init__(self, *, seconds: float, entries: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds, self.entries, self.clock = seconds, entries, clock
        self._answers: OrderedDict[Hashable, Answer] = OrderedDict()
        self._generations: defaultdict[UUID, int] = defaultdict(int)

    def changed(self, events: Sequence[LiveEvent]) -> None:
        """The hub delivered `events`: what their organizations had cached is stale. Live-only events (job
        progress) change nothing analytics count."""
        for event in events:
            if event.id is not None:
                self._generations[event.org_id] += 1

    def get(self, org_id: UUID, key: Hashable) -> Answer | None:
        answer = self._answers.get(key)
        if answer is None:
            return None
        if answer.generation != self._generations[org_id] or answer.expires <= self.clock():
            del self._answers[key]
            return None
        self._answers.move_to_end(key)
        return answer

    def put(self, org_id: UUID, key: Hashable, body: bytes, generation: int) -> Answer:
        """Keep `body`, computed while the organization's generation was `generation` (an event that arrived
        meanwhile makes it stale at once)."""
        answer = Answer(body, _etag(body), generation, self.clock() + self.seconds)
        if self.seconds > 0 and len(body) <= MAX_BODY_BYTES:
            self._answers[key] = answer
            self._answers.move_to_end(key)
            while len(self._answers) > self.entries:
                self._answers.popitem(last=False)
        return answer

    def generation(self, org_id: UUID) -> int:
        return self._generations[org_id]


def _etag(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'


def audience(principal: Principal, *, personal: bool = False) -> tuple[Any, ...]:
    """Who an answer is for: principals of the same organization, units and powers get the same figures (and for
    a `personal` answer, only the same member or key)."""
    identity = (principal.user_id, principal.api_key_id) if personal else None
    units = None if principal.units is None else tuple(sorted(principal.units))
    return principal.org_id, units, principal.has(Scope.ADMIN), identity


async def cached(
    request: Request,
    cache: AnalyticsCache,
    principal: Principal,
    name: str,
    question: Mapping[str, Any],
    compute: Callable[[], Awaitable[BaseModel]],
    *,
    personal: bool = False,
) -> Response:
    """The answer to `question` of endpoint `name`, from the cache or computed, with an `ETag`; 304 when the
    client's `If-None-Match` already holds it. `X-Cache` says `hit` or `miss`."""
    key = (name, audience(principal, personal=personal), orjson.dumps(question, option=orjson.OPT_SORT_KEYS))
    answer, state = cache.get(principal.org_id, key), "hit"
    if answer is None:
        generation = cache.generation(principal.org_id)
        body = (await compute()).model_dump_json().encode()
        answer, state = cache.put(principal.org_id, key, body, generation), "miss"
    headers = {"ETag": answer.etag, "Cache-Control": CACHE_CONTROL, "X-Cache": state}
    if answer.etag in _tags(request.headers.get("if-none-match", "")):
        return Response(status_code=304, headers=headers)
    return Response(answer.body, media_type="application/json", headers=headers)


def _tags(header: str) -> set[str]:
    return {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}
