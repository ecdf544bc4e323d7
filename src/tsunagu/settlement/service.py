"""The settlement ledger of each store, its balance, disbursements and funds holds. Never commits.

Every amount is an entry in ``settlement_entries`` with a unique key per store: posting a key
again changes nothing, so every writer here (the event sync, a settlement report, the
disbursement job, a hold's release, later the points feature) may run twice. The balance is the
sum of the entries (ADR 0025).

The event sync (:func:`sync`) reads the store's events after its cursor and posts what they
mean in money; call it before reading a balance. Entries an Amazon settlement report posted
(:func:`post_report`) replace the sync's estimates for the same order and kind of money.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy.orm import Session

from tsunagu.core.errors import InvalidInput
from tsunagu.core.i18n import N_
from tsunagu.core.ids import new_id
from tsunagu.events import repo as events_repo
from tsunagu.identity import audit
from tsunagu.marketplaces.registry import Marketplace, Registry, load_registry
from tsunagu.sellers.service import require_store
from tsunagu.settlement import repo, rules
from tsunagu.settlement.config import settlement_of
from tsunagu.settlement.models import SettlementEntry, SettlementHold, SettlementReport

_KIND = re.compile(r"[a-z][a-z0-9_]{0,29}")
_CURRENCY = re.compile(r"[A-Z]{3}")
#: events read per query by the sync
SYNC_BATCH = 1000
MAX_KEY = 200


def _invalid(field: str, value: object, message: str) -> InvalidInput:
    return InvalidInput(
        message, code="invalid_entry", field=field, details={"field": field, "value": repr(value)}
    )


def post_entry(
    session: Session,
    *,
    seller_id: str,
    marketplace: str,
    key: str,
    kind: str,
    amount: int,
    currency: str,
    at: datetime,
    source: str,
    order_id: str | None = None,
    ref: str | None = None,
) -> bool:
    """Post one amount to the store's ledger; False (nothing changes) when ``key`` was posted
    before. ``amount`` is a whole number of minor units (LED-08): anything else is refused with
    ``invalid_entry``, as is an unknown-looking kind or currency, or a naive time."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise _invalid("amount", amount, N_("{field} must be a whole number of minor units"))
    if not isinstance(key, str) or not key or len(key) > MAX_KEY:
        raise _invalid("key", key, N_("{field} must be 1 to 200 characters"))
    if not isinstance(kind, str) or not _KIND.fullmatch(kind):
        raise _invalid("kind", kind, N_("{field} must be a snake_case word"))
    if not isinstance(currency, str) or not _CURRENCY.fullmatch(currency):
        raise _invalid("currency", currency, N_("{field} must be an ISO-4217 code"))
    if at.tzinfo is None:
        raise _invalid("at", at, N_("{field} must be an aware time"))
    return repo.insert_entry(
        session,
        {
            "seller_id": seller_id,
            "marketplace": marketplace,
            "key": key,
            "kind": kind,
            "amount": amount,
            "currency": currency,
            "posted_at": at,
            "source": source,
            "order_id": order_id,
            "ref": ref,
        },
    )


def balance(session: Session, *, seller_id: str, marketplace: str) -> int:
    """The sum of the store's entries as they stand (call :func:`sync` first)."""
    return repo.balance(session, seller_id, marketplace)


# -- the event sync -----------------------------------------------------------------------------


def sync(session: Session, *, seller_id: str, marketplace: Marketplace, now: datetime) -> int:
    """Post the money of the store's events after its cursor; the number of entries posted.

    Idempotent: entries are keyed by the order or the event, and the cursor only moves forward.
    Events a settlement report created (``amazon-settlement``) are skipped: the report posted
    their money. So is money of an order and kind a report already posted (ADR 0025).
    """
    code = marketplace.code
    cursor = repo.lock_cursor(session, seller_id, code, now)
    posted = 0
    while True:
        rows = repo.events_after(session, seller_id, code, cursor.last_seq, SYNC_BATCH)
        if not rows:
            break
        placed = {r.order_id: r.seq for r in rows if r.type == "order_placed" and r.order_id}
        earlier = events_repo.earlier_events(session, seller_id, code, placed, repo.MONEY_TYPES)
        for row in rows:
            if row.order_id is None:
                continue
            # an order's events that came before it waited for it (ADR 0030): post them now;
            # entries are keyed, so what was posted then is not posted twice
            replay = earlier.get(row.order_id, []) if row.type == "order_placed" else [row]
            for found in replay:
                if found.source == rules.REPORT_EVENT_SOURCE or found.type == "order_placed":
                    continue
                posted += _post_event(
                    session,
                    seller_id,
                    marketplace,
                    found.event_id,
                    found.type,
                    row.order_id,
                    orjson.loads(found.body),
                    found.at,
                )
        cursor.last_seq = int(rows[-1].seq)
        cursor.synced_at = now
    session.flush()
    return posted


