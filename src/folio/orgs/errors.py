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


class InvitationNotFound(FolioError):
    """No such pending invitation: it was accepted, declined, revoked or has expired, or it is not yours."""

    status_code = 404
    code = "INVITATION_NOT_FOUND"
    message = "Invitation not found."


class TooManyInvitations(Conflict):
    """The organization has as many pending invitations as allowed; revoke some or wait for them to expire."""

    code = "TOO_MANY_INVITATIONS"
    message = "This organization has too many pending invitations."


class AlreadyMember(Conflict):
    """The user is already a member of this organization."""

    code = "ALREADY_MEMBER"
    message = "This user is already a member."


class LastOwner(Conflict):
    """The change would leave the organization without an owner."""

    code = "LAST_OWNER"
    message = "An organization must keep at least one owner."
