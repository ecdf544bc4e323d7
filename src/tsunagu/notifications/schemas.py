"""Shapes of ``/v1/notifications`` and ``/v1/webhooks``. A webhook's secret appears in exactly
one of them, :class:`WebhookCreated`, the answer to its creation."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from tsunagu.notifications.models import Delivery, Notification, Webhook
from tsunagu.notifications.rules import KINDS

_KIND_SCHEMA: dict[str, Any] = {"type": "string", "enum": [*KINDS]}


class NotificationOut(BaseModel):
    id: str = Field(examples=["ntf_01jd5m3q7x8k2v4b9c6n0p1r2s"])
    kind: str = Field(examples=["ACCOUNT_STATUS_CHANGED"])
    seller_id: str = Field(examples=["sel_01jd5m3q7x8k2v4b9c6n0p1r2s"])
    marketplace: str | None = Field(examples=["US"])
    payload: dict[str, Any] = Field(
        description="What changed, e.g. `previousAccountStatus` and `currentAccountStatus`.",
        examples=[{"previousAccountStatus": "NORMAL", "currentAccountStatus": "AT_RISK"}],
    )
    occurred_at: datetime

    @classmethod
    def of(cls, n: Notification) -> NotificationOut:
        return cls(
            id=n.id,
            kind=n.kind,
            seller_id=n.seller_id,
            marketplace=n.marketplace,
            payload=dict(n.payload),
            occurred_at=n.occurred_at,
        )


class NotificationPage(BaseModel):
    items: list[NotificationOut]
    next_cursor: str | None = Field(description="Pass as `cursor` to get the next page.")


class WebhookCreate(BaseModel):
    url: str = Field(
        min_length=1,
        max_length=2000,
        description="Where deliveries go: https (plain http only where the operator allows "
        "it), on a host the operator listed in `[notifications] allowed_hosts`.",
        examples=["https://hooks.example.com/tsunagu"],
    )
    kinds: list[str] = Field(
        min_length=1,
        max_length=len(KINDS),
        description="The notification kinds to receive.",
        examples=[["ACCOUNT_STATUS_CHANGED"]],
        json_schema_extra={"items": _KIND_SCHEMA},
    )
    seller_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=40,
        description="The seller whose notifications to receive; leave it out (platform "
        "operators only) for every seller's.",
        examples=["sel_01jd5m3q7x8k2v4b9c6n0p1r2s"],
    )


class WebhookOut(BaseModel):
    """A webhook as listed: never its secret."""

    id: str = Field(examples=["whk_01jd5m3q7x8k2v4b9c6n0p1r2s"])
    seller_id: str | None = Field(
        description="None: every seller's notifications.",
        examples=["sel_01jd5m3q7x8k2v4b9c6n0p1r2s"],
    )
    url: str = Field(examples=["https://hooks.example.com/tsunagu"])
    kinds: list[str] = Field(examples=[["ACCOUNT_STATUS_CHANGED"]])
    active: bool
    created_at: datetime

    @classmethod
    def of(cls, w: Webhook) -> WebhookOut:
        return cls(
            id=w.id,
            seller_id=w.seller_id,
            url=w.url,
            kinds=list(w.kinds),
            active=w.active,
            created_at=w.created_at,
        )


class WebhookCreated(BaseModel):
    webhook: WebhookOut
    secret: str = Field(
        description="Signs every delivery (`Tsunagu-Signature`). Shown this once: keep it in "
        "the receiver; tsunagu never shows it again.",
        examples=["whsec_3q2-8QxvY0r9m1mJv6E0g8eZbqk1n6m3v5y9t2w4u7s"],
    )


class WebhookPage(BaseModel):
    items: list[WebhookOut]
    next_cursor: str | None = Field(description="Pass as `cursor` to get the next page.")


class AttemptOut(BaseModel):
    at: datetime
    status_code: int | None = Field(examples=[500])
    error: str | None = Field(
        description="`http_500`, `redirect_not_followed`, `timeout`, `connect_failed`, "
        "`dns_failed`, `refused: host_not_allowed`, `refused: address_not_allowed` …",
        examples=["http_500"],
    )
    duration_ms: int = Field(examples=[41])


class DeliveryOut(BaseModel):
    id: str = Field(examples=["dlv_01jd5m3q7x8k2v4b9c6n0p1r2s"])
    notification_id: str
    webhook_id: str
    status: str = Field(
        description="pending, sending, delivered, failed or cancelled.", examples=["delivered"]
    )
    attempts: int = Field(examples=[2])
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    last_status_code: int | None = Field(examples=[200])
    last_error: str | None = Field(examples=[None])
    attempt_log: list[AttemptOut]

    @classmethod
    def of(cls, d: Delivery) -> DeliveryOut:
        return cls(
            id=d.id,
            notification_id=d.notification_id,
            webhook_id=d.webhook_id,
            status=d.status,
            attempts=d.attempts,
            next_attempt_at=d.next_attempt_at,
            delivered_at=d.delivered_at,
            last_status_code=d.last_status_code,
            last_error=d.last_error,
            attempt_log=[AttemptOut.model_validate(a) for a in d.attempt_log or []],
        )


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None = Field(description="Pass as `cursor` to get the next page.")
