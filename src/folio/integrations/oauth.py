"""OAuth tokens of connected sources: the token endpoint of each source's authorization server, and the
authorizer that renews an access token the source called expired with the refresh token, storing the new pair.

Notion sends the client's credentials with HTTP Basic, Atlassian in the JSON body; both answer JSON."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
import structlog

from folio.integrations.errors import CredentialsRejected, SourceUnavailable
from folio.outbound import OutboundPolicy, OutboundRefused, ResponseRefused, guarded_client
from folio.settings import OAuthApp

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class TokenEndpoint:
    token_url: str
    authorize_url: str
    client_id: str
    client_secret: str = field(repr=False)
    basic_auth: bool
    # Fixed parameters of the authorization request (Atlassian's audience and scopes, Notion's owner).
    authorize_params: Mapping[str, str]

    @classmethod
    def notion(cls, api_url: str, app: OAuthApp) -> TokenEndpoint:
        return cls(
            token_url=f"{api_url}/v1/oauth/token",
            authorize_url=f"{api_url}/v1/oauth/authorize",
            client_id=app.client_id,
            client_secret=app.client_secret.get_secret_value(),
            basic_auth=True,
            authorize_params={"owner": "user"},
        )

    @classmethod
    def atlassian(cls, auth_url: str, app: OAuthApp) -> TokenEndpoint:
        return cls(
            token_url=f"{auth_url}/oauth/token",
            authorize_url=f"{auth_url}/authorize",
            client_id=app.client_id,
            client_secret=app.client_secret.get_secret_value(),
            basic_auth=False,
            authorize_params={
                "audience": "api.atlassian.com",
                "scope": "read:page:confluence read:space:confluence read:attachment:confluence "
                "write:comment:confluence read:comment:confluence offline_access",
                "prompt": "consent",
            },
        )

    async def grant(self, policy: OutboundPolicy, body: Mapping[str, str]) -> dict[str, Any]:
        """The token endpoint's answer to a grant; `CredentialsRejected` when it refuses it (a used code, a
        revoked refresh token), `SourceUnavailable` when it cannot be reached."""
        headers: dict[str, str] = {"Accept": "application/json"}
        payload = dict(body)
        if self.basic_auth:
            pair = f"{self.client_id}:{self.client_secret}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        else:
            payload |= {"client_id": self.client_id, "client_secret": self.client_secret}
        try:
            async with guarded_client(policy) as http:
                response = await http.post(self.token_url, json=payload, headers=headers)
        except (httpx2.HTTPError, OutboundRefused, ResponseRefused) as exc:
            raise SourceUnavailable("The source's authorization server could not be reached.") from exc
        if response.status_code in (400, 401, 403):
            raise CredentialsRejected("The source's authorization server refused the grant.")
        if not response.is_success:
            raise SourceUnavailable(f"The source's authorization server answered {response.status_code}.")
        try:
            answer: dict[str, Any] = response.json()
        except ValueError as exc:
            raise SourceUnavailable("The source's authorization server did not answer JSON.") from exc
        if not isinstance(answer, dict) or not isinstance(answer.get("access_token"), str):
            raise SourceUnavailable("The source's authorization server gave no access token.")
        return answer


def stored_tokens(answer: Mapping[str, Any], previous: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The credentials to keep from a token answer: a refresh token that was not rotated stays."""
    kept = dict(previous or {})
    kept["access_token"] = answer["access_token"]
    if isinstance(answer.get("refresh_token"), str):
        kept["refresh_token"] = answer["refresh_token"]
    expires_in = answer.get("expires_in")
    if isinstance(expires_in, int | float):
        kept["expires_at"] = (datetime.now(UTC) + timedelta(seconds=expires_in)).isoformat()
    return kept


class OAuthToken:
    """An access token with, maybe, a refresh token; `renewed` stores what a refresh replaced."""

    def __init__(
        self,
        credentials: Mapping[str, Any],
        endpoint: TokenEndpoint,
        policy: OutboundPolicy,
        renewed: Callable[[dict[str, Any]], Awaitable[None]],
    ) -> None:
        self.credentials = dict(credentials)
        self.endpoint = endpoint
        self.policy = policy
        self.renewed = renewed

    def headers(self) -> Mapping[str, str]:
        return {"Authorization": f"Bearer {self.credentials.get('access_token', '')}"}

    async def refresh(self) -> bool:
        refresh_token = self.credentials.get("refresh_token")
        if not isinstance(refresh_token, str):
            return False
        try:
            answer = await self.endpoint.grant(
                self.policy, {"grant_type": "refresh_token", "refresh_token": refresh_token}
            )
        except CredentialsRejected:
            log.info("integration_token_refresh_refused", token_url=self.endpoint.token_url)
            return False
        self.credentials = stored_tokens(answer, self.credentials)
        await self.renewed(self.credentials)
        return True
