from __future__ import annotations

from pydantic import BaseModel, Field

from folio.errors import FolioError


class ErrorCodeRead(BaseModel):
    code: str = Field(description="The stable `error.code` of the envelope.", examples=["NOT_FOUND"])
    status: int = Field(description="The HTTP status it is answered with.", examples=[404])
    meaning: str = Field(
        description="When it is answered.",
        examples=["The route or resource does not exist, or belongs to another organization."],
    )

    @classmethod
    def of(cls, error: type[FolioError]) -> ErrorCodeRead:
        return cls(code=error.code, status=error.status_code, meaning=error.describe())
