"""A deterministic demo dataset that exercises every part of the health engine.

The required sellers each tell one story: a clean small JP seller whose only problem is one
trademark complaint, a US seller that cancels for lack of stock and loses parcels, and a healthy
seller with thousands of orders in both marketplaces. Their event streams follow the contract in
design.md ("Data in: events and imports"), so the demo goes through the same import path as real
data.

Pure on purpose: the output depends only on the arguments. Randomness comes from
``random.Random`` seeded with strings (hashed with SHA-512, so neither PYTHONHASHSEED nor the
platform changes the result), and nothing touches disk except :func:`write_jsonl`.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import accumulate
from pathlib import Path

from tsunagu.demo import profiles as pf
from tsunagu.demo.profiles import Product, SellerPlan, Traits

SPAN_DAYS = 200
#: The newest event sits this far before ``as_of`` 00:00 UTC, so a dataset generated for "today"
#: never shows something that has not happened yet, whatever the reader's timezone.
QUIET_HOURS = 3

Event = tuple[datetime, str, str, dict[str, object]]  # (at, type, marketplace, fields)


@dataclass(frozen=True)
class DemoSeller:
    id: str
    name: str
    marketplaces: tuple[str, ...]
    profile: str
    description: str


@dataclass(frozen=True)
class DemoDataset:
    seed: int
    as_of: date
    sellers: tuple[DemoSeller, ...]
    events: tuple[dict[str, object], ...]


def generate(*, seed: int = 7, sellers: int = 3, orders: int = 6000, as_of: date) -> DemoDataset:
    """Build the dataset; the same arguments always give byte-identical events.

    ``orders`` is the approximate total across all sellers; :mod:`tsunagu.demo.profiles`
    documents how it is split. Events cover the ``SPAN_DAYS`` days before ``as_of``.
    """
    if sellers < 3:
        raise ValueError("the demo needs at least 3 sellers (one per required profile)")
    if orders < 1:
        raise ValueError("orders must be positive")
    midnight = datetime.combine(as_of, time(), UTC)
    start, end = midnight - timedelta(days=SPAN_DAYS), midnight - timedelta(hours=QUIET_HOURS)
    plans = pf.plan_sellers(random.Random(f"tsunagu-demo:{seed}:roster"), orders, sellers)
    people: list[DemoSeller] = []
    ordered: list[tuple[datetime, int, int, dict[str, object]]] = []
    for plan in plans:
        seller = DemoSeller(
            f"sel_demo{seed}_{plan.index:02d}",
            plan.name,
            plan.marketplaces,
            plan.profile,
            plan.description,
        )
        people.append(seller)
        rng = random.Random(f"tsunagu-demo:{seed}:{plan.index}")
        stream = _Stream(rng, start, end, f"{seed}-{plan.index:02d}")
        _play_seller(stream, plan, seed)
        stream.events.sort(key=lambda event: event[0])  # stable: causes stay before effects
        for n, (at, kind, mk, fields) in enumerate(stream.events, start=1):
            head: dict[str, object] = {
                "event_id": f"demo:{seed}:{plan.index}:{n}",
                "type": kind,
                "seller": seller.id,
                "marketplace": mk,
                "at": _iso(at),
            }
            ordered.append((at, plan.index, n, head | fields))
    ordered.sort(key=lambda row: row[:3])
    return DemoDataset(seed, as_of, tuple(people), tuple(row[3] for row in ordered))


def write_jsonl(dataset: DemoDataset, path: Path) -> int:
    """Write one canonical JSON event per line (sorted keys, UTF-8) and return the count."""
    with path.open("w", encoding="utf-8", newline="\n") as out:
        for event in dataset.events:
            out.write(json.dumps(event, ensure_ascii=False, sort_keys=True, separators=(",", ":")))
            out.write("\n")
    return len(dataset.events)


# -- plumbing -------------------------------------------------------------------------------------


@dataclass
class _Stream:
    """One seller's events in the making; anything later than ``end`` has not happened yet.

    Every follow-up is scheduled after its cause, so dropping a future cause also drops its
    effects and the stream stays consistent (an order can be shipped but not yet delivered).
    """

    rng: random.Random
    start: datetime
    end: datetime
    tag: str  # "<seed>-<seller index>", keeps message ids unique across the dataset
    events: list[Event] = field(default_factory=list)
    messages: int = 0

    def add(self, at: datetime, kind: str, mk: str, **fields: object) -> None:
        if at <= self.end:
            self.events.append((at, kind, mk, fields))

    def hours(self, low: float, high: float) -> timedelta:
        return timedelta(seconds=self.rng.randint(round(low * 3600), round(high * 3600)))

    def days(self, low: float, high: float) -> timedelta:
        return self.hours(low * 24, high * 24)


@dataclass
class _Order:
    mk: str
    order_id: str
    placed: datetime
    channel: str
    business: bool
    lines: list[tuple[str, int]]  # (sku, line price) for refunds
    placed_fields: dict[str, object]
    lsd: datetime | None = None  # latest ship date (MFN)
    ldd: datetime | None = None  # latest delivery date (MFN)


def _iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def _end_of_day(day: date, mk: str) -> datetime:
    return datetime.combine(day, time(23, 59, 59), pf.ZONES[mk]).astimezone(UTC)


def _purchase_times(s: _Stream, mk: str, count: int) -> list[datetime]:
    """Sample purchase instants on the local calendar and clock, then convert them to UTC."""
    zone = pf.ZONES[mk]
    first, last = s.start.astimezone(zone).date(), s.end.astimezone(zone).date()
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    day_cum = list(accumulate(pf.day_weight(d, mk, n / len(days)) for n, d in enumerate(days)))
    hour_cum = list(accumulate(pf.HOUR_WEIGHTS))
    times: list[datetime] = []
    while len(times) < count:
        day = s.rng.choices(days, cum_weights=day_cum)[0]
        hour = s.rng.choices(range(24), cum_weights=hour_cum)[0]
        clock = time(hour, s.rng.randrange(60), s.rng.randrange(60))
        at = datetime.combine(day, clock, zone).astimezone(UTC)
        if s.start <= at <= s.end:
            times.append(at)
    times.sort()
    return times


# -- sellers and orders ---------------------------------------------------------------------------


def _play_seller(s: _Stream, plan: SellerPlan, seed: int) -> None:
    products = pf.catalogue(s.rng, pf.CATALOGUE_SIZES[plan.profile])
    popularity = list(accumulate(1.0 / (rank + 1) for rank in range(len(products))))
    for number, violation in enumerate(plan.violations, start=1):
        opened = s.end - timedelta(days=violation.opened_days_ago) - s.hours(0, 12)
        violation_id = f"demo-vio-{seed}-{plan.index}-{number}"
        asin = pf.asin(s.rng)
        mk = plan.marketplaces[0]
        s.add(
            opened,
            "violation_opened",
            mk,
            violation_id=violation_id,
            policy=violation.policy,
            severity=violation.severity,
            asin=asin,
        )
        if violation.resolved_after_days is not None:
            resolved = opened + timedelta(days=violation.resolved_after_days) + s.hours(0, 12)
            s.add(resolved, "violation_resolved", mk, violation_id=violation_id, how=violation.how)
    for mk, count in plan.orders:
        _play_market(s, plan.traits, mk, count, products, popularity)


def _play_market(
    s: _Stream, t: Traits, mk: str, count: int, products: list[Product], popularity: list[float]
) -> None:
    quotas = {name: pf.Quota(getattr(t, name), s.rng) for name in pf.DEFECTS}
    taken: set[str] = set()
    times = _purchase_times(s, mk, count)
    orders = [_new_order(s, t, mk, at, products, popularity, taken) for at in times]
    lost = _pick_lost(s, orders, t.lost_parcels)
    for number, order in enumerate(orders):
        _play_order(s, t, quotas, order, lost.get(number))
    span = int((s.end - s.start).total_seconds())
    for _ in range(max(1, count // 150)):  # questions asked before buying: no order attached
        at = s.start + timedelta(seconds=s.rng.randrange(span))
        _message(s, t, quotas, mk, None, at)


def _new_order(
    s: _Stream,
    t: Traits,
    mk: str,
    placed: datetime,
    products: Sequence[Product],
    popularity: list[float],
    taken: set[str],
) -> _Order:
    rng = s.rng
    order_id = ""
    while not order_id or order_id in taken:
        prefix = rng.choice(pf.ORDER_PREFIXES[mk])
        order_id = f"{prefix}-{rng.randrange(10**7):07d}-{rng.randrange(10**7):07d}"
    taken.add(order_id)
    items, lines = pf.basket(rng, mk, products, popularity)
    channel = "AFN" if rng.random() < t.afn_share else "MFN"
    expedited = rng.random() < t.expedited_share
    order = _Order(mk, order_id, placed, channel, rng.random() < t.business_share, lines, {})
    fields: dict[str, object] = {"order_id": order_id, "channel": channel}
    if channel == "MFN":
        day = placed.astimezone(pf.ZONES[mk]).date()
        handling = rng.choice((1, 2))
        transit = rng.randint(1, 2) if expedited else rng.randint(*{"JP": (2, 4), "US": (3, 5)}[mk])
        order.lsd = _end_of_day(day + timedelta(days=handling), mk)
        order.ldd = _end_of_day(day + timedelta(days=min(7, max(3, handling + transit))), mk)
        fields |= {"latest_ship_date": _iso(order.lsd), "latest_delivery_date": _iso(order.ldd)}
    fields |= {
        "items": items,
        "currency": pf.CURRENCIES[mk],
        "is_business": order.business,
        "ship_service": "Expedited" if expedited else "Standard",
    }
    fields["customer_id"] = _customer(mk, order_id)
    total = sum(price for _, price in lines)
    if mk == "JP" and rng.random() < t.points_share and total >= 100:
        fields["points"] = total // 100
    order.placed_fields = fields
    return order


#: buyers per marketplace in the demo: each buys again now and then, so points add up
DEMO_CUSTOMERS = 600


def _customer(mk: str, order_id: str) -> str:
    """A pseudonymous buyer for the order, drawn from the order id (not from the stream's
    generator, so adding buyers left every other figure of the demo as it was)."""
    digest = hashlib.sha256(order_id.encode()).digest()
    return f"buyer-{mk.lower()}-{int.from_bytes(digest[:4], 'big') % DEMO_CUSTOMERS:04d}"


def _pick_lost(s: _Stream, orders: list[_Order], floor: int | None) -> dict[int, bool]:
    """Choose the lost parcels (index -> claim decided?); the older ones have a decision.

    Only MFN orders placed 30-150 days back qualify, so every claim is filed before the end.
    """
    if floor is None:
        return {}
    early, late = s.end - timedelta(days=150), s.end - timedelta(days=30)
    eligible = [n for n, o in enumerate(orders) if o.channel == "MFN" and early <= o.placed <= late]
    mfn = sum(o.channel == "MFN" for o in orders)
    chosen = sorted(s.rng.sample(eligible, min(len(eligible), max(floor, mfn // 60))))
    decided = len(chosen) * 3 // 5
    return {number: rank < decided for rank, number in enumerate(chosen)}


def _play_order(
    s: _Stream, t: Traits, q: dict[str, pf.Quota], o: _Order, lost: bool | None
) -> None:
    """Walk one order through its life; ``lost`` is None unless the parcel goes missing."""
    s.add(o.placed, "order_placed", o.mk, **o.placed_fields)
    if s.rng.random() < t.message:
        _message(s, t, q, o.mk, o.order_id, o.placed + s.hours(1, 144))
    if lost is None and _cancelled(s, t, q, o):
        return
    delivered = _ship(s, q, o, lost is not None)
    if lost is not None:
        _lost_parcel(s, o, decided=lost)
    elif delivered is not None:
        _after_delivery(s, t, q, o, delivered)


def _cancelled(s: _Stream, t: Traits, q: dict[str, pf.Quota], o: _Order) -> bool:
    mfn = o.channel == "MFN"
    if mfn and q["seller_cancel"].hit():
        s.add(
            o.placed + s.hours(0.5, 10),
            "order_cancelled",
            o.mk,
            order_id=o.order_id,
            by="seller",
            reason=s.rng.choice(t.seller_cancel_reasons),
        )
    elif s.rng.random() < t.buyer_cancel:
        s.add(
            o.placed + s.hours(0.1, 4),
            "order_cancelled",
            o.mk,
            order_id=o.order_id,
            by="buyer",
            reason="buyer_request",
        )
    elif mfn and o.lsd is not None and q["system_cancel"].hit():
        s.add(o.lsd + s.days(1, 3), "order_cancelled", o.mk, order_id=o.order_id, by="system")
    else:
        return False
    return True


def _ship(s: _Stream, q: dict[str, pf.Quota], o: _Order, lost: bool) -> datetime | None:
    """Ship the order; returns when it is delivered, or None if no carrier ever scans it."""
    late = False
    if o.lsd is None or o.ldd is None:  # Amazon fulfils AFN orders promptly
        shipped = o.placed + s.hours(1, 20)
        delivered = shipped + s.hours(14, 60)
    else:
        late = not lost and q["late_ship"].hit()
        window = (o.lsd - o.placed).total_seconds() / 3600
        shipped = o.lsd + s.hours(1, 40) if late else o.placed + s.hours(1.5, window - 0.5)
        # the data stops at ``end``, but the demo is read up to a day later: an on-time order
        # whose ship-by falls in that day is shipped before the data ends, or it would look late
        cutoff = s.end - timedelta(minutes=30)
        if not late and shipped > cutoff and o.lsd < s.end + timedelta(hours=30):
            shipped = max(o.placed + timedelta(minutes=20), cutoff - s.hours(0, 2))
        delivered = shipped + s.hours(20, 80)
    carrier, _, services, style = s.rng.choices(
        pf.CARRIERS[o.mk], weights=[share for _, share, _, _ in pf.CARRIERS[o.mk]]
    )[0]
    s.add(
        shipped,
        "order_shipped",
        o.mk,
        order_id=o.order_id,
        carrier=carrier,
        tracking_id=pf.tracking_number(s.rng, style),
        service=s.rng.choice(services),
    )
    if o.business and not q["missing_invoice"].hit():
        s.add(shipped + s.hours(1, 20), "invoice_uploaded", o.mk, order_id=o.order_id)
    if lost or (o.channel == "MFN" and q["unscanned"].hit()):
        return None
    if o.ldd is not None and not late:
        if q["late_delivery"].hit():
            delivered = o.ldd + s.hours(3, 60)
        else:
            delivered = shipped + s.hours(12, (o.ldd - shipped).total_seconds() / 3600 - 1)
    s.add(shipped + s.hours(1, 8), "tracking_scanned", o.mk, order_id=o.order_id)
    s.add(delivered, "order_delivered", o.mk, order_id=o.order_id)
    return delivered


def _lost_parcel(s: _Stream, o: _Order, *, decided: bool) -> None:
    """A parcel that never reaches the carrier's network: the buyer files "not received"."""
    assert o.ldd is not None  # lost parcels are always MFN
    filed = o.ldd + s.days(3, 10)
    claim_id = f"atoz-{o.order_id}"
    s.add(filed, "claim_filed", o.mk, order_id=o.order_id, claim_id=claim_id, reason="not_received")
    if s.rng.random() < 0.5:
        s.add(filed + s.hours(2, 72), "feedback_posted", o.mk, order_id=o.order_id, rating=1)
    if decided:
        ruling = filed + s.days(3, 8)
        s.add(
            ruling,
            "claim_decided",
            o.mk,
            order_id=o.order_id,
            claim_id=claim_id,
            outcome="granted_seller_funded",
        )
        _refund(s, o, ruling, o.lines)


