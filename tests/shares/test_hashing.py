"""A link's password is hashed, and checked, with no database connection held (argon2 takes a tenth of a second)."""

from __future__ import annotations

import pytest

from folio.auth import passwords
from tests.connections import lent_to_requests
from tests.shares.conftest import LINKS, PUBLIC, World

PASSWORD = "a long link passphrase"


async def test_a_link_password_is_hashed_and_checked_with_no_connection_held(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = world.client
    lent: list[tuple[str, int]] = []
    original_hash, original_verify = passwords.hash_password, passwords.verify_password
    with lent_to_requests(world.app) as connections:

        async def hash_password(password: str) -> str:
            lent.append(("hash", connections.to_this_request()))
            return await original_hash(password)

        async def verify_password(password: str, password_hash: str | None) -> bool:
            lent.append(("verify", connections.to_this_request()))
            return await original_verify(password, password_hash)

        monkeypatch.setattr(passwords, "hash_password", hash_password)
        monkeypatch.setattr(passwords, "verify_password", verify_password)
        body = {"item_type": "document", "item_id": str(world.document_id), "password": PASSWORD}
        created = await client.post(LINKS, json=body, headers=world.owner.headers)
        assert created.status_code == 201, created.text
        token = created.json()["token"]
        right = await client.get(f"{PUBLIC}/{token}", headers={"X-Share-Password": PASSWORD})
        wrong = await client.get(f"{PUBLIC}/{token}", headers={"X-Share-Password": "not the passphrase"})

    assert (right.status_code, wrong.status_code) == (200, 404)
    assert lent == [("hash", 0), ("verify", 0), ("verify", 0)]
