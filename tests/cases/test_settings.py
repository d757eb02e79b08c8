"""The organization's SLA hours: read by members, set by admins, used by new cases and priority changes only."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tests.cases.conftest import CASES, Team, import_cases
from tests.factories import error_of

SETTINGS = f"{CASES}/settings"
DEFAULTS = {"urgent": 4, "high": 24, "normal": 72, "low": 168}


def hours_to_due(case: dict[str, Any]) -> timedelta:
    return datetime.fromisoformat(case["due_at"]) - datetime.fromisoformat(case["created_at"])


async def test_admins_set_the_hours_that_new_cases_and_priority_changes_use(team: Team) -> None:
    read = await team.client.get(SETTINGS, headers=team.headers(team.viewer))
    assert read.json() == {"sla_hours": DEFAULTS, "overrides": {}, "defaults": DEFAULTS}
    for account in (team.viewer, team.editor, team.supervisor, team.bu_manager):
        refused = await team.client.put(SETTINGS, json={"sla_hours": {"urgent": 1}}, headers=team.headers(account))
        error_of(refused, 403, "FORBIDDEN")

    put = await team.client.put(
        SETTINGS, json={"sla_hours": {"urgent": 2, "normal": 8760}}, headers=team.headers(team.admin)
    )
    assert put.status_code == 200, put.text
    assert put.json() == {
        "sla_hours": {**DEFAULTS, "urgent": 2, "normal": 8760},
        "overrides": {"urgent": 2, "normal": 8760},
        "defaults": DEFAULTS,
    }
    assert (await team.client.get(SETTINGS, headers=team.owner.headers)).json() == put.json()

    # The existing case keeps its due time; a new one and a priority change take the new hours.
    assert hours_to_due(await team.current()) == timedelta(hours=72)
    new = (await import_cases(team.client, team.owner, "n1,New,,normal"))["n1"]
    assert hours_to_due(new) == timedelta(hours=8760)
    urgent = (await team.patch(team.editor, {"priority": "urgent"})).json()
    assert hours_to_due(urgent) == timedelta(hours=2)
    # Setting them again replaces them: priorities left out are back to the defaults.
    again = await team.client.put(SETTINGS, json={"sla_hours": {}}, headers=team.headers(team.owner))
    assert again.json()["sla_hours"] == DEFAULTS
    assert hours_to_due((await team.patch(team.editor, {"priority": "high"})).json()) == timedelta(hours=24)

    audit = await team.client.get(
        "/api/v1/audit", params={"action": "case_settings.updated"}, headers=team.headers(team.admin)
    )
    assert audit.status_code == 200, audit.text
    entries = audit.json()["items"]
    assert len(entries) == 2
    assert entries[1]["details"]["sla_hours"] == {"before": {}, "after": {"normal": 8760, "urgent": 2}}


async def test_hours_out_of_bounds_are_refused(team: Team) -> None:
    for body in (
        {"sla_hours": {"urgent": 0}},
        {"sla_hours": {"urgent": 8761}},
        {"sla_hours": {"urgent": 1.5}},
        {"sla_hours": {"soon": 4}},
        {"sla_hours": {"urgent": "4h"}},
        {"sla_hours": None},
        {},
    ):
        response = await team.client.put(SETTINGS, json=body, headers=team.headers(team.admin))
        error_of(response, 422, "VALIDATION_ERROR")
    assert (await team.client.get(SETTINGS, headers=team.owner.headers)).json()["overrides"] == {}
