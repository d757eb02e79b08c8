from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

from folio.enrichment.triage import TRIAGE_SCHEMA_ID
from folio.models import Enrichment, EnrichmentStatus
from folio.schemas import ReadModel, RequestModel, bounded_json

MAX_SCHEMA_BYTES = 64 * 1024

JsonSchemaDocument = Annotated[dict[str, Any], bounded_json(max_bytes=MAX_SCHEMA_BYTES)]
"""An enrichment schema as a tenant gives it: 64 KiB of JSON at most, nested at most MAX_JSON_DEPTH levels."""

_SCHEMA_EXAMPLE: dict[str, Any] = {
    "type": "object",
    "required": ["product", "urgent"],
    "properties": {
        "product": {"type": "string", "enum": ["mobile app", "website", "card"]},
        "urgent": {"type": "boolean"},
    },
}


def _stripped(name: str | None) -> str | None:
    if name is not None and not name.strip():
        raise ValueError("the name is empty")
    return None if name is None else name.strip()


class SchemaCreate(RequestModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"name": "Product and urgency", "json_schema": _SCHEMA_EXAMPLE}]},
    )

    name: str = Field(min_length=1, max_length=100)
    description: str = Field("", max_length=500)
    json_schema: JsonSchemaDocument = Field(
        description="A JSON Schema (draft 2020-12) of an object with `properties`, at most 64 KiB and nested at "
        "most 32 levels. A string property whose values are a `oneOf` of `const` + `description` is a set of "
        "labels: the model reads the descriptions, and the offline engine picks the label whose description is "
        "nearest to the text."
    )
    is_default: bool = Field(False, description="Use it when a request or a batch names no schema (one default).")

    _name = field_validator("name")(_stripped)


class SchemaUpdate(RequestModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"is_default": True}]})

    name: str | None = Field(None, min_length=1, max_length=100)
    description: str | None = Field(None, max_length=500)
    json_schema: JsonSchemaDocument | None = None
    is_default: bool | None = None

    _name = field_validator("name")(_stripped)


class SchemaRead(ReadModel):
    id: UUID
    name: str
    description: str
    json_schema: dict[str, Any]
    is_default: bool
    builtin: bool = Field(description="A built-in schema: every organization reads it, nobody can change it.")
    created_at: datetime
    updated_at: datetime


class EnrichRequest(RequestModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{}, {"schema_id": str(TRIAGE_SCHEMA_ID), "instructions": "Our products are cards and loans."}]
        },
    )

    schema_id: UUID | None = Field(None, description="The schema; without one, your organization's default.")
    template_id: UUID | None = Field(
        None, description="An `enrichment` prompt template for the model; without one, the default (Case triage)."
    )
    instructions: str | None = Field(
        None, max_length=4000, description="Free instructions, given to the template as `{instructions}`."
    )


class EnrichmentRead(BaseModel):
    id: UUID
    document_id: UUID
    schema_id: UUID
    schema_name: str
    template_id: UUID | None
    instructions: str | None
    status: EnrichmentStatus = Field(
        description="pending (a job is writing it), enriched, needs_review (the model's answer did not follow the "
        "schema even when told why, kept in `raw_output`; or the offline engine could not fill a required field), "
        "failed (the job failed: retry it)."
    )
    job_id: UUID | None
    data: dict[str, Any] | None = Field(description="The enrichment, valid against the schema; null until written.")
    raw_output: str | None = Field(description="The model's last answer when it did not follow the schema.")
    model: str | None = Field(examples=["gpt-4o-mini", "folio-offline-enrichment"])
    confidence: float | None
    needs_review: bool = Field(description="A person should read the case before acting on these labels.")
    document_version: int | None
    attempts: int = Field(description="Model calls it took: 2 when the first answer had to be corrected.")
    prompt_tokens: int
    completion_tokens: int
    error_code: str | None
    error_message: str | None
    enriched_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, enrichment: Enrichment, schema_name: str) -> EnrichmentRead:
        return cls.model_validate({**_columns(enrichment), "schema_name": schema_name})


class EnrichmentList(BaseModel):
    items: list[EnrichmentRead]


def _columns(enrichment: Enrichment) -> dict[str, Any]:
    return {column.key: getattr(enrichment, column.key) for column in Enrichment.__mapper__.column_attrs}
