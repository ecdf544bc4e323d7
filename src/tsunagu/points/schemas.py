"""API models of the points slice. Points are whole numbers (1 point = 1 unit of the
marketplace's currency); a number with a fraction, or one written as a string, is refused
(``strict``, LED-08). The keys of :class:`BalanceOut` and :class:`RedemptionOut` are the
``tsunagu points balance --json`` and ``redeem --json`` contract: never rename one."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from tsunagu.points import service
from tsunagu.points.service import (
    MAX_POINTS,
    Balance,
    HistoryEntry,
    OfferView,
    StatementMonth,
    StoreSettings,
    UpcomingExpiry,
)

#: the largest line price a redemption takes, in minor units
MAX_PRICE = 10**12
#: the longest idempotency key (the ledger keeps it with a prefix and a suffix,
#: ``earn:<key>:post``, in a 200-character column)
MAX_KEY = service.MAX_KEY

_STRICT = ConfigDict(extra="forbid")


#: a whole, positive number of points (LED-08: ``strict`` refuses 30.0 and "30")
Points = Annotated[int, Field(strict=True, ge=1, le=MAX_POINTS, examples=[30])]
Customer = Annotated[
    str,
    Field(
        min_length=1,
        max_length=100,
        description="The customer: the `customer_id` of their orders.",
        examples=["cust-8812"],
    ),
]
MarketplaceCode = Annotated[
    str,
    Field(
        min_length=1,
        max_length=20,
        description="JP, US, … or an Amazon marketplace id.",
        examples=["JP"],
    ),
]


# -- a customer's balance and history ---------------------------------------------------------


class BalanceOut(BaseModel):
    customer: str = Field(examples=["cust-8812"])
    marketplace: str = Field(examples=["JP"])
    pending: int = Field(description="Earned, not usable yet (the order has not settled).")
    available: int = Field(description="Usable now.")
    expires_at: datetime | None = Field(
        description="When the whole available balance expires unless the customer earns "
        "points or orders before (null: nothing earned yet)."
    )

    @classmethod
    def of(cls, b: Balance) -> BalanceOut:
        return cls(
            customer=b.customer,
            marketplace=b.marketplace,
            pending=b.pending,
            available=b.available,
            expires_at=b.expires_at,
        )


class EntryOut(BaseModel):
    id: int
    kind: str = Field(
        description="grant_pending, post, void, redeem, clawback, expire or adjust.",
        examples=["redeem"],
    )
    kind_text: str = Field(description="The kind in words, in the language of Accept-Language.")
    points: int = Field(
        description="Signed: what the entry did to the available points (or, for a grant or "
        "void, to the pending points).",
        examples=[-30],
    )
    pending_change: int
    available_change: int
    order_id: str | None
    seller_id: str | None = Field(description="The store whose order earned the points.")
    at: datetime = Field(description="When the movement took effect.")
    reason: str = Field(
        description="Why (a stable code): order_placed, shipment_settled, order_cancelled, "
        "refund, redemption, expiry, external:<source>, adjustment:<note>, manual.",
        examples=["redemption"],
    )
    reason_text: str = Field(description="The reason in words (Accept-Language).")
    expires_at: datetime | None = Field(description="The balance's expiry after this entry.")
    shortfall: int = Field(
        description="A clawback's points the customer no longer had (balances never go below zero)."
    )

    @classmethod
    def of(cls, e: HistoryEntry, *, kind_text: str, reason_text: str) -> EntryOut:
        return cls(
            id=e.id,
            kind=e.kind,
            kind_text=kind_text,
            points=e.points,
            pending_change=e.pending_change,
            available_change=e.available_change,
            order_id=e.order_id,
            seller_id=e.seller_id,
            at=e.at,
            reason=e.reason,
            reason_text=reason_text,
            expires_at=e.expires_at,
            shortfall=e.shortfall,
        )


class EntryPage(BaseModel):
    items: list[EntryOut]
    next_cursor: str | None = Field(description="Pass as `cursor` to get the next page.")


# -- redemptions, outside points, adjustments --------------------------------------------------


class LineIn(BaseModel):
    model_config = _STRICT

    category: str | None = Field(
        None,
        max_length=100,
        description="The item's category; gift_card, amazon_coins, fresh_grocery and "
        "digital_content (by default) cannot be paid with points. Null: eligible.",
        examples=["ebook"],
    )
    price: int = Field(
        strict=True,
        ge=0,
        le=MAX_PRICE,
        description="The line's price as the customer pays it, in minor units.",
        examples=[1200],
    )


class RedemptionIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "customer": "cust-8812",
                    "marketplace": "JP",
                    "order_id": "503-1234567-1234567",
                    "points": 30,
                    "lines": [{"category": "ebook", "price": 1200}],
                }
            ]
        },
    )

    customer: Customer
    marketplace: MarketplaceCode
    order_id: str = Field(
        min_length=1, max_length=64, description="The order paid for (need not be imported yet)."
    )
    points: Points = Field(description="Points to spend: 1 point is 1 unit of currency off.")
    lines: list[LineIn] | None = Field(
        None,
        max_length=1000,
        description="The order's lines: points pay only for the eligible ones. Without lines, "
        "the whole amount is eligible.",
    )


class RedemptionOut(BaseModel):
    redemption_id: str = Field(examples=["red_01jd0000000000000000000000"])
    customer: str
    marketplace: str
    order_id: str
    points: int = Field(description="Points spent.")
    available: int = Field(description="The available balance after this redemption.")


class EarningIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "customer": "cust-8812",
                    "marketplace": "JP",
                    "points": 500,
                    "source": "card-partner",
                    "key": "card-2026-11-0001",
                }
            ]
        },
    )

    customer: Customer
    marketplace: MarketplaceCode
    points: Points = Field(description="Points earned outside the marketplace: available at once.")
    source: str = Field(
        min_length=1,
        max_length=40,
        description="Who issued them: letters, digits, dots, dashes, underscores.",
        examples=["card-partner"],
    )
    key: str | None = Field(
        None,
        min_length=1,
        max_length=MAX_KEY,
        description="The idempotency key, unless the `Idempotency-Key` header carries it.",
    )


class AdjustmentIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "customer": "cust-8812",
                    "marketplace": "JP",
                    "points": -20,
                    "note": "Duplicate goodwill credit of ticket 4411",
                    "key": "adjust-4411",
                }
            ]
        },
    )

    customer: Customer
    marketplace: MarketplaceCode
    points: int = Field(
        strict=True,
        ge=-MAX_POINTS,
        le=MAX_POINTS,
        description="Points added (positive) or taken (negative) from the available balance; "
        "not 0, and never more than the customer has.",
        examples=[-20],
    )
    note: str = Field(
        min_length=1, max_length=500, description="Why (kept in the ledger and the audit log)."
    )
    key: str = Field(
        min_length=1, max_length=MAX_KEY, description="The idempotency key.", examples=["adj-1"]
    )


# -- expiry -------------------------------------------------------------------------------------


class ExpiryRunIn(BaseModel):
    model_config = _STRICT

    as_of: str | None = Field(
        None,
        max_length=40,
        description="The instant to run as of (ISO-8601 with an offset, not in the future); "
        "default now.",
        json_schema_extra={"format": "date-time"},
        examples=["2026-11-25T00:30:00Z"],
    )


class ExpiryRunOut(BaseModel):
    as_of: datetime
    expired_accounts: int = Field(description="Balances that expired in this run.")
    expired_points: int
    warnings: int = Field(description="Warnings recorded (30 and 7 days before an expiry).")
    posted: int = Field(description="Settled grants made available first.")


class UpcomingOut(BaseModel):
    customer: str
    available: int = Field(description="The points that expire unless the customer acts.")
    expires_at: datetime
    warned_days: list[int] = Field(description="The warnings recorded so far: 30, 7.")

    @classmethod
    def of(cls, u: UpcomingExpiry) -> UpcomingOut:
        return cls(
            customer=u.customer,
            available=u.available,
            expires_at=u.expires_at,
            warned_days=list(u.warned_days),
        )


class UpcomingPage(BaseModel):
    items: list[UpcomingOut]
    next_cursor: str | None = Field(description="Pass as `cursor` to get the next page.")


# -- a store's settings, offers and statement -------------------------------------------------


class StoreSettingsOut(BaseModel):
    seller_id: str
    marketplace: str
    enabled: bool = Field(description="Whether the programme runs in this marketplace.")
    rate: int = Field(description="The store's points rate in percent.", examples=[1])
    rate_set: bool = Field(description="False: the marketplace's default rate applies.")
    badge: bool = Field(description='Whether the store joined the "2% or more" badge.')
    badge_rate: int = Field(description="The lowest effective rate that carries the badge.")
    settling_hours: int = Field(description="Hours from shipment until points are available.")
    offers_with_badge: int = Field(description="How many of the store's offers carry the badge.")
    updated_at: datetime | None

    @classmethod
    def of(cls, s: StoreSettings) -> StoreSettingsOut:
        return cls(
            seller_id=s.seller_id,
            marketplace=s.marketplace,
            enabled=s.enabled,
            rate=s.rate,
            rate_set=s.rate_set,
            badge=s.badge,
            badge_rate=s.badge_rate,
            settling_hours=s.settling_hours,
            offers_with_badge=s.offers_with_badge,
            updated_at=s.updated_at,
        )


class SettingsIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"rate": 2, "badge": True}]}
    )

    rate: int | None = Field(
        None, strict=True, ge=0, le=50, description="Percent, 0 to 50; null: unchanged."
    )
    badge: bool | None = Field(
        None, strict=True, description='Join (true) or leave the "2% or more" badge.'
    )


class OfferOut(BaseModel):
    sku: str
    category: str | None
    rate: int | None = Field(description="The offer's own rate; null: the store's applies.")
    effective_rate: int
    points_badge: bool = Field(description='Carries the "2% or more" badge.')

    @classmethod
    def of(cls, o: OfferView) -> OfferOut:
        return cls(
            sku=o.sku,
            category=o.category,
            rate=o.rate,
            effective_rate=o.effective_rate,
            points_badge=o.points_badge,
        )


class OfferPage(BaseModel):
    items: list[OfferOut]
    next_cursor: str | None = Field(description="Pass as `cursor` to get the next page.")


class OfferIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"rate": 5, "category": "tea"}]}
    )

    rate: int | None = Field(
        strict=True, ge=0, le=50, description="The SKU's own rate; null: follow the store's."
    )
    category: str | None = Field(
        None, max_length=100, description="The item's category; null: unchanged."
    )


class StatementMonthOut(BaseModel):
    month: str = Field(description="YYYY-MM, in the marketplace's time zone.", examples=["2026-11"])
    granted: int = Field(description="Points made available (each cost the store 1 unit).")
    returned: int = Field(description="Points refunds took back (refunded to the store).")
    net_cost: int = Field(description="granted − returned, in minor units.")
    fee_effect: int = Field(description="Referral fee saved: the fee is due on price − points.")
    currency: str

    @classmethod
    def of(cls, m: StatementMonth) -> StatementMonthOut:
        return cls(
            month=m.month,
            granted=m.granted,
            returned=m.returned,
            net_cost=m.net_cost,
            fee_effect=m.fee_effect,
            currency=m.currency,
        )


class StatementOut(BaseModel):
    seller_id: str
    marketplace: str
    currency: str
    months: list[StatementMonthOut] = Field(description="Newest first.")
