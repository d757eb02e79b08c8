"""Which column (CSV) or key (JSONL) of a record-batch file holds each role: the `mapping` field of an upload."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import orjson

from folio.records.errors import RecordMappingInvalid

ROLES = (
    "text",
    "external_id",
    "created_at",
    "channel",
    "customer",
    "business_unit",
    "priority",
    "title",
    "status",
    "first_response_at",
    "resolved_at",
)

_ROLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_MAX_ROLES = 50
_MAX_COLUMN_CHARS = 200


@dataclass(frozen=True, slots=True)
class RecordMapping:
    """Which column (CSV) or key (JSONL; a dotted path reaches into objects) holds each role. Roles beyond the
    fixed ones are kept as metadata under their own names."""

    text: str
    external_id: str | None = None
    created_at: str | None = None
    channel: str | None = None
    customer: str | None = None
    business_unit: str | None = None
    priority: str | None = None
    title: str | None = None
    status: str | None = None
    first_response_at: str | None = None
    resolved_at: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, raw: str | None) -> RecordMapping:
        """The multipart field `mapping`: a JSON object from role to column that names at least `text`."""
        if raw is None or not raw.strip():
            raise _mapping_invalid("`mapping` is required: a JSON object from role to column, with `text`.")
        try:
            roles = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise _mapping_invalid("`mapping` is not valid JSON.") from None
        if not isinstance(roles, dict):
            raise _mapping_invalid("`mapping` must be a JSON object from role to column.")
        if len(roles) > _MAX_ROLES:
            raise _mapping_invalid(f"`mapping` names {len(roles)} roles; at most {_MAX_ROLES} are allowed.")
        columns: dict[str, str] = {}
        for role, column in roles.items():
            if not _ROLE_NAME.fullmatch(role):
                raise _mapping_invalid(f"Role '{role[:70]}' is not 1-64 letters, digits or underscores.", role=role)
            if not isinstance(column, str) or not 0 < len(column.strip()) <= _MAX_COLUMN_CHARS:
                message = f"Role '{role}' needs a column name of 1-{_MAX_COLUMN_CHARS} characters."
                raise _mapping_invalid(message, role=role)
            columns[role] = column.strip()
        if "text" not in columns:
            raise _mapping_invalid("`mapping` must name the column that holds the text, as `text`.", role="text")
        fixed: dict[str, Any] = {role: columns.pop(role, None) for role in ROLES}
        return cls(**fixed, metadata=columns)

    def columns(self) -> list[str]:
        named = [getattr(self, role) for role in ROLES] + list(self.metadata.values())
        return list(dict.fromkeys(column for column in named if column is not None))

    def as_json(self) -> dict[str, str]:
        """The mapping as `parse` reads it: role to column."""
        fixed = {role: getattr(self, role) for role in ROLES if getattr(self, role) is not None}
        return fixed | self.metadata


def _mapping_invalid(message: str, **details: str) -> RecordMappingInvalid:
    return RecordMappingInvalid(message, details={"field": "mapping", **details})
