"""Guru: the cards of a team's collections (every collection the credentials see, or those chosen), as HTML.

Cards are listed with the card manager's search (`POST /api/v1/search/cardmgr`, the body Guru's own SDK sends:
`collectionIds`, and a trust-state expression for verified cards only). Guru answers 50 cards a page, its most,
and names the next page in a `Link` header (`<…?token=…>; rel="next-page"`, developer.getguru.com/docs/paging),
which is requested with the same body until a page comes without one.

Guru's search results always carry each card's HTML content (no parameter leaves it out), so the listing hands
it over in `Item.content` for the cards whose version changed and the sync fetches nothing more; only the current
page is held. A card's version is its revision number (`version`, `lastModified` where absent) with a digest of
what the document keeps about it, because Guru verifies and unverifies cards, and moves them between collections,
without a new revision.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Mapping
from contextlib import aclosing
from datetime import datetime
from html import escape
from typing import Annotated, Any
from urllib.parse import quote, urljoin, urlsplit

import httpx2
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from folio.integrations.connector import Content, Item
from folio.integrations.connectors._json import iso_time, mapping
from folio.integrations.errors import InvalidIntegrationConfig, ItemGone, SourceRefused, SourceUnavailable
from folio.integrations.http import HeaderSecret, SourceHttp

APP_CARD_URL = "https://app.getguru.com/card/"
TRUSTED = "TRUSTED"
_NEXT_RELATIONS = frozenset({"next-page", "next"})
_MAX_TITLE = 500
_MAX_TEXT = 300
_MAX_LIST = 20
_MAX_REVISION = 100
_UNTITLED = "Untitled card"

GuruId = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        to_lower=True,
        pattern=r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
    ),
]


class GuruConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    collection_ids: list[GuruId] = Field(
        default_factory=list,
        max_length=100,
        description="The collections whose cards are synced (Guru's collection ids); empty: every collection the "
        "credentials see.",
    )
    verified_only: bool = Field(
        False, description="Sync only trusted (verified) cards; a card that needs verification leaves until verified."
    )

    @field_validator("collection_ids")
    @classmethod
    def _distinct(cls, ids: list[str]) -> list[str]:
        return list(dict.fromkeys(ids))


class GuruCredentials(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(
        min_length=1,
        max_length=320,
        pattern=r"^[^:\s]+$",
        description="The email of the Guru user the API token belongs to, or the collection's id for a collection "
        "token.",
    )
    token: HeaderSecret = Field(
        min_length=1,
        max_length=500,
        description="A user token (Guru: Manage > Apps and Integrations > API Access) or a read-only collection token.",
    )

    def headers(self) -> dict[str, str]:
        """Basic authentication with the username and token, as Guru's API takes them, and JSON answers."""
        pair = f"{self.username}:{self.token.get_secret_value()}".encode()
        return {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii"), "Accept": "application/json"}


class GuruConnector:
    def __init__(self, config: GuruConfig, http: SourceHttp, base_url: str, *, max_items: int) -> None:
        self._config = config
        self._http = http
        self._api = base_url.rstrip("/") + "/api/v1"
        self._max_items = max_items

    async def check(self) -> str:
        """The team's name and how many collections are in scope; refuses collections the credentials do not see."""
        teams = await self._http.json("GET", f"{self._api}/teams", what="the team")
        team = teams[0] if isinstance(teams, list) and teams and isinstance(teams[0], dict) else {}
        name = _text(team.get("name")) or "without a name"
        visible: set[str] = set()
        async with aclosing(self._pages("GET", f"{self._api}/collections", what="the collections")) as pages:
            async for collections in pages:
                visible.update(_text(each.get("id")).lower() for each in collections if isinstance(each, dict))
        wanted = self._config.collection_ids
        missing = [collection for collection in wanted if collection not in visible]
        if missing:
            raise InvalidIntegrationConfig(
                "Guru does not show these collections to the credentials.", details={"collection_ids": missing}
            )
        count = len(wanted) if wanted else len(visible)
        return f"team {name}, {count} collection{'' if count == 1 else 's'}"

    async def listing(self, known: Mapping[str, str]) -> AsyncIterator[Item]:
        """Every card in scope; a card whose version is the one held comes without its content."""
        listed: set[str] = set()
        search = self._pages("POST", f"{self._api}/search/cardmgr", what="the card listing", body=self._query())
        async with aclosing(search) as pages:
            async for cards in pages:
                for card in cards:
                    item = self._item(card, known)
                    # A card edited while the pages are read may come twice.
                    if item is None or item.external_id in listed:
                        continue
                    listed.add(item.external_id)
                    yield item
                    if len(listed) >= self._max_items:
                        return

    async def fetch(self, item: Item) -> Content:
        url = f"{self._api}/cards/{quote(item.external_id, safe='')}/extended"
        try:
            card = await self._http.json("GET", url, what="a card")
        except SourceRefused as exc:
            # Guru answers 404 for a deleted (archived) card and 403 for one no longer shared with the credentials.
            if exc.status in {403, 404, 410}:
                raise ItemGone(item.external_id) from exc
            raise
        if not isinstance(card, dict) or not self._in_scope(card):
            raise ItemGone(item.external_id)
        return _content(card)

    def _query(self) -> dict[str, Any]:
        """The card manager's search body: the chosen collections (none: all), trusted cards only if asked."""
        query: dict[str, Any] | None = None
        if self._config.verified_only:
            trusted = {"type": "trust-state", "verificationState": TRUSTED, "op": "EQ"}
            query = {"type": "grouping", "op": "AND", "nestedExpressions": [trusted]}
        return {"collectionIds": list(self._config.collection_ids), "query": query}

    def _in_scope(self, card: Mapping[str, Any]) -> bool:
        """The search's own filter, checked again: a card outside the chosen scope is never taken in."""
        if card.get("archived") is True:
            return False
        wanted = self._config.collection_ids
        if wanted and _text(mapping(card.get("collection")).get("id")).lower() not in wanted:
            return False
        return not self._config.verified_only or card.get("verificationState") == TRUSTED

    def _item(self, card: Any, known: Mapping[str, str]) -> Item | None:
        if not isinstance(card, dict):
            return None
        card_id = _text(card.get("id"), limit=None)
        if not card_id or len(card_id) > 500 or not self._in_scope(card):
            return None
        version = _version(card)
        return Item(
            external_id=card_id,
            title=_title(card),
            version=version,
            url=_card_url(card),
            updated_at=_time(card.get("lastModified")),
            content=None if known.get(card_id) == version else _content(card),
        )

    async def _pages(
        self, method: str, url: str, *, what: str, body: dict[str, Any] | None = None
    ) -> AsyncGenerator[list[Any], None]:
        """The entries of each page, following the `Link` header; the next page is only ever asked of Guru's own
        host (the credentials go with it), and a next page already read ends the listing as a failure."""
        origin = _origin(url)
        followed = {url}
        while True:
            response = await self._http.request(method, url, what=what, json=body)
            yield _entries(response, what)
            following = _next_page(response.headers.get("link", ""), url)
            if following is None:
                return
            if _origin(following) != origin:
                raise SourceUnavailable(f"The source sent the next page of {what} to another host.")
            if following in followed:
                raise SourceUnavailable(f"The source's pages of {what} go round in a circle.")
            followed.add(following)
            url = following


def _entries(response: httpx2.Response, what: str) -> list[Any]:
    if response.status_code == 204 or not response.content:
        return []
    try:
        entries = response.json()
    except ValueError as exc:
        raise SourceUnavailable(f"The source's answer to {what} is not JSON.") from exc
    if not isinstance(entries, list):
        raise SourceUnavailable(f"The source's answer to {what} is not a list.")
    return entries


_LINK_VALUE = re.compile(r"<\s*([^>]*?)\s*>([^,<]*)")
_REL = re.compile(r"""\brel\s*=\s*(?:"([^"]*)"|([^\s;,"]+))""", re.IGNORECASE)


def _next_page(header: str, current: str) -> str | None:
    """The URL of the `Link` value whose relation is Guru's `next-page` (or the registered `next`), made absolute
    against the page it came with."""
    for target, parameters in _LINK_VALUE.findall(header):
        for quoted, bare in _REL.findall(parameters):
            if _NEXT_RELATIONS & set((quoted or bare).lower().split()) and target:
                return urljoin(current, str(target))
    return None


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port


def _content(card: Mapping[str, Any]) -> Content:
    title = _title(card)
    body = _text(card.get("content"), limit=None)
    document = (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title></head>\n<body>\n{body}\n</body></html>\n"
    )
    return Content(body=document.encode(), filename=_filename(title), metadata=_metadata(card))


def _metadata(card: Mapping[str, Any]) -> dict[str, Any]:
    """What Guru says about the card, bounded: strings cut at 300 characters, lists at 20 entries."""
    collection = mapping(card.get("collection"))
    values: dict[str, Any] = {
        "collection": _text(collection.get("name")),
        "collection_id": _text(collection.get("id")),
        "verification_state": _text(card.get("verificationState")),
        "verification_reason": _text(card.get("verificationReason")),
        "verifiers": _names(_verifier_name(each) for each in _list(card.get("verifiers"))),
        "last_verified": _text(card.get("lastVerified")),
        "last_verified_by": _person(card.get("lastVerifiedBy")),
        "owner": _person(card.get("owner")),
        "boards": _names(_text(mapping(each).get("title")) for each in _list(card.get("boards"))),
        "tags": _names(_text(mapping(each).get("value")) for each in _list(card.get("tags"))),
    }
    return {key: value for key, value in values.items() if value}


def _version(card: Mapping[str, Any]) -> str:
    revision = card.get("version")
    marker = str(revision) if isinstance(revision, int) else _text(card.get("lastModified"), limit=_MAX_REVISION)
    described = json.dumps([_title(card), _metadata(card)], sort_keys=True, ensure_ascii=False)
    return f"{marker}:{hashlib.sha256(described.encode()).hexdigest()[:16]}"


def _title(card: Mapping[str, Any]) -> str:
    return _text(card.get("preferredPhrase"), limit=_MAX_TITLE) or _UNTITLED


def _filename(title: str) -> str:
    name = re.sub(r"[\\/]+", "-", title)[:200].strip(" .-")
    return f"{name or 'guru-card'}.html"


def _card_url(card: Mapping[str, Any]) -> str | None:
    slug = _text(card.get("slug"), limit=None)
    return APP_CARD_URL + quote(slug, safe="/-_.~") if slug else None


def _time(value: Any) -> datetime | None:
    """Guru's dates (`2014-01-02T12:00:00.000+0000`); None for anything else."""
    moment = iso_time(value)
    return moment if moment is not None and moment.tzinfo is not None else None


def _verifier_name(verifier: Any) -> str:
    """A user verifier's name (or email), a group verifier's name."""
    entry = mapping(verifier)
    if entry.get("userGroup"):
        return _text(mapping(entry["userGroup"]).get("name")) or _text(entry.get("id"))
    return _person(entry.get("user")) or _text(entry.get("id"))


def _person(value: Any) -> str:
    user = mapping(value)
    name = " ".join(part for part in (_text(user.get("firstName")), _text(user.get("lastName"))) if part)
    return name or _text(user.get("email"))


def _names(values: Iterable[str]) -> list[str]:
    return [value for value in values if value][:_MAX_LIST]


def _text(value: Any, *, limit: int | None = _MAX_TEXT) -> str:
    text = value.strip() if isinstance(value, str) else ""
    return text if limit is None else text[:limit]


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
