"""The principals of case routes, and the case a route names: by its id or its number, 404 unless the principal
sees it."""

from __future__ import annotations

import re
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Path

from folio.auth.deps import requires
from folio.auth.principal import Principal, Scope
from folio.cases import service
from folio.cases.repository import CaseKey
from folio.deps import SessionDep
from folio.models import Document, Record

Reader = Annotated[Principal, requires(Scope.CASES_READ)]
Writer = Annotated[Principal, requires(Scope.CASES_WRITE)]

_NUMBER = re.compile(r"C-([0-9]{1,15})")
CASE_REF = r"^(C-[0-9]{1,15}|[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12})$"

CaseRef = Annotated[
    str,
    Path(
        pattern=CASE_REF,
        description="The case's id, or its number (`C-000123`).",
        examples=["C-000123", "0192f0c4-1d2e-7a3b-8c4d-5e6f7a8b9c0d"],
    ),
]


def case_key(ref: str) -> CaseKey:
    number = _NUMBER.fullmatch(ref)
    return int(number.group(1)) if number else UUID(ref)


async def readable_case(ref: CaseRef, principal: Reader, session: SessionDep) -> tuple[Record, Document]:
    return await service.find(session, principal=principal, key=case_key(ref))


async def case_id(ref: CaseRef, principal: Reader, session: SessionDep) -> UUID:
    """The id of the case `ref` names (a number is looked up; an id is taken as it is, its service checks it)."""
    number = _NUMBER.fullmatch(ref)
    if number is None:
        return UUID(ref)
    record, _ = await service.find(session, principal=principal, key=int(number.group(1)))
    return record.document_id


ReadableCase = Annotated[tuple[Record, Document], Depends(readable_case)]
CaseId = Annotated[UUID, Depends(case_id)]