def _post_event(
    session: Session,
    seller_id: str,
    mp: Marketplace,
    event_id: str,
    type_: str,
    order_id: str,
    body: dict[str, Any],
    at: datetime,
) -> int:
    config = settlement_of(mp)
    sums = repo.order_sums(session, seller_id, mp.code, order_id)
    reported = {kind for (kind, source) in sums if source == rules.FROM_REPORT}

    def post(key: str, kind: str, amount: int) -> int:
        if amount == 0:
            return 0
        return int(
            post_entry(
                session,
                seller_id=seller_id,
                marketplace=mp.code,
                key=key,
                kind=kind,
                amount=amount,
                currency=mp.currency,
                at=at,
                source=rules.FROM_EVENTS,
                order_id=order_id,
                ref=event_id,
            )
        )

    def estimated(kind: str) -> int:
        return sums.get((kind, rules.FROM_EVENTS), 0)

    if type_ == "order_shipped":
        if reported & rules.REPLACES[rules.SALE]:
            return 0
        lines = [
            rules.Line(item.price, item.tax or 0, item.category)
            for item in repo.order_lines(session, seller_id, mp.code, order_id)
        ]
        money = rules.order_money(
            lines, rates=config.referral_fee_rates, withhold_tax=config.withhold_tax
        )
        # keyed by the order: a second shipment event of one order sells nothing more
        return (
            post(f"sale:{order_id}", rules.SALE, money.sale)
            + post(f"fee:{order_id}", rules.MARKETPLACE_FEE, -money.fee)
            + post(f"tax:{order_id}", rules.TAX_WITHHELD, -money.tax_withheld)
        )
    if type_ == "refund_issued":
        if reported & rules.REPLACES[rules.REFUND]:
            return 0
        amount = int(body["amount"])
        back = rules.fee_refund(
            fee_posted=-estimated(rules.MARKETPLACE_FEE),
            sale=estimated(rules.SALE),
            refunded=amount,
            admin_rate=config.refund_admin_fee_rate,
        )
        return post(f"event:{event_id}:refund", rules.REFUND, -amount) + post(
            f"event:{event_id}:fee_refund", rules.FEE_REFUND, back
        )
    decided = {
        ("claim_decided", "granted_seller_funded"): rules.CLAIM,
        ("chargeback_decided", "seller_lost"): rules.CHARGEBACK,
    }.get((type_, str(body.get("outcome"))))
    if decided is None or decided in reported:
        return 0
    order = repo.order_of(session, seller_id, mp.code, order_id)
    if order is None:
        return 0
    refunded = -sum(total for (kind, _), total in sums.items() if kind == rules.REFUND)
    taken = rules.unrefunded(order.items_total + order.tax_total, refunded)
    return post(f"event:{event_id}:{decided}", decided, -taken)


# -- what a settlement report posts --------------------------------------------------------------


@dataclass(frozen=True)
class ReportRow:
    """One amount row of a settlement report, ready to post."""

    key: str
    kind: str
    amount: int
    at: datetime
    order_id: str | None
    ref: str


@dataclass(frozen=True)
class ReportSummary:
    settlement_id: str
    period_start: datetime | None
    period_end: datetime | None
    deposit_date: datetime | None
    currency: str
    total: int
    rows: int
    sha256: str


def post_report(
    session: Session,
    *,
    seller_id: str,
    marketplace: Marketplace,
    summary: ReportSummary,
    rows: Sequence[ReportRow],
    now: datetime,
) -> int:
    """Post a settlement report's rows and record the report; the number of new entries.

    The caller has checked that the rows add up to ``summary.total``. Estimates the event sync
    posted for the same order and kind of money are reversed (ADR 0025), so the store's
    balance counts each amount once, whichever came first.
    """
    code = marketplace.code
    sync(session, seller_id=seller_id, marketplace=marketplace, now=now)
    posted = 0
    for row in rows:
        posted += post_entry(
            session,
            seller_id=seller_id,
            marketplace=code,
            key=row.key,
            kind=row.kind,
            amount=row.amount,
            currency=summary.currency,
            at=row.at,
            source=rules.FROM_REPORT,
            order_id=row.order_id,
            ref=row.ref,
        )
    posted += _reverse_estimates(session, seller_id, code, rows, now)
    if repo.report_by_settlement(session, seller_id, code, summary.settlement_id) is None:
        session.add(
            SettlementReport(
                id=new_id("stl"),
                seller_id=seller_id,
                marketplace=code,
                settlement_id=summary.settlement_id,
                period_start=summary.period_start,
                period_end=summary.period_end,
                deposit_date=summary.deposit_date,
                currency=summary.currency,
                total=summary.total,
                imported_total=sum(r.amount for r in rows),
                rows=summary.rows,
                sha256=summary.sha256,
                imported_at=now,
            )
        )
    session.flush()
    return posted


