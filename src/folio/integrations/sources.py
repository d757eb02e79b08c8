"""What each kind of integration is made of (its configuration, its credentials, its connector), and how an
integration's row becomes a connector talking to its source: the credentials decrypted, the API's base URL chosen,
an OAuth token renewed when the source says it expired."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, SecretStr, ValidationError

from folio.integrations.connector import Connector
from folio.integrations.connectors.confluence import ConfluenceConfig, ConfluenceConnector, ConfluenceCredentials
from folio.integrations.connectors.guru import GuruConfig, GuruConnector, GuruCredentials
from folio.integrations.connectors.notion import NotionConfig, NotionConnector, NotionCredentials
from folio.integrations.connectors.web import WebConfig, WebConnector, WebCredentials
from folio.integrations.errors import CredentialsRejected, InvalidIntegrationConfig
from folio.integrations.http import Authorizer, Retrying, SourceHttp, StaticAuth
from folio.integrations.oauth import OAuthToken, TokenEndpoint
from folio.llm.crypto import CredentialCipher
from folio.models import Integration, IntegrationKind
from folio.outbound import OutboundPolicy, OutboundURLForbidden
from folio.settings import Settings

Renewed = Callable[[dict[str, Any]], Awaitable[None]]
# The configuration fields that name an address the server calls.
_ADDRESSES = {
    IntegrationKind.WEB: ("start_url", "sitemap_url"),
    IntegrationKind.CONFLUENCE: ("site_url",),
}


@dataclass(frozen=True, slots=True)
class Kind:
    config: type[BaseModel]
    credentials: type[BaseModel]
    connector: Callable[..., Connector]


KINDS: dict[IntegrationKind, Kind] = {
    IntegrationKind.NOTION: Kind(NotionConfig, NotionCredentials, NotionConnector),
    IntegrationKind.CONFLUENCE: Kind(ConfluenceConfig, ConfluenceCredentials, ConfluenceConnector),
    IntegrationKind.GURU: Kind(GuruConfig, GuruCredentials, GuruConnector),
    IntegrationKind.WEB: Kind(WebConfig, WebCredentials, WebConnector),
}


def parse_config(kind: IntegrationKind, raw: Mapping[str, Any]) -> dict[str, Any]:
    """The configuration, checked against its kind and normalised; `InvalidIntegrationConfig` names the fields."""
    return _parsed(KINDS[kind].config, raw, "config").model_dump(mode="json")


def parse_credentials(kind: IntegrationKind, raw: Mapping[str, Any]) -> dict[str, Any]:
    """The credentials checked against their kind, secrets revealed (for encryption, never for an answer)."""
    parsed = _parsed(KINDS[kind].credentials, raw, "credentials")
    return {
        name: value.get_secret_value() if isinstance(value, SecretStr) else value
        for name, value in parsed
        if value is not None
    }


def _parsed(model: type[BaseModel], raw: Mapping[str, Any], where: str) -> BaseModel:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        errors = [
            {"field": _field(model, where, error["loc"]), "message": error["msg"]}
            for error in exc.errors(include_url=False, include_input=False)
        ]
        raise InvalidIntegrationConfig(details={"errors": errors}) from exc


def _field(model: type[BaseModel], where: str, loc: tuple[int | str, ...]) -> str:
    """The path of a field in error; a key that is none of the model's is not repeated (credentials pasted in the
    wrong place would come back in the answer)."""
    if where == "credentials" and loc and loc[0] not in model.model_fields:
        return f"{where}.<unknown key>"
    return ".".join(str(part) for part in (where, *loc))


class Sources:
    """What connecting to sources needs from the deployment's settings."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings.integrations
        self.policy = OutboundPolicy.from_settings(
            settings.outbound, max_response_bytes=settings.integrations.max_item_bytes
        )
        self.cipher = CredentialCipher(settings.encryption_key_list)
        self.retrying = Retrying(self.settings.max_retries, self.settings.max_retry_after_seconds)

    def refuse_internal(self, kind: IntegrationKind, config: Mapping[str, Any], *, oauth: bool = False) -> None:
        """`OutboundURLForbidden` for a source address the outbound guard would refuse (loopback, private,
        link-local, metadata…), when it is configured rather than at the first sync. An OAuth-connected Confluence
        site is reached through Atlassian's gateway, not its own address."""
        fields = _ADDRESSES.get(kind, ())
        if oauth and kind is IntegrationKind.CONFLUENCE:
            fields = ()
        for name in fields:
            url = config.get(name)
            refusal = self.policy.url_refusal(url) if isinstance(url, str) else None
            if refusal is not None:
                raise OutboundURLForbidden(
                    f"config.{name} is not allowed: {refusal}. A server whose operator set "
                    "FOLIO_OUTBOUND__ALLOW_PRIVATE may reach sources on its own network.",
                    details={
                        "errors": [{"loc": ["body", "config", name], "message": refusal, "type": "outbound_forbidden"}]
                    },
                )

    def encrypt(self, credentials: Mapping[str, Any]) -> str:
        return self.cipher.encrypt(json.dumps(dict(credentials)))

    def credentials(self, integration: Integration) -> dict[str, Any]:
        """The decrypted credentials (`CredentialUnreadable` when no configured key decrypts them)."""
        if integration.credentials_encrypted is None:
            return {}
        loaded: dict[str, Any] = json.loads(self.cipher.decrypt(integration.credentials_encrypted))
        return loaded

    def open(
        self, integration: Integration, credentials: dict[str, Any], renewed: Renewed
    ) -> tuple[SourceHttp, Connector]:
        """A client for the integration's source and its connector; `renewed` stores credentials an OAuth refresh
        replaced (encrypt them with `encrypt`)."""
        kind = KINDS[integration.kind]
        config = kind.config.model_validate(integration.config)
        if isinstance(config, WebConfig):
            # The deployment's bounds of a crawl, whatever the integration asked for.
            config = config.model_copy(
                update={
                    "max_pages": min(config.max_pages, self.settings.max_web_pages),
                    "max_depth": min(config.max_depth, self.settings.max_web_depth),
                }
            )
        http = SourceHttp(
            integration.kind.value, self.policy, self._authorizer(integration, credentials, renewed), self.retrying
        )
        connector = kind.connector(
            config, http, self._base_url(integration, config, credentials), max_items=self.settings.max_items
        )
        return http, connector

    def _authorizer(self, integration: Integration, credentials: dict[str, Any], renewed: Renewed) -> Authorizer:
        if integration.auth_method == "oauth":
            return OAuthToken(credentials, self.token_endpoint(integration.kind), self.policy, renewed)
        try:
            parsed = KINDS[integration.kind].credentials.model_validate(credentials)
        except ValidationError as exc:
            raise CredentialsRejected("The stored credentials do not fit the integration's kind.") from exc
        headers: dict[str, str] = parsed.headers()  # type: ignore[attr-defined]
        return StaticAuth(headers)

    def token_endpoint(self, kind: IntegrationKind) -> TokenEndpoint:
        if kind is IntegrationKind.NOTION and self.settings.notion_oauth is not None:
            return TokenEndpoint.notion(self.settings.notion_api_url, self.settings.notion_oauth)
        if kind is IntegrationKind.CONFLUENCE and self.settings.confluence_oauth is not None:
            return TokenEndpoint.atlassian(self.settings.atlassian_auth_url, self.settings.confluence_oauth)
        raise InvalidIntegrationConfig(f"The server has no OAuth app for {kind.value}.", details={"kind": kind.value})

    def _base_url(self, integration: Integration, config: BaseModel, credentials: Mapping[str, Any]) -> str:
        match integration.kind:
            case IntegrationKind.NOTION:
                return self.settings.notion_api_url
            case IntegrationKind.GURU:
                return self.settings.guru_api_url
            case IntegrationKind.CONFLUENCE if integration.auth_method == "oauth":
                return f"{self.settings.atlassian_api_url}/ex/confluence/{credentials['cloud_id']}"
            case IntegrationKind.CONFLUENCE:
                return str(config.site_url)  # type: ignore[attr-defined]
            case _:
                return str(config.start_url)  # type: ignore[attr-defined]
