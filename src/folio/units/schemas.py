from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, Field, StringConstraints

from folio.models import Role
from folio.schemas import ReadModel, RequestModel
from folio.units.service import MAX_UNITS_PER_ORG

UnitName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
    Field(
        description="Unique in the organization without regard to case; spaces around it are dropped.",
        examples=["EMEA"],
    ),
]
UnitDescription = Annotated[str, Field(max_length=500, examples=["Europe, the Middle East and Africa"])]


class UnitCreate(RequestModel):
    name: UnitName
    description: UnitDescription = ""


class UnitUpdate(RequestModel):
    """Only the fields given change."""

    name: UnitName | None = None
    description: UnitDescription | None = None


class UnitRead(ReadModel):
    id: UUID
    name: str
    description: str
    created_at: datetime
    updated_at: datetime


class UnitSummary(ReadModel):
    id: UUID
    name: str


class UnitMemberRead(BaseModel):
    user_id: UUID
    email: str
    name: str
    role: Role


class MemberUnitsUpdate(RequestModel):
    unit_ids: list[UUID] = Field(
        max_length=MAX_UNITS_PER_ORG,
        description="The business units the member is limited to (repeats count once); empty: not limited, the "
        "member sees the cases of every unit and of none.",
        examples=[["0193f5a2-7c1e-7d40-9a6b-2f4c8e1d3b57"]],
    )


class MemberUnitsRead(BaseModel):
    user_id: UUID
    role: Role
    restricted: bool = Field(
        description="true: the member sees only the cases of `units`; false: the cases of every unit and of none."
    )
    units: list[UnitSummary] = Field(description="The units the member is limited to, by name; empty when not limited.")
