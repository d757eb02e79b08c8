"""What a connector is to the sync: a listing of the items in scope with a version marker each, and a fetch of one.

A sync lists everything in scope every time (the listing's pages are cheap: 100 items a request at most sources)
and fetches only the items whose marker differs from the copy held, so a sync with nothing changed makes the
listing's requests and no more; an item the listing no longer yields was deleted or left the scope, and its
document goes. A listing that fails part-way deletes nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class Content:
    """An item's body as a file the ingestion reads (the extension of `filename` names its kind: `.md`, `.html`,
    `.pdf`, `.docx`, `.txt`), and what the source says about it (`metadata`: small JSON values)."""

    body: bytes
    filename: str
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Item:
    """An entry of a source's listing.

    `version` changes whenever the item does (an edit time, a version number, an ETag); `url` is where a person
    opens it at the source. A listing that had to read the item anyway (a crawl) hands its body over in `content`,
    and the sync does not fetch it again."""

    external_id: str
    title: str
    version: str
    url: str | None = None
    updated_at: datetime | None = None
    content: Content | None = None


class Connector(Protocol):
    async def check(self) -> str:
        """Prove the credentials reach the source; what they reach, in a few words ("workspace Acme")."""
        ...

    def listing(self, known: Mapping[str, str]) -> AsyncIterator[Item]:
        """Every item in scope. `known` maps the external ids held to their versions, for sources that can ask
        "changed since?" per item (the web's conditional requests)."""
        ...

    async def fetch(self, item: Item) -> Content:
        """The item's body; `ItemGone` when it went away since it was listed."""
        ...


@dataclass(frozen=True, slots=True)
class Published:
    """Where a summary written back to a source is: the remote object's id and the link a person opens."""

    remote_id: str
    url: str | None


@runtime_checkable
class Publisher(Protocol):
    async def publish(self, target_id: str, *, title: str, markdown: str, marker: str) -> Published:
        """Write `markdown` under the item `target_id` (a Notion page, a Confluence page) and say where.

        Idempotent on `marker` (the summary's id): when something carrying it is already there, that is the
        answer and nothing new is written, so a retried job never writes twice."""
        ...
