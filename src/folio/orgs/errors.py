from __future__ import annotations

from folio.errors import Conflict, FolioError


class OrgNotFound(FolioError):
    """No such organization among yours."""

    status_code = 404
    code = "ORG_NOT_FOUND"
    message = "Organization not found."


class MemberNotFound(FolioError):
    """That user is not a member of this organization."""

    status_code = 404
    code = "MEMBER_NOT_FOUND"
    message = "Member not found."


class UserNotFound(FolioError):
    """No account with that email exists; the person must register first."""

    status_code = 404
    code = "USER_NOT_FOUND"
    message = "No account with this email exists."


class AlreadyMember(Conflict):
    """The user is already a member of this organization."""

    code = "ALREADY_MEMBER"
    message = "This user is already a member."


class LastOwner(Conflict):
    """The change would leave the organization without an owner."""

    code = "LAST_OWNER"
    message = "An organization must keep at least one owner."
