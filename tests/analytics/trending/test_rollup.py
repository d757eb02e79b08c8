"""The daily rollups follow cases through the real paths: import, re-import with changed text, a move to another
unit, deletion; after each, they hold exactly what a recount of the live chunks gives."""

from __future__ import annotations

import datetime as dt
from uuid import UUID

import httpx
from fastapi import FastAPI

from tests.analytics.trending.conftest import Terms, UnitTerms, recounted, rollups
from tests.cases.conftest import make_unit
from tests.factories import Account, register
from tests.records.conftest import all_records, csv_bytes, import_batch

MAPPING = {"external_id": "id", "text": "text", "business_unit": "unit", "created_at": "at"}
JUNE_1, JUNE_2 = dt.date(2026, 6, 1), dt.date(2026, 6, 2)


async def _import(client: httpx.AsyncClient, owner: Account, *rows: str) -> dict[str, UUID]:
    await import_batch(client, owner, csv_bytes("id,text,unit,at", *rows), MAPPING, enrich="false")
    return {case["external_id"]: UUID(case["id"]) for case in await all_records(client, owner.headers)}


async def test_the_rollups_follow_import_reimport_moves_and_deletion(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await register(client)
    north = await make_unit(app, owner.org_id, "North")
    south = await make_unit(app, owner.org_id, "South")

    async def holds() -> tuple[Terms, UnitTerms]:
        found = await rollups(app, owner.org_id)
        assert found == await recounted(app, owner.org_id)
        return found

    # A late-evening case in Berlin is opened on the UTC day before; the parcel is in two cases of June 1.
    ids = await _import(
        client,
        owner,
        "k1,The courier lost my parcel near the depot,North,2026-06-01T23:30:00+02:00",
        "k2,Parcel damaged and the courier was rude,South,2026-06-01T12:00:00Z",
        "k3,Invoice 4417 is wrong: 12.50 charged twice,,2026-06-02T08:00:00Z",
    )
    terms, units = await holds()
    assert terms[(JUNE_1, "parcel")] == 2
    assert terms[(JUNE_1, "courier")] == 2
    assert terms[(JUNE_2, "invoic")] == 1
    assert terms[(JUNE_2, "charg")] == 1
    # Numbers and words shorter than 3 letters are no terms; every case counts once however often it says a word.
    assert not {lexeme for _, lexeme in terms} & {"4417", "12.50", "my"}
    assert units[(north, JUNE_1, "parcel")] == 1
    assert units[(south, JUNE_1, "parcel")] == 1
    assert not any(day == JUNE_2 for _, day, _ in units)  # k3 has no unit

    # Re-imported with other words: the old version's lexemes go, the new one's come.
    await _import(client, owner, "k1,The courier broke my window,North,2026-06-01T23:30:00+02:00")
    terms, units = await holds()
    assert terms[(JUNE_1, "parcel")] == 1
    assert terms[(JUNE_1, "window")] == 1
    assert terms[(JUNE_1, "courier")] == 2
    assert (north, JUNE_1, "parcel") not in units
    assert units[(north, JUNE_1, "window")] == 1

    # Moved to another unit: its rows move with it (the records trigger).
    moved = await client.patch(f"/api/v1/cases/{ids['k1']}", json={"unit_id": str(south)}, headers=owner.headers)
    assert moved.status_code == 200, moved.text
    terms, units = await holds()
    assert not any(unit == north for unit, _, _ in units)
    assert units[(south, JUNE_1, "courier")] == 2
    assert units[(south, JUNE_1, "window")] == 1

    # Deleted: its lexemes are no longer counted, and rows that reach zero are gone.
    deleted = await client.delete(f"/api/v1/documents/{ids['k2']}", headers=owner.headers)
    assert deleted.status_code == 204, deleted.text
    terms, units = await holds()
    assert (JUNE_1, "parcel") not in terms
    assert terms[(JUNE_1, "courier")] == 1
    assert units == {(south, day, lexeme): cases for (day, lexeme), cases in terms.items() if day == JUNE_1}

    # Its unit deleted, the case is of no unit: the unit's rows empty, the organization's stay.
    gone = await client.delete(f"/api/v1/units/{south}", headers=owner.headers)
    assert gone.status_code == 204, gone.text
    assert await holds() == (terms, {})