def _after_delivery(
    s: _Stream, t: Traits, q: dict[str, pf.Quota], o: _Order, delivered: datetime
) -> None:
    rng, mk, oid = s.rng, o.mk, o.order_id
    if q["negative_feedback"].hit():
        posted, rating = delivered + s.days(1, 10), rng.choice((1, 1, 2))
        s.add(posted, "feedback_posted", mk, order_id=oid, rating=rating)
        if rating == 1 and rng.random() < t.feedback_removal:
            s.add(posted + s.days(2, 6), "feedback_removed", mk, order_id=oid)
    elif rng.random() < t.feedback:
        rating = rng.choices((5, 4, 3), weights=(76, 19, 5))[0]
        s.add(delivered + s.days(1, 20), "feedback_posted", mk, order_id=oid, rating=rating)
    claimed = q["claim"].hit()
    if claimed:
        filed, claim_id = delivered + s.days(2, 25), f"atoz-{oid}"
        s.add(
            filed,
            "claim_filed",
            mk,
            order_id=oid,
            claim_id=claim_id,
            reason=rng.choice(t.claim_reasons),
        )
        outcome, ruling = rng.choice(t.claim_outcomes), filed + s.days(3, 12)
        if outcome == "seller_refunded":
            _refund(s, o, filed + s.hours(2, 48), o.lines)
        s.add(ruling, "claim_decided", mk, order_id=oid, claim_id=claim_id, outcome=outcome)
        if outcome == "granted_seller_funded":
            _refund(s, o, ruling, o.lines)
    if q["chargeback"].hit():
        filed, chargeback_id = delivered + s.days(10, 40), f"cb-{oid}"
        s.add(filed, "chargeback_filed", mk, order_id=oid, chargeback_id=chargeback_id)
        s.add(
            filed + s.days(10, 30),
            "chargeback_decided",
            mk,
            order_id=oid,
            chargeback_id=chargeback_id,
            outcome="seller_won" if rng.random() < 0.7 else "seller_lost",
        )
    if rng.random() < t.returns and not claimed:  # refunds never exceed what was paid
        _return(s, q, o, delivered + s.days(1, 20))


