from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from folio.answers.placement import Placement
from folio.schemas import RequestModel
from folio.search.schemas import SearchFilters

MAX_SOURCES = 20
# What `_not_blank` checks, as a JSON Schema pattern: a character other than white space (str.isspace's, which
# has the separators \x1c-\x1f and \x85 besides JavaScript's \s), and no NUL anywhere.
NOT_BLANK: dict[str, Any] = {"pattern": r"^[^\x00]*[^\s\x00\x1c-\x1f\x85][^\x00]*$"}


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

    question: str = Field(min_length=1, max_length=2000, json_schema_extra=NOT_BLANK)
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
    _placement: Placement | None = PrivateAttr(None)

    @property
    def placement(self) -> Placement | None:
        """Where the passage lies in its document's content (not sent: its citations carry what it tells)."""
        return self._placement

    def placed(self, placement: Placement | None) -> SourceRead:
        self._placement = placement
        return self


_OFFSETS = (
    "counted in Unicode code points (as Python and PostgreSQL count characters) in `text` of "
    "`GET /api/v1/documents/{document_id}/content` at `version` = `document_version`. JavaScript strings count "
    "UTF-16 code units, which differ after any character beyond U+FFFF (an emoji, say): convert, e.g. through "
    "`Array.from(text)`. Null when the passage's place is unknown (its chunk was replaced by a reindex meanwhile)."
)


class Citation(BaseModel):
    """A passage that supports the answer: one per quoted passage, in the order the answer first cites them (a
    source quoted twice is cited twice)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "marker": 1,
                    "chunk_id": "0194f1c2-7d7e-7c4e-9b1a-3f5d2a6c8e01",
                    "document_id": "0194f1c2-7a10-7b2d-8c3e-4d5f6a7b8c9d",
                    "document_title": "Lease agreement.pdf",
                    "source_url": None,
                    "page": 3,
                    "page_end": None,
                    "quote": "The deposit is returned within thirty days\nof the end of the lease.",
                    "start_char": 2417,
                    "end_char": 2484,
                    "document_version": 1,
                }
            ]
        }
    )

    marker: int = Field(description="The `[n]` of the answer that cites it: the source's marker.")
    chunk_id: UUID
    document_id: UUID
    document_title: str
    source_url: str | None = Field(None, description=_SOURCE_URL)
    page: int | None = Field(
        None,
        description="The page the quote begins on. Null for a document without pages (every format but PDF), and "
        "when the page is unknown.",
    )
    page_end: int | None = Field(
        None,
        description="The page the quote ends on when it runs onto a later page (so `page` … `page_end`, inclusive); "
        "null when it lies on one page.",
    )
    quote: str = Field(
        description="The passage that supports the answer, verbatim (line breaks included): "
        "`text[start_char:end_char]` of the document's content."
    )
    start_char: int | None = Field(None, description="Where the quote begins, " + _OFFSETS)
    end_char: int | None = Field(None, description="Where the quote ends (exclusive), " + _OFFSETS)
    document_version: int | None = Field(
        None,
        description="The version of the document's content the offsets count in. After a reindex "
        "(`version` of the document grew), the offsets may point elsewhere: find `quote` in the new text instead.",
    )

    @model_validator(mode="after")
    def _one_page_is_no_range(self) -> Citation:
        # Citations stored before quotes had pages of their own carry their chunk's range, often one page.
        if self.page_end is not None and self.page_end == self.page:
            self.page_end = None
        return self


class UsageRead(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class AnswerSources(BaseModel):
    """The `data` of a streamed answer's first event, `sources`: the numbered passages it is written from."""

    sources: list[SourceRead]


class AnswerDelta(BaseModel):
    """The `data` of a `delta` event: the next piece of the answer's text."""

    text: str


class AnswerDone(BaseModel):
    """The `data` of a streamed answer's last event, `done`."""

    answered: bool = Field(description="False when the documents found do not contain an answer.")
    citations: list[Citation]
    model: str = Field(description="`folio-extractive` for the offline engine, else the language model's name.")
    usage: UsageRead


class ChatAnswerDone(AnswerDone):
    """The `data` of a streamed chat answer's last event, `done`: also the stored assistant turn."""

    message_id: UUID


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
    interrupted: bool = Field(
        description="An assistant turn whose streamed answer ended early (its client left, or the model failed): "
        "`content` is the answer as far as it had gone, with no citations. Ask again for the whole answer."
    )
    created_at: datetime


class ChatDetail(ChatRead):
    messages: list[ChatMessageRead]


class MessageCreate(RequestModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"content": "And what about late payments?"}]}
    )

    content: str = Field(min_length=1, max_length=2000, description="The question.", json_schema_extra=NOT_BLANK)
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
