"""Reading the JSON a source's API answers, where any field may be missing or of another type than documented."""

from __future__ import annotations

from datetime import datetime
from typing import Any


def mapping(value: Any) -> dict[str, Any]:
    """`value` when the API answered an object there, else an empty one."""
    return value if isinstance(value, dict) else {}


def iso_time(value: Any) -> datetime | None:
    """An ISO 8601 time the API answered; None for anything else."""
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
