"""Tenant isolation: nothing of another organization is reachable by id, and the answer is always 404, never 403."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.factories import Account, add_member, create_api_key, error_code, register

ORGS = "/api/v1/orgs"
KEYS = "/api/v1/api-keys"
ROLES = ["owner", "admin", "editor", "viewer"]
SCOPES = ["documents:read", "documents:write", "search", "answers", "admin"]


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    json: dict[str, Any] | None = None

    async def send(self, client: httpx.AsyncClient, headers: dict[str, str]) -> httpx.Response:
        return await client.request(self.method, self.path, json=self.json, headers=headers)

    def __str__(self) -> str:
        return f"{self.method} {self.path} {self.json or ''}"


@dataclass(frozen=True)
class Snapshot:
    """What the owner of an organization sees of it."""

    name: str
    members: dict[UUID, str]
    key_ids: frozenset[UUID]


async def snapshot(client: httpx.AsyncClient, owner: Account, org_id: UUID) -> Snapshot:
    headers = owner.in_org(org_id)
    org = await client.get(f"{ORGS}/{org_id}", headers=headers)
    members = await client.get(f"{ORGS}/{org_id}/members", params={"limit": 100}, headers=headers)
    keys = await client.get(KEYS, params={"limit": 100}, headers=headers)
    for response in (org, members, keys):
        assert response.status_code == 200, response.text
    return Snapshot(
        name=org.json()["name"],
        members={UUID(item["user_id"]): item["role"] for item in members.json()["items"]},
        key_ids=frozenset(UUID(item["id"]) for item in keys.json()["items"]),
    )


def cross_org_calls(org_id: UUID, target: UUID, other_user: UUID, key_id: UUID, intruder_email: str) -> list[Call]:
    """Every route that names organization `org_id` or one of its resources by id."""
    org = f"{ORGS}/{org_id}"
    return [
        Call("GET", org),
        Call("PATCH", org, {"name": "taken over"}),
        Call("PATCH", org, {}),
        Call("GET", f"{org}/members"),
        Call("POST", f"{org}/members", {"email": intruder_email, "role": "owner"}),
        Call("POST", f"{org}/members", {"email": intruder_email, "role": "viewer"}),
        Call("PATCH", f"{org}/members/{target}", {"role": "viewer"}),
        Call("PATCH", f"{org}/members/{other_user}", {"role": "owner"}),
        Call("DELETE", f"{org}/members/{target}"),
        Call("DELETE", f"{org}/members/{other_user}"),
        Call("GET", f"{org}/invitations"),
        Call("POST", f"{org}/invitations", {"email": intruder_email, "role": "owner"}),
        Call("DELETE", f"{org}/invitations/{target}"),
        Call("DELETE", f"{KEYS}/{key_id}"),
    ]


async def test_another_orgs_resources_are_404_for_members_and_keys(client: httpx.AsyncClient) -> None:
    a_owner = await register(client)
    a_user = await register(client)
    await add_member(client, a_owner, a_user, "editor")
    a_key = await create_api_key(client, a_owner, scopes=["admin", "documents:read"])
    b_owner = await register(client)
    b_admin = await register(client)
    await add_member(client, b_owner, b_admin, "admin")
    b_key = await create_api_key(client, b_owner, scopes=["admin", "documents:read", "documents:write", "search"])
    before = await snapshot(client, a_owner, a_owner.org_id)
    assert before.members == {a_owner.user_id: "owner", a_user.user_id: "editor"}
    assert before.key_ids == {UUID(a_key["id"])}

    intruders: dict[str, dict[str, str]] = {
        "B owner": b_owner.headers,
        "B admin": b_admin.headers,
        "B admin acting in B": b_admin.in_org(b_owner.org_id),
        "B admin key": {"X-API-Key": b_key["secret"]},
    }
    calls = cross_org_calls(a_owner.org_id, a_user.user_id, a_owner.user_id, UUID(a_key["id"]), b_admin.email)
    for who, headers in intruders.items():
        for call in calls:
            response = await call.send(client, headers)
            assert response.status_code == 404, f"{who}: {call} -> {response.status_code} {response.text}"
            expected = "API_KEY_NOT_FOUND" if call.path.startswith(KEYS) else "ORG_NOT_FOUND"
            assert error_code(response) == expected, f"{who}: {call}"
        listed = await client.get(ORGS, headers=headers)
        assert listed.status_code == 200, listed.text
        assert str(a_owner.org_id) not in {item["id"] for item in listed.json()["items"]}, who

    assert await snapshot(client, a_owner, a_owner.org_id) == before
    still_works = await client.get("/api/v1/auth/me", headers={"X-API-Key": a_key["secret"]})
    assert still_works.status_code == 200, still_works.text
    assert UUID(still_works.json()["org"]["id"]) == a_owner.org_id
    member_view = await client.get(f"{ORGS}/{a_owner.org_id}", headers=a_user.headers)
    assert member_view.status_code == 200, member_view.text
    assert member_view.json()["role"] == "editor"


async def test_the_own_org_is_reachable_by_the_same_intruders(client: httpx.AsyncClient) -> None:
    """The control for the test above: the same principals do reach their own organization."""
    b_owner = await register(client)
    b_admin = await register(client)
    await add_member(client, b_owner, b_admin, "admin")
    b_key = await create_api_key(client, b_owner, scopes=["admin", "documents:read"])

    for headers in (b_owner.headers, b_admin.in_org(b_owner.org_id), {"X-API-Key": b_key["secret"]}):
        org = await client.get(f"{ORGS}/{b_owner.org_id}", headers=headers)
        members = await client.get(f"{ORGS}/{b_owner.org_id}/members", headers=headers)
        assert org.status_code == 200, org.text
        assert members.status_code == 200, members.text
        assert {UUID(item["user_id"]) for item in members.json()["items"]} == {b_owner.user_id, b_admin.user_id}


# The property: random organizations, memberships and keys; every cross-organization request is a 404.


@dataclass(frozen=True)
class Key:
    id: UUID
    secret: str
    scopes: tuple[str, ...]


@dataclass
class Org:
    id: UUID
    name: str
    owner: Account
    members: dict[UUID, str]
    key: Key | None = None

    @property
    def key_ids(self) -> frozenset[UUID]:
        return frozenset([self.key.id] if self.key else [])


@dataclass(frozen=True)
class Actor:
    """A principal: a user (possibly sending X-Org-Id) or an API key."""

    label: str
    headers: dict[str, str]
    user: Account | None = None
    key_org: UUID | None = None
    key_scopes: tuple[str, ...] = ()

    def role_in(self, org: Org) -> str | None:
        return org.members.get(self.user.user_id) if self.user is not None else None

    def belongs_to(self, org: Org) -> bool:
        return org.id == self.key_org if self.user is None else self.user.user_id in org.members

    def acting_org(self) -> UUID:
        if self.user is None:
            assert self.key_org is not None
            return self.key_org
        return UUID(self.headers.get("X-Org-Id", str(self.user.org_id)))

    def is_admin(self, org: Org) -> bool:
        if self.user is None:
            return "admin" in self.key_scopes
        return self.role_in(org) in {"owner", "admin"}

    def is_owner(self, org: Org) -> bool:
        return self.role_in(org) == "owner"


@pytest.fixture
async def pool(client: httpx.AsyncClient) -> list[Account]:
    """Users shared by every example of a property test (registering is the slow part); orgs are per example."""
    return [await register(client) for _ in range(3)]


async def build_world(client: httpx.AsyncClient, data: st.DataObject, users: list[Account]) -> list[Org]:
    """Fresh organizations owned by random users, with random members and at most one API key each."""
    orgs: list[Org] = []
    names = st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), min_size=1, max_size=20)
    for creator in data.draw(st.lists(st.sampled_from(users), min_size=2, max_size=3), label="org creators"):
        response = await client.post(ORGS, json={"name": data.draw(names, label="name")}, headers=creator.headers)
        assert response.status_code == 201, response.text
        orgs.append(Org(UUID(response.json()["id"]), response.json()["name"], creator, {creator.user_id: "owner"}))
    for org in orgs:
        for user in users:
            role = None if user.user_id in org.members else data.draw(st.sampled_from([None, *ROLES]), label="role")
            if role is not None:
                invited = await client.post(
                    f"{ORGS}/{org.id}/invitations",
                    json={"email": user.email, "role": role},
                    headers=org.owner.in_org(org.id),
                )
                assert invited.status_code == 202, invited.text
                accepted = await client.post(f"/api/v1/invitations/{invited.json()['id']}/accept", headers=user.headers)
                assert accepted.status_code == 200, accepted.text
                org.members[user.user_id] = role
        scopes = data.draw(st.none() | st.lists(st.sampled_from(SCOPES), min_size=1, unique=True), label="key")
        if scopes is not None:
            response = await client.post(KEYS, json={"name": "k", "scopes": scopes}, headers=org.owner.in_org(org.id))
            assert response.status_code == 201, response.text
            org.key = Key(UUID(response.json()["id"]), response.json()["secret"], tuple(scopes))
    return orgs


def actors_of(data: st.DataObject, users: list[Account], orgs: list[Org]) -> list[Actor]:
    actors: list[Actor] = []
    for number, user in enumerate(users):
        own = [org.id for org in orgs if user.user_id in org.members]
        active = data.draw(st.sampled_from([None, *own]), label="X-Org-Id")
        headers = user.headers if active is None else user.in_org(active)
        actors.append(Actor(f"user{number} in {active or 'default org'}", headers, user=user))
    for org in orgs:
        if org.key is not None:
            headers = {"X-API-Key": org.key.secret}
            actors.append(
                Actor(f"key {org.key.scopes} of {org.id}", headers, key_org=org.id, key_scopes=org.key.scopes)
            )
    return actors


def foreign_calls(data: st.DataObject, actor: Actor, org: Org, users: list[Account]) -> list[tuple[Call, str]]:
    """A few requests naming `org` (where `actor` is no member) or its resources, with the 404 code expected."""
    target = data.draw(st.sampled_from(sorted(org.members)), label="target member")
    email = data.draw(st.sampled_from([user.email for user in users]), label="email")
    role = data.draw(st.sampled_from(ROLES), label="new role")
    path = f"{ORGS}/{org.id}"
    options = [
        (Call("GET", path), "ORG_NOT_FOUND"),
        (Call("PATCH", path, {"name": "taken over"}), "ORG_NOT_FOUND"),
        (Call("GET", f"{path}/members"), "ORG_NOT_FOUND"),
        (Call("POST", f"{path}/members", {"email": email, "role": role}), "ORG_NOT_FOUND"),
        (Call("PATCH", f"{path}/members/{target}", {"role": role}), "ORG_NOT_FOUND"),
        (Call("DELETE", f"{path}/members/{target}"), "ORG_NOT_FOUND"),
    ]
    if org.key is not None and actor.acting_org() != org.id:
        options.append((Call("DELETE", f"{KEYS}/{org.key.id}"), "API_KEY_NOT_FOUND"))
    chosen: list[tuple[Call, str]] = data.draw(
        st.lists(st.sampled_from(options[1:]), min_size=1, max_size=2, unique_by=lambda option: str(option[0])),
        label="cross-org calls",
    )
    return [options[0], *chosen]


def own_calls(data: st.DataObject, actor: Actor, org: Org, users: list[Account]) -> list[tuple[Call, int]]:
    """Harmless requests on an org the actor belongs to, with the exact status the role rules give."""
    target = data.draw(st.sampled_from(sorted(org.members)), label="target member")
    target_role = org.members[target]
    existing = next(user.email for user in users if user.user_id == target)
    role = data.draw(st.sampled_from(ROLES), label="role")
    admin, owner = actor.is_admin(org), actor.is_owner(org)
    path = f"{ORGS}/{org.id}"
    options = [
        (Call("GET", path), 200),
        (Call("GET", f"{path}/members"), 200),
        (Call("PATCH", path, {"name": org.name}), 200 if admin else 403),
        (
            Call("POST", f"{path}/members", {"email": existing, "role": role}),
            403 if not admin or (role == "owner" and not owner) else 409,
        ),
        (
            Call("PATCH", f"{path}/members/{target}", {"role": target_role}),
            403 if not admin or (target_role == "owner" and not owner) else 200,
        ),
    ]
    chosen: list[tuple[Call, int]] = data.draw(
        st.lists(st.sampled_from(options[1:]), max_size=1),
        label="own-org calls",
    )
    return [options[0], *chosen]


# No shrinking: every step of it is a round of HTTP requests, and the labelled draws already explain a failure.
@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
@given(data=st.data())
async def test_cross_org_requests_are_always_404(
    client: httpx.AsyncClient, pool: list[Account], data: st.DataObject
) -> None:
    """Random orgs, members and keys: every request naming another org's resource is a 404, never a 403, and
    changes nothing; every request on an org the principal belongs to answers as the role rules say."""
    orgs = await build_world(client, data, pool)
    users = pool
    actors = actors_of(data, users, orgs)

    for actor in actors:
        for org in orgs:
            if actor.belongs_to(org):
                for call, status in own_calls(data, actor, org, users):
                    response = await call.send(client, actor.headers)
                    assert response.status_code == status, f"{actor.label}: {call} -> {response.text}"
                    if call.method == "GET" and call.path == f"{ORGS}/{org.id}":
                        # A key acts with its creator's role: every key here is its organization owner's.
                        assert response.json()["role"] == (actor.role_in(org) if actor.user else "owner")
                    if call.method == "GET" and call.path.endswith("/members"):
                        items = response.json()["items"]
                        assert {UUID(item["user_id"]): item["role"] for item in items} == org.members
            else:
                for call, code in foreign_calls(data, actor, org, users):
                    response = await call.send(client, actor.headers)
                    assert response.status_code == 404, f"{actor.label}: {call} -> {response.text}"
                    assert error_code(response) == code, f"{actor.label}: {call}"

    for org in orgs:
        assert await snapshot(client, org.owner, org.id) == Snapshot(org.name, org.members, org.key_ids)
