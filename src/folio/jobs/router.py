from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import Depends, Query
from fastapi.exceptions import RequestValidationError

from folio.auth.deps import authenticated, requires
from folio.auth.principal import Principal, Scope
from folio.deps import API_V1, PageDep, SessionDep
from folio.errors import Forbidden
from folio.jobs import service as jobs
from folio.jobs.errors import JobFinished, JobNotFound, JobNotRetryable
from folio.jobs.repository import JobFilters
from folio.jobs.schemas import JobRead
from folio.models import Job, JobStatus
from folio.pagination import Page
from folio.routing import Router

router = Router(prefix=f"{API_V1}/jobs", tags=["jobs"])
Reader = Annotated[Principal, requires(Scope.DOCUMENTS_READ)]
Writer = Annotated[Principal, requires(Scope.DOCUMENTS_WRITE)]

MAX_IDS = 100
_EXAMPLE_IDS = [
    "0197a3c2-5b1e-7cc4-9d2a-3f6e1b8a9c01",
    "0197a3c2-5b20-7a11-8e4f-6d0c2b7e5a12",
    "0197a3c2-5b24-7f02-a5d8-1c9e3b6f0d23",
]


def _invalid_ids(message: str, type: str, *where: int) -> RequestValidationError:
    return RequestValidationError([{"loc": ("query", "ids", *where), "msg": message, "type": type}])


def requested_ids(
    ids: Annotated[
        list[str] | None,
        Query(
            description=(
                f"A batch read: only these jobs, repeated (`ids=…&ids=…`) or comma-separated, at most {MAX_IDS}. "
                "Jobs that do not exist or belong to another organization are left out of the answer."
            ),
            openapi_examples={
                "repeated": {"summary": "Three jobs, repeated", "value": _EXAMPLE_IDS},
                "comma-separated": {"summary": "Three jobs, comma-separated", "value": [",".join(_EXAMPLE_IDS)]},
            },
        ),
    ] = None,
) -> frozenset[UUID] | None:
    if ids is None:
        return None
    parsed: set[UUID] = set()
    for index, value in enumerate(ids):
        for token in value.split(","):
            if not (token := token.strip()):
                continue
            try:
                parsed.add(UUID(token))
            except ValueError:
                raise _invalid_ids("Not a job id (a UUID).", "uuid_parsing", index) from None
            if len(parsed) > MAX_IDS:
                raise _invalid_ids(f"At most {MAX_IDS} ids per request.", "too_long")
    return frozenset(parsed)


_BATCH_EXAMPLE: dict[str, Any] = {
    "items": [
        {
            "id": _EXAMPLE_IDS[0],
            "kind": "ingest_document",
            "subject_id": "0197a3c2-5a90-7d3e-b1c4-8e2f0a6d4b77",
            "status": "running",
            "stage": "embedding",
            "progress": 60,
            "message": "embedding 340/900 chunks",
            "attempts": 1,
            "max_attempts": 3,
            "error_code": None,
            "error_message": None,
            "cancel_requested": False,
            "payload": {},
            "created_at": "2026-05-04T09:12:03.114Z",
            "started_at": "2026-05-04T09:12:03.402Z",
            "finished_at": None,
            "run_after": "2026-05-04T09:12:03.114Z",
        },
        {
            "id": _EXAMPLE_IDS[1],
            "kind": "ingest_document",
            "subject_id": "0197a3c2-5b1f-7b6a-9f13-2d7c4e8a1b90",
            "status": "failed",
            "stage": "extracting",
            "progress": 10,
            "message": "extracting text",
            "attempts": 1,
            "max_attempts": 3,
            "error_code": "UNSUPPORTED_FILE_TYPE",
            "error_message": "The file's content is not a PDF.",
            "cancel_requested": False,
            "payload": {},
            "created_at": "2026-05-04T09:12:03.120Z",
            "started_at": "2026-05-04T09:12:03.410Z",
            "finished_at": "2026-05-04T09:12:03.502Z",
            "run_after": "2026-05-04T09:12:03.120Z",
        },
    ],
    "next_cursor": None,
}
_BATCH_ANSWER: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {
            "application/json": {
                "examples": {
                    "batch": {
                        "summary": "A batch read of the three ids: the third is unknown (or another organization's)",
                        "value": _BATCH_EXAMPLE,
                    }
                }
            }
        }
    }
}

RequestedIds = Annotated[frozenset[UUID] | None, Depends(requested_ids)]

_LIST_DESCRIPTION = f"""Jobs of the organization in creation order, filtered by `status`, `kind` and `subject_id`.

**Batch read** (for clients following several jobs, such as `folio ingest`): with `ids`, the answer holds those of
the named jobs (at most {MAX_IDS}) that exist in the organization and pass the other filters, all in one page, so
`next_cursor` is null and `limit` does not apply; `cursor` cannot be combined with `ids`. An unknown id, or another
organization's, is simply absent from `items`: never an error. For live updates, follow
`GET /api/v1/events?types=job.succeeded,job.failed,job.cancelled,job.progress` and read the batch once at the end.
"""


@router.get(
    "",
    response_model=Page[JobRead],
    responses={**authenticated(Forbidden), **_BATCH_ANSWER},
    summary="List jobs, newest last, or read a batch of them by id",
    description=_LIST_DESCRIPTION,
)
async def list_jobs(
    principal: Reader,
    session: SessionDep,
    page: PageDep,
    ids: RequestedIds,
    status: Annotated[JobStatus | None, Query(description="Only jobs in this state.")] = None,
    kind: Annotated[str | None, Query(max_length=64, description="Only jobs of this kind.")] = None,
    subject_id: Annotated[UUID | None, Query(description="Only jobs working on this resource.")] = None,
) -> Page[JobRead]:
    if ids is not None and page.after is not None:
        raise RequestValidationError(
            [{"loc": ("query", "cursor"), "msg": "A batch read (`ids`) has no pages.", "type": "ids_with_cursor"}]
        )
    filters = JobFilters(status=status, kind=kind, subject_id=subject_id, ids=ids)
    rows, next_cursor = await jobs.page_jobs(session, principal=principal, filters=filters, page=page)
    return Page(items=[JobRead.model_validate(row[0]) for row in rows], next_cursor=next_cursor)


@router.get("/{job_id}", response_model=JobRead, responses=authenticated(Forbidden, JobNotFound), summary="Get a job")
async def get_job(job_id: UUID, principal: Reader, session: SessionDep) -> Job:
    return await jobs.get_job(session, principal=principal, job_id=job_id)


@router.post(
    "/{job_id}/cancel",
    response_model=JobRead,
    responses=authenticated(Forbidden, JobNotFound, JobFinished),
    summary="Cancel a job (a running job stops at its next checkpoint)",
)
async def cancel_job(job_id: UUID, principal: Writer, session: SessionDep) -> Job:
    return await jobs.cancel(session, principal=principal, job_id=job_id)


@router.post(
    "/{job_id}/retry",
    response_model=JobRead,
    responses=authenticated(Forbidden, JobNotFound, JobNotRetryable),
    summary="Run a failed or cancelled job again",
)
async def retry_job(job_id: UUID, principal: Writer, session: SessionDep) -> Job:
    return await jobs.retry(session, principal=principal, job_id=job_id)
