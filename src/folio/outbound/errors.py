"""Refusals of the outbound guard.

`OutboundRefused` and `ResponseRefused` are raised inside HTTP clients, below the libraries' own error types, so
that no retry logic mistakes them for a network hiccup; the domain that made the call turns them into its own
error code. `OutboundURLForbidden` is what a tenant sees when it gives such a URL in a setting.
"""

from __future__ import annotations

from folio.errors import FolioError


class OutboundRefused(Exception):
    """A tenant-given URL's host is or resolves to an address the deployment does not let tenants reach."""

    def __init__(self, host: str, reason: str) -> None:
        self.host = host
        self.reason = reason
        super().__init__(f"{host}: refused ({reason})")


class ResponseRefused(Exception):
    """A response larger than the outbound body cap, or in an encoding that was not asked for."""


class OutboundURLForbidden(FolioError):
    """The URL is not allowed: not http(s), carries credentials, or its host is an internal address or name."""

    status_code = 422
    code = "OUTBOUND_URL_FORBIDDEN"
    message = "The URL is not allowed: it must be a public http(s) address."
