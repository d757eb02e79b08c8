from __future__ import annotations

from typing import ClassVar

from folio.auth.errors import Unauthorized
from folio.errors import Conflict, FolioError, ValidationFailed


class ShareNotFound(FolioError):
    """No such share sent to you or by you in your organization."""

    status_code = 404
    code = "SHARE_NOT_FOUND"
    message = "Share not found."


class ShareItemNotFound(FolioError):
    """No item of this type and id that you may read: it does not exist, is another organization's, or is not
    visible to you (a case of another business unit, someone else's chat)."""

    status_code = 404
    code = "SHARE_ITEM_NOT_FOUND"
    message = "No such item that you can read."


class ShareItemNotReady(Conflict):
    """The document has no extracted content yet, or the summary no text: a link would show nothing."""

    code = "SHARE_ITEM_NOT_READY"
    message = "The item has nothing to show yet."


class RecipientNotMember(ValidationFailed):
    """A recipient is not a member of your organization; `details.recipients` lists them."""

    code = "SHARE_RECIPIENT_NOT_MEMBER"
    message = "Every recipient must be a member of your organization."


class RecipientCannotSee(ValidationFailed):
    """A recipient may not read the item (a case outside their business units, a chat citing documents they cannot
    read); `details.recipients` lists them. Sharing never widens what a member may see."""

    code = "SHARE_RECIPIENT_CANNOT_SEE"
    message = "A recipient may not read this item."


class TooManyShares(Conflict):
    """The item has been shared as many times as allowed; delete an earlier share of it first."""

    code = "TOO_MANY_SHARES"
    message = "This item has been shared as many times as allowed."


class TooManyShareLinks(Conflict):
    """Your organization has as many live links as allowed; revoke one (or let one expire) first."""

    code = "TOO_MANY_SHARE_LINKS"
    message = "Your organization has as many live share links as allowed."


class ShareLinkNotAllowed(ValidationFailed):
    """Cases (records) and summaries of cases are never published by link: share them with members instead."""

    code = "SHARE_LINK_NOT_ALLOWED"
    message = "Cases and their summaries cannot be published by link."


# A visitor's errors commit what the visit recorded (its access log row, the counted password attempt).


class ShareLinkNotFound(FolioError):
    """No live link with this token: unknown, expired, revoked, or the password is wrong (one answer for all)."""

    status_code = 404
    code = "SHARE_LINK_NOT_FOUND"
    message = "Share link not found."
    keep_changes = True


class ShareLinkPasswordRequired(Unauthorized):
    """The link is protected by a password: send it in the `X-Share-Password` header."""

    code = "SHARE_LINK_PASSWORD_REQUIRED"
    message = "This link needs a password (X-Share-Password)."
    challenge: ClassVar[str] = 'SharePassword realm="share-link"'
    keep_changes = True


class ShareLinkLocked(FolioError):
    """Too many wrong passwords: the link refuses every password until Retry-After seconds have passed."""

    status_code = 429
    code = "SHARE_LINK_LOCKED"
    message = "Too many wrong passwords; try again later."
    keep_changes = True
