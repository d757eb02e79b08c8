"""A document's life as events (`document.created` … `document.deleted`), emitted with the change."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from folio.events.outbox import emit
from folio.events.schemas import SYSTEM, Actor, DocumentData, EventType
from folio.models import Document


def emit_document(session: AsyncSession, document: Document, type: EventType, actor: Actor = SYSTEM) -> None:
    data = DocumentData(
        title=document.title,
        filename=document.filename,
        status=document.status,
        version=document.version,
        error_code=document.error_code,
        error_message=document.error_message,
    )
    emit(session, org_id=document.org_id, type=type, subject_id=document.id, data=data, actor=actor)
