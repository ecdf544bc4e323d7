"""API models of the settlement slice. Amounts are integer minor units of ``currency``."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from tsunagu.settlement.models import SettlementEntry, SettlementHold
from tsunagu.settlement.service import StoreSettlement


class EntryOut(BaseModel):
    id: int
    kind: str
    amount: int
    currency: str
    posted_at: datetime
    source: str
    order_id: str | None
    ref: str | None
    key: str

    @classmethod
    def of(cls, e: SettlementEntry) -> EntryOut:
        return cls(
            id=e.id,
            kind=e.kind,
            amount=e.amount,
            currency=e.currency,
            posted_at=e.posted_at,
            source=e.source,
            order_id=e.order_id,
            ref=e.ref,
            key=e.key,
        )


class HoldOut(BaseModel):
    id: str
    ref: str
    reason: str
    held_at: datetime
    held_amount: int
    release_on: datetime
    released_at: datetime | None
    released_amount: int | None
    release_reason: str | None

    @classmethod
    def of(cls, h: SettlementHold) -> HoldOut:
        return cls(
            id=h.id,
            ref=h.ref,
            reason=h.reason,
            held_at=h.held_at,
            held_amount=h.held_amount,
            release_on=h.release_on,
            released_at=h.released_at,
            released_amount=h.released_amount,
            release_reason=h.release_reason,
        )


class SettlementOut(BaseModel):
    seller_id: str
    marketplace: str
    currency: str
    balance: int
    held: bool
    #: the open hold, else the latest one (released), else null
    hold: HoldOut | None
    #: the next disbursement date; while held, the hold's release date
    next_disbursement: datetime | None
    last_disbursement_at: datetime | None
    last_disbursement_amount: int | None

    @classmethod
    def of(cls, s: StoreSettlement) -> SettlementOut:
        last = s.last_disbursement
        return cls(
            seller_id=s.seller_id,
            marketplace=s.marketplace,
            currency=s.currency,
            balance=s.balance,
            held=s.held,
            hold=HoldOut.of(s.hold) if s.hold is not None else None,
            next_disbursement=s.next_disbursement,
            last_disbursement_at=last.posted_at if last is not None else None,
            last_disbursement_amount=-last.amount if last is not None else None,
        )


class EntryPage(BaseModel):
    items: list[EntryOut]
    next_cursor: str | None
