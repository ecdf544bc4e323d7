"""The points programme's use cases: store settings and offers, a customer's balance and
history, points from outside sources, adjustments, expiry, and the store's monthly cost
statement. Never commits. Redemptions, which need two transactions, are in
:mod:`tsunagu.points.redemptions`; the event sync and settling in :mod:`tsunagu.points.sync`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.core.errors import InvalidInput, TsunaguError
from tsunagu.core.i18n import N_
from tsunagu.customers.service import ensure_customer, require_customer
from tsunagu.identity import audit
from tsunagu.listings.service import store_offers, upsert_offer
from tsunagu.marketplaces.registry import Marketplace, Registry
from tsunagu.points import ledger, repo, rules
from tsunagu.points.config import points_of
from tsunagu.points.ledger import Move
from tsunagu.points.models import PointsEntry, PointsSetting
from tsunagu.points.sync import SETTLEMENT_SOURCE, store_rate
from tsunagu.sellers.service import require_store
from tsunagu.settlement.models import SettlementEntry

MAX_POINTS = 10_000_000
_SOURCE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_.")


def require_enabled(marketplace: Marketplace) -> None:
    """The programme must run in ``marketplace`` (``points_disabled`` otherwise)."""
    if not points_of(marketplace).enabled:
        raise TsunaguError(
            N_("The points programme is not enabled in {marketplace}"),
            code="points_disabled",
            status=422,
            marketplace=marketplace.code,
            details={"marketplace": marketplace.code},
        )


def check_points(value: object, field: str = "points") -> int:
    """A whole, positive number of points (LED-08: a float or a string is refused)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_POINTS:
        raise InvalidInput(
            N_("{field} must be a whole number of points from 1 to 10,000,000"),
            code="invalid_points",
            field=field,
            details={"field": field, "value": repr(value)},
        )
    return value


#: the longest idempotency key: the ledger stores it with a prefix (``earn:<key>:post``) in a
#: 200-character column
MAX_KEY = 180


def check_text(value: object, field: str, limit: int) -> str:
    """A printable string of 1 to ``limit`` characters (no control characters: PostgreSQL
    refuses NUL, and none belongs in a name or a note)."""
    if (
        not isinstance(value, str)
        or not 1 <= len(value.strip()) <= limit
        or not value.isprintable()
    ):
        raise InvalidInput(
            N_("{field} must be 1 to {limit} printable characters"),
            code="invalid_value",
            field=field,
            limit=limit,
            details={"field": field},
        )
    return value


def check_key(value: object, field: str = "key") -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_KEY or not value.isprintable():
        raise InvalidInput(
            N_("{field} must be 1 to 180 printable characters"),
            code="invalid_key",
            field=field,
            details={"field": field},
        )
    return value


# -- store settings and offers --------------------------------------------------------------------


@dataclass(frozen=True)
class StoreSettings:
    seller_id: str
    marketplace: str
    enabled: bool
    rate: int
    #: True when the seller set the rate (False: the marketplace's default)
    rate_set: bool
    badge: bool
    badge_rate: int
    settling_hours: int
    offers_with_badge: int
    updated_at: datetime | None


@dataclass(frozen=True)
class OfferView:
    sku: str
    category: str | None
    #: the offer's own rate, None when it follows the store's
    rate: int | None
    effective_rate: int
    points_badge: bool


def store_settings(session: Session, *, seller_id: str, marketplace: Marketplace) -> StoreSettings:
    require_store(session, seller_id, marketplace.code)
    config = points_of(marketplace)
    found = repo.setting(session, seller_id, marketplace.code)
    views = offers(session, seller_id=seller_id, marketplace=marketplace)
    return StoreSettings(
        seller_id=seller_id,
        marketplace=marketplace.code,
        enabled=bool(config.enabled),
        rate=store_rate(session, seller_id, marketplace),
        rate_set=found is not None and found.rate is not None,
        badge=found.badge if found is not None else False,
        badge_rate=config.badge_rate,
        settling_hours=config.settling_hours,
        offers_with_badge=sum(1 for v in views if v.points_badge),
        updated_at=found.updated_at if found is not None else None,
    )


