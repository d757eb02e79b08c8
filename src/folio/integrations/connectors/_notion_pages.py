"""The page objects of Notion's listings: where a page sits, whether it is live, and the item it is."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from folio.integrations.connector import Item, Published
from folio.integrations.connectors.notion_markdown import page_title


@dataclass(slots=True)
class Ancestry:
    """What one listing learnt of where pages sit: each page's parent, which pages are under a root or not."""

    roots: set[str]
    parents: dict[str, tuple[str, str]] = field(default_factory=dict)
    block_parents: dict[str, tuple[str, str]] = field(default_factory=dict)
    inside: set[str] = field(default_factory=set)
    outside: set[str] = field(default_factory=set)

    def known(self, page_id: str) -> bool:
        """Whether the page is a root or the child of a page already found under one (and then it is too)."""
        kind, parent = self.parents[page_id]
        if page_id in self.roots or (kind == "page_id" and parent in self.inside):
            self.inside.add(page_id)
            return True
        return False


def parent_of(data: Mapping[str, Any]) -> tuple[str, str]:
    parent = data.get("parent")
    if not isinstance(parent, dict):
        return ("", "")
    kind = str(parent.get("type", ""))
    ident = parent.get(kind)
    return (kind, ident) if isinstance(ident, str) else (kind, "")


def is_live(page: Mapping[str, Any]) -> bool:
    return isinstance(page.get("id"), str) and not page.get("archived") and not page.get("in_trash")


def item_of(page: Mapping[str, Any]) -> Item:
    edited = str(page.get("last_edited_time", ""))
    try:
        updated_at = datetime.fromisoformat(edited)
    except ValueError:
        updated_at = None
    url = page.get("url")
    return Item(
        external_id=str(page["id"]),
        title=(page_title(dict(page)) or "Untitled")[:500],
        version=edited[:200],
        url=url if isinstance(url, str) else None,
        updated_at=updated_at,
    )


def published(block_id: str, page_url: str | None) -> Published:
    return Published(remote_id=block_id, url=f"{page_url}#{block_id.replace('-', '')}" if page_url else None)
