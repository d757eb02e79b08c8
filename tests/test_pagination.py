"""Keyset pagination (folio.pagination): opaque URL-safe cursors, default and largest page sizes, no skips or repeats.

The API tests list API keys, the cheapest thing to create: every list endpoint shares `PageDep` and `keyset`.
"""

from __future__ import annotations

import base64
import re
from typing import Any
from urllib.parse import quote
from uuid import UUID

import httpx
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from folio.pagination import DEFAULT_LIMIT, MAX_LIMIT, InvalidCursor, PageRequest, encode_cursor
from tests.factories import Account, create_api_key, error_of, register

KEYS = "/api/v1/api-keys"
CURSOR = re.compile(r"[A-Za-z0-9_-]{22}")  # 16 bytes of URL-safe base64, unpadded
# Keys whose standard base64 has `+` and `/`, and whose padded form ends in `==`.
AWKWARD_KEYS = [UUID(bytes=b"\xfb\xff" * 8), UUID(bytes=b"\xff" * 16), UUID(int=0)]


# --- cursors ----------------------------------------------------------------------------------------------------


@given(key=st.uuids())
@example(key=AWKWARD_KEYS[0])
@example(key=AWKWARD_KEYS[1])
@example(key=AWKWARD_KEYS[2])
def test_cursors_are_url_safe_base64_without_padding_and_name_their_key(key: UUID) -> None:
    cursor = encode_cursor(key)

    assert CURSOR.fullmatch(cursor), cursor
    assert quote(cursor, safe="") == cursor  # travels in a query string as it is
    assert PageRequest.from_cursor(7, cursor) == PageRequest(limit=7, after=key)


ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def other_unused_bits(cursor: str) -> str:
    """The same key spelt otherwise: the last character holds 2 bits of the key and 4 unused ones."""
    return cursor[:-1] + ALPHABET[ALPHABET.index(cursor[-1]) ^ 1]


def altered_cursors(key: UUID) -> list[str]:
    cursor = encode_cursor(key)
    standard = base64.b64encode(key.bytes).decode().rstrip("=")
    altered = [
        "",
        cursor + "==",  # padded
        cursor[:11] + "!" + cursor[11:],  # a character the decoder would skip
        cursor[:11] + " " + cursor[11:],  # a `+` decoded from an unencoded URL
        other_unused_bits(cursor),
        cursor[:-1],
        cursor + "A",
        "not a cursor",
    ]
    if standard != cursor:
        altered.append(standard)
    return altered


@pytest.mark.parametrize("key", AWKWARD_KEYS, ids=["plus-slash", "all-ones", "zero"])
def test_a_cursor_this_api_did_not_issue_is_refused(key: UUID) -> None:
    assert base64.urlsafe_b64decode(other_unused_bits(encode_cursor(key)) + "==") == key.bytes
    for cursor in altered_cursors(key):
        with pytest.raises(InvalidCursor):
            PageRequest.from_cursor(DEFAULT_LIMIT, cursor)


# --- through the API --------------------------------------------------------------------------------------------


async def create_keys(client: httpx.AsyncClient, account: Account, count: int) -> list[str]:
    return [(await create_api_key(client, account, name=f"key {n}"))["id"] for n in range(count)]


async def list_keys(client: httpx.AsyncClient, account: Account, **params: Any) -> httpx.Response:
    return await client.get(KEYS, params=params, headers=account.headers)


async def walk(client: httpx.AsyncClient, account: Account, limit: int, *, expected: int) -> list[str]:
    """Every key id, page after page, checking each page's size and cursor on the way.

    Stops after the pages `expected` items need (and one more), so a cursor that repeats fails rather than loops.
    """
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(expected // limit + 2):
        # The cursor goes into the URL unencoded, as a careless client would put it.
        url = f"{KEYS}?limit={limit}" + (f"&cursor={cursor}" if cursor is not None else "")
        response = await client.get(url, headers=account.headers)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= limit
        seen.extend(item["id"] for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return seen
        assert len(page["items"]) == limit  # only the last page is short
        assert CURSOR.fullmatch(cursor), cursor
    raise AssertionError(f"still paging after {len(seen)} items: {seen}")


async def test_the_default_page_holds_20_and_the_largest_100(client: httpx.AsyncClient) -> None:
    account = await register(client)
    created = await create_keys(client, account, 25)

    first = await list_keys(client, account)
    assert first.status_code == 200, first.text
    assert [item["id"] for item in first.json()["items"]] == created[:20] == created[:DEFAULT_LIMIT]
    rest = await list_keys(client, account, cursor=first.json()["next_cursor"])
    assert [item["id"] for item in rest.json()["items"]] == created[20:]
    assert rest.json()["next_cursor"] is None

    largest = await list_keys(client, account, limit=100)
    assert largest.status_code == 200, largest.text
    assert [item["id"] for item in largest.json()["items"]] == created
    assert largest.json()["next_cursor"] is None
    assert MAX_LIMIT == 100
    for limit in (0, -1, 101):
        error = error_of(await list_keys(client, account, limit=limit), 422, "VALIDATION_ERROR")
        assert "limit" in str(error["details"])


async def test_paging_never_skips_or_repeats(client: httpx.AsyncClient) -> None:
    account = await register(client)
    created = await create_keys(client, account, 25)

    for limit in (1, 2, 4, 7, 24, 25, 26, 100):
        assert await walk(client, account, limit, expected=len(created)) == created, limit


async def test_items_created_while_paging_come_last_and_once(client: httpx.AsyncClient) -> None:
    account = await register(client)
    created = await create_keys(client, account, 10)

    first = (await list_keys(client, account, limit=4)).json()
    created += await create_keys(client, account, 3)
    seen = [item["id"] for item in first["items"]]
    cursor = first["next_cursor"]
    for _ in range(len(created)):
        if cursor is None:
            break
        page = (await list_keys(client, account, limit=4, cursor=cursor)).json()
        seen.extend(item["id"] for item in page["items"])
        cursor = page["next_cursor"]

    assert cursor is None
    assert seen == created


@pytest.mark.parametrize("query", ["cursor=", "cursor=%20", "cursor=AAAA", "limit=5&cursor="])
async def test_an_empty_or_foreign_cursor_is_refused_not_read_as_the_first_page(
    client: httpx.AsyncClient, query: str
) -> None:
    account = await register(client)
    await create_keys(client, account, 2)

    response = await client.get(f"{KEYS}?{query}", headers=account.headers)

    error_of(response, 422, "INVALID_CURSOR")


async def test_an_altered_cursor_is_refused_through_the_api(client: httpx.AsyncClient) -> None:
    account = await register(client)
    created = await create_keys(client, account, 3)
    cursor = (await list_keys(client, account, limit=1)).json()["next_cursor"]
    assert cursor == encode_cursor(UUID(created[0]))

    for altered in altered_cursors(UUID(created[0])):
        error_of(await list_keys(client, account, cursor=altered), 422, "INVALID_CURSOR")