def set_rate(
    session: Session,
    *,
    seller_id: str,
    marketplace: Marketplace,
    rate: int | None,
    sku: str | None,
    actor: str,
    now: datetime,
    category: str | None = None,
    badge: bool | None = None,
) -> StoreSettings:
    """Set the store's rate (``sku`` None) or a SKU's own rate (``rate`` None: follow the
    store's again), and optionally join or leave the badge programme. Audited."""
    require_store(session, seller_id, marketplace.code)
    if rate is not None and (
        isinstance(rate, bool) or not isinstance(rate, int) or not 0 <= rate <= rules.MAX_RATE
    ):
        raise InvalidInput(
            N_("{field} must be a whole percentage from 0 to 50"),
            code="invalid_rate",
            field="rate",
            details={"field": "rate", "value": repr(rate)},
        )
    if sku is not None:
        changes: dict[str, object] = {"points_rate": rate}
        if category is not None:
            changes["category"] = category
        upsert_offer(
            session, seller_id=seller_id, marketplace=marketplace.code, sku=sku, now=now, **changes
        )
    if sku is None or badge is not None:
        found = repo.setting(session, seller_id, marketplace.code)
        if found is None:
            found = PointsSetting(
                seller_id=seller_id,
                marketplace=marketplace.code,
                rate=None,
                badge=False,
                updated_at=now,
                updated_by=actor,
            )
            session.add(found)
        if sku is None and rate is not None:
            found.rate = rate
        if badge is not None:
            found.badge = badge
        found.updated_at = now
        found.updated_by = actor
    session.flush()
    audit.append(
        session,
        action="points_settings",
        outcome="success",
        now=now,
        actor=actor,
        target=f"{seller_id}/{marketplace.code}",
        details={"rate": rate, "sku": sku, "badge": badge},
    )
    return store_settings(session, seller_id=seller_id, marketplace=marketplace)


def offers(
    session: Session, *, seller_id: str, marketplace: Marketplace, badge: bool | None = None
) -> list[OfferView]:
    """The store's offers with their effective rate and badge (``badge`` filters)."""
    config = points_of(marketplace)
    found = repo.setting(session, seller_id, marketplace.code)
    member = found.badge if found is not None else False
    default = store_rate(session, seller_id, marketplace)
    out = []
    for offer in store_offers(session, seller_id=seller_id, marketplace=marketplace.code):
        effective = offer.points_rate if offer.points_rate is not None else default
        view = OfferView(
            sku=offer.sku,
            category=offer.category,
            rate=offer.points_rate,
            effective_rate=effective,
            points_badge=rules.has_badge(effective, member=member, badge_rate=config.badge_rate),
        )
        if badge is None or view.points_badge == badge:
            out.append(view)
    return out


# -- a customer's balance and history -------------------------------------------------------------


@dataclass(frozen=True)
class Balance:
    customer: str
    marketplace: str
    pending: int
    available: int
    expires_at: datetime | None

    def as_dict(self) -> dict[str, object]:
        return {
            "customer": self.customer,
            "marketplace": self.marketplace,
            "pending": self.pending,
            "available": self.available,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
        }


def balance(session: Session, *, marketplace: Marketplace, customer: str) -> Balance:
    """The customer's balance; a customer tsunagu has not met has none (zeros, no expiry)."""
    found = _customer_id(session, marketplace, customer)
    account = repo.get_account(session, found) if found is not None else None
    if account is None:
        return Balance(customer, marketplace.code, 0, 0, None)
    return Balance(
        customer, marketplace.code, account.pending, account.available, account.expires_at
    )


def _customer_id(session: Session, marketplace: Marketplace, customer: str) -> str | None:
    from tsunagu.customers.service import find_customer

    found = find_customer(session, marketplace=marketplace.code, external_id=customer)
    return found.id if found is not None else None


