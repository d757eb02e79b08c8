"""Bases of every request and response schema, and the constrained types they share."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, field_validator
from pydantic_core import PydanticCustomError

_T = TypeVar("_T")

# The prefix of every versioned route (here, not in `folio.deps`, so that services may build links).
API_V1 = "/api/v1"


class ReadModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class RequestModel(BaseModel):
    """Base of request bodies: text fields may not contain NUL, which PostgreSQL cannot store."""

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("must not contain the NUL character")
        return value


def partial_update(
    *, nullable: tuple[str, ...] = (), at_least_one: bool = False, examples: list[dict[str, Any]] | None = None
) -> Callable[[dict[str, Any]], None]:
    """`json_schema_extra` of a partial update whose fields may be left out but not null (but `nullable`), and of
    which at least one must be sent if `at_least_one`: what its validator checks, said in its schema."""

    def edit(schema: dict[str, Any]) -> None:
        if at_least_one:
            schema["minProperties"] = 1
        if examples is not None:
            schema["examples"] = examples
        for name, field in schema.get("properties", {}).items():
            if name in nullable:
                continue
            field.pop("default", None)
            if "anyOf" in field:
                kept = [branch for branch in field.pop("anyOf") if branch != {"type": "null"}]
                field.update(kept[0] if len(kept) == 1 else {"anyOf": kept})

    return edit


# JSON a tenant gives (schemas, metadata) nests at most this deep: the standard library's encoder and decoder,
# jsonschema and orjson (255) all recurse, so a deeper document would reach their limits as a 500.
MAX_JSON_DEPTH = 32


def json_limit_error(value: object, *, max_depth: int = MAX_JSON_DEPTH, max_bytes: int) -> PydanticCustomError | None:
    """Why `value` is out of bounds (`json_too_deep` or `json_too_large`), or None.

    The depth is found by walking the document with a list, never by recursion, so that any depth is measured
    safely; a scalar is depth 0, `{}` and `[1]` are depth 1. The size is that of its compact UTF-8 JSON.
    """
    if nests_deeper(value, max_depth):
        return too_deep(max_depth)
    if len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()) > max_bytes:
        return PydanticCustomError("json_too_large", "JSON larger than {max_bytes} bytes", {"max_bytes": max_bytes})
    return None


def nests_deeper(value: object, max_depth: int = MAX_JSON_DEPTH) -> bool:
    """Whether `value` nests deeper than `max_depth`, found with a list of pending nodes, never by recursion."""
    pending: list[tuple[object, int]] = [(value, 0)]
    while pending:
        node, depth = pending.pop()
        if isinstance(node, dict):
            children: Iterable[object] = node.values()
        elif isinstance(node, list | tuple):
            children = node
        else:
            continue
        if depth + 1 > max_depth:
            return True
        pending.extend((child, depth + 1) for child in children)
    return False


def too_deep(max_depth: int = MAX_JSON_DEPTH) -> PydanticCustomError:
    return PydanticCustomError("json_too_deep", "JSON nested deeper than {max_depth} levels", {"max_depth": max_depth})


def bounded_json(*, max_depth: int = MAX_JSON_DEPTH, max_bytes: int) -> AfterValidator:
    """A validator for `Annotated[...]` refusing JSON deeper than `max_depth` or larger than `max_bytes`."""

    def check(value: _T) -> _T:
        if (error := json_limit_error(value, max_depth=max_depth, max_bytes=max_bytes)) is not None:
            raise error
        return value

    return AfterValidator(check)


METADATA_BYTES = 16 * 1024

Metadata = Annotated[dict[str, Any], bounded_json(max_bytes=METADATA_BYTES)]
"""A document's metadata: a JSON object of 16 KiB at most, nested at most MAX_JSON_DEPTH levels."""
