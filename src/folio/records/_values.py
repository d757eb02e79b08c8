"""A row's raw values, CSV cells or a JSON line, checked and turned into the fields of a `RecordRow`, or into the
`RowProblem` that says why they cannot be."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

from folio.models import CasePriority, CaseStatus
from folio.schemas import MAX_JSON_DEPTH, nests_deeper

# The codes of a `RowError`.
MISSING_TEXT = "MISSING_TEXT"
TEXT_TOO_LONG = "TEXT_TOO_LONG"
FIELD_TOO_LONG = "FIELD_TOO_LONG"
INVALID_DATE = "INVALID_DATE"
INVALID_JSON = "INVALID_JSON"
NOT_AN_OBJECT = "NOT_AN_OBJECT"
WRONG_FIELD_COUNT = "WRONG_FIELD_COUNT"
INVALID_ENCODING = "INVALID_ENCODING"
MALFORMED_ROW = "MALFORMED_ROW"
ROW_TOO_LARGE = "ROW_TOO_LARGE"
INVALID_PRIORITY = "INVALID_PRIORITY"
INVALID_STATUS = "INVALID_STATUS"
UNIT_NOT_ALLOWED = "UNIT_NOT_ALLOWED"

_FIELD_LIMITS = {
    "external_id": 255,
    "channel": 200,
    "customer": 200,
    "business_unit": 100,
    "priority": 20,
    "status": 20,
}
# Priority words of common ticketing tools, beside our own.
_PRIORITY_WORDS = {
    **{priority.value: priority for priority in CasePriority},
    "critical": CasePriority.URGENT,
    "p1": CasePriority.URGENT,
    "p2": CasePriority.HIGH,
    "medium": CasePriority.NORMAL,
    "p3": CasePriority.NORMAL,
    "p4": CasePriority.LOW,
}
_TITLE_CHARS = 500
_EPOCH = re.compile(r"[+-]?\d+(?:\.\d*)?")
# Bytes that are not UTF-8 arrive as U+DC80-U+DCFF under errors="surrogateescape"; valid text holds no lone one.
_SURROGATE = re.compile("[\ud800-\udfff]")

# A row's value by column (CSV) or key (JSONL), None when the row has none.
Lookup = Callable[[str], object]


class RowProblem(Exception):
    """Why a row cannot become a `RecordRow`; caught where its line and raw text are at hand."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def check_cells(columns: list[str], cells: list[str]) -> None:
    """A CSV row's cells, one per column, hold only bytes that decoded."""
    for name, value in zip(columns, cells, strict=True):
        if _SURROGATE.search(value):
            raise RowProblem(INVALID_ENCODING, f"Column '{name}' holds bytes that are not valid UTF-8.")


def json_object(raw: str) -> dict[str, Any]:
    """The object a JSON Lines line holds."""
    if _SURROGATE.search(raw):
        raise RowProblem(INVALID_ENCODING, "The line holds bytes that are not valid UTF-8.")
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise RowProblem(INVALID_JSON, f"The line is not valid JSON: {error}.") from None
    if not isinstance(value, dict):
        raise RowProblem(NOT_AN_OBJECT, f"The line is a JSON {_json_kind(value)}, not an object.")
    # The line's length is capped already; its depth is not, and the values are walked recursively below.
    if nests_deeper(value):
        raise RowProblem(MALFORMED_ROW, f"The line nests deeper than {MAX_JSON_DEPTH} levels.")
    return value


def role_texts(
    columns: Mapping[str, str | None], lookup: Lookup, label: str, *, max_text_chars: int
) -> tuple[str, dict[str, str | None]]:
    """The row's text, and the value of each role (by the column that holds it, if any) as text, each within its
    limit. `label` names a column in messages: "Column" or "Field"."""
    texts = {
        role: None if column is None else _as_text(lookup(column), label, column) for role, column in columns.items()
    }
    text = texts["text"]
    if text is None:
        raise RowProblem(MISSING_TEXT, f"{label} '{columns['text']}' is missing or empty.")
    if len(text) > max_text_chars:
        message = f"{label} '{columns['text']}' has {len(text):,} characters; at most {max_text_chars:,} fit."
        raise RowProblem(TEXT_TOO_LONG, message)
    for role, limit in _FIELD_LIMITS.items():
        if (value := texts[role]) is not None and len(value) > limit:
            raise RowProblem(FIELD_TOO_LONG, f"{label} '{columns[role]}' is longer than {limit} characters.")
    return text, texts