@dataclass(frozen=True)
class HistoryEntry:
    id: int
    kind: str
    #: signed: what the entry did to the customer's pending (grant, void) or available points
    points: int
    pending_change: int
    available_change: int
    order_id: str | None
    at: datetime
    reason: str
    shortfall: int
    expires_at: datetime | None
    seller_id: str | None

    @classmethod
    def of(cls, entry: PointsEntry) -> HistoryEntry:
        pending, available = ledger.deltas(entry.debit, entry.credit, entry.amount)
        return cls(
            id=entry.id,
            kind=entry.kind,
            points=available if available else pending,
            pending_change=pending,
            available_change=available,
            order_id=entry.order_id,
            at=entry.at,
            reason=entry.reason,
            shortfall=entry.shortfall,
            expires_at=entry.expires_at,
            seller_id=entry.seller_id,
        )


def history(
    session: Session,
    *,
    marketplace: Marketplace,
    customer: str,
    before_id: int | None = None,
    limit: int = 100,
) -> list[HistoryEntry]:
    """The customer's entries, newest first."""
    found = _customer_id(session, marketplace, customer)
    if found is None:
        return []
    rows = repo.entries_of(session, found, before_id=before_id, limit=limit)
    return [HistoryEntry.of(e) for e in rows]


# -- points from outside and adjustments ----------------------------------------------------------


def earn(
    session: Session,
    *,
    marketplace: Marketplace,
    customer: str,
    points: int,
    source: str,
    key: str,
    now: datetime,
) -> Balance:
    """Points from an outside source (a co-branded card …): available at once and an
    acquisition for the expiry rule. Written as a grant and its post, both keyed by ``key``:
    the same key again changes nothing."""
    require_enabled(marketplace)
    check_points(points)
    check_key(key)
    check_text(customer, "customer", 100)
    name = source.strip().lower() if isinstance(source, str) else ""
    if not name or len(name) > 40 or not set(name) <= _SOURCE_CHARS:
        raise InvalidInput(
            N_("{field} must be 1 to 40 letters, digits, dots, dashes or underscores"),
            code="invalid_source",
            field="source",
            details={"field": "source", "value": repr(source)},
        )
    found = ensure_customer(session, marketplace=marketplace.code, external_id=customer, now=now)
    repo.ensure_account(session, found.id, marketplace.code, now)
    account = repo.lock_account(session, found.id)
    assert account is not None
    prior = repo.entry_by_key(session, marketplace.code, f"earn:{key}")
    if prior is not None:
        if (
            prior.customer_id != found.id
            or prior.amount != points
            or prior.debit != ledger.source_account(name)
        ):
            raise _mismatch()
        return balance(session, marketplace=marketplace, customer=customer)
    ledger.expire_due(session, account=account, moment=now, now=now)
    account.last_acquired_at = max(now, account.last_acquired_at or now)
    account.expires_at = rules.expiry(
        account.last_acquired_at, account.last_order_at, marketplace.tz
    )
    session.flush()
    reason = f"external:{name}"
    for move in (
        Move(
            ledger.GRANT_PENDING,
            ledger.source_account(name),
            ledger.PENDING,
            points,
            reason,
            f"earn:{key}",
            now,
        ),
        Move(
            ledger.POST, ledger.PENDING, ledger.AVAILABLE, points, reason, f"earn:{key}:post", now
        ),
    ):
        ledger.transfer(
            session,
            marketplace=marketplace.code,
            customer_id=found.id,
            move=move,
            now=now,
            expires_at=account.expires_at,
        )
    session.flush()
    return balance(session, marketplace=marketplace, customer=customer)


def _mismatch() -> TsunaguError:
    return TsunaguError(
        N_("This idempotency key was used with a different request"),
        code="idempotency_mismatch",
        status=422,
    )


