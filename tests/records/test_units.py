"""A member limited to business units imports cases of those units only, and never changes another unit's case."""

from __future__ import annotations

from typing import Any

import anyio
import httpx

from tests.factories import add_member, register
from tests.records.conftest import BATCHES, all_records, csv_bytes, errors_of, import_batch, upload
from tests.units.helpers import create_unit, set_units

MAPPING = {"external_id": "id", "text": "message", "business_unit": "unit"}


async def _finished(client: httpx.AsyncClient, headers: dict[str, str], batch_id: str) -> dict[str, Any]:
    """Poll the batch (bounded) until its import is over."""
    for _ in range(600):
        response = await client.get(f"{BATCHES}/{batch_id}", params={"errors_limit": 100}, headers=headers)
        assert response.status_code == 200, response.text
        if response.json()["status"] in ("succeeded", "failed"):
            body: dict[str, Any] = response.json()
            return body
        await anyio.sleep(0.1)
    raise AssertionError("the batch did not finish")


async def test_a_limited_member_imports_only_into_their_units(client: httpx.AsyncClient) -> None:
    owner, editor = await register(client), await register(client)
    await add_member(client, owner, editor, "editor")
    north, south = await create_unit(client, owner, "North"), await create_unit(client, owner, "South")
    await set_units(client, owner, editor, north["id"])
    await import_batch(client, owner, csv_bytes("id,message,unit", "s1,The south's own case.,South"), MAPPING)
    headers = editor.in_org(owner.org_id)

    rows = [
        "id,message,unit",
        "n1,A case of the north.,north",
        "s2,A new case for the south.,South",
        "x1,A case of no unit.,",
        "m1,A case of a unit nobody has.,Mars",
        "s1,Overwriting the south's case.,North",
    ]
    accepted = await upload(client, headers, csv_bytes(*rows), MAPPING)
    assert accepted.status_code == 202, accepted.text
    batch = await _finished(client, headers, accepted.json()["id"])

    assert batch["status"] == "succeeded", batch
    assert errors_of(batch) == [(line, "UNIT_NOT_ALLOWED") for line in (3, 4, 5, 6)]
    cases = {case["external_id"]: case for case in await all_records(client, owner.headers)}
    assert set(cases) == {"n1", "s1"}
    assert cases["n1"]["unit_id"] == north["id"]
    assert (cases["s1"]["unit_id"], cases["s1"]["text"]) == (south["id"], "The south's own case.")
