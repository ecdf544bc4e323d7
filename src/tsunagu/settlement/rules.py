"""Settlement rules: what an order, a refund, a claim or a chargeback posts to the ledger, how an
Amazon settlement row is classified, and when money is paid out. Pure: no database, no clock.

Signs: a positive amount moves money towards the seller (a sale, a fee refunded), a negative one
away (a fee, a refund to the buyer, a claim, a disbursement paid out). Every amount is an integer
in minor units (LED-08); fractions of a minor unit are rounded half away from zero, once, where a
rate is applied.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

# -- entry kinds and sources --------------------------------------------------------------------

SALE = "sale"
REFUND = "refund"
MARKETPLACE_FEE = "marketplace_fee"
FEE_REFUND = "fee_refund"
POINTS_COST = "points_cost"
CLAIM = "claim"
CHARGEBACK = "chargeback"
PROMOTION = "promotion"
TAX_WITHHELD = "tax_withheld"
ADJUSTMENT = "adjustment"
DISBURSEMENT = "disbursement"
REVERSAL = "reversal"
REPORT_OTHER = "report_other"

KINDS = (
    SALE,
    REFUND,
    MARKETPLACE_FEE,
    FEE_REFUND,
    POINTS_COST,
    CLAIM,
    CHARGEBACK,
    PROMOTION,
    TAX_WITHHELD,
    ADJUSTMENT,
    DISBURSEMENT,
    REVERSAL,
    REPORT_OTHER,
)

#: entries the event sync posts
FROM_EVENTS = "events"
#: entries an imported Amazon settlement report posts
FROM_REPORT = "settlement_report"
#: tsunagu's own entries: disbursements, reversals of estimates a report replaced
FROM_SETTLEMENT = "settlement"

#: ``events.source`` of the events a settlement report creates: the sync skips them, the report
#: already posted their money
REPORT_EVENT_SOURCE = "amazon-settlement"

#: the kinds of money a report row about an order replaces, when the sync estimated them first
ESTIMATED = frozenset({SALE, MARKETPLACE_FEE, TAX_WITHHELD, REFUND, FEE_REFUND, CLAIM, CHARGEBACK})


def half_up(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_HALF_UP))


def rate_of(category: str | None, rates: Mapping[str, float]) -> Decimal:
    """The referral fee rate of an item category (``default`` for one not listed)."""
    key = (category or "").strip().lower()
    rate = rates.get(key, rates.get("default", 0.0))
    return Decimal(str(rate))


@dataclass(frozen=True)
class Line:
    """One item line of an order as the settlement sees it."""

    price: int
    tax: int
    category: str | None


@dataclass(frozen=True)
class OrderMoney:
    """What a shipped order posts: the sale (price and tax), the referral fee, and the tax the
    marketplace keeps (0 when it does not)."""

    sale: int
    fee: int
    tax_withheld: int


def order_money(
    lines: Iterable[Line], *, rates: Mapping[str, float], withhold_tax: bool
) -> OrderMoney:
    """The sale is every line's price plus tax as the order holds them; the referral fee is each
    line's rate times its price (tax excluded), rounded once for the order."""
    lines = list(lines)
    sale = sum(line.price + line.tax for line in lines)
    fee = half_up(sum((line.price * rate_of(line.category, rates) for line in lines), Decimal(0)))
    tax = sum(line.tax for line in lines) if withhold_tax else 0
    return OrderMoney(sale=sale, fee=fee, tax_withheld=tax)


def fee_refund(*, fee_posted: int, sale: int, refunded: int, admin_rate: float) -> int:
    """The referral fee given back for a refund: the fee's share of the refunded amount, less the
    part Amazon keeps (``admin_rate``). 0 when no fee was posted."""
    if fee_posted <= 0 or sale <= 0 or refunded <= 0:
        return 0
    share = Decimal(fee_posted) * Decimal(min(refunded, sale)) / Decimal(sale)
    return half_up(share * (Decimal(1) - Decimal(str(admin_rate))))


def unrefunded(order_total: int, refunded: int) -> int:
    """What a seller-funded claim or a lost chargeback takes: the order total not refunded yet."""
    return max(0, order_total - max(0, refunded))


# -- the settlement report ----------------------------------------------------------------------

#: transaction types of the V2 flat file whose rows are about buyers' money coming back
REPORT_REFUND = "refund"
REPORT_CLAIM = "claim"
REPORT_CHARGEBACK = "chargeback"

_TRANSACTIONS: Mapping[str, str] = {
    "refund": REPORT_REFUND,
    "a-to-z guarantee refund": REPORT_CLAIM,
    "a-to-z guarantee claim": REPORT_CLAIM,
    "chargeback refund": REPORT_CHARGEBACK,
    "chargeback": REPORT_CHARGEBACK,
}


def transaction_event(transaction_type: str) -> str | None:
    """``refund``, ``claim`` or ``chargeback`` for the rows that become events, else None."""
    return _TRANSACTIONS.get(transaction_type.strip().lower())


def report_kind(transaction_type: str, amount_type: str, amount_description: str) -> str:
    """The ledger kind of one settlement row (ADR 0025)."""
    tx = transaction_type.strip().lower()
    kind = amount_type.strip().lower()
    description = amount_description.strip().lower()
    if kind == "promotion":
        return PROMOTION
    if kind == "itemwithheldtax" or "marketplacefacilitator" in description:
        return TAX_WITHHELD
    if tx == "order":
        if kind == "itemprice":
            return SALE
        if kind == "itemfees":
            return MARKETPLACE_FEE
        return REPORT_OTHER
    event = transaction_event(tx)
    if event is not None:
        if kind == "itemfees":
            return FEE_REFUND
        if kind == "itemprice":
            return {REPORT_REFUND: REFUND, REPORT_CLAIM: CLAIM, REPORT_CHARGEBACK: CHARGEBACK}[
                event
            ]
        return REPORT_OTHER
    if tx == "adjustment":
        return ADJUSTMENT
    return REPORT_OTHER


# -- disbursements and holds --------------------------------------------------------------------


def next_due(first_entry_at: datetime, period_days: int, after: datetime) -> datetime:
    """The first disbursement date strictly after ``after``: the store's first entry plus a whole
    number (at least 1) of periods."""
    period = timedelta(days=period_days)
    if after < first_entry_at + period:
        return first_entry_at + period
    periods = (after - first_entry_at) // period + 1
    return first_entry_at + periods * period


def last_due(first_entry_at: datetime, period_days: int, now: datetime) -> datetime | None:
    """The latest disbursement date at or before ``now``; None before the first."""
    period = timedelta(days=period_days)
    if now < first_entry_at + period:
        return None
    return first_entry_at + ((now - first_entry_at) // period) * period


def release_on(held_at: datetime, hold_days: int) -> datetime:
    return held_at + timedelta(days=hold_days)


def payout(balance: int) -> int:
    """What a disbursement moves out: the positive balance (a negative one stays owed)."""
    return max(0, balance)


#: what a report row of a kind replaces among the sync's estimates for the same order
REPLACES: Mapping[str, frozenset[str]] = {
    SALE: frozenset({SALE, MARKETPLACE_FEE, TAX_WITHHELD}),
    MARKETPLACE_FEE: frozenset({SALE, MARKETPLACE_FEE, TAX_WITHHELD}),
    REFUND: frozenset({REFUND, FEE_REFUND}),
    FEE_REFUND: frozenset({REFUND, FEE_REFUND}),
    CLAIM: frozenset({CLAIM}),
    CHARGEBACK: frozenset({CHARGEBACK}),
}
