from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

from folio.schemas import RequestModel
from folio.search.schemas import SearchFilters

MAX_SOURCES = 20


class AnswerRequest(RequestModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"question": "How much notice does the contract require to terminate?"},
                {"question": "What did the audit find?", "filters": {"tags": {"any": ["audit"]}}, "stream": True},
            ]
        },
    )

    question: str = Field(min_length=1, max_length=2000)
    filters: SearchFilters = Field(default_factory=SearchFilters)
    top_k: int = Field(6, ge=1, le=MAX_SOURCES, description="Passages retrieved (hybrid search) as sources.")
    stream: bool = Field(False, description="Answer as Server-Sent Events: `sources`, `delta`…, `done` or `error`.")

    @field_validator("question")
    @classmethod
    def _not_blank(cls, question: str) -> str:
        if not question.strip():
            raise ValueError("the question is empty")
        return question.strip()


_SOURCE_URL = "The document's link at its source (a Notion page, a Confluence page, a web page); null for an upload."


class SourceRead(BaseModel):
    """A retrieved passage as the answer numbers it."""

    marker: int = Field(description="The number the answer cites it by: [1], [2]…")
    chunk_id: UUID
    document_id: UUID
    document_title: str
    source_url: str | None = Field(None, description=_SOURCE_URL)
    page_start: int
    page_end: int
    text: str


class Citation(BaseModel):
    marker: int
    chunk_id: UUID
    document_id: UUID
    document_title: str
    source_url: str | None = Field(None, description=_SOURCE_URL)
    page: int = Field(description="The first page of the cited passage.")
    page_end: int
    quote: str = Field(description="The span of the source that supports the answer, verbatim.")


class UsageRead(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class AnswerResponse(BaseModel):
    answer: str
    answered: bool = Field(description="False when the documents found do not contain an answer.")
    citations: list[Citation]
    sources: list[SourceRead]
    model: str = Field(description="`folio-extractive` for the offline engine, else the language model's name.")
    usage: UsageRead


class ChatCreate(RequestModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"title": "Supplier contracts", "filters": {"tags": {"any": ["contracts"]}}}]},
    )

    title: str | None = Field(None, min_length=1, max_length=200, description="Default: the first question.")
    filters: SearchFilters = Field(
        default_factory=SearchFilters, description="Search filters every question of the chat is answered with."
    )


class ChatRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    title: str
    filters: dict[str, object]
    created_at: datetime
    updated_at: datetime


class ChatMessageRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    role: str = Field(description="`user` or `assistant`.")
    content: str
    standalone_question: str | None = Field(
        description="For a user turn: the question as retrieval saw it (follow-ups rewritten to stand alone)."
    )
    citations: list[Citation]
    model: str | None
    prompt_tokens: int
    completion_tokens: int
    created_at: datetime


class ChatDetail(ChatRead):
    messages: list[ChatMessageRead]


class MessageCreate(RequestModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"content": "And what about late payments?"}]}
    )

    content: str = Field(min_length=1, max_length=2000, description="The question.")
    top_k: int = Field(6, ge=1, le=MAX_SOURCES)
    stream: bool = Field(False, description="Answer as Server-Sent Events, as `/answers` does.")

    @field_validator("content")
    @classmethod
    def _not_blank(cls, content: str) -> str:
        if not content.strip():
            raise ValueError("the question is empty")
        return content.strip()


class MessageAnswer(BaseModel):
    question: ChatMessageRead
    answer: ChatMessageRead
    answered: bool
    sources: list[SourceRead]
