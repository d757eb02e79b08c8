"""Signing secrets and signed headers, by the Standard Webhooks specification (`standardwebhooks` signs).

A secret is `whsec_` and the base64 of 32 random bytes. Each attempt is signed over `{webhook-id}.{timestamp}.{body}`
with HMAC-SHA256; during a rotation's grace period the previous secret signs too, and `webhook-signature` carries
both (`v1,<new> v1,<old>`), so a receiver that still holds the old secret keeps verifying.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from standardwebhooks import Webhook

from folio.db import new_id

SECRET_PREFIX = "whsec_"  # noqa: S105 -- the format's prefix, not a secret
SECRET_BYTES = 32


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def new_message_id() -> str:
    """The `webhook-id` of a message made on request (a ping): the same for every attempt and redelivery of it."""
    return f"msg_{new_id().hex}"


def event_message_id(event_id: int, endpoint_id: UUID) -> str:
    """The `webhook-id` of an event's delivery to an endpoint."""
    return f"msg_{event_id}_{endpoint_id.hex}"


def signed_headers(secrets_: Sequence[str], *, message_id: str, body: bytes, at: datetime) -> dict[str, str]:
    """The headers of one attempt: `secrets_` sign in order (the current secret first)."""
    signatures = " ".join(Webhook(secret).sign(message_id, at, body) for secret in secrets_)
    return {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signatures,
    }
