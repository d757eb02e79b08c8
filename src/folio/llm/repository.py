"""SQL for organizations' language-model settings: one row per organization, keyed by its id."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from folio.models import LLMProviderKind, OrgLLMSettings


class LLMSettingsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, org_id: UUID) -> OrgLLMSettings | None:
        row: OrgLLMSettings | None = await self.session.scalar(
            select(OrgLLMSettings).where(OrgLLMSettings.org_id == org_id)
        )
        return row

    async def get_for_update(self, org_id: UUID) -> OrgLLMSettings | None:
        row: OrgLLMSettings | None = await self.session.scalar(
            select(OrgLLMSettings).where(OrgLLMSettings.org_id == org_id).with_for_update()
        )
        return row

    async def put(
        self,
        org_id: UUID,
        *,
        provider: LLMProviderKind,
        base_url: str | None,
        model: str | None,
        api_key_encrypted: str | None,
        updated_by: UUID | None,
    ) -> OrgLLMSettings:
        """Insert or replace the organization's row; two first PUTs at once cannot both insert."""
        values = {
            "provider": provider,
            "base_url": base_url,
            "model": model,
            "api_key_encrypted": api_key_encrypted,
            "updated_by": updated_by,
        }
        statement = (
            insert(OrgLLMSettings)
            .values(org_id=org_id, **values)
            .on_conflict_do_update(
                index_elements=[OrgLLMSettings.org_id],
                set_={**values, "updated_at": func.now()},
            )
            .returning(OrgLLMSettings)
            .execution_options(populate_existing=True)
        )
        row: OrgLLMSettings = (await self.session.scalars(statement)).one()
        return row

    async def delete(self, org_id: UUID) -> None:
        await self.session.execute(delete(OrgLLMSettings).where(OrgLLMSettings.org_id == org_id))
