"""Organizations that require sign-in through a provider: password login refused to their members (owners aside),
members' sessions revoked when it is turned on, sign-in through the provider let through."""

from __future__ import annotations

import httpx

from tests.auth.sso.conftest import SSO, sign_in
from tests.auth.sso.fake_provider import FakeProvider
from tests.factories import PASSWORD, Account, add_member, error_of, register


def as_person(fake: FakeProvider, account: Account) -> None:
    fake.person = {"sub": f"sub-{account.user_id}", "email": account.email, "email_verified": True}


async def link_identity(browser: httpx.AsyncClient, fake: FakeProvider, account: Account) -> dict[str, str]:
    as_person(fake, account)
    ticket = (await sign_in(browser)).json()["link_ticket"]
    linked = await browser.post(f"{SSO}/link", json={"ticket": ticket, "password": account.password})
    assert linked.status_code == 200, linked.text
    tokens: dict[str, str] = linked.json()
    return tokens


async def require(browser: httpx.AsyncClient, account: Account, required: bool) -> httpx.Response:
    return await browser.patch(
        f"/api/v1/orgs/{account.org_id}", json={"require_sso": required}, headers=account.headers
    )


async def login(browser: httpx.AsyncClient, account: Account, password: str = PASSWORD) -> httpx.Response:
    return await browser.post("/api/v1/auth/login", json={"email": account.email, "password": password})


async def test_members_must_sign_in_through_the_provider_once_required(
    browser: httpx.AsyncClient, fake: FakeProvider
) -> None:
    owner = await register(browser)
    member = await register(browser)
    await add_member(browser, owner, member, "editor")
    await link_identity(browser, fake, owner)
    assert (await browser.get(f"/api/v1/orgs/{owner.org_id}", headers=owner.headers)).json()["require_sso"] is False

    turned_on = await require(browser, owner, True)
    assert turned_on.status_code == 200, turned_on.text
    assert turned_on.json()["require_sso"] is True

    # The member's session (begun with a password) is over, and the password no longer lets them in.
    refreshed = await browser.post("/api/v1/auth/refresh", json={"refresh_token": member.refresh_token})
    error_of(refreshed, 401, "AUTH_INVALID")
    refused = error_of(await login(browser, member), 403, "SSO_REQUIRED")
    assert refused["details"] == {"providers": ["fake", "other", "down"]}
    # Without the password, nothing is told.
    error_of(await login(browser, member, "a wrong password 42"), 401, "INVALID_CREDENTIALS")
    # Owners keep their password: the way in should the provider fail.
    assert (await login(browser, owner)).status_code == 200

    tokens = await link_identity(browser, fake, member)
    in_org = {"Authorization": f"Bearer {tokens['access_token']}", "X-Org-Id": str(owner.org_id)}
    assert (await browser.get("/api/v1/auth/me", headers=in_org)).json()["role"] == "editor"
    assert (await sign_in(browser)).json()["status"] == "signed_in"

    assert (await require(browser, owner, False)).json()["require_sso"] is False
    assert (await login(browser, member)).status_code == 200


async def test_joining_an_organization_that_requires_a_provider_ends_password_sessions(
    browser: httpx.AsyncClient, fake: FakeProvider
) -> None:
    owner = await register(browser)
    await link_identity(browser, fake, owner)
    assert (await require(browser, owner, True)).status_code == 200
    joining = await register(browser)

    await add_member(browser, owner, joining, "editor")

    # The session they joined with began with a password: it is over, in their own organization too.
    error_of(await browser.get("/api/v1/auth/me", headers=joining.in_org(owner.org_id)), 401, "AUTH_INVALID")
    refreshed = await browser.post("/api/v1/auth/refresh", json={"refresh_token": joining.refresh_token})
    error_of(refreshed, 401, "AUTH_INVALID")
    error_of(await login(browser, joining), 403, "SSO_REQUIRED")
    tokens = await link_identity(browser, fake, joining)
    in_org = {"Authorization": f"Bearer {tokens['access_token']}", "X-Org-Id": str(owner.org_id)}
    assert (await browser.get("/api/v1/auth/me", headers=in_org)).json()["role"] == "editor"


async def test_requiring_a_provider_needs_an_admin_with_a_linked_identity(
    browser: httpx.AsyncClient, fake: FakeProvider
) -> None:
    owner = await register(browser)
    admin = await register(browser)
    await add_member(browser, owner, admin, "admin")
    editor = await register(browser)
    await add_member(browser, owner, editor, "editor")
    admin_here = Account(**{**vars(admin), "org_id": owner.org_id})
    headers = admin.in_org(owner.org_id)

    refused = await browser.patch(f"/api/v1/orgs/{owner.org_id}", json={"require_sso": True}, headers=headers)
    error_of(refused, 409, "SSO_IDENTITY_REQUIRED")
    by_editor = await browser.patch(
        f"/api/v1/orgs/{owner.org_id}", json={"require_sso": True}, headers=editor.in_org(owner.org_id)
    )
    error_of(by_editor, 403, "FORBIDDEN")

    tokens = await link_identity(browser, fake, admin)
    admin_here.access_token = tokens["access_token"]
    assert (await require(browser, admin_here, True)).status_code == 200
    # The admin who turned it on keeps the session they did it with.
    assert (await browser.get("/api/v1/auth/me", headers=admin_here.in_org(owner.org_id))).status_code == 200
