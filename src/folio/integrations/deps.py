"""Who may manage integrations (owners, admins and `admin` keys) and publish through them (editors), and what
the routes need from the settings."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from folio.auth.deps import requires
from folio.auth.principal import Principal, Scope
from folio.deps import SettingsDep
from folio.integrations.service import Limits
from folio.integrations.sources import Sources

Admin = Annotated[Principal, requires(Scope.ADMIN)]
# Publishing a summary back is an editor's act, through the organization's integration.
Editor = Annotated[Principal, requires(Scope.DOCUMENTS_WRITE)]


def sources(settings: SettingsDep) -> Sources:
    return Sources(settings)


def limits(settings: SettingsDep) -> Limits:
    return Limits(settings.integrations, settings.plans, settings.jobs.max_attempts)


SourcesDep = Annotated[Sources, Depends(sources)]
LimitsDep = Annotated[Limits, Depends(limits)]
