"""Connecting Notion or Confluence through their OAuth authorization-code flow.

An owner or admin starts a flow (`start`): a single-use state, bound to them and their organization and valid for
FOLIO_SSO__FLOW_MINUTES, is stored by its hash with a PKCE verifier (sent as S256; neither source documents PKCE,
and a server that does not support it ignores the parameters). The source sends the browser back to the callback,
which uses the flow up and commits that before anything else (a replayed or raced state finds it used), trades
the code for tokens with no connection held, and creates the integration (or gives an existing one its new tokens)
if the person who started the flow is still an owner or admin there. The tokens are stored encrypted; a refresh
token, when the source gives one, renews the access token at sync time.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from folio.auth.members import member_principal
from folio.auth.principal import Principal, Scope
from folio.auth.sso.oidc import new_secret
from folio.auth.sso.repository import SsoRepository
from folio.auth.sso.service import allowed_return_to
from folio.auth.tokens import secret_digest
from folio.db import release
from folio.errors import FolioError
from folio.integrations import service
from folio.integrations.errors import (
    ConnectStateInvalid,
    CredentialsRejected,
    IntegrationNotFound,
    InvalidIntegrationConfig,
    SourceUnavailable,
)
from folio.integrations.oauth import stored_tokens
from folio.integrations.sources import Sources, parse_config
from folio.models import AuthFlow, Integration, IntegrationKind, IntegrationStatus, Job
from folio.outbound import guarded_client
from folio.settings import SsoSettings

PURPOSE = "connect"
OAUTH_KINDS = frozenset({IntegrationKind.NOTION, IntegrationKind.CONFLUENCE})


class ConnectFailed(Exception):
    """A callback that failed after its flow was found: the error, and where the flow's browser was to return."""

    def __init__(self, error: FolioError, return_to: str | None) -> None:
        super().__init__(error.detail_message)
        self.error = error
        self.return_to = return_to


@dataclass(frozen=True, slots=True)
class Connected:
    integration: Integration
    job: Job | None
    return_to: str | None


async def start(
    session: AsyncSession,
    *,
    principal: Principal,
    sources: Sources,
    limits: service.Limits,
    sso: SsoSettings,
    kind: IntegrationKind,
    redirect_uri: str,
    return_to: str | None,
    name: str | None,
    config: Mapping[str, Any],
    sync_interval_minutes: int | None,
    integration_id: UUID | None,
) -> str:
    """The source's authorization URL for a new flow. With `integration_id`, the flow gives that integration new
    tokens; otherwise it creates one named `name`. `return_to` must be one of FOLIO_SSO__RETURN_URLS' prefixes."""
    if return_to is not None:
        allowed_return_to(sso, return_to)
    if kind not in OAUTH_KINDS:
        raise InvalidIntegrationConfig(f"{kind.value} is connected with a token, not OAuth.", details={"kind": kind})
    endpoint = sources.token_endpoint(kind)
    if integration_id is not None:
        existing = await service.get_integration(session, principal=principal, integration_id=integration_id)
        if existing.kind is not kind:
            raise IntegrationNotFound()
        data: dict[str, Any] = {"integration_id": str(integration_id)}
    else:
        if not name:
            raise InvalidIntegrationConfig(
                "A new integration needs a name.", details={"errors": [{"field": "name", "message": "required"}]}
            )
        service.check_interval(limits.integrations, sync_interval_minutes)
        checked = parse_config(kind, config)
        sources.refuse_internal(kind, checked, oauth=True)
        data = {"name": name, "config": checked, "interval": sync_interval_minutes}
    state, verifier = new_secret(), new_secret()
    await SsoRepository(session).add(
        AuthFlow(
            state_hash=secret_digest(state),
            purpose=PURPOSE,
            provider=kind.value,
            user_id=principal.user_id,
            org_id=principal.org_id,
            code_verifier=verifier,
            redirect_uri=redirect_uri,
            return_to=return_to,
            data=data,
            expires_at=service.now() + timedelta(minutes=sso.flow_minutes),
        )
    )
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    query = {
        "client_id": endpoint.client_id,
        "response_type": "code",
        "redirect_uri": redirect_uri,
        "state": state,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **endpoint.authorize_params,
    }
    return f"{endpoint.authorize_url}?{urlencode(query)}"


