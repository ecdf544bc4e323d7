"""Order shapes for the API and ``--json`` output. Amounts are integer minor units."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from tsunagu.orders.models import Order


class OrderOut(BaseModel):
    seller_id: str
    marketplace: str = Field(examples=["JP"])
    order_id: str = Field(examples=["503-1234567-1234567"])
    channel: str = Field(description="MFN (seller-fulfilled) or AFN (fulfilled by Amazon).")
    status: str = Field(description="unshipped, shipped, delivered or cancelled.")
    purchased_at: datetime
    latest_ship_date: datetime | None
    latest_delivery_date: datetime | None
    currency: str
    items_total: int = Field(description="Sum of item line totals in minor units.")
    tax_total: int
    points: int | None
    is_business: bool
    ship_service: str | None
    shipped_at: datetime | None
    ship_time_known: bool | None
    carrier: str | None
    tracking_id: str | None = Field(description="null: unknown; empty string: none was given.")
    first_scan_at: datetime | None
    delivered_at: datetime | None
    cancelled_at: datetime | None
    cancelled_by: str | None
    cancel_reason: str | None
    feedback_rating: int | None
    feedback_removed: bool
    refunded_total: int
    claim_count: int
    chargeback_count: int
    return_count: int

    @classmethod
    def of(cls, o: Order) -> OrderOut:
        return cls.model_validate(o, from_attributes=True)


class OrderPage(BaseModel):
    items: list[OrderOut]
    next_cursor: str | None = Field(description="Pass as `cursor` to get the next page.")
