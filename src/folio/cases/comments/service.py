"""Comments on a case. A mention is a member's user id, written `@<id>` in the body or listed in `mentions`; each
must name a member who sees the case (else 422, nothing is written), and each is told in their inbox."""

from __future__ import annotations

import re
from collections.abc import Iterable
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from folio.auth.members import member_principal
from folio.auth.principal import Principal, Scope
from folio.cases.comments.repository import CommentRepository
from folio.cases.comments.schemas import MAX_MENTIONS
from folio.cases.errors import CommentNotFound, MentionInvalid
from folio.cases.workflow import answered, case_number
from folio.errors import Forbidden, ValidationFailed
from folio.events.outbox import Audience, actor_of, emit
from folio.events.schemas import CommentData, EventType, Subject, SubjectType
from folio.inbox.service import NotificationKind, notify
from folio.models import CaseComment, Record
from folio.pagination import Paged, PageRequest

_MENTION = re.compile(r"@([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\b")
EXCERPT_CHARS = 200


def mentioned(body: str, listed: Iterable[UUID]) -> list[UUID]:
    """The members a comment mentions, each once: those written `@<id>` in its body, then those listed."""
    found = [UUID(match) for match in _MENTION.findall(body)]
    return list(dict.fromkeys([*found, *listed]))


async def add_comment(
    session: AsyncSession, *, principal: Principal, case: Record, body: str, mentions: Iterable[UUID]
) -> CaseComment:
    members = mentioned(body, mentions)
    if len(members) > MAX_MENTIONS:
        raise ValidationFailed(f"A comment mentions at most {MAX_MENTIONS} members.", details={"max": MAX_MENTIONS})
    invalid = [user_id for user_id in members if not await _sees(session, case, user_id)]
    if invalid:
        raise MentionInvalid(details={"user_ids": [str(user_id) for user_id in invalid]})
    comment = CaseComment(
        org_id=case.org_id, case_id=case.document_id, author_id=principal.user_id, body=body, mentions=members
    )
    await CommentRepository(session).add(comment)
    answered(case)
    number, excerpt, actor = case_number(case.number), body[:EXCERPT_CHARS], actor_of(principal)
    emit(
        session,
        org_id=case.org_id,
        type=EventType.CASE_COMMENTED,
        subject_id=case.document_id,
        data=CommentData(number=number, comment_id=comment.id, excerpt=excerpt, mentions=members),
        actor=actor,
        audience=Audience.unit(case.unit_id),
    )
    await notify(
        session,
        org_id=case.org_id,
        recipients=members,
        kind=NotificationKind.MENTION,
        title=f"You were mentioned on {number}",
        body=excerpt,
        subject=Subject(type=SubjectType.CASE, id=case.document_id),
        actor=actor,
        unit_id=case.unit_id,
    )
    return comment


async def page_comments(
    session: AsyncSession, *, principal: Principal, case: Record, page: PageRequest
) -> Paged[CaseComment]:
    return await CommentRepository(session).page_of_case(principal, case.document_id, page)


async def delete_comment(session: AsyncSession, *, principal: Principal, case: Record, comment_id: UUID) -> None:
    """Its author or an admin deletes a comment; the case's history then shows it as deleted, without its text."""
    repository = CommentRepository(session)
    comment = await repository.of_case(principal, case.document_id, comment_id)
    if comment is None:
        raise CommentNotFound()
    authored = comment.author_id is not None and comment.author_id == principal.user_id
    if not authored and not principal.has(Scope.ADMIN):
        raise Forbidden("Only its author or an admin may delete a comment.")
    await repository.delete(comment)


async def _sees(session: AsyncSession, case: Record, user_id: UUID) -> bool:
    member = await member_principal(session, org_id=case.org_id, user_id=user_id)
    return member is not None and member.has(Scope.CASES_READ) and member.sees_unit(case.unit_id)