def to_moment(text: str | None, label: str, column: str | None) -> datetime | None:
    """ISO 8601 (also with a space for `T`) or Unix epoch seconds; a time without a zone is UTC."""
    if text is None:
        return None
    try:
        if _EPOCH.fullmatch(text):
            return datetime.fromtimestamp(float(text), UTC)
        moment = datetime.fromisoformat(text)
    except (ValueError, OverflowError, OSError):
        raise RowProblem(INVALID_DATE, f"{label} '{column}' is not a date: '{text[:50]}'.") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def to_priority(text: str | None, label: str, column: str | None) -> CasePriority | None:
    """`low`, `normal`, `high`, `urgent` (any case), or critical / medium / P1-P4."""
    if text is None:
        return None
    priority = _PRIORITY_WORDS.get(text.strip().lower())
    if priority is None:
        words = ", ".join(priority.value for priority in CasePriority)
        raise RowProblem(INVALID_PRIORITY, f"{label} '{column}' is not a priority ({words}): '{text[:50]}'.")
    return priority


# Status words of common ticketing tools (Zendesk's new, pending, hold, solved), beside our own.
_STATUS_WORDS = {
    **{status.value.replace("_", " "): status for status in CaseStatus},
    "new": CaseStatus.OPEN,
    "pending": CaseStatus.WAITING,
    "hold": CaseStatus.WAITING,
    "on hold": CaseStatus.WAITING,
    "solved": CaseStatus.RESOLVED,
}


def to_status(text: str | None, label: str, column: str | None) -> CaseStatus | None:
    """`open`, `in_progress`, `waiting`, `resolved`, `closed` (any case), or new / pending / hold / solved."""
    if text is None:
        return None
    status = _STATUS_WORDS.get(" ".join(text.lower().replace("-", " ").replace("_", " ").split()))
    if status is None:
        words = ", ".join(status.value for status in CaseStatus)
        raise RowProblem(INVALID_STATUS, f"{label} '{column}' is not a status ({words}): '{text[:50]}'.")
    return status


def to_title(text: str | None) -> str | None:
    return text[:_TITLE_CHARS].rstrip() if text else None


def to_metadata(columns: dict[str, str], lookup: Lookup) -> dict[str, Any]:
    metadata = {role: _without_nul(lookup(column)) for role, column in columns.items()}
    metadata = {role: value.strip() if isinstance(value, str) else value for role, value in metadata.items()}
    return {role: value for role, value in metadata.items() if value is not None and value != ""}


def lookup_path(row: dict[str, Any], key: str) -> object:
    """A top-level key, else a dotted path into nested objects ("customer.name")."""
    if key in row:
        return row[key]
    value: object = row
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def printable(text: str) -> str:
    """`text` fit for JSON and PostgreSQL: a lone surrogate (an undecodable byte) becomes U+FFFD."""
    return _SURROGATE.sub("\ufffd", text)


def _as_text(value: object, label: str, column: str) -> str | None:
    """A role's value as stripped text, None when blank; JSON numbers and booleans are written as in JSON."""
    if value is None:
        return None
    if isinstance(value, str):
        return value.replace("\x00", "").strip() or None
    if isinstance(value, bool | int | float):
        return orjson.dumps(value).decode()
    raise RowProblem(MALFORMED_ROW, f"{label} '{column}' is a JSON {_json_kind(value)}, not a single value.")


def _without_nul(value: object) -> Any:
    """`value` with NULs taken out of every string: PostgreSQL's text and jsonb cannot hold them."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, list):
        return [_without_nul(item) for item in value]
    if isinstance(value, dict):
        return {_without_nul(key): _without_nul(item) for key, item in value.items()}
    return value


def _json_kind(value: object) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean"}.get(type(value), "number")
