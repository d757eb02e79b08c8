"""The rules of a case's life: which status may follow which, who may make each move, and when it is due."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from uuid import UUID

from folio.auth.principal import Principal, Scope
from folio.models import CasePriority, CaseStatus, Record, Role

OPEN, IN_PROGRESS, WAITING, RESOLVED, CLOSED = (
    CaseStatus.OPEN,
    CaseStatus.IN_PROGRESS,
    CaseStatus.WAITING,
    CaseStatus.RESOLVED,
    CaseStatus.CLOSED,
)

# Work moves forward through in_progress and waiting (and back), ends resolved then closed; a resolved or
# closed case is reopened to open.
TRANSITIONS: Mapping[CaseStatus, frozenset[CaseStatus]] = {
    OPEN: frozenset({IN_PROGRESS, WAITING, RESOLVED}),
    IN_PROGRESS: frozenset({OPEN, WAITING, RESOLVED}),
    WAITING: frozenset({OPEN, IN_PROGRESS, RESOLVED}),
    RESOLVED: frozenset({CLOSED, OPEN}),
    CLOSED: frozenset({OPEN}),
}
DONE = frozenset({RESOLVED, CLOSED})

# Hours from creation to the SLA due time, unless the organization sets its own.
DEFAULT_SLA_HOURS: Mapping[CasePriority, int] = {
    CasePriority.URGENT: 4,
    CasePriority.HIGH: 24,
    CasePriority.NORMAL: 72,
    CasePriority.LOW: 168,
}
MAX_SLA_HOURS = 8760


def allowed(before: CaseStatus, after: CaseStatus) -> bool:
    return after in TRANSITIONS[before]


def is_reopening(before: CaseStatus, after: CaseStatus) -> bool:
    return before in DONE and after not in DONE


def supervised_move(before: CaseStatus, after: CaseStatus) -> str | None:
    """The name of a move only supervisors make (`resolve`, `close`, `reopen`); None for an editor's move."""
    if is_reopening(before, after):
        return "reopen"
    if after is RESOLVED:
        return "resolve"
    if after is CLOSED:
        return "close"
    return None


def supervises(principal: Principal) -> bool:
    """Supervisors and above assign, resolve, close and reopen cases (in the units they see). An operator's key,
    which has no role, does so with the admin scope."""
    return principal.at_least(Role.SUPERVISOR) or principal.has(Scope.ADMIN)


def manages_units(principal: Principal) -> bool:
    """Business-unit managers and above move cases between the units they see."""
    return principal.at_least(Role.BU_MANAGER) or principal.has(Scope.ADMIN)


def assigns_only_self(principal: Principal, before: UUID | None, after: UUID | None) -> bool:
    """An editor may take a case nobody has, or give up their own: every other assignment is a supervisor's."""
    own = {None, principal.user_id}
    return before in own and after in own


def sla_hours(overrides: Mapping[str, int]) -> dict[CasePriority, int]:
    """The organization's SLA hours by priority: its own where set, the defaults elsewhere."""
    return {priority: int(overrides.get(priority.value, hours)) for priority, hours in DEFAULT_SLA_HOURS.items()}


def due_at(created_at: datetime, priority: CasePriority, overrides: Mapping[str, int]) -> datetime:
    return created_at + timedelta(hours=sla_hours(overrides)[priority])


def is_overdue(due: datetime | None, status: CaseStatus, now: datetime) -> bool:
    return due is not None and due < now and status not in DONE


def case_number(number: int) -> str:
    return f"C-{number:06d}"


def answered(case: Record) -> None:
    """A person acted on the case (a comment, a status change): the first such moment is its first response."""
    if case.first_response_at is None:
        case.first_response_at = datetime.now(UTC)
