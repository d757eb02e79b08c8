"""The one guarded way out to URLs a tenant gives: model endpoints now, webhooks and connectors later.

    policy = OutboundPolicy.from_settings(settings.outbound)
    policy.url_refusal(url)            # when the URL is configured: shape and obviously internal hosts
    async with guarded_client(policy) as http:   # or guarded_client2 for the openai SDK
        await http.post(url, ...)      # resolved, checked and pinned for every new connection

Calls raise `OutboundRefused` (an internal address) or `ResponseRefused` (a body over the cap); they are not
transport errors, so no retry policy treats them as passing.
"""

from folio.outbound.errors import OutboundRefused, OutboundURLForbidden, ResponseRefused
from folio.outbound.policy import OutboundPolicy, resolve_host
from folio.outbound.transport import GuardedTransport, GuardedTransport2, guarded_client, guarded_client2

__all__ = [
    "GuardedTransport",
    "GuardedTransport2",
    "OutboundPolicy",
    "OutboundRefused",
    "OutboundURLForbidden",
    "ResponseRefused",
    "guarded_client",
    "guarded_client2",
    "resolve_host",
]