def _reverse_estimates(
    session: Session, seller_id: str, code: str, rows: Iterable[ReportRow], now: datetime
) -> int:
    wanted: dict[str, set[str]] = {}
    for row in rows:
        if row.order_id is not None and row.kind in rules.REPLACES:
            wanted.setdefault(row.order_id, set()).update(rules.REPLACES[row.kind])
    if not wanted:
        return 0
    posted = 0
    estimates = repo.order_entries(session, seller_id, code, wanted, rules.FROM_EVENTS)
    for order_id, entries in estimates.items():
        for entry in entries:
            if entry.kind in wanted[order_id]:
                posted += post_entry(
                    session,
                    seller_id=seller_id,
                    marketplace=code,
                    key=f"reversal:{entry.key}"[:MAX_KEY],
                    kind=entry.kind,
                    amount=-entry.amount,
                    currency=entry.currency,
                    at=now,
                    source=rules.FROM_SETTLEMENT,
                    order_id=order_id,
                    ref=entry.key,
                )
    return posted


def new_keys(session: Session, *, seller_id: str, marketplace: str, keys: Sequence[str]) -> int:
    """How many of ``keys`` the store's ledger does not hold yet (a dry run's count)."""
    return len(set(keys) - repo.existing_keys(session, seller_id, marketplace, list(keys)))


def reports(session: Session, *, seller_id: str, marketplace: str) -> list[SettlementReport]:
    return repo.list_reports(session, seller_id, marketplace)


# -- holds and disbursements --------------------------------------------------------------------


def _marketplace(code: str, registry: Registry | None) -> Marketplace:
    return (registry or load_registry(None)).require(code)


def hold_funds(
    session: Session,
    *,
    seller_id: str,
    marketplace: str,
    now: datetime,
    ref: str,
    reason: str,
    registry: Registry | None = None,
) -> None:
    """Hold the store's balance from ``now`` (idempotent per ``ref``, e.g. a deactivation id);
    the hold records its release date (``hold_days``, default 90 days). ``registry`` gives the
    configured settings (the built-in defaults without it)."""
    mp = _marketplace(marketplace, registry)
    require_store(session, seller_id, mp.code)
    if repo.hold_by_ref(session, seller_id, mp.code, ref) is not None:
        return
    sync(session, seller_id=seller_id, marketplace=mp, now=now)
    amount = repo.balance(session, seller_id, mp.code)
    hold = SettlementHold(
        id=new_id("hold"),
        seller_id=seller_id,
        marketplace=mp.code,
        ref=ref,
        reason=reason[:500],
        held_at=now,
        held_amount=amount,
        currency=mp.currency,
        release_on=rules.release_on(now, settlement_of(mp).hold_days),
    )
    session.add(hold)
    session.flush()
    audit.append(
        session,
        action="settlement_hold",
        outcome="success",
        now=now,
        actor="system",
        target=f"{seller_id}/{mp.code}",
        details={"hold": hold.id, "ref": ref},
    )


def release_hold(
    session: Session,
    *,
    seller_id: str,
    marketplace: str,
    now: datetime,
    reason: str,
    registry: Registry | None = None,
) -> None:
    """Release the store's open hold early (reinstatement); nothing when there is none. The
    balance then (claims and chargebacks meanwhile deducted) is disbursed at once."""
    mp = _marketplace(marketplace, registry)
    for hold in repo.open_holds(session, seller_id, mp.code):
        _release(session, hold, mp, now, reason)


def _release(
    session: Session, hold: SettlementHold, mp: Marketplace, now: datetime, reason: str
) -> int:
    sync(session, seller_id=hold.seller_id, marketplace=mp, now=now)
    amount = rules.payout(repo.balance(session, hold.seller_id, mp.code))
    if amount:
        post_entry(
            session,
            seller_id=hold.seller_id,
            marketplace=mp.code,
            key=f"release:{hold.id}",
            kind=rules.DISBURSEMENT,
            amount=-amount,
            currency=mp.currency,
            at=now,
            source=rules.FROM_SETTLEMENT,
            ref=hold.id,
        )
    hold.released_at = now
    hold.released_amount = amount
    hold.release_reason = reason[:500]
    session.flush()
    audit.append(
        session,
        action="settlement_release",
        outcome="success",
        now=now,
        actor="system",
        target=f"{hold.seller_id}/{mp.code}",
        details={"hold": hold.id, "reason": reason[:100]},
    )
    return amount


