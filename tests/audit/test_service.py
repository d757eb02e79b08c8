"""`audit()` writes with the change it records, names the actor, and bounds what it keeps."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import orjson
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from folio.audit.service import (
    MAX_DETAIL_CHARS,
    MAX_DETAIL_ITEMS,
    MAX_DETAILS_BYTES,
    REDACTED,
    TOO_DEEP,
    AuditAction,
    audit,
    bounded_details,
    url_origin,
)
from folio.auth.principal import Principal, Scope
from folio.models import AuditActorType, AuditEntry, Role


class Rollback(Exception):
    pass


async def stored(app: FastAPI) -> list[AuditEntry]:
    async with app.state.sessionmaker() as session:
        return list((await session.scalars(select(AuditEntry))).all())


async def _audit_then_fail(app: FastAPI) -> None:
    async with app.state.sessionmaker() as session, session.begin():
        await audit(session, org_id=uuid4(), action=AuditAction.ORG_UPDATED, actor=None)
        raise Rollback


async def test_a_change_that_rolls_back_leaves_no_entry(app: FastAPI) -> None:
    with pytest.raises(Rollback):
        await _audit_then_fail(app)
    assert await stored(app) == []


async def test_outside_a_request_a_missing_actor_is_the_system(app: FastAPI) -> None:
    org_id = uuid4()
    async with app.state.sessionmaker() as session, session.begin():
        await audit(session, org_id=org_id, action=AuditAction.API_KEY_CREATED, actor=None, target_id="k")
    [entry] = await stored(app)
    assert (entry.actor_type, entry.ip, entry.user_agent, entry.request_id) == (AuditActorType.SYSTEM, None, None, None)
    assert (entry.org_id, entry.target_type, entry.target_id) == (org_id, None, "k")


async def test_an_api_key_of_no_member_is_recorded_without_an_email(app: FastAPI) -> None:
    key_id = uuid4()
    principal = Principal(org_id=uuid4(), scopes=frozenset({Scope.ADMIN}), api_key_id=key_id)
    async with app.state.sessionmaker() as session, session.begin():
        await audit(session, org_id=principal.org_id, action=AuditAction.ORG_UPDATED, actor=principal)
    [entry] = await stored(app)
    assert (entry.actor_type, entry.actor_api_key_id, entry.actor_user_id, entry.actor_email) == (
        AuditActorType.API_KEY,
        key_id,
        None,
        None,
    )


async def test_a_deleted_user_leaves_the_email_empty_not_an_error(app: FastAPI) -> None:
    principal = Principal.for_member(org_id=uuid4(), user_id=uuid4(), role=Role.ADMIN)
    async with app.state.sessionmaker() as session, session.begin():
        await audit(session, org_id=principal.org_id, action=AuditAction.ORG_UPDATED, actor=principal)
    [entry] = await stored(app)
    assert (entry.actor_type, entry.actor_user_id, entry.actor_email) == (
        AuditActorType.USER,
        principal.user_id,
        None,
    )


def test_details_never_keep_secrets() -> None:
    details = {
        "password": "hunter2",
        "new_secret": "whsec_abc",
        "refresh_token": "r",
        "Credentials": {"user": "u"},
        "name": "kept",
    }
    assert bounded_details(details) == {
        "password": REDACTED,
        "new_secret": REDACTED,
        "refresh_token": REDACTED,
        "Credentials": REDACTED,
        "name": "kept",
    }


def test_details_are_bounded_in_length_count_depth_and_size() -> None:
    when = datetime(2026, 12, 6, tzinfo=UTC)
    details = {
        "long": "x" * 10_000,
        "nul": "a\x00b",
        "many": list(range(1000)),
        "deep": {"one": {"two": {"three": "gone"}}},
        "when": when,
        "role": Role.ADMIN,
        "nan": float("nan"),
    }
    bounded = bounded_details(details)
    assert bounded["long"] == "x" * MAX_DETAIL_CHARS
    assert bounded["nul"] == "ab"
    assert bounded["many"] == list(range(MAX_DETAIL_ITEMS))
    assert bounded["deep"] == {"one": {"two": TOO_DEEP}}
    assert bounded["when"] == when.isoformat()
    assert bounded["role"] == "admin"
    assert bounded["nan"] == "nan"
    assert len(bounded_details({f"key{n}": "y" * 1000 for n in range(1000)})) <= MAX_DETAIL_ITEMS

    huge = bounded_details({f"key{n}": ["z" * 1000] * 100 for n in range(100)})
    assert huge == {"truncated": True, "keys": [f"key{n}" for n in range(MAX_DETAIL_ITEMS)]}
    assert len(orjson.dumps(huge)) <= MAX_DETAILS_BYTES


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://hooks.example.com/services/T0/B0/secret?x=1#f", "https://hooks.example.com"),
        ("http://models.example.net:8443/v1", "http://models.example.net:8443"),
        ("https://[2001:db8::1]:9000/path", "https://[2001:db8::1]:9000"),
        ("https://user:pass@example.com/", "https://example.com"),
        ("http://example.com:99999/", None),
        (None, None),
    ],
)
def test_urls_keep_only_their_origin(url: str | None, origin: str | None) -> None:
    assert url_origin(url) == origin
