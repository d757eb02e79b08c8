"""The one guarded way out to URLs a tenant gives: model endpoints now, webhooks and connectors later.

    policy = OutboundPolicy.from_settings(settings.outbound)
    policy.url_refusal(url)            # when the URL is configured: shape and obviously internal hosts
    async with guarded_client(policy) as http:   # httpx2, also the openai SDK's http_client
        await http.post(url, ...)      # resolved, checked and pinned for every new connection

Calls raise `OutboundRefused` (an internal address) or `ResponseRefused` (a body over the cap); they are not
transport errors, so no retry policy treats them as passing.
"""

from folio.outbound.errors import OutboundRefused, OutboundURLForbidden, ResponseRefused
from folio.outbound.policy import OutboundPolicy, resolve_host
from folio.outbound.transport import GuardedTransport, guarded_client

__all__ = [
    "GuardedTransport",
    "OutboundPolicy",
    "OutboundRefused",
    "OutboundURLForbidden",
    "ResponseRefused",
    "guarded_client",
    "resolve_host",
]