def adjust(
    session: Session,
    *,
    marketplace: Marketplace,
    customer: str,
    points: int,
    note: str,
    key: str,
    actor: str,
    now: datetime,
) -> Balance:
    """An operator's correction of the available balance (positive or negative, never below
    zero): an ``adjust`` entry, audited. The same key again changes nothing."""
    if (
        isinstance(points, bool)
        or not isinstance(points, int)
        or points == 0
        or abs(points) > MAX_POINTS
    ):
        raise InvalidInput(
            N_("{field} must be a whole number of points other than 0"),
            code="invalid_points",
            field="points",
            details={"field": "points", "value": repr(points)},
        )
    check_key(key)
    if not isinstance(note, str) or not note.strip():
        raise InvalidInput(
            N_("Say why: {field} is required"),
            code="missing_field",
            field="note",
            details={"field": "note"},
        )
    check_text(note, "note", 500)
    found = require_customer(session, marketplace=marketplace.code, external_id=customer)
    repo.ensure_account(session, found.id, marketplace.code, now)
    account = repo.lock_account(session, found.id)
    assert account is not None
    ledger.expire_due(session, account=account, moment=now, now=now)
    if points < 0 and account.available < -points:
        raise insufficient(account.available, -points)
    if points > 0:  # points given are an acquisition: they get their year like any other
        account.last_acquired_at = max(now, account.last_acquired_at or now)
        account.expires_at = rules.expiry(
            account.last_acquired_at, account.last_order_at, marketplace.tz
        )
        session.flush()
    debit, credit = (
        (ledger.ADJUSTMENT, ledger.AVAILABLE)
        if points > 0
        else (ledger.AVAILABLE, ledger.ADJUSTMENT)
    )
    written = ledger.transfer(
        session,
        marketplace=marketplace.code,
        customer_id=found.id,
        move=Move(
            ledger.ADJUST,
            debit,
            credit,
            abs(points),
            f"adjustment:{note.strip()[:150]}",
            f"adjust:{key}",
            now,
        ),
        now=now,
        expires_at=account.expires_at,
    )
    if written is not None:
        audit.append(
            session,
            action="points_adjust",
            outcome="success",
            now=now,
            actor=actor,
            target=f"{marketplace.code}/{customer}",
            details={"points": points, "key": key},
        )
    session.flush()
    return balance(session, marketplace=marketplace, customer=customer)


def insufficient(available: int, wanted: int) -> TsunaguError:
    return TsunaguError(
        N_("Not enough points: {available} available, {wanted} asked for"),
        code="insufficient_points",
        status=422,
        available=available,
        wanted=wanted,
        details={"available": available, "wanted": wanted},
    )


# -- expiry ---------------------------------------------------------------------------------------


@dataclass
class ExpiryRun:
    as_of: datetime
    accounts: int = 0
    points: int = 0
    warnings: int = 0

    def as_dict(self) -> dict[str, object]:
        return {
            "as_of": self.as_of.isoformat(),
            "expired_accounts": self.accounts,
            "expired_points": self.points,
            "warnings": self.warnings,
        }


def expire(
    session: Session, *, registry: Registry, as_of: datetime, now: datetime | None = None
) -> ExpiryRun:
    """Expire every balance whose expiry has come by ``as_of`` (the whole available balance,
    never pending points) and record the warnings due 30 and 7 days before. Idempotent: an
    expiry is keyed by the customer and the expiry instant, a warning by its day count."""
    now = now or as_of
    run = ExpiryRun(as_of=as_of)
    for mp in registry.marketplaces:
        for account in repo.expiring(session, mp.code, as_of):
            locked = repo.lock_account(session, account.customer_id)
            assert locked is not None
            expired = ledger.expire_due(session, account=locked, moment=as_of, now=now)
            if expired:
                run.accounts += 1
                run.points += expired
        horizon = as_of + timedelta(days=max(rules.WARNING_DAYS))
        for account in repo.expiring_between(session, mp.code, as_of, horizon):
            assert account.expires_at is not None
            for days in rules.WARNING_DAYS:
                if account.expires_at - timedelta(days=days) <= as_of:
                    run.warnings += repo.add_warning(
                        session,
                        account.customer_id,
                        account.expires_at,
                        days,
                        account.available,
                        now,
                    )
    session.flush()
    return run


