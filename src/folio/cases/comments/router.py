from __future__ import annotations

from uuid import UUID

from fastapi import status

from folio.auth.deps import authenticated
from folio.cases.comments import service
from folio.cases.comments.schemas import CommentCreate, CommentRead
from folio.cases.deps import ReadableCase, Reader, Writer
from folio.cases.errors import CaseNotFound, CommentNotFound, MentionInvalid
from folio.deps import API_V1, PageDep, SessionDep
from folio.errors import Forbidden
from folio.models import CaseComment
from folio.pagination import Page
from folio.routing import Router

router = Router(prefix=f"{API_V1}/cases/{{ref}}/comments", tags=["cases"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=CommentRead,
    responses=authenticated(Forbidden, CaseNotFound, MentionInvalid),
    summary="Comment on a case, mentioning members",
    description="A mention is a member's user id: written `@<user id>` in the body (a front end inserts it when a "
    "member is picked), or listed in `mentions`. Each mentioned member must see the case (422 `MENTION_INVALID` "
    "with `details.user_ids` otherwise; nothing is written) and is notified (`mention`). The case's viewers get a "
    "`case.commented` event.",
)
async def add_comment(case: ReadableCase, body: CommentCreate, principal: Writer, session: SessionDep) -> CaseComment:
    record, _ = case
    return await service.add_comment(session, principal=principal, case=record, body=body.body, mentions=body.mentions)


@router.get(
    "",
    response_model=Page[CommentRead],
    responses=authenticated(Forbidden, CaseNotFound),
    summary="A case's comments, oldest first",
)
async def list_comments(case: ReadableCase, principal: Reader, session: SessionDep, page: PageDep) -> Page[CommentRead]:
    record, _ = case
    comments = await service.page_comments(session, principal=principal, case=record, page=page)
    return comments.to_page(CommentRead.model_validate)


@router.delete(
    "/{comment_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=authenticated(Forbidden, CaseNotFound, CommentNotFound),
    summary="Delete a comment (its author, or an admin)",
)
async def delete_comment(case: ReadableCase, comment_id: UUID, principal: Writer, session: SessionDep) -> None:
    record, _ = case
    await service.delete_comment(session, principal=principal, case=record, comment_id=comment_id)
