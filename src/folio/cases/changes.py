"""Applying the changes a request asks of one case or many: each checked against the workflow, the principal's
powers and the organization's members and units before anything is written."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from folio.auth.members import member_principal
from folio.auth.principal import Principal, Scope
from folio.cases import workflow
from folio.cases.errors import AssigneeNotMember, CaseActionForbidden, CaseTransitionInvalid, CaseUnitInvalid
from folio.cases.repository import CaseRepository
from folio.events.schemas import Change
from folio.models import CasePriority, CaseStatus, Record, Role

_UNSET: Any = object()


@dataclass(frozen=True, slots=True)
class Asked:
    """The fields a request sets; `_UNSET` where it leaves one as it is (None is a value: unassign, no unit)."""

    status: CaseStatus | None = _UNSET
    priority: CasePriority | None = _UNSET
    assigned_to: UUID | None = _UNSET
    unit_id: UUID | None = _UNSET


class CaseEditor:
    """Applies one request's changes to its cases. What the checks need (the SLA hours, the assignee as a member,
    the target unit) is read once per request, however many cases it changes."""

    def __init__(self, session: AsyncSession, principal: Principal, asked: Asked) -> None:
        self.session = session
        self.principal = principal
        self.asked = asked
        self._sla: dict[str, int] | None = None
        self._members: dict[UUID, Principal | None] = {}
        self._units: set[UUID] = set()

    async def apply(self, record: Record, *, case_id: UUID | None = None) -> list[Change]:
        """Check every change, then make them; the changes made, from → to. `case_id` names the case in errors
        (bulk updates)."""
        asked, named = self.asked, {} if case_id is None else {"id": str(case_id)}
        status = self._changed(asked.status, record.case_status)
        assignee = self._changed(asked.assigned_to, record.assigned_to)
        unit = self._changed(asked.unit_id, record.unit_id)
        if status is not _UNSET:
            self._check_move(record.case_status, status, named)
        if assignee is not _UNSET and not workflow.assigns_only_self(self.principal, record.assigned_to, assignee):
            self._require(workflow.supervises(self.principal), "assign", Role.SUPERVISOR, named)
        if unit is not _UNSET:
            await self._check_unit(unit, named)
        final_assignee = record.assigned_to if assignee is _UNSET else assignee
        final_unit = record.unit_id if unit is _UNSET else unit
        if final_assignee is not None and (assignee is not _UNSET or unit is not _UNSET):
            await self._check_assignee(final_assignee, final_unit, named)

        changes: list[Change] = []
        if status is not _UNSET:
            changes.append(_change("status", record.case_status, status))
            workflow.answered(record)
            if status is workflow.RESOLVED:
                record.resolved_at = datetime.now(UTC)
            elif workflow.is_reopening(record.case_status, status):
                record.resolved_at = None
            record.case_status = status
        priority = self._changed(asked.priority, record.priority)
        if priority is not _UNSET:
            due_at = workflow.due_at(record.opened_at, priority, await self._sla_overrides())
            changes += [_change("priority", record.priority, priority), _change("due_at", record.due_at, due_at)]
            record.priority, record.due_at = priority, due_at
        if assignee is not _UNSET:
            changes.append(_change("assigned_to", record.assigned_to, assignee))
            record.assigned_to = assignee
        if unit is not _UNSET:
            changes.append(_change("unit_id", record.unit_id, unit))
            record.unit_id = unit
        return changes

    @staticmethod
    def _changed(asked: Any, current: Any) -> Any:
        return _UNSET if asked is _UNSET or asked == current else asked

    def _check_move(self, before: CaseStatus, after: CaseStatus, named: dict[str, str]) -> None:
        if not workflow.allowed(before, after):
            allowed = sorted(status.value for status in workflow.TRANSITIONS[before])
            raise CaseTransitionInvalid(
                f"A case cannot move from {before.value} to {after.value}.",
                details={**named, "from": before.value, "to": after.value, "allowed": allowed},
            )
        move = workflow.supervised_move(before, after)
        if move is not None:
            self._require(workflow.supervises(self.principal), move, Role.SUPERVISOR, named)

    async def _check_unit(self, unit_id: UUID | None, named: dict[str, str]) -> None:
        self._require(workflow.manages_units(self.principal), "move", Role.BU_MANAGER, named)
        if not self.principal.sees_unit(unit_id):
            raise CaseActionForbidden(
                "You may move cases only to the business units you see.",
                details={**named, "action": "move", "unit_id": None if unit_id is None else str(unit_id)},
            )
        if unit_id is None or unit_id in self._units:
            return
        if not await CaseRepository(self.session).is_unit_of(self.principal.org_id, unit_id):
            raise CaseUnitInvalid(details={**named, "unit_id": str(unit_id)})
        self._units.add(unit_id)

    async def _check_assignee(self, user_id: UUID, unit_id: UUID | None, named: dict[str, str]) -> None:
        if user_id not in self._members:
            self._members[user_id] = await member_principal(self.session, org_id=self.principal.org_id, user_id=user_id)
        member = self._members[user_id]
        named = {**named, "assigned_to": str(user_id)}
        # A viewer could not work the case: assignees are members who may change cases.
        if member is None or not member.has(Scope.CASES_WRITE):
            raise AssigneeNotMember(details=named)
        if not member.sees_unit(unit_id):
            raise AssigneeNotMember(details={**named, "unit_id": None if unit_id is None else str(unit_id)})

    def _require(self, power: bool, action: str, role: Role, named: dict[str, str]) -> None:
        if not power:
            raise CaseActionForbidden(
                f"Only a {role.value} or above may {action} a case.",
                details={**named, "action": action, "requires": role.value},
            )

    async def _sla_overrides(self) -> dict[str, int]:
        if self._sla is None:
            self._sla = await CaseRepository(self.session).sla_overrides(self.principal.org_id)
        return self._sla


def _change(field: str, before: object, after: object) -> Change:
    return Change(field=field, before=_text(before), after=_text(after))


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)
