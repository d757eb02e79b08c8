from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

from folio.models import TemplateKind
from folio.schemas import RequestModel

_PROMPT_EXAMPLE = (
    'Summarise "{document_title}" for the board: decisions, risks and deadlines. Length: {length}. '
    "Format: {format}. Write in {language}.\n{instructions}\n\n{content}"
)


def _stripped(name: str | None) -> str | None:
    if name is not None and not name.strip():
        raise ValueError("the name is empty")
    return None if name is None else name.strip()


class TemplateCreate(RequestModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"name": "Board brief", "kind": "summary", "prompt": _PROMPT_EXAMPLE}]},
    )

    name: str = Field(min_length=1, max_length=100)
    description: str = Field("", max_length=500)
    kind: TemplateKind = TemplateKind.SUMMARY
    prompt: str = Field(
        min_length=1,
        max_length=20_000,
        description="Text with named variables in braces, checked against the kind's list (see the README); "
        "`{{` and `}}` are literal braces. Without `{content}`, the text to work on follows the prompt.",
    )
    is_default: bool = Field(False, description="Use it when a request names no template (one default per kind).")

    _name = field_validator("name")(_stripped)


class TemplateUpdate(RequestModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"is_default": True}]})

    name: str | None = Field(None, min_length=1, max_length=100)
    description: str | None = Field(None, max_length=500)
    kind: TemplateKind | None = None
    prompt: str | None = Field(None, min_length=1, max_length=20_000)
    is_default: bool | None = None

    _name = field_validator("name")(_stripped)


class TemplateRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    name: str
    description: str
    kind: TemplateKind
    prompt: str
    is_default: bool
    builtin: bool = Field(description="A built-in template: every organization reads it, nobody can change it.")
    created_at: datetime
    updated_at: datetime
