from __future__ import annotations

from datetime import datetime
from typing import Literal, Self
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from folio.models import LLMProviderKind
from folio.schemas import ReadModel, RequestModel


class LLMSettingsRead(ReadModel):
    provider: LLMProviderKind = Field(
        description="`extractive`: the offline engine (answers are cited sentences); `openai`: an OpenAI-compatible "
        "chat-completions endpoint."
    )
    model: str | None = Field(description="The remote model; null for `extractive`.", examples=["gpt-4o-mini"])
    base_url: str | None = Field(
        description="The endpoint; null means OpenAI's own (or, for `extractive`, none).",
        examples=["https://dashscope-intl.aliyuncs.com/compatible-mode/v1"],
    )
    source: Literal["org", "server"] = Field(
        description="`org`: this organization's own settings; `server`: the server's defaults (FOLIO_LLM__*)."
    )
    api_key_set: bool = Field(description="Whether an API key is configured. The key itself is never shown.")
    updated_at: datetime | None = Field(description="When the organization's settings last changed; null for `server`.")


class LLMSettingsUpdate(RequestModel):
    """The whole configuration; `api_key` left out keeps the stored key, as long as `base_url` does not change."""

    provider: LLMProviderKind = Field(examples=["openai"])
    base_url: str | None = Field(
        None,
        max_length=2000,
        description="http(s) URL of an OpenAI-compatible API, up to `/v1`; null or absent means OpenAI's own.",
        examples=["http://ollama.internal:11434/v1"],
    )
    model: str | None = Field(
        None, min_length=1, max_length=200, description="Required for `openai`.", examples=["qwen2.5:7b-instruct"]
    )
    api_key: str | None = Field(
        None,
        min_length=1,
        max_length=4096,
        description="Stored encrypted and never shown again. Null removes it (servers that take none); absent "
        "keeps the stored one, unless `base_url` changes: a stored key is never sent to a new address.",
        examples=["sk-…"],
    )

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        try:
            parts = urlsplit(value)
            valid = parts.scheme in {"http", "https"} and bool(parts.hostname) and parts.port != 0
        except ValueError:  # a port out of range, unbalanced IPv6 brackets
            valid = False
        if not valid or any(char.isspace() or not char.isprintable() for char in value):
            raise ValueError("must be an http:// or https:// URL with a host")
        if parts.username is not None or parts.password is not None:
            raise ValueError("must not contain credentials: send the key as api_key")
        if parts.fragment:
            raise ValueError("must not have a #fragment")
        return value.rstrip("/")

    @field_validator("model")
    @classmethod
    def _model_name(cls, value: str | None) -> str | None:
        if value is not None and (not value.strip() or value != value.strip()):
            raise ValueError("must not be blank or start or end with spaces")
        return value

    @model_validator(mode="after")
    def _fields_of_the_provider(self) -> Self:
        if self.provider is LLMProviderKind.OPENAI and self.model is None:
            raise ValueError("provider openai needs a model")
        if self.provider is LLMProviderKind.EXTRACTIVE and (
            self.base_url is not None or self.model is not None or self.api_key is not None
        ):
            raise ValueError("provider extractive takes no base_url, model or api_key")
        return self
