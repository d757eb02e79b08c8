from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import ConfigDict, Field, StringConstraints, model_validator

from folio.cases.schemas import CaseQuery
from folio.schemas import ReadModel, RequestModel, partial_update

ViewName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class ViewCreate(RequestModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"name": "Urgent and late", "filters": {"priority": ["urgent"], "overdue": True}, "shared": True}
            ]
        },
    )

    name: ViewName
    filters: CaseQuery = Field(default_factory=CaseQuery, description="The case list's filters (`GET /cases`).")
    shared: bool = Field(False, description="Visible to the whole organization (editors and above may share).")


class ViewUpdate(RequestModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra=partial_update(at_least_one=True, examples=[{"shared": False}])
    )

    name: ViewName | None = None
    filters: CaseQuery | None = Field(None, description="Replaces the view's filters.")
    shared: bool | None = None

    @model_validator(mode="after")
    def _something(self) -> ViewUpdate:
        if not self.model_fields_set:
            raise ValueError("name at least one field")
        for name in self.model_fields_set:
            if getattr(self, name) is None:
                raise ValueError(f"`{name}` cannot be null")
        return self


class ViewRead(ReadModel):
    id: UUID
    name: str
    filters: dict[str, Any] = Field(
        description="The filters, as `GET /cases` takes them.", examples=[{"priority": ["urgent"], "overdue": True}]
    )
    shared: bool
    owner_id: UUID | None = Field(description="The member who made it.")
    created_at: datetime
    updated_at: datetime
