from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import ConfigDict, Field, field_validator

from folio.models import SummaryFormat, SummaryLength, SummaryStatus
from folio.schemas import ReadModel, RequestModel


class SummaryCreate(RequestModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"format": "bullets", "length": "short"},
                {"template_id": "00000000-0000-0000-0000-000000000003", "language": "German"},
                {"instructions": "Focus on the termination clauses and their deadlines.", "format": "markdown"},
            ]
        },
    )

    template_id: UUID | None = Field(
        None, description="A `summary` template; without one, your organization's default, else `Executive summary`."
    )
    instructions: str | None = Field(
        None, max_length=4000, description="Free instructions, given to the template as `{instructions}`."
    )
    format: SummaryFormat = SummaryFormat.PARAGRAPH
    length: SummaryLength = Field(
        SummaryLength.MEDIUM, description="short: at most 80 words; medium: 150-250; long: 400-600."
    )
    language: str | None = Field(
        None, min_length=2, max_length=50, description="Language to write in; the document's own when not given."
    )

    @field_validator("instructions", "language")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None


class SummaryRead(ReadModel):
    id: UUID
    document_id: UUID
    template_id: UUID | None = Field(description="Null when no template was used or it has been deleted.")
    template_name: str | None
    instructions: str | None
    format: SummaryFormat
    length: SummaryLength
    language: str | None
    status: SummaryStatus
    job_id: UUID | None = Field(description="The job writing it: follow its progress at /api/v1/jobs/{id}.")
    document_version: int | None = Field(description="The version of the document the text summarises.")
    text: str | None = Field(description="The summary; while a regeneration runs, the previous one.")
    model: str | None = Field(examples=["gpt-4o-mini", "folio-extractive"])
    extractive: bool | None = Field(
        description="True when the text is sentences of the document picked without a language model "
        "(model `folio-extractive`): it ignores the template, instructions and language."
    )
    sections: int = Field(description="Parts summarised separately first (map-reduce); 0 when done in one go.")
    prompt_tokens: int
    completion_tokens: int
    error_code: str | None
    error_message: str | None
    created_at: datetime
    updated_at: datetime