async def callback(
    session: AsyncSession,
    *,
    sources: Sources,
    limits: service.Limits,
    state: str | None,
    code: str | None,
    error: str | None,
) -> Connected:
    flow = await SsoRepository(session).flow_for_update(secret_digest(state)) if state else None
    if flow is None or flow.purpose != PURPOSE:
        raise ConnectStateInvalid(details={"reason": "unknown"})
    if flow.used_at is not None:
        raise ConnectStateInvalid(details={"reason": "used"})
    moment = flow.used_at = service.now()
    await release(session)
    try:
        if flow.expires_at <= moment:
            raise ConnectStateInvalid("The connection took too long; start again.", details={"reason": "expired"})
        if error is not None or not code:
            raise CredentialsRejected("The source did not grant access.", details={"reason": (error or "")[:64]})
        kind = IntegrationKind(flow.provider)
        endpoint = sources.token_endpoint(kind)
        answer = await endpoint.grant(
            sources.policy,
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": flow.redirect_uri,
                "code_verifier": flow.code_verifier or "",
            },
        )
        credentials = stored_tokens(answer)
        if kind is IntegrationKind.CONFLUENCE:
            credentials["cloud_id"] = await _cloud_id(sources, answer["access_token"], flow.data.get("config", {}))
        return await _connect(session, sources=sources, limits=limits, flow=flow, kind=kind, credentials=credentials)
    except FolioError as failure:
        raise ConnectFailed(failure, flow.return_to) from failure


async def _connect(
    session: AsyncSession,
    *,
    sources: Sources,
    limits: service.Limits,
    flow: AuthFlow,
    kind: IntegrationKind,
    credentials: dict[str, Any],
) -> Connected:
    principal = await _still_admin(session, flow)
    if "integration_id" in flow.data:
        integration = await service.get_integration(
            session, principal=principal, integration_id=UUID(flow.data["integration_id"]), for_update=True
        )
        integration.credentials_encrypted = sources.encrypt(credentials)
        integration.auth_method = "oauth"
        integration.status, integration.status_message = IntegrationStatus.ACTIVE, None
        return Connected(integration, None, flow.return_to)
    integration, job = await service.create_integration(
        session,
        principal=principal,
        sources=sources,
        limits=limits,
        kind=kind,
        name=flow.data["name"],
        config=flow.data.get("config", {}),
        credentials={},
        sync_interval_minutes=flow.data.get("interval"),
        enabled=True,
        sync_now=True,
        oauth_credentials=credentials,
    )
    return Connected(integration, job, flow.return_to)


async def _still_admin(session: AsyncSession, flow: AuthFlow) -> Principal:
    """The person who started the flow, acting in its organization, if they are still an owner or admin there."""
    if flow.user_id is None or flow.org_id is None:
        raise ConnectStateInvalid(details={"reason": "unknown"})
    principal = await member_principal(session, org_id=flow.org_id, user_id=flow.user_id)
    if principal is None or Scope.ADMIN not in principal.scopes:
        raise ConnectStateInvalid("Only owners and admins connect sources.", details={"reason": "forbidden"})
    return principal


async def _cloud_id(sources: Sources, access_token: str, config: Mapping[str, Any]) -> str:
    """The Atlassian site the token reaches: the configured `site_url`'s, else the only one it reaches."""
    url = f"{sources.settings.atlassian_api_url}/oauth/token/accessible-resources"
    try:
        async with guarded_client(sources.policy) as http:
            response = await http.get(url, headers={"Authorization": f"Bearer {access_token}"})
            sites = response.json() if response.is_success else None
    except Exception as exc:
        raise SourceUnavailable("Atlassian's list of the token's sites could not be read.") from exc
    if not isinstance(sites, list):
        raise SourceUnavailable("Atlassian's list of the token's sites could not be read.")
    wanted = str(config.get("site_url") or "").rstrip("/")
    found = [site for site in sites if isinstance(site, dict) and isinstance(site.get("id"), str)]
    for site in found:
        if str(site.get("url", "")).rstrip("/") == wanted:
            return str(site["id"])
    if len(found) == 1:
        return str(found[0]["id"])
    raise InvalidIntegrationConfig(
        "The token reaches no Confluence site of that URL.", details={"sites": len(sites), "site_url": wanted}
    )
