"""A stand-in for Guru's API (`/api/v1`): a real HTTP server on localhost answering the calls Folio's Guru connector
makes, as Guru documents them (developer.getguru.com) and its own SDKs make them.

- Basic authentication on every call: the user's email and user token, or a collection's id and a collection token
  (which sees that collection alone); after `revoke()` every token answers 401.
- `GET /teams` (Guru's documented credentials check) and `GET /collections`.
- `POST /search/cardmgr`, the card manager's search, with its body (`collectionIds`; `query`, a grouping of
  trust-state expressions): `page_size` cards a page (50, as Guru), oldest first, archived cards left out, and
  `Link: < …/search/cardmgr?token=… >; rel="next-page"` while more remain; the token's page is asked with the same body.
  Every card carries its HTML content, as Guru's search results do.
- `GET /cards/{id}/extended`: the card; 404 once it is archived (Guru's delete) or when the credentials do not see it.
- 429 with Retry-After for the next `rate_limit_next(n)` calls; errors are `{"description": ...}`.

Guru's behaviour on a change, mirrored: an edit makes a new revision (`version` + 1, new `lastModified`) and, made by
anyone but the verifier, unverifies the card (NEEDS_VERIFICATION, reason UPDATE); verifying or unverifying changes the
trust state and `lastVerified`, never the revision or `lastModified`; moving a card changes its collection only.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import re
import secrets
import sys
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

USER_EMAIL = "ada@acme.example"
USER_TOKEN = "fake-guru-token-7Hq2xV9cLm"
TEAM_ID = "7e4f0d1c-5b3a-4c2d-9e8f-0a1b2c3d4e5f"
OWNER = {"email": USER_EMAIL, "firstName": "Ada", "lastName": "Lovelace"}
VERIFIER = {"email": "grace@acme.example", "firstName": "Grace", "lastName": "Hopper"}
_EPOCH = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
_SEARCH_KEYS = {"queryType", "collectionIds", "query", "sorts"}
_UNREADABLE = object()


def fake_id(kind: int, serial: int) -> str:
    """A stable UUID-shaped id (Guru's ids are UUIDs): `kind` tells collections, cards, boards and tags apart."""
    return str(uuid.UUID(int=(kind << 64) | serial))


@dataclass(slots=True)
class FakeCard:
    id: str
    serial: int
    title: str
    content: str
    collection_id: str
    created: str
    modified: str
    version: int = 1
    state: str = "TRUSTED"
    reason: str | None = None
    last_verified: str | None = None
    group_verifier: str | None = None
    boards: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    archived: bool = False


@dataclass(frozen=True, slots=True)
class Call:
    method: str
    path: str
    query: dict[str, str]
    body: Any = None


@dataclass(slots=True)
class _Cursor:
    scope: str
    body: Any
    after: int


@dataclass
class FakeGuru:
    page_size: int = 50
    team_name: str = "Acme Support"
    # Where the Link header sends the next page (tests point it elsewhere); None: this server.
    next_page_base: str | None = None
    general: str = ""
    collections: dict[str, str] = field(default_factory=dict)
    cards: dict[str, FakeCard] = field(default_factory=dict)
    requests: list[Call] = field(default_factory=list)
    _collection_tokens: dict[str, str] = field(default_factory=dict)
    _cursors: dict[str, _Cursor] = field(default_factory=dict)
    _revoked: bool = False
    _rate_limited: int = 0
    _retry_after: str = "1"
    _ticks: int = 0
    _serial: int = 0

    def reset(self) -> None:
        """No cards, one collection ("General", in `general`), the user token valid, nothing rate-limited."""
        self.page_size, self.team_name, self.next_page_base = 50, "Acme Support", None
        self.collections.clear()
        self.cards.clear()
        self.requests.clear()
        self._collection_tokens.clear()
        self._cursors.clear()
        self._revoked, self._rate_limited, self._ticks, self._serial = False, 0, 0, 0
        self.general = self.add_collection("General")

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/api/v1/teams", self._teams),
                Route("/api/v1/collections", self._collections),
                Route("/api/v1/search/cardmgr", self._search, methods=["POST"]),
                Route("/api/v1/cards/{card_id}/extended", self._card),
            ]
        )

    # What tests change.

    def add_collection(self, name: str) -> str:
        collection_id = fake_id(1, len(self.collections) + 1)
        self.collections[collection_id] = name
        return collection_id

    def collection_token(self, collection_id: str) -> str:
        """A read-only token for one collection (its username is the collection's id)."""
        token = secrets.token_urlsafe(16)
        self._collection_tokens[collection_id] = token
        return token

    def add_card(
        self,
        title: str,
        content: str = "<p>Body</p>",
        *,
        collection_id: str | None = None,
        trusted: bool = True,
        boards: list[str] | None = None,
        tags: list[str] | None = None,
        group_verifier: str | None = None,
    ) -> str:
        self._serial += 1
        now = self._now()
        card = FakeCard(
            id=fake_id(2, self._serial),
            serial=self._serial,
            title=title,
            content=content,
            collection_id=collection_id or self.general,
            created=now,
            modified=now,
            state="TRUSTED" if trusted else "NEEDS_VERIFICATION",
            reason=None if trusted else "NEW_VERIFIER",
            last_verified=now if trusted else None,
            group_verifier=group_verifier,
            boards=list(boards or []),
            tags=list(tags or []),
        )
        self.cards[card.id] = card
        return card.id

    def seed(self, count: int, *, collection_id: str | None = None) -> list[str]:
        """`count` trusted cards with a little HTML each (5,000 in a few tens of milliseconds)."""
        return [
            self.add_card(
                f"Card {n}", f"<h2>Card {n}</h2><p>Generated card number {n}.</p>", collection_id=collection_id
            )
            for n in range(1, count + 1)
        ]

    def edit(
        self, card_id: str, *, title: str | None = None, content: str | None = None, by_verifier: bool = False
    ) -> None:
        card = self.cards[card_id]
        card.title = card.title if title is None else title
        card.content = card.content if content is None else content
        card.version += 1
        card.modified = self._now()
        if not by_verifier:
            card.state, card.reason = "NEEDS_VERIFICATION", "UPDATE"

    def verify(self, card_id: str) -> None:
        card = self.cards[card_id]
        card.state, card.reason, card.last_verified = "TRUSTED", None, self._now()

    def unverify(self, card_id: str, *, reason: str = "EXPIRED") -> None:
        card = self.cards[card_id]
        card.state, card.reason = "NEEDS_VERIFICATION", reason

    def move(self, card_id: str, collection_id: str) -> None:
        self.cards[card_id].collection_id = collection_id

    def delete(self, card_id: str) -> None:
        """Guru's DELETE of a card archives it: out of searches, 404 to a fetch."""
        self.cards[card_id].archived = True

    def rate_limit_next(self, count: int, *, retry_after: int = 1) -> None:
        self._rate_limited, self._retry_after = count, str(retry_after)

    def revoke(self) -> None:
        self._revoked = True

    def calls(self, path: str) -> list[Call]:
        return [call for call in self.requests if call.path == f"/api/v1{path}"]

    # The API.

    async def _teams(self, request: Request) -> Response:
        refused, _ = await self._admit(request)
        if refused is not None:
            return refused
        return JSONResponse(
            [{"status": "ACTIVE", "id": TEAM_ID, "dateCreated": _stamp(_EPOCH), "name": self.team_name}]
        )

    async def _collections(self, request: Request) -> Response:
        refused, scope = await self._admit(request)
        if refused is not None:
            return refused
        return JSONResponse(
            [
                {"id": collection_id, "name": name, "collectionType": "INTERNAL", "color": "#009688"}
                for collection_id, name in self.collections.items()
                if scope in ("", collection_id)
            ]
        )

    async def _search(self, request: Request) -> Response:
        refused, scope = await self._admit(request)
        if refused is not None:
            return refused
        body = self.requests[-1].body
        token = request.query_params.get("token")
        cursor = self._cursors.get(token) if token is not None else _Cursor(scope, body, 0)
        if cursor is None or cursor.scope != scope:
            return _error(400, "Invalid paging token.")
        if cursor.body != body:
            return _error(400, "The paging token belongs to another query.")
        filters = _filters(body)
        if filters is None:
            return _error(400, "Invalid search query.")
        collection_ids, state = filters
        matching = (
            card
            for card in self.cards.values()
            if card.serial > cursor.after
            and not card.archived
            and scope in ("", card.collection_id)
            and (not collection_ids or card.collection_id in collection_ids)
            and (state is None or card.state == state)
        )
        page = list(islice(matching, self.page_size + 1))
        headers = {}
        if len(page) > self.page_size:
            page = page[: self.page_size]
            following = secrets.token_urlsafe(24)
            self._cursors[following] = _Cursor(scope, body, page[-1].serial)
            base = self.next_page_base or str(request.base_url).rstrip("/")
            # Spaced inside the brackets, as Guru's paging documentation shows it.
            headers["Link"] = f'< {base}/api/v1/search/cardmgr?token={following} >; rel="next-page"'
        return JSONResponse([self._card_json(card) for card in page], headers=headers)

    async def _card(self, request: Request) -> Response:
        refused, scope = await self._admit(request)
        if refused is not None:
            return refused
        card = self.cards.get(request.path_params["card_id"])
        if card is None or card.archived or scope not in ("", card.collection_id):
            return _error(404, "Card not found.")
        return JSONResponse(self._card_json(card))

    async def _admit(self, request: Request) -> tuple[Response | None, str]:
        """Logs the call, then: 429 while rate-limited, 401 without valid credentials; else the scope the
        credentials see ("" for every collection, or a collection token's collection)."""
        body: Any = None
        if request.method == "POST":
            try:
                body = json.loads(await request.body() or b"null")
            except ValueError:
                body = _UNREADABLE
        self.requests.append(Call(request.method, request.url.path, dict(request.query_params), body))
        if self._rate_limited > 0:
            self._rate_limited -= 1
            return _error(429, "Too many requests.", {"Retry-After": self._retry_after}), ""
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        try:
            username, _, token = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            username, token = "", ""
        if not self._revoked and scheme.lower() == "basic" and token:
            if username == USER_EMAIL and secrets.compare_digest(token, USER_TOKEN):
                return None, ""
            expected = self._collection_tokens.get(username)
            if expected is not None and secrets.compare_digest(token, expected):
                return None, username
        return _error(401, "Unauthorized.", {"WWW-Authenticate": 'Basic realm="api"'}), ""

    def _card_json(self, card: FakeCard) -> dict[str, Any]:
        if card.group_verifier:
            group = {"id": fake_id(5, 1), "name": card.group_verifier}
            verifiers: list[dict[str, Any]] = [{"type": "user-group", "id": group["id"], "userGroup": group}]
        else:
            verifiers = [{"type": "user", "id": VERIFIER["email"], "user": VERIFIER}]
        answer: dict[str, Any] = {
            "id": card.id,
            "slug": f"{card.id[-8:]}/{re.sub(r'[^A-Za-z0-9]+', '-', card.title).strip('-') or 'card'}",
            "preferredPhrase": card.title,
            "content": card.content,
            "collection": {"id": card.collection_id, "name": self.collections[card.collection_id], "color": "#009688"},
            "dateCreated": card.created,
            "lastModified": card.modified,
            "lastModifiedBy": OWNER,
            "version": card.version,
            "verificationState": card.state,
            "verificationType": "RELATIVE",
            "verificationInterval": 90,
            "verifiers": verifiers,
            "owner": OWNER,
            "originalOwner": OWNER,
            "shareStatus": "TEAM",
            "archived": card.archived,
            "boards": [{"id": fake_id(3, n), "title": title} for n, title in enumerate(card.boards)],
            "tags": [
                {"id": fake_id(4, n), "value": value, "categoryName": "General", "categoryId": fake_id(4, 0)}
                for n, value in enumerate(card.tags, start=1)
            ],
        }
        if card.last_verified:
            answer["lastVerified"], answer["lastVerifiedBy"] = card.last_verified, VERIFIER
        if card.reason:
            answer["verificationReason"] = card.reason
        return answer

    def _now(self) -> str:
        self._ticks += 1
        return _stamp(_EPOCH + timedelta(seconds=self._ticks))