@dataclass(frozen=True)
class UpcomingExpiry:
    customer: str
    available: int
    expires_at: datetime
    warned_days: tuple[int, ...]


def upcoming_expiries(
    session: Session, *, marketplace: Marketplace, as_of: datetime, within_days: int = 30
) -> list[UpcomingExpiry]:
    """Balances that expire after ``as_of`` and within ``within_days``, soonest first."""
    from tsunagu.customers.models import Customer

    rows = repo.expiring_between(
        session, marketplace.code, as_of, as_of + timedelta(days=within_days)
    )
    names = (
        dict(
            session.execute(
                select(Customer.id, Customer.external_id).where(
                    Customer.id.in_([a.customer_id for a in rows])
                )
            ).all()
        )
        if rows
        else {}
    )
    out = []
    for account in rows:
        assert account.expires_at is not None
        warned = tuple(
            w.days_before
            for w in repo.warnings_of(session, account.customer_id)
            if w.expires_at == account.expires_at
        )
        out.append(
            UpcomingExpiry(
                names[account.customer_id], account.available, account.expires_at, warned
            )
        )
    return out


# -- the store's cost statement -------------------------------------------------------------------


@dataclass(frozen=True)
class StatementMonth:
    month: str
    #: points made available to customers (each cost the store ¥1)
    granted: int
    #: points refunds took back (each refunded to the store)
    returned: int
    #: what the points cost the store, in minor units: granted less returned
    net_cost: int
    #: the referral fee the points saved (the fee is due on the price less the points)
    fee_effect: int
    currency: str


def statement(
    session: Session, *, seller_id: str, marketplace: Marketplace
) -> list[StatementMonth]:
    """The store's points cost per month (the marketplace's local months), newest first, from
    what the programme posted to the store's settlement ledger."""
    require_store(session, seller_id, marketplace.code)
    rows = session.execute(
        select(
            SettlementEntry.key,
            SettlementEntry.kind,
            SettlementEntry.amount,
            SettlementEntry.posted_at,
        ).where(
            SettlementEntry.seller_id == seller_id,
            SettlementEntry.marketplace == marketplace.code,
            SettlementEntry.source == SETTLEMENT_SOURCE,
        )
    ).all()
    months: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for key, _kind, amount, at in rows:
        month = at.astimezone(marketplace.tz).strftime("%Y-%m")
        if key.startswith("points_cost:"):
            months[month][0] += -amount
        elif key.startswith("points_return:"):
            months[month][1] += amount
        elif key.startswith("points_fee:"):
            months[month][2] += amount
    return [
        StatementMonth(m, g, r, g - r, f, marketplace.currency)
        for m, (g, r, f) in sorted(months.items(), reverse=True)
    ]


# -- reconciliation (LED-02) ----------------------------------------------------------------------


@dataclass(frozen=True)
class Reconciliation:
    #: the sum of every account's balance (0 in a double-entry ledger)
    total: int
    #: customers whose cached balance differs from the sum of their entries
    mismatches: tuple[tuple[str, str, int, int], ...]
    negative: tuple[tuple[str, str, int], ...]

    @property
    def ok(self) -> bool:
        return self.total == 0 and not self.mismatches and not self.negative


def reconcile(session: Session, *, marketplace: str | None = None) -> Reconciliation:
    """Check the ledger: every account's entries sum to a balance, all balances to zero, and
    each customer's cached balances equal their entries' sums and are not negative."""
    from tsunagu.points.models import PointsAccount

    derived = repo.derived_balances(session, marketplace)
    query = select(PointsAccount)
    if marketplace is not None:
        query = query.where(PointsAccount.marketplace == marketplace)
    mismatches = []
    negative = []
    for account in session.scalars(query):
        for name, cached in (("pending", account.pending), ("available", account.available)):
            summed = derived.get((account.customer_id, name), 0)
            if summed != cached:
                mismatches.append((account.customer_id, name, cached, summed))
            if cached < 0:
                negative.append((account.customer_id, name, cached))
    return Reconciliation(sum(derived.values()), tuple(mismatches), tuple(negative))