@dataclass(frozen=True)
class Disbursed:
    """What the disbursement run did for one store."""

    seller_id: str
    marketplace: str
    #: disbursed | released | held | not_due | nothing
    outcome: str
    amount: int = 0


def disburse(
    session: Session, *, seller_id: str, marketplace: Marketplace, now: datetime
) -> Disbursed:
    """Pay the store's positive balance out if a disbursement date has come (every
    ``disbursement_days`` from its first entry) and its funds are not held; release a hold
    whose date has come (paying out what is left after claims and chargebacks)."""
    code = marketplace.code
    sync(session, seller_id=seller_id, marketplace=marketplace, now=now)
    holds = repo.open_holds(session, seller_id, code)
    if holds:
        if all(h.release_on <= now for h in holds):
            amount = sum(_release(session, h, marketplace, now, "hold_expired") for h in holds)
            return Disbursed(seller_id, code, "released", amount)
        return Disbursed(seller_id, code, "held")
    first = repo.first_entry_at(session, seller_id, code)
    if first is None:
        return Disbursed(seller_id, code, "nothing")
    due = rules.last_due(first, settlement_of(marketplace).disbursement_days, now)
    if due is None:
        return Disbursed(seller_id, code, "not_due")
    amount = rules.payout(repo.balance(session, seller_id, code))
    if amount == 0:
        return Disbursed(seller_id, code, "nothing")
    posted = post_entry(
        session,
        seller_id=seller_id,
        marketplace=code,
        key=f"disbursement:{due.isoformat()}",
        kind=rules.DISBURSEMENT,
        amount=-amount,
        currency=marketplace.currency,
        at=now,
        source=rules.FROM_SETTLEMENT,
    )
    return Disbursed(seller_id, code, "disbursed" if posted else "not_due", amount if posted else 0)


def disburse_all(session: Session, *, registry: Registry, now: datetime) -> list[Disbursed]:
    """:func:`disburse` for every store of every seller."""
    done = []
    for seller_id, code in repo.stores(session):
        mp = registry.get(code)
        if mp is not None:  # a marketplace since removed from the config
            done.append(disburse(session, seller_id=seller_id, marketplace=mp, now=now))
    return done


# -- reading ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoreSettlement:
    seller_id: str
    marketplace: str
    currency: str
    balance: int
    held: bool
    hold: SettlementHold | None
    next_disbursement: datetime | None
    last_disbursement: SettlementEntry | None


def store_settlement(
    session: Session, *, seller_id: str, marketplace: Marketplace, now: datetime
) -> StoreSettlement:
    """The store's balance (after a sync), its hold (open, else the latest) and the next
    disbursement date (the hold's release date while held)."""
    code = marketplace.code
    require_store(session, seller_id, code)
    sync(session, seller_id=seller_id, marketplace=marketplace, now=now)
    holds = repo.open_holds(session, seller_id, code)
    hold = holds[-1] if holds else repo.latest_hold(session, seller_id, code)
    first = repo.first_entry_at(session, seller_id, code)
    last = repo.last_disbursement(session, seller_id, code)
    next_at: datetime | None = None
    if holds:
        next_at = max(h.release_on for h in holds)
    elif first is not None:
        days = settlement_of(marketplace).disbursement_days
        due = rules.last_due(first, days, now)
        paid = last is not None and due is not None and last.posted_at >= due
        next_at = due if due is not None and not paid else rules.next_due(first, days, now)
    return StoreSettlement(
        seller_id=seller_id,
        marketplace=code,
        currency=marketplace.currency,
        balance=repo.balance(session, seller_id, code),
        held=bool(holds),
        hold=hold,
        next_disbursement=next_at,
        last_disbursement=last,
    )


def ledger(
    session: Session,
    *,
    seller_id: str,
    marketplace: Marketplace,
    now: datetime,
    before_id: int | None = None,
    limit: int = 50,
) -> list[SettlementEntry]:
    """The store's entries, newest first (after a sync); ``limit + 1`` rows tell a next page."""
    require_store(session, seller_id, marketplace.code)
    sync(session, seller_id=seller_id, marketplace=marketplace, now=now)
    return repo.list_entries(session, seller_id, marketplace.code, before_id=before_id, limit=limit)
