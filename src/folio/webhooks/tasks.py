"""The `webhook.deliver` job: one POST per attempt, on the webhook retry schedule; and the deliveries' retention.

Each attempt reads the delivery in a short transaction, POSTs with no connection held, then records what came back
in another. A delivery that fails for good counts against its endpoint; after
`FOLIO_WEBHOOKS__DISABLE_AFTER_FAILURES` of them in a row the endpoint is disabled and `webhook.disabled` is emitted.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession

from folio.events.outbox import emit
from folio.events.schemas import EventType, WebhookData
from folio.inbox.system import notify_webhook_disabled
from folio.jobs.errors import Transient
from folio.jobs.retention import Prune
from folio.jobs.runner import JobContext, settled
from folio.llm.crypto import CredentialUnreadable
from folio.models import DeliveryError, DeliveryStatus, WebhookAttempt, WebhookEndpoint
from folio.webhooks.config import WebhookConfig
from folio.webhooks.errors import WebhookDeliveryFailed, WebhookSecretUnreadable
from folio.webhooks.repository import DeliveryRepository, WebhookRepository
from folio.webhooks.sender import Outcome, post
from folio.webhooks.service import PING
from folio.webhooks.signing import signed_headers

ATTEMPTS = Counter("folio_webhook_attempts", "Webhook delivery attempts, by outcome.", ["outcome"])


# Rows deleted per transaction, so a large backlog never holds locks for long.
@dataclass(frozen=True, slots=True)
class _Work:
    delivery_id: UUID
    endpoint_id: UUID
    url: str
    message_id: str
    body: bytes
    # Fernet tokens: the current secret, and the previous one while it still signs.
    secret_tokens: tuple[str, ...]
    counts: bool


class DeliverWebhook:
    """The `webhook.deliver` job handler."""

    def __init__(self, config: WebhookConfig) -> None:
        self.config = config

    async def __call__(self, context: JobContext) -> None:
        work = await self._start(context)
        if work is None:
            return  # finished already, or its endpoint is gone or disabled

        async def failed(code: str, message: str) -> None:
            error = DeliveryError.UNSIGNABLE if code == WebhookSecretUnreadable.code else None
            await self._give_up(context, error)

        async def cancelled() -> None:
            await self._give_up(context, DeliveryError.CANCELLED)

        async with settled(context, failed=failed, cancelled=cancelled):
            now = datetime.now(UTC)
            headers = signed_headers(self._secrets(work), message_id=work.message_id, body=work.body, at=now)
            outcome = await post(
                self.config.outbound,
                work.url,
                body=work.body,
                headers=headers,
                seconds=self.config.settings.timeout_seconds,
            )
            ATTEMPTS.labels(outcome=outcome.error or "succeeded").inc()
            retry_after = self.config.retry_delay(context.attempt)
            await self._record(context, work, outcome, None if context.last_attempt else retry_after)
            if not outcome.succeeded:
                raise Transient(WebhookDeliveryFailed(outcome.describe()), retry_after=retry_after)

    async def on_lost(self, context: JobContext) -> None:
        async with context.sessionmaker() as session, session.begin():
            await self._fail(session, self._delivery_id(context), DeliveryError.WORKER_LOST)

    async def _start(self, context: JobContext) -> _Work | None:
        async with context.fenced() as session:
            delivery = await DeliveryRepository(session).for_update(self._delivery_id(context))
            if delivery is None or delivery.status is not DeliveryStatus.PENDING:
                return None
            endpoint = await WebhookRepository(session).by_id(delivery.endpoint_id)
            if endpoint is None:
                return None
            if not endpoint.enabled and delivery.event_type != PING:
                delivery.status = DeliveryStatus.FAILED
                delivery.error = DeliveryError.DISABLED
                return None  # not the endpoint's failure: it does not count
        return _Work(
            delivery_id=delivery.id,
            endpoint_id=endpoint.id,
            url=endpoint.url,
            message_id=delivery.message_id,
            body=delivery.body.encode(),
            secret_tokens=_signing_tokens(endpoint),
            counts=delivery.event_type != PING,
        )

    def _secrets(self, work: _Work) -> list[str]:
        current, *previous = work.secret_tokens
        try:
            secrets = [self.config.cipher.decrypt(current)]
        except CredentialUnreadable as exc:
            raise WebhookSecretUnreadable() from exc
        for token in previous:
            with suppress(CredentialUnreadable):  # a rotation away from an unreadable secret signs with the new one
                secrets.append(self.config.cipher.decrypt(token))
        return secrets

    async def _record(self, context: JobContext, work: _Work, outcome: Outcome, retry_after: timedelta | None) -> None:
        async with context.fenced() as session:
            delivery = await DeliveryRepository(session).for_update(work.delivery_id)
            if delivery is None:
                return  # its endpoint was deleted meanwhile
            session.add(
                WebhookAttempt(
                    org_id=delivery.org_id,
                    delivery_id=delivery.id,
                    attempt=context.attempt,
                    succeeded=outcome.succeeded,
                    response_status=outcome.response_status,
                    latency_ms=outcome.latency_ms,
                    response_excerpt=outcome.excerpt,
                    error=outcome.error,
                )
            )
            delivery.attempts = context.attempt
            delivery.response_status = outcome.response_status
            delivery.latency_ms = outcome.latency_ms
            delivery.response_excerpt = outcome.excerpt
            delivery.error = outcome.error
            delivery.last_attempt_at = now = datetime.now(UTC)
            if outcome.succeeded:
                delivery.status, delivery.next_attempt_at = DeliveryStatus.SUCCEEDED, None
                if work.counts:
                    await WebhookRepository(session).reset_failures(work.endpoint_id)
            else:
                delivery.next_attempt_at = None if retry_after is None else now + retry_after

    async def _give_up(self, context: JobContext, error: DeliveryError | None) -> None:
        async with context.fenced() as session:
            await self._fail(session, self._delivery_id(context), error)

    async def _fail(self, session: AsyncSession, delivery_id: UUID, error: DeliveryError | None) -> None:
        """The delivery failed for good; it counts against its endpoint (a ping does not)."""
        delivery = await DeliveryRepository(session).for_update(delivery_id)
        if delivery is None or delivery.status is not DeliveryStatus.PENDING:
            return
        delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, None
        delivery.error = error or delivery.error
        if delivery.event_type == PING:
            return
        endpoint = await WebhookRepository(session).by_id(delivery.endpoint_id, for_update=True)
        if endpoint is None:
            return
        endpoint.consecutive_failures += 1
        limit = self.config.settings.disable_after_failures
        if endpoint.enabled and endpoint.consecutive_failures >= limit:
            endpoint.enabled = False
            endpoint.disabled_reason = f"{endpoint.consecutive_failures} deliveries in a row failed."
            emit(
                session,
                org_id=endpoint.org_id,
                type=EventType.WEBHOOK_DISABLED,
                subject_id=endpoint.id,
                data=WebhookData(url=endpoint.url, reason=endpoint.disabled_reason),
            )
            await notify_webhook_disabled(session, endpoint)

    @staticmethod
    def _delivery_id(context: JobContext) -> UUID:
        return UUID(context.payload["delivery_id"])


def _signing_tokens(endpoint: WebhookEndpoint) -> tuple[str, ...]:
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret_encrypted is None or expires is None or expires <= datetime.now(UTC):
        return (endpoint.secret_encrypted,)
    return endpoint.secret_encrypted, endpoint.previous_secret_encrypted


async def delete_deliveries_before(session: AsyncSession, cutoff: datetime, limit: int) -> int:
    """Finished deliveries (and their attempts) created before `cutoff`."""
    return await DeliveryRepository(session).delete_finished_before(cutoff, limit)


def prune_deliveries(retention: timedelta) -> Prune:
    """The periodic `webhooks.prune` job."""
    return Prune("webhook deliveries", retention, delete_deliveries_before)
