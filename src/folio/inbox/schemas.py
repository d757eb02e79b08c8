from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from uuid import UUID

from pydantic import ConfigDict, Field

from folio.events.schemas import Actor, Subject, SubjectType
from folio.models import Notification, NotificationChannel, NotificationKind
from folio.schemas import ReadModel, RequestModel


class NotificationRead(ReadModel):
    id: UUID
    kind: NotificationKind
    title: str = Field(examples=["Ann Lee mentioned you on C-000123"])
    body: str = Field(examples=["@you can you call the customer back today?"])
    subject: Subject | None = Field(description="What it is about: a case, a job, a webhook endpoint…")
    actor: Actor = Field(description="Who caused it: a member, an API key, or the system.")
    read_at: datetime | None = Field(description="When it was first marked read; null while unread.")
    created_at: datetime

    @classmethod
    def of(cls, notification: Notification) -> NotificationRead:
        subject = (
            None
            if notification.subject_type is None
            else Subject(type=SubjectType(notification.subject_type), id=notification.subject_id)
        )
        return cls(
            id=notification.id,
            kind=notification.kind,
            title=notification.title,
            body=notification.body,
            subject=subject,
            actor=Actor.model_validate({"type": notification.actor_type, "id": notification.actor_id}),
            read_at=notification.read_at,
            created_at=notification.created_at,
        )


class UnreadCount(ReadModel):
    unread: int = Field(description="Unread notifications in your inbox.", examples=[3])


class MarkedRead(ReadModel):
    marked: int = Field(description="Notifications this request marked read.", examples=[12])


_CHANNEL = (
    "`in_app`: your inbox and live streams; `webhook`: only the organization's webhook endpoints that subscribe to "
    "`notification.created`; `off`: nothing."
)


class InboxPreferences(RequestModel):
    """Where each kind of notification goes. A kind left out of a PUT goes back to `in_app`."""

    model_config = ConfigDict(extra="forbid")

    case_assigned: NotificationChannel = Field(
        NotificationChannel.IN_APP, description=f"A case was assigned to you. {_CHANNEL}"
    )
    mention: NotificationChannel = Field(NotificationChannel.IN_APP, description="Someone mentioned you.")
    share: NotificationChannel = Field(NotificationChannel.IN_APP, description="Someone shared something with you.")
    alert: NotificationChannel = Field(
        NotificationChannel.IN_APP, description="An alert was raised for the business units you see."
    )
    job_failed: NotificationChannel = Field(
        NotificationChannel.IN_APP, description="A job you started failed for good."
    )
    webhook_disabled: NotificationChannel = Field(
        NotificationChannel.IN_APP,
        description="A webhook endpoint was disabled after its deliveries kept failing (owners and admins).",
    )
    pulse: NotificationChannel = Field(
        NotificationChannel.IN_APP,
        description="The organization's periodic pulse digest (members from supervisor up who see every unit).",
    )
    integration: NotificationChannel = Field(
        NotificationChannel.IN_APP,
        description="An integration stopped syncing until it has new credentials (owners and admins).",
    )

    @classmethod
    def of(cls, channels: Mapping[NotificationKind, NotificationChannel]) -> InboxPreferences:
        return cls.model_validate({kind.value: channel for kind, channel in channels.items()})

    def channels(self) -> dict[NotificationKind, NotificationChannel]:
        return {kind: getattr(self, kind.value) for kind in NotificationKind}
