"""Public links to documents and summaries, on behalf of their members, and their visitors' side.

A link reads its item as the member who made it, so it shows nothing that member could not read now, and dies
with their membership. Only the SHA-256 of its token is stored (a 256-bit random token has no dictionary to
attack), and an Argon2 hash of its password; a visitor is told only "not found" whether the token is unknown,
the link expired or revoked, or the password wrong.
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NoReturn
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from folio.audit.service import AuditAction, audit
from folio.auth import passwords
from folio.auth.errors import ExpiryInPast
from folio.auth.members import member_principal
from folio.auth.principal import Principal, Scope
from folio.auth.tokens import secret_digest
from folio.db import release
from folio.documents import service as documents
from folio.documents.errors import DocumentNotFound, DocumentNotReady
from folio.errors import Forbidden, ValidationFailed
from folio.ingestion.extracted import FileKind
from folio.models import (
    AccessOutcome,
    Document,
    DocumentStatus,
    ShareItemType,
    ShareLink,
    ShareLinkAccess,
    SummaryFormat,
)
from folio.models.share import ITEM_COLUMNS
from folio.pagination import Paged, PageRequest
from folio.repository import lock_org
from folio.shares.errors import (
    ShareItemNotFound,
    ShareItemNotReady,
    ShareLinkLocked,
    ShareLinkNotAllowed,
    ShareLinkNotFound,
    ShareLinkPasswordRequired,
    TooManyShareLinks,
)
from folio.shares.links.repository import LinkRepository
from folio.summaries import service as summaries
from folio.summaries.errors import SummaryNotFound

TOKEN_PREFIX = "fsl_"  # noqa: S105
# Longer than any token issued (prefix + 43 characters).
MAX_TOKEN_LENGTH = 64
MAX_LIFETIME = timedelta(days=90)
MAX_LIVE_LINKS = 500
# Revoked and expired links kept per organization (with their access logs), newest first.
KEPT_DEAD_LINKS = 500
MAX_ACCESSES_PER_LINK = 200
MAX_PASSWORD_ATTEMPTS = 5
LOCK_DURATION = timedelta(minutes=15)
_TARGET = "share_link"


def now() -> datetime:
    """The clock of expiry and locks (tests move it)."""
    return datetime.now(UTC)


async def create_link(
    session: AsyncSession,
    *,
    principal: Principal,
    item_type: ShareItemType,
    item_id: UUID,
    expires_at: datetime | None,
    expires_in_days: int,
    password: str | None,
) -> tuple[ShareLink, str]:
    """The link and its token, shown this once. It expires at `expires_at`, else `expires_in_days` from now."""
    if principal.user_id is None:
        raise Forbidden("A link reads its item as the member who made it: an operator's key has no member.")
    at = now()
    expires_at = expires_at or at + timedelta(days=expires_in_days)
    if expires_at <= at:
        raise ExpiryInPast(details={"field": "expires_at"})
    if expires_at > at + MAX_LIFETIME:
        raise ValidationFailed("A link lives at most 90 days.", details={"field": "expires_at"})
    password_hash = None
    if password is not None:
        passwords.check_strength(password)
        # Hashing is slow: it comes before the request's first statement, so no connection is held meanwhile.
        password_hash = await passwords.hash_password(password)
    await _publishable(session, principal, item_type, item_id)
    repository = LinkRepository(session)
    await lock_org(session, principal.org_id)
    if await repository.count_live(principal, at) >= MAX_LIVE_LINKS:
        raise TooManyShareLinks(details={"limit": MAX_LIVE_LINKS})
    await repository.prune_dead(principal, at, keep=KEPT_DEAD_LINKS)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    link = ShareLink(
        org_id=principal.org_id,
        created_by=principal.user_id,
        token_digest=secret_digest(token),
        password_hash=password_hash,
        expires_at=expires_at,
    )
    setattr(link, ITEM_COLUMNS[item_type], item_id)
    await repository.add(link)
    details = {"item_type": item_type.value, "item_id": str(item_id), "expires_at": expires_at.isoformat()}
    await audit(
        session,
        org_id=link.org_id,
        action=AuditAction.SHARE_LINK_CREATED,
        actor=principal,
        target_type=_TARGET,
        target_id=link.id,
        details={**details, "protected": password_hash is not None},
    )
    return link, token


async def _publishable(session: AsyncSession, principal: Principal, item_type: ShareItemType, item_id: UUID) -> None:
    """The item exists for the principal, has something to show, and is not a case's."""
    try:
        if item_type is ShareItemType.SUMMARY:
            summary = await summaries.get_summary(session, principal=principal, summary_id=item_id)
            if summary.text is None:
                raise ShareItemNotReady(details={"status": summary.status.value})
            document = await documents.get_document(session, principal=principal, document_id=summary.document_id)
        else:
            document = await documents.get_document(session, principal=principal, document_id=item_id)
            if document.status is not DocumentStatus.READY:
                raise ShareItemNotReady(details={"status": document.status.value})
    except (DocumentNotFound, SummaryNotFound) as error:
        raise ShareItemNotFound(details={"item_type": item_type.value, "item_id": str(item_id)}) from error
    if document.kind is FileKind.RECORD:
        raise ShareLinkNotAllowed()