def _return(s: _Stream, q: dict[str, pf.Quota], o: _Order, requested: datetime) -> None:
    """A return; a negative one is late (over 48 h), leaves the buyer unhappy, or is refused."""
    rng, return_id = s.rng, f"ret-{o.order_id}"
    kind = rng.choice(("late", "unhappy", "refused")) if q["return_negative"].hit() else "fine"
    resolved = requested + (s.hours(50, 90) if kind == "late" else s.hours(2, 40))
    if kind == "refused":
        outcome = "rejected_invalid"
    else:
        outcome = "authorized" if rng.random() < 0.75 else "refunded"
    s.add(requested, "return_requested", o.mk, order_id=o.order_id, return_id=return_id)
    s.add(
        resolved,
        "return_resolved",
        o.mk,
        order_id=o.order_id,
        return_id=return_id,
        outcome=outcome,
        buyer_satisfied=kind not in ("unhappy", "refused"),
    )
    line = [rng.choice(o.lines)]
    if outcome == "authorized":  # refunded once the item is back
        _refund(s, o, resolved + s.days(3, 10), line)
    elif outcome == "refunded":
        _refund(s, o, resolved, line)


def _refund(s: _Stream, o: _Order, at: datetime, lines: list[tuple[str, int]]) -> None:
    for sku, amount in lines:
        s.add(at, "refund_issued", o.mk, order_id=o.order_id, amount=amount, sku=sku)


