from __future__ import annotations

from folio.errors import Conflict, FolioError, Forbidden, ValidationFailed


class AlertRuleNotFound(FolioError):
    """No such alert rule in your organization that you may see (a member limited to units sees the rules over
    their units only)."""

    status_code = 404
    code = "ALERT_RULE_NOT_FOUND"
    message = "Alert rule not found."


class AlertNotFound(FolioError):
    """No such alert in your organization that you may see (an alert about another business unit's cases is not
    visible to a member limited to units)."""

    status_code = 404
    code = "ALERT_NOT_FOUND"
    message = "Alert not found."


class TooManyAlertRules(Conflict):
    """Your organization has as many alert rules as allowed; delete one first (`details.limit`)."""

    code = "TOO_MANY_ALERT_RULES"
    message = "Your organization has as many alert rules as allowed."


class AlertRuleUnitsForbidden(Forbidden):
    """A member limited to business units makes and changes rules over their own units only (`unit_ids` naming
    only them, never null)."""

    code = "ALERT_RULE_UNITS_FORBIDDEN"
    message = "You may only watch the business units you belong to."


class AlertRuleUnknownUnit(ValidationFailed):
    """A unit of `unit_ids` is not a business unit of your organization; `details.unit_ids` lists them."""

    code = "ALERT_RULE_UNKNOWN_UNIT"
    message = "Every unit must be a business unit of your organization."


class AlertRuleRecipientNotMember(ValidationFailed):
    """A member of `notify` is not a member of your organization; `details.notify` lists them."""

    code = "ALERT_RULE_RECIPIENT_NOT_MEMBER"
    message = "Every member to notify must be a member of your organization."


class AlertTransitionNotAllowed(Conflict):
    """The alert's status does not allow this: acknowledge an open alert, resolve an open or acknowledged one."""

    code = "ALERT_TRANSITION_NOT_ALLOWED"
    message = "The alert's status does not allow this change."
