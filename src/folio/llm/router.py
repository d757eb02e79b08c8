from __future__ import annotations

from typing import Annotated

from fastapi import Body, status
from fastapi.openapi.models import Example

from folio.auth.deps import CurrentPrincipal, authenticated, requires
from folio.auth.principal import Principal, Scope
from folio.deps import API_V1, RegistryDep, SessionDep
from folio.errors import Forbidden
from folio.llm import service
from folio.llm.schemas import LLMSettingsRead, LLMSettingsUpdate
from folio.outbound import OutboundURLForbidden
from folio.routing import Router

router = Router(prefix=f"{API_V1}/llm", tags=["llm"])
Admin = Annotated[Principal, requires(Scope.ADMIN)]


_EXAMPLES: dict[str, Example] = {
    "openai": {
        "summary": "OpenAI",
        "value": {"provider": "openai", "model": "gpt-4o-mini", "api_key": "sk-…"},
    },
    "dashscope": {
        "summary": "Qwen on DashScope (compatible mode)",
        "value": {
            "provider": "openai",
            "base_url": "https://dashscope-intl.aliyuncs.com/compatible-mode/v1",
            "model": "qwen-plus",
            "api_key": "sk-…",
        },
    },
    "ollama": {
        "summary": "Ollama on your network (no key)",
        "value": {
            "provider": "openai",
            "base_url": "http://ollama.internal:11434/v1",
            "model": "qwen2.5:7b-instruct",
            "api_key": None,
        },
    },
    "offline": {"summary": "No model: the offline engine", "value": {"provider": "extractive"}},
}


def _read(effective: service.EffectiveLLM) -> LLMSettingsRead:
    return LLMSettingsRead.model_validate(effective)


@router.get(
    "/settings",
    response_model=LLMSettingsRead,
    responses=authenticated(),
    summary="Get the language model your organization's answers use",
    description=(
        "The organization's own settings when an admin has set them (`source: org`), otherwise the server's "
        "(`source: server`). `api_key_set` says whether a key is configured; the key itself is never returned. "
        "Any member may read this."
    ),
)
async def get_settings(principal: CurrentPrincipal, session: SessionDep, registry: RegistryDep) -> LLMSettingsRead:
    return _read(await service.effective_settings(session, org_id=principal.org_id, server=registry.settings))


@router.put(
    "/settings",
    response_model=LLMSettingsRead,
    responses=authenticated(Forbidden, OutboundURLForbidden),
    summary="Use your own language model (owners and admins)",
    description=(
        "Replaces the organization's settings. `provider: openai` takes any OpenAI-compatible chat-completions API "
        "(OpenAI, DashScope compatible-mode, Ollama, vLLM…) at `base_url` with `model`; `provider: extractive` "
        "keeps answers offline (cited sentences, no model). The API key is stored encrypted and never shown again; "
        "leave it out to keep the stored one (only while `base_url` stays the same), or send null to remove it. "
        "The next call of any process uses the new settings. Unless the server's operator allows private "
        "addresses (FOLIO_OUTBOUND__ALLOW_PRIVATE), a `base_url` whose host is internal (loopback, private, "
        "link-local, metadata, or a name such as localhost) is refused with 422 `OUTBOUND_URL_FORBIDDEN`, and one "
        "whose name resolves to such an address is refused when called (502 `LLM_ENDPOINT_FORBIDDEN`)."
    ),
)
async def update_settings(
    body: Annotated[LLMSettingsUpdate, Body(openapi_examples=_EXAMPLES)],
    principal: Admin,
    session: SessionDep,
    registry: RegistryDep,
) -> LLMSettingsRead:
    saved = await service.save_org_settings(
        session,
        principal=principal,
        cipher=registry.cipher,
        outbound=registry.outbound,
        provider=body.provider,
        base_url=body.base_url,
        model=body.model,
        api_key=body.api_key if "api_key" in body.model_fields_set else service.KEEP_KEY,
    )
    return _read(saved)


@router.delete(
    "/settings",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=authenticated(Forbidden),
    summary="Go back to the server's language model (owners and admins)",
    description="Deletes the organization's settings and its stored key. Answers 204 also when none were set.",
)
async def delete_settings(principal: Admin, session: SessionDep) -> None:
    await service.remove_org_settings(session, principal=principal)