def _message(
    s: _Stream, t: Traits, q: dict[str, pf.Quota], mk: str, order_id: str | None, at: datetime
) -> None:
    """A buyer message: subject only, since message text is personal data and stays out."""
    rng = s.rng
    s.messages += 1
    message_id = f"msg-{s.tag}-{mk.lower()}-{s.messages:06d}"
    native = "ja" if mk == "JP" else "en"
    language = native if rng.random() < 0.93 else ("en" if native == "ja" else "ja")
    about = {"order_id": order_id} if order_id else {}
    s.add(
        at,
        "message_received",
        mk,
        message_id=message_id,
        **about,
        language=language,
        subject=rng.choice(pf.SUBJECTS[language]),
    )
    if rng.random() < t.no_response_needed:
        s.add(
            at + s.hours(0.1, 3), "message_no_response_needed", mk, message_id=message_id, **about
        )
        return
    answered = at + (s.hours(25, 60) if q["late_answer"].hit() else s.hours(0.2, 8))
    s.add(answered, "message_answered", mk, message_id=message_id, **about)
    if order_id and rng.random() < t.survey:
        s.add(
            answered + s.hours(1, 48),
            "cs_survey_answered",
            mk,
            order_id=order_id,
            satisfied=not q["survey_unsatisfied"].hit(),
        )