def status_of(link: ShareLink, at: datetime) -> str:
    if link.revoked_at is not None:
        return "revoked"
    return "expired" if link.expires_at <= at else "live"


async def page_links(session: AsyncSession, *, principal: Principal, page: PageRequest) -> Paged[ShareLink]:
    return await LinkRepository(session).page(principal, page)


async def get_link(session: AsyncSession, *, principal: Principal, link_id: UUID) -> ShareLink:
    link = await LinkRepository(session).get(principal, link_id)
    if link is None:
        raise ShareLinkNotFound()
    return link


async def revoke_link(session: AsyncSession, *, principal: Principal, link_id: UUID) -> None:
    """The link answers nobody from now on; revoking it again changes nothing."""
    link = await LinkRepository(session).get(principal, link_id, for_update=True)
    if link is None:
        raise ShareLinkNotFound()
    if link.revoked_at is not None:
        return
    link.revoked_at = now()
    await session.flush()
    await audit(
        session,
        org_id=link.org_id,
        action=AuditAction.SHARE_LINK_REVOKED,
        actor=principal,
        target_type=_TARGET,
        target_id=link.id,
    )


async def page_accesses(
    session: AsyncSession, *, principal: Principal, link_id: UUID, page: PageRequest
) -> Paged[ShareLinkAccess]:
    link = await get_link(session, principal=principal, link_id=link_id)
    return await LinkRepository(session).page_accesses(link, page)


# --- a visitor's side ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Visit:
    token: str
    password: str | None
    ip: str
    user_agent: str
    download: bool = False


@dataclass(frozen=True, slots=True)
class PublicDocument:
    title: str
    filename: str
    kind: FileKind
    text: str
    storage_key: str | None


@dataclass(frozen=True, slots=True)
class PublicSummary:
    document_title: str
    text: str
    format: SummaryFormat


@dataclass(frozen=True, slots=True)
class PublicFile:
    storage_key: str
    filename: str
    kind: FileKind


async def open_link(session: AsyncSession, visit: Visit) -> PublicDocument | PublicSummary:
    """What the link shows, after its checks; every visit with a known token is logged, served or refused."""
    link = await _admitted(session, visit)
    shown = await _item(session, link)
    if shown is None:
        await _refuse(session, link, visit, AccessOutcome.UNAVAILABLE)
    await _served(session, link, visit)
    return shown


async def open_file(session: AsyncSession, visit: Visit) -> PublicFile:
    """The original file of a document's link, after the same checks (a summary has none: `unavailable`)."""
    link = await _admitted(session, visit)
    shown = await _item(session, link)
    if not isinstance(shown, PublicDocument) or shown.storage_key is None:
        await _refuse(session, link, visit, AccessOutcome.UNAVAILABLE)
    await _served(session, link, visit)
    return PublicFile(storage_key=shown.storage_key, filename=shown.filename, kind=shown.kind)


async def _admitted(session: AsyncSession, visit: Visit) -> ShareLink:
    """The live link of the token, once its password (if it has one) is right; refusals are logged."""
    link = await LinkRepository(session).by_digest(secret_digest(visit.token))
    if link is None:
        raise ShareLinkNotFound()
    at = now()
    if link.revoked_at is not None:
        await _refuse(session, link, visit, AccessOutcome.REVOKED)
    if link.expires_at <= at:
        await _refuse(session, link, visit, AccessOutcome.EXPIRED)
    if link.password_hash is not None:
        await _check_password(session, link, visit, at)
    return link