def _filters(body: Any) -> tuple[frozenset[str], str | None] | None:
    """The collections and the trust state a card manager body asks for; None for a body Guru would refuse."""
    if not isinstance(body, dict) or set(body) - _SEARCH_KEYS or body.get("queryType") is not None:
        return None
    collection_ids = body.get("collectionIds") or []
    if not isinstance(collection_ids, list) or not all(isinstance(each, str) for each in collection_ids):
        return None
    query, state = body.get("query"), None
    if query is not None:
        nested = query.get("nestedExpressions") if isinstance(query, dict) else None
        # Guru refuses a grouping without expressions ("grouping expression requires one or more nestedExpressions").
        if not nested or query.get("type") != "grouping" or query.get("op") != "AND":
            return None
        for expression in nested:
            if not isinstance(expression, dict) or set(expression) != {"type", "verificationState", "op"}:
                return None
            if expression["type"] != "trust-state" or expression["op"] != "EQ":
                return None
            state = expression["verificationState"]
    return frozenset(collection_ids), state


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def _error(status: int, description: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"description": description}, status_code=status, headers=headers)


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description="A stand-in for Guru's API, to try Folio's Guru integration by hand.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8790)
    parser.add_argument("--items", type=int, default=100, help="cards to seed in the General collection")
    arguments = parser.parse_args()
    fake = FakeGuru()
    fake.reset()
    fake.seed(arguments.items)
    base_url = f"http://{arguments.host}:{arguments.port}"
    sys.stdout.write(
        f"Guru API at {base_url} (FOLIO_INTEGRATIONS__GURU_API_URL={base_url})\n"
        f'credentials: {{"username": "{USER_EMAIL}", "token": "{USER_TOKEN}"}}\n'
        f"collection General: {fake.general}, {arguments.items} cards\n"
    )
    uvicorn.run(fake.app(), host=arguments.host, port=arguments.port, log_level="warning")


if __name__ == "__main__":
    main()
