"""OpenAI's embeddings request and response, with Folio's bounds."""

from __future__ import annotations

import base64
from typing import Annotated, Any, Literal

import numpy as np
import orjson
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, WithJsonSchema, field_validator
from pydantic_core import PydanticCustomError

from folio.embeddings.provider import Embeddings
from folio.schemas import RequestModel

# Inputs of one request: OpenAI's own limit.
MAX_INPUTS = 2048
# Characters of one input, checked before it is tokenized: about what OpenAI's 8,192 tokens hold.
MAX_INPUT_CHARS = 32_768

_NOT_TEXT = (
    "Token-id arrays are not supported: the embedding model reads text with its own tokenizer, and the ids of "
    "OpenAI's tokenizers mean nothing to it. Send the text itself (LangChain: OpenAIEmbeddings("
    "check_embedding_ctx_length=False))."
)


_TEXT: dict[str, Any] = {"type": "string", "minLength": 1, "maxLength": MAX_INPUT_CHARS}
_INPUT_SCHEMA: dict[str, Any] = {
    "anyOf": [_TEXT, {"type": "array", "items": _TEXT, "minItems": 1, "maxItems": MAX_INPUTS}]
}


class EmbeddingRequest(RequestModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"model": "all-MiniLM-L6-v2-int8", "input": "Either party may terminate with ninety days notice."},
                {"model": "all-MiniLM-L6-v2", "input": ["first text", "second text"], "encoding_format": "base64"},
            ]
        },
    )

    # The bounds `_texts` checks, said in the schema too (`_texts` answers OpenAI's error codes).
    input: Annotated[str | list[str], WithJsonSchema(_INPUT_SCHEMA)] = Field(
        description=f"A text, or a list of up to {MAX_INPUTS} texts; none empty, each at most {MAX_INPUT_CHARS:,} "
        "characters and the model's longest input in tokens (256 for the local MiniLM), all together at most the "
        "request's token limit. Token-id arrays are refused."
    )
    model: str = Field(
        max_length=200,
        description="The embedding model `GET /v1/models` lists, or one of its aliases (the local MiniLM: "
        "`all-MiniLM-L6-v2`, `sentence-transformers/all-MiniLM-L6-v2`).",
    )
    encoding_format: Literal["float", "base64"] = Field(
        "float", description="`base64`: each vector as the base64 of its little-endian float32 bytes."
    )
    dimensions: int | None = Field(None, ge=1, description="Only the model's own dimension (384): vectors are not cut.")
    user: Annotated[str, StringConstraints(max_length=256)] | None = Field(None, description="Accepted, no effect.")

    @field_validator("input", mode="before")
    @classmethod
    def _texts_not_tokens(cls, value: Any) -> Any:
        if isinstance(value, list):
            if len(value) > MAX_INPUTS:
                raise PydanticCustomError(
                    "too_many_inputs",
                    "'input' holds {count} items; a request embeds at most {max} (send several requests).",
                    {"count": len(value), "max": MAX_INPUTS},
                )
            if any(isinstance(item, list) or (isinstance(item, int) and not isinstance(item, bool)) for item in value):
                raise PydanticCustomError("unsupported_value", _NOT_TEXT)
        return value

    @field_validator("input")
    @classmethod
    def _bounded(cls, value: str | list[str]) -> str | list[str]:
        texts = [value] if isinstance(value, str) else value
        if not texts:
            raise PydanticCustomError("unsupported_value", "'input' must hold at least one text.")
        for index, text in enumerate(texts):
            where = "'input'" if isinstance(value, str) else f"input[{index}]"
            if not text:
                raise PydanticCustomError("unsupported_value", "{where} is empty.", {"where": where})
            if len(text) > MAX_INPUT_CHARS:
                raise PydanticCustomError(
                    "input_too_long",
                    "{where} is {length} characters long; an input may have at most {max}.",
                    {"where": where, "length": len(text), "max": MAX_INPUT_CHARS},
                )
            if "\x00" in text:
                raise ValueError("must not contain the NUL character")
        return value


class EmbeddingObject(BaseModel):
    object: Literal["embedding"] = "embedding"
    index: int = Field(description="The position of its input.")
    embedding: list[float] | str = Field(
        description="A unit vector (L2-normalised): floats, or base64 of little-endian float32 bytes."
    )


class EmbeddingUsage(BaseModel):
    prompt_tokens: int = Field(description="Tokens of the inputs, as the embedding model's tokenizer counts them.")
    total_tokens: int


class EmbeddingList(BaseModel):
    object: Literal["list"] = "list"
    data: list[EmbeddingObject]
    model: str
    usage: EmbeddingUsage


def encoded(vectors: Embeddings, *, model: str, tokens: int, encoding_format: str) -> bytes:
    """An `EmbeddingList` as JSON, written straight from the array: a batch holds up to ~800,000 floats, which
    the response model takes ~7 times longer over (0.45 s against 0.07 s here)."""
    rows: list[Any]
    if encoding_format == "base64":
        little_endian = vectors.astype("<f4", copy=False)
        rows = [base64.b64encode(row.tobytes()).decode() for row in little_endian]
    else:
        rows = list(np.ascontiguousarray(vectors, dtype=np.float32))
    body = {
        "object": "list",
        "data": [{"object": "embedding", "index": index, "embedding": row} for index, row in enumerate(rows)],
        "model": model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }
    return orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY)
