from __future__ import annotations

from folio.errors import Conflict, FolioError, ValidationFailed


class CaseNotFound(FolioError):
    """No such case in your organization, or one of a business unit you do not see; `details.id` names it in a
    bulk update."""

    status_code = 404
    code = "CASE_NOT_FOUND"
    message = "Case not found."


class CaseTransitionInvalid(Conflict):
    """The case's status cannot move from its current status to the one asked; `details` has `from`, `to`,
    `allowed` (and `id` in a bulk update)."""

    code = "CASE_TRANSITION_INVALID"
    message = "The case cannot move to this status from its current one."


class CaseActionForbidden(FolioError):
    """Your role may not make this change to a case: `details.action` (`assign`, `resolve`, `close`, `reopen`,
    `move`) and `details.requires` (the least role that may)."""

    status_code = 403
    code = "CASE_ACTION_FORBIDDEN"
    message = "Your role may not make this change to a case."


class AssigneeNotMember(ValidationFailed):
    """`assigned_to` must be a member of your organization who may work cases (editor or above) and sees the case's
    business unit (`details.unit_id` is there when the member does not see it)."""

    code = "ASSIGNEE_NOT_MEMBER"
    message = "The assignee is not a member who can see this case."


class CaseUnitInvalid(ValidationFailed):
    """`unit_id` is not a business unit of your organization."""

    code = "CASE_UNIT_INVALID"
    message = "The business unit is not one of your organization's."


class CommentNotFound(FolioError):
    """No such comment on this case."""

    status_code = 404
    code = "COMMENT_NOT_FOUND"
    message = "Comment not found."


class MentionInvalid(ValidationFailed):
    """A mentioned user is not a member who can see the case; `details.user_ids` lists them."""

    code = "MENTION_INVALID"
    message = "Mentions must name members who can see the case."


class ViewNotFound(FolioError):
    """No such saved view among yours and those shared in your organization."""

    status_code = 404
    code = "VIEW_NOT_FOUND"
    message = "Saved view not found."


class TooManyViews(Conflict):
    """You have as many saved views as allowed (50), or your organization as many shared ones (200)."""

    code = "TOO_MANY_VIEWS"
    message = "You have as many saved views as allowed."


class ViewFiltersInvalid(ValidationFailed):
    """A saved view's filters are no longer valid filters of the case list; update the view."""

    code = "VIEW_FILTERS_INVALID"
    message = "The saved view's filters are not valid."