async def _served(session: AsyncSession, link: ShareLink, visit: Visit) -> None:
    await _log(session, link, visit, AccessOutcome.OK)
    await _audit_visit(session, link, AuditAction.SHARE_LINK_USED, visit)


async def _check_password(session: AsyncSession, link: ShareLink, visit: Visit, at: datetime) -> None:
    """Attempts are counted before the (slow) check, one after another under the link's row lock, so guesses sent
    at once are counted too; the link locks when they pass MAX_PASSWORD_ATTEMPTS, and a right password clears
    them."""
    password = visit.password
    if password is None:
        await _refuse(session, link, visit, AccessOutcome.PASSWORD_REQUIRED, ShareLinkPasswordRequired())
    repository = LinkRepository(session)
    current = await repository.for_password_check(link.id)
    if current is None:  # deleted since it was found
        raise ShareLinkNotFound()
    if current.locked_until is None or current.locked_until <= at:
        current.password_attempts += 1
        if current.password_attempts > MAX_PASSWORD_ATTEMPTS:
            current.password_attempts = 0
            current.locked_until = at + LOCK_DURATION
        await session.flush()
    if current.locked_until is not None and current.locked_until > at:
        retry_after = max(1, math.ceil((current.locked_until - at).total_seconds()))
        locked = ShareLinkLocked(details={"retry_after": retry_after}, headers={"Retry-After": str(retry_after)})
        await _refuse(session, link, visit, AccessOutcome.LOCKED, locked)
    await release(session)  # verifying the password is slow: no connection (nor row lock) is held meanwhile
    if await passwords.verify_password(password, current.password_hash):
        await repository.clear_password_attempts(link.id)
        return
    await _audit_visit(session, link, AuditAction.SHARE_LINK_PASSWORD_FAILED, visit)
    await _refuse(session, link, visit, AccessOutcome.WRONG_PASSWORD)


async def _item(session: AsyncSession, link: ShareLink) -> PublicDocument | PublicSummary | None:
    """The item as the link's maker reads it now; None when they no longer may (or it has nothing to show)."""
    maker = None
    if link.created_by is not None:
        maker = await member_principal(session, org_id=link.org_id, user_id=link.created_by)
    if maker is None or not maker.has(Scope.DOCUMENTS_READ):
        return None
    try:
        if link.summary_id is not None:
            summary = await summaries.get_summary(session, principal=maker, summary_id=link.summary_id)
            document = await _shown_document(session, maker, summary.document_id)
            if document is None or summary.text is None:
                return None
            return PublicSummary(document_title=document.title, text=summary.text, format=summary.format)
        assert link.document_id is not None  # noqa: S101 — one item per link (a check constraint)
        document = await _shown_document(session, maker, link.document_id)
        if document is None:
            return None
        content = await documents.get_content(session, principal=maker, document_id=document.id)
    except (DocumentNotFound, DocumentNotReady, SummaryNotFound):
        return None
    return PublicDocument(
        title=document.title,
        filename=document.filename,
        kind=document.kind,
        text=content.text,
        storage_key=document.storage_key,
    )


async def _shown_document(session: AsyncSession, maker: Principal, document_id: UUID) -> Document | None:
    document = await documents.get_document(session, principal=maker, document_id=document_id)
    return None if document.kind is FileKind.RECORD else document


async def _refuse(
    session: AsyncSession,
    link: ShareLink,
    visit: Visit,
    outcome: AccessOutcome,
    error: ShareLinkNotFound | ShareLinkPasswordRequired | ShareLinkLocked | None = None,
) -> NoReturn:
    """Log the refused visit and answer it (the error keeps the log: it commits the request's work)."""
    await _log(session, link, visit, outcome)
    raise error or ShareLinkNotFound()


async def _log(session: AsyncSession, link: ShareLink, visit: Visit, outcome: AccessOutcome) -> None:
    access = ShareLinkAccess(
        org_id=link.org_id,
        link_id=link.id,
        outcome=outcome,
        download=visit.download,
        ip=visit.ip.replace("\x00", "")[:64],
        user_agent=visit.user_agent.replace("\x00", "")[:300],
    )
    await LinkRepository(session).log_access(access, keep=MAX_ACCESSES_PER_LINK)


async def _audit_visit(session: AsyncSession, link: ShareLink, action: AuditAction, visit: Visit) -> None:
    await audit(
        session,
        org_id=link.org_id,
        action=action,
        actor=None,
        target_type=_TARGET,
        target_id=link.id,
        details={"download": visit.download},
    )
