"""Account status of stores: evaluation, overrides, deactivation and reinstatement. Never commits.

The rules (``rules.decide``) say what a store's health calls for; this module keeps each store's
state, records every evaluation and every status change (append-only, with who, why, the issues
and the metrics: SH-03) and carries out what a change means: a deactivation holds the store's
funds, ends the sessions and API tokens that reach the seller, deactivates (or flags) the related
stores and notifies; a reinstatement puts the store on probation, resolves the violations its
appeal covered, releases the hold and notifies (ADR 0024).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from tsunagu.access import service as access
from tsunagu.access.actor import Actor
from tsunagu.core.errors import Conflict, InvalidInput, NotFound, TsunaguError
from tsunagu.core.i18n import N_
from tsunagu.core.ids import new_id
from tsunagu.enforcement import repo
from tsunagu.enforcement.config import enforcement_of
from tsunagu.enforcement.facts import metrics_snapshot, store_facts
from tsunagu.enforcement.models import (
    EnforcementChange,
    EnforcementDeactivation,
    EnforcementEvaluation,
    EnforcementState,
)
from tsunagu.enforcement.rules import (
    DEACTIVATED,
    NORMAL,
    POLICY_VIOLATION,
    RELATED_ACCOUNT,
    STATUSES,
    UNDER_REVIEW,
    Decision,
    EnforcementConfig,
    Issue,
    Previous,
    amazon_status,
    assured,
    decide,
    issue_from_json,
    issue_to_json,
    related_issue,
)
from tsunagu.events.rules import Candidate, validate
from tsunagu.events.service import store_chunk
from tsunagu.health import service as health
from tsunagu.health.metrics import end_of_day
from tsunagu.identity import audit
from tsunagu.jobs.service import enqueue
from tsunagu.marketplaces.registry import BUILTIN, Marketplace, Registry
from tsunagu.notifications import service as notifications
from tsunagu.sellers.service import require_store
from tsunagu.settlement import service as settlement

#: the kind of the one-off job that ends a grace period (``jobs.py``)
GRACE_END = "enforcement.grace_end"
#: the notification kind of every status change (SP-API's name)
STATUS_CHANGED = "ACCOUNT_STATUS_CHANGED"
#: the ``actor`` of what the rules decide on their own
RULES = "rules"


@dataclass(frozen=True)
class Deactivation:
    """One deactivation of one store, with the issues an appeal must answer."""

    id: str
    seller_id: str
    marketplace: str
    at: datetime
    issues: tuple[Issue, ...]
    #: the appeal must be submitted before this instant (default 17 days after ``at``)
    appeal_deadline: datetime
    #: for a RELATED_ACCOUNT deactivation: the deactivation of the store that caused it
    origin_id: str | None
    reinstated_at: datetime | None


@dataclass(frozen=True)
class StoreStatus:
    seller_id: str
    marketplace: str
    status: str
    since: datetime | None
    issues: tuple[Issue, ...]
    grace_until: datetime | None
    deactivation_id: str | None
    probation_until: datetime | None
    probation_codes: tuple[str, ...] = ()
    #: the latest local day evaluated
    last_day: str | None = None


@dataclass(frozen=True)
class Evaluated:
    """One store's evaluation: ``recorded`` is False when that day had been evaluated already
    (nothing changed); ``changed`` when the store's status changed."""

    seller_id: str
    marketplace: str
    day: date
    evaluation_id: str
    previous: str
    status: str
    issues: tuple[Issue, ...]
    grace_until: datetime | None
    recorded: bool
    changed: bool


@dataclass(frozen=True)
class Change:
    id: str
    seller_id: str
    marketplace: str
    at: datetime
    previous: str
    current: str
    reason: str
    actor: str
    note: str | None
    issues: tuple[Issue, ...]
    metrics: dict[str, Any]
    deactivation_id: str | None
    grace_until: datetime | None


class DeactivationNotFound(NotFound):
    code = "deactivation_not_found"

    def __init__(self, deactivation_id: str) -> None:
        super().__init__(
            N_("No deactivation with id {deactivation_id}"),
            deactivation_id=deactivation_id,
            details={"deactivation_id": deactivation_id},
        )


# -- reading ------------------------------------------------------------------------------------


def _issues(rows: Sequence[dict[str, Any]] | None) -> tuple[Issue, ...]:
    return tuple(issue_from_json(row) for row in rows or ())


def _jsonable(issues: Sequence[Issue]) -> list[dict[str, Any]]:
    return [issue_to_json(i) for i in issues]


def store_status(session: Session, *, seller_id: str, marketplace: str) -> StoreStatus:
    """The store's current status (NORMAL with no issues before its first evaluation);
    ``seller_not_found`` / ``marketplace_not_enabled`` for a store that does not exist."""
    require_store(session, seller_id, marketplace)
    row = repo.state(session, seller_id, marketplace)
    if row is None:
        return StoreStatus(seller_id, marketplace, NORMAL, None, (), None, None, None)
    return StoreStatus(
        seller_id=seller_id,
        marketplace=marketplace,
        status=row.status,
        since=row.since,
        issues=_issues(row.issues),
        grace_until=row.grace_until,
        deactivation_id=row.deactivation_id,
        probation_until=row.probation_until,
        probation_codes=tuple(row.probation_codes or ()),
        last_day=row.last_day,
    )


def reported_status(session: Session, *, seller_id: str, marketplace: str) -> str | None:
    """The store's status in Amazon's words (UNDER_REVIEW shown as AT_RISK) for Amazon-shaped
    output such as the V2 report's ``accountStatuses``; None before any decision about it."""
    row = repo.state(session, seller_id, marketplace)
    return None if row is None else amazon_status(row.status)


def _deactivation(row: EnforcementDeactivation) -> Deactivation:
    return Deactivation(
        id=row.id,
        seller_id=row.seller_id,
        marketplace=row.marketplace,
        at=row.at,
        issues=_issues(row.issues),
        appeal_deadline=row.appeal_deadline,
        origin_id=row.origin_id,
        reinstated_at=row.reinstated_at,
    )


def get_deactivation(session: Session, deactivation_id: str) -> Deactivation:
    """``deactivation_not_found`` (404) when there is none."""
    row = repo.deactivation(session, deactivation_id)
    if row is None:
        raise DeactivationNotFound(deactivation_id)
    return _deactivation(row)


def current_deactivation(
    session: Session, *, seller_id: str, marketplace: str
) -> Deactivation | None:
    """The store's deactivation that is not reinstated, if it is deactivated."""
    row = repo.open_deactivation(session, seller_id, marketplace)
    return None if row is None else _deactivation(row)


def appeal_blocked_by(session: Session, deactivation_id: str) -> Deactivation | None:
    """For a RELATED_ACCOUNT deactivation: the deactivation that caused it while it is not
    reinstated (the originating store is appealed first), else None."""
    found = get_deactivation(session, deactivation_id)
    if found.origin_id is None:
        return None
    origin = get_deactivation(session, found.origin_id)
    return origin if origin.reinstated_at is None else None


def _change(row: EnforcementChange) -> Change:
    return Change(
        id=row.id,
        seller_id=row.seller_id,
        marketplace=row.marketplace,
        at=row.at,
        previous=row.previous,
        current=row.current,
        reason=row.reason,
        actor=row.actor,
        note=row.note,
        issues=_issues(row.issues),
        metrics=dict(row.metrics or {}),
        deactivation_id=row.deactivation_id,
        grace_until=row.grace_until,
    )


def history(
    session: Session,
    *,
    seller_id: str,
    marketplace: str,
    limit: int = 50,
    before: tuple[datetime, str] | None = None,
) -> list[Change]:
    """The store's status changes, latest first."""
    require_store(session, seller_id, marketplace)
    rows = repo.changes(session, seller_id, marketplace, limit=limit, before=before)
    return [_change(r) for r in rows]


# -- the store's state ----------------------------------------------------------------------------


def _state(session: Session, seller_id: str, marketplace: str, now: datetime) -> EnforcementState:
    """The store's state row, locked; created NORMAL on first use."""
    row = repo.state_locked(session, seller_id, marketplace)
    if row is None:
        row = EnforcementState(
            seller_id=seller_id,
            marketplace=marketplace,
            status=NORMAL,
            since=None,
            issues=[],
            probation_codes=[],
            breached_since={},
            version=1,
        )
        session.add(row)
        session.flush()
    return row


def _write(session: Session, row: EnforcementState, **values: object) -> None:
    if not repo.bump(session, row, **values):
        raise Conflict(
            N_("The store's account status changed meanwhile; try again."),
            code="concurrent_change",
            details={"seller_id": row.seller_id, "marketplace": row.marketplace},
        )


def _previous(row: EnforcementState) -> Previous:
    return Previous(
        status=row.status,
        breached_since={k: date.fromisoformat(v) for k, v in (row.breached_since or {}).items()},
        grace_until=row.grace_until,
        probation_from=row.probation_from,
        probation_until=row.probation_until,
        probation_codes=tuple(row.probation_codes or ()),
    )


@dataclass(frozen=True)
class _Context:
    """What every consequence of a change needs: the clock, who acts and the region table."""

    now: datetime
    actor: str
    registry: Registry

    def marketplace(self, code: str) -> Marketplace | None:
        return self.registry.get(code)

    def config(self, code: str) -> EnforcementConfig:
        found = self.marketplace(code)
        return enforcement_of(found) if found is not None else EnforcementConfig()


def _record_change(
    session: Session,
    c: _Context,
    row: EnforcementState,
    *,
    current: str,
    reason: str,
    issues: Sequence[Issue],
    note: str | None = None,
    metrics: dict[str, Any] | None = None,
    evaluation_id: str | None = None,
    deactivation_id: str | None = None,
    grace_until: datetime | None = None,
) -> EnforcementChange:
    """One row of ``enforcement_changes`` and, when the status changed (or a related account
    was flagged), the ``ACCOUNT_STATUS_CHANGED`` notification keyed by the change id."""
    change = EnforcementChange(
        id=new_id("chg"),
        seller_id=row.seller_id,
        marketplace=row.marketplace,
        at=c.now,
        previous=row.status,
        current=current,
        reason=reason,
        actor=c.actor,
        note=note,
        issues=_jsonable(issues),
        metrics=metrics or {},
        evaluation_id=evaluation_id,
        deactivation_id=deactivation_id,
        grace_until=grace_until,
    )
    session.add(change)
    session.flush()
    if row.status != current or reason == "related_account_flagged":
        market = c.marketplace(row.marketplace)
        notifications.notify(
            session,
            kind=STATUS_CHANGED,
            seller_id=row.seller_id,
            marketplace=row.marketplace,
            payload={
                "sellerId": row.seller_id,
                "marketplaceId": market.marketplace_id if market else row.marketplace,
                "previousAccountStatus": amazon_status(row.status),
                "currentAccountStatus": amazon_status(current),
                "issues": [i.code for i in issues],
                "occurredAt": c.now.isoformat(),
            },
            now=c.now,
            key=change.id,
        )
    return change


# -- evaluation -----------------------------------------------------------------------------------


def _assurance(
    session: Session, *, seller_id: str, marketplace: Marketplace, day: date, now: datetime
) -> bool:
    """Account Health Assurance on ``day``: the AHR of the ``assurance_days`` days before it."""
    config = enforcement_of(marketplace)
    start = day - timedelta(days=config.assurance_days)
    days = health.store_history(
        session,
        seller_id=seller_id,
        marketplace=marketplace,
        start=start,
        end=day - timedelta(days=1),
        now=now,
    )
    return assured([h.rating.score for h in days], config)


def check_day(day: date, now: datetime, *, field: str) -> None:
    """``day_not_over`` for a day after tomorrow (UTC): no time zone has finished it, and an
    evaluation recorded for it would make the real one a no-op when that day comes."""
    if day > now.date() + timedelta(days=1):
        raise InvalidInput(
            N_("Day {day} has not ended yet anywhere"),
            code="day_not_over",
            day=day.isoformat(),
            details={"field": field, "value": day.isoformat()},
        )


def evaluate_store(
    session: Session,
    *,
    seller_id: str,
    marketplace: Marketplace,
    day: date,
    now: datetime,
    actor: str = RULES,
    registry: Registry | None = None,
    force: bool = False,
) -> Evaluated:
    """Run the rules for one store on its local ``day``, as of the end of that day (or ``now``
    when earlier), and apply what they decide. Idempotent per store and day: a day evaluated
    already changes nothing and records nothing (``force``, for the end of a grace period,
    decides again without recording a second evaluation). A day before the latest one
    evaluated is recorded but never changes the status."""
    key = day.isoformat()
    existing = repo.evaluation(session, seller_id, marketplace.code, key)
    if existing is not None and not force:
        return _unchanged(session, existing, marketplace.code, day)
    h = health.store_health(session, seller_id=seller_id, marketplace=marketplace, day=day, now=now)
    at = h.evaluated_at
    c = _Context(at, actor, registry or Registry((marketplace, *BUILTIN)))
    config = enforcement_of(marketplace)
    row = _state(session, seller_id, marketplace.code, at)
    previous = _previous(row)
    facts = store_facts(session, h)
    decision = decide(facts, previous, day=day, at=at, config=config)
    if (
        decision.status == DEACTIVATED
        and previous.grace_until is None
        and row.status != DEACTIVATED
        and _assurance(session, seller_id=seller_id, marketplace=marketplace, day=day, now=now)
    ):
        decision = decide(facts, previous, day=day, at=at, config=config, assurance=True)
    snapshot = metrics_snapshot(h)
    evaluation_id = existing.id if existing is not None else new_id("eva")
    if existing is None:
        session.add(
            EnforcementEvaluation(
                id=evaluation_id,
                seller_id=seller_id,
                marketplace=marketplace.code,
                day=key,
                evaluated_at=at,
                score=h.rating.score,
                decided=decision.status,
                issues=_jsonable(decision.issues),
                metrics=snapshot,
                actor=actor,
            )
        )
        session.flush()
    before = row.status
    if row.last_day is not None and key < row.last_day:
        return Evaluated(
            seller_id, marketplace.code, day, evaluation_id, before, before,
            _issues(row.issues), row.grace_until, True, False,
        )  # fmt: skip
    _apply(session, c, row, decision, config, evaluation_id=evaluation_id, metrics=snapshot)
    _write(
        session,
        row,
        breached_since={k: v.isoformat() for k, v in decision.breached_since.items()},
        last_day=max(key, row.last_day or key),
    )
    return Evaluated(
        seller_id=seller_id,
        marketplace=marketplace.code,
        day=day,
        evaluation_id=evaluation_id,
        previous=before,
        status=row.status,
        issues=_issues(row.issues),
        grace_until=row.grace_until,
        recorded=existing is None,
        changed=row.status != before,
    )


def _unchanged(
    session: Session, existing: EnforcementEvaluation, marketplace: str, day: date
) -> Evaluated:
    row = repo.state(session, existing.seller_id, marketplace)
    status = row.status if row is not None else NORMAL
    return Evaluated(
        seller_id=existing.seller_id,
        marketplace=marketplace,
        day=day,
        evaluation_id=existing.id,
        previous=status,
        status=status,
        issues=_issues(row.issues if row is not None else []),
        grace_until=row.grace_until if row is not None else None,
        recorded=False,
        changed=False,
    )


def _apply(
    session: Session,
    c: _Context,
    row: EnforcementState,
    decision: Decision,
    config: EnforcementConfig,
    *,
    evaluation_id: str,
    metrics: dict[str, Any],
) -> None:
    """Carry out the rules' decision on the store's state.

    A deactivated store stays deactivated (only a reinstatement or an operator lifts it); an
    operator's UNDER_REVIEW stays until the rules deactivate or an operator decides."""
    if row.status == DEACTIVATED:
        return
    if decision.status == DEACTIVATED:
        deactivate(
            session,
            c,
            row,
            issues=decision.issues,
            reason="grace_ended" if decision.grace_ended else RULES,
            metrics=metrics,
            evaluation_id=evaluation_id,
        )
        return
    current = UNDER_REVIEW if row.status == UNDER_REVIEW else decision.status
    if decision.grace_started:
        reason = "grace_started"
    elif decision.grace_ended:
        reason = "grace_ended"
    else:
        reason = RULES
    if current != row.status or decision.grace_started or decision.grace_ended:
        _record_change(
            session,
            c,
            row,
            current=current,
            reason=reason,
            issues=decision.issues,
            metrics=metrics,
            evaluation_id=evaluation_id,
            grace_until=decision.grace_until,
        )
    if decision.grace_started and decision.grace_until is not None:
        enqueue(
            session,
            kind=GRACE_END,
            key=f"{row.seller_id}:{row.marketplace}:{decision.grace_until.isoformat()}",
            due_at=decision.grace_until,
            payload={
                "seller_id": row.seller_id,
                "marketplace": row.marketplace,
                "grace_until": decision.grace_until.isoformat(),
            },
        )
    _write(
        session,
        row,
        status=current,
        since=c.now if current != row.status else row.since,
        issues=_jsonable(decision.issues),
        grace_until=decision.grace_until,
    )


def end_grace(
    session: Session,
    *,
    seller_id: str,
    marketplace: Marketplace,
    grace_until: datetime,
    now: datetime,
    registry: Registry | None = None,
) -> Evaluated | None:
    """The end of a grace period (the ``enforcement.grace_end`` job): decide again as of
    ``grace_until`` for the local day it ends in; DEACTIVATED only if a deactivation condition
    still holds. Nothing when the grace is not the store's any more or not over at ``now``."""
    row = repo.state(session, seller_id, marketplace.code)
    if row is None or row.grace_until != grace_until or now < grace_until:
        return None
    day = (grace_until - timedelta(microseconds=1)).astimezone(marketplace.tz).date()
    return evaluate_store(
        session,
        seller_id=seller_id,
        marketplace=marketplace,
        day=day,
        now=grace_until,
        registry=registry,
        force=True,
    )


def evaluate_stores(
    session: Session,
    *,
    registry: Registry,
    day: date | None,
    now: datetime,
    seller_id: str | None = None,
    marketplace: Marketplace | None = None,
    actor: str = RULES,
) -> list[Evaluated]:
    """Evaluate every store (of one seller, or one store) as of the end of its local ``day``,
    or, without ``day``, on each store's last complete local day at ``now``."""
    if seller_id is not None and marketplace is not None:
        stores = [(seller_id, marketplace.code)]
    else:
        stores = repo.stores(session, None if seller_id is None else [seller_id])
        if seller_id is not None and not stores:
            require_store(session, seller_id, "")  # seller_not_found
        if marketplace is not None:
            stores = [s for s in stores if s[1] == marketplace.code]
    found = []
    for seller, code in stores:
        market = registry.get(code)
        if market is None:  # a marketplace since removed from the config
            continue
        on = day if day is not None else now.astimezone(market.tz).date() - timedelta(days=1)
        found.append(
            evaluate_store(
                session,
                seller_id=seller,
                marketplace=market,
                day=on,
                now=now if day is None else evaluation_end(on, market),
                actor=actor,
                registry=registry,
            )
        )
    return found


# -- deactivation, related accounts ---------------------------------------------------------------


def deactivate(
    session: Session,
    c: _Context,
    row: EnforcementState,
    *,
    issues: Sequence[Issue],
    reason: str,
    note: str | None = None,
    metrics: dict[str, Any] | None = None,
    evaluation_id: str | None = None,
    origin: EnforcementDeactivation | None = None,
) -> EnforcementDeactivation:
    """Deactivate one store: the deactivation row, the change, the funds hold, the seller's
    sessions and API tokens ended (SH-03), the notification, the audit entry; then, unless this
    is itself a related deactivation, the related stores (``related_accounts``)."""
    config = c.config(row.marketplace if origin is None else origin.marketplace)
    found = EnforcementDeactivation(
        id=new_id("dea"),
        seller_id=row.seller_id,
        marketplace=row.marketplace,
        at=c.now,
        issues=_jsonable(issues),
        appeal_deadline=c.now + timedelta(days=config.appeal_days),
        origin_id=None if origin is None else origin.id,
    )
    session.add(found)
    session.flush()
    _record_change(
        session,
        c,
        row,
        current=DEACTIVATED,
        reason=reason,
        issues=issues,
        note=note,
        metrics=metrics,
        evaluation_id=evaluation_id,
        deactivation_id=found.id,
    )
    _write(
        session,
        row,
        status=DEACTIVATED,
        since=c.now,
        issues=_jsonable(issues),
        grace_until=None,
        deactivation_id=found.id,
    )
    settlement.hold_funds(
        session,
        seller_id=row.seller_id,
        marketplace=row.marketplace,
        now=c.now,
        ref=found.id,
        reason=reason,
        registry=c.registry,
    )
    access.cut_seller_access(
        session, seller_id=row.seller_id, now=c.now, actor=c.actor, reason="deactivated"
    )
    audit.append(
        session,
        action="enforcement_deactivated",
        outcome="success",
        now=c.now,
        actor=c.actor,
        target=f"{row.seller_id}/{row.marketplace}",
        details={"deactivation": found.id, "reason": reason, "issues": [i.code for i in issues]},
    )
    if origin is None:
        _related(session, c, found, config)
    return found


def _related(
    session: Session, c: _Context, origin: EnforcementDeactivation, config: EnforcementConfig
) -> None:
    """Every other store of the seller and every store of its related sellers: DEACTIVATED
    with ``RELATED_ACCOUNT``, or (``related_accounts = "flag"``) the issue added and told."""
    sellers = [origin.seller_id, *access.linked_sellers(session, origin.seller_id)]
    issue = related_issue(origin.seller_id, origin.marketplace)
    for seller_id, code in repo.stores(session, sellers):
        if (seller_id, code) == (origin.seller_id, origin.marketplace):
            continue
        row = _state(session, seller_id, code, c.now)
        if row.status == DEACTIVATED:
            continue
        if config.related_accounts == "deactivate":
            deactivate(session, c, row, issues=(issue,), reason="related_account", origin=origin)
            continue
        kept = [i for i in _issues(row.issues) if i.code != RELATED_ACCOUNT]
        flagged = (*kept, issue)
        _record_change(
            session,
            c,
            row,
            current=row.status,
            reason="related_account_flagged",
            issues=flagged,
            deactivation_id=origin.id,
        )
        _write(session, row, issues=_jsonable(flagged))


# -- operators ------------------------------------------------------------------------------------


def override(
    session: Session,
    *,
    seller_id: str,
    marketplace: Marketplace,
    status: str,
    reason: str,
    actor: Actor,
    now: datetime,
    fraud: bool = False,
    registry: Registry | None = None,
) -> StoreStatus:
    """An operator's decision on one store, whatever the rules say (recorded with who and why,
    and audited). DEACTIVATED deactivates at once (``fraud``: for suspected fraud, named as a
    ``POLICY_VIOLATION`` caused by ``fraud``), related stores included; any other status lifts
    an open deactivation (its hold released) without probation. The next evaluation applies
    the rules again, except that it never lowers UNDER_REVIEW."""
    if not actor.is_operator:
        raise TsunaguError(
            N_("Only platform operators may override an account status"),
            code="forbidden",
            status=403,
        )
    if status not in STATUSES:
        raise InvalidInput(
            N_("Unknown account status {value}; expected one of {known}"),
            code="invalid_account_status",
            value=status,
            known=", ".join(STATUSES),
            details={"field": "status", "value": status},
        )
    text = reason.strip()
    if not text or len(text) > 500:
        raise InvalidInput(
            N_("Give a reason of 1 to 500 characters"),
            code="invalid_reason",
            details={"field": "reason"},
        )
    require_store(session, seller_id, marketplace.code)
    c = _Context(now, actor.name, registry or Registry((marketplace, *BUILTIN)))
    row = _state(session, seller_id, marketplace.code, now)
    code = "fraud" if fraud else "override"
    if status == DEACTIVATED:
        if row.status != DEACTIVATED:
            issues = _override_issues(row, fraud)
            deactivate(session, c, row, issues=issues, reason=code, note=text)
    elif row.status == DEACTIVATED:
        _lift(session, c, row, status=status, reason=code, note=text, covered=(), probation=False)
    elif row.status != status:
        _record_change(session, c, row, current=status, reason=code, issues=(), note=text)
        _write(session, row, status=status, since=now, issues=[], grace_until=None)
    audit.append(
        session,
        action="enforcement_override",
        outcome="success",
        now=now,
        actor=actor.name,
        target=f"{seller_id}/{marketplace.code}",
        details={"status": status, "fraud": fraud},
    )
    return store_status(session, seller_id=seller_id, marketplace=marketplace.code)


def _override_issues(row: EnforcementState, fraud: bool) -> tuple[Issue, ...]:
    if fraud:
        return (Issue(code=POLICY_VIOLATION, causes={"fraud": 1}),)
    return _issues(row.issues) or (Issue(code=POLICY_VIOLATION, causes={"operator": 1}),)


# -- reinstatement --------------------------------------------------------------------------------


def _resolution_event_id(deactivation_id: str, violation_id: str) -> str:
    """The same deactivation and violation always give the same event id (idempotent)."""
    digest = hashlib.sha256(f"{deactivation_id}\n{violation_id}".encode()).hexdigest()[:32]
    return f"enforcement-resolved-{digest}"


def _resolve_violations(
    session: Session,
    c: _Context,
    found: EnforcementDeactivation,
    covered: Sequence[str],
) -> int:
    """``violation_resolved`` events for the violations named by the covered POLICY_VIOLATION
    issues, through the event store (so the projection and the AHR follow)."""
    if POLICY_VIOLATION not in covered:
        return 0
    violation_ids = sorted(
        {v for i in _issues(found.issues) if i.code == POLICY_VIOLATION for v in i.evidence}
    )
    candidates: list[Candidate] = []
    for violation_id in violation_ids:
        checked = validate(
            {
                "event_id": _resolution_event_id(found.id, violation_id),
                "type": "violation_resolved",
                "seller": found.seller_id,
                "marketplace": found.marketplace,
                "at": c.now.isoformat(),
                "violation_id": violation_id,
                "how": "appeal_accepted",
            },
            c.registry,
        )
        if isinstance(checked, Candidate):
            candidates.append(checked)
    if candidates:
        store_chunk(session, candidates, source="enforcement", now=c.now)
    return len(candidates)


def _lift(
    session: Session,
    c: _Context,
    row: EnforcementState,
    *,
    status: str,
    reason: str,
    note: str | None,
    covered: Sequence[str],
    probation: bool,
) -> None:
    found = repo.open_deactivation(session, row.seller_id, row.marketplace)
    if found is not None:
        found.reinstated_at = c.now
        found.reinstated_by = c.actor
        _resolve_violations(session, c, found, covered)
    config = c.config(row.marketplace)
    _record_change(
        session,
        c,
        row,
        current=status,
        reason=reason,
        issues=(),
        note=note,
        deactivation_id=None if found is None else found.id,
    )
    _write(
        session,
        row,
        status=status,
        since=c.now,
        issues=[],
        grace_until=None,
        deactivation_id=None,
        breached_since={},
        probation_from=c.now if probation else row.probation_from,
        probation_until=(
            c.now + timedelta(days=config.probation_days) if probation else row.probation_until
        ),
        probation_codes=list(covered) if probation else list(row.probation_codes or ()),
    )
    settlement.release_hold(
        session,
        seller_id=row.seller_id,
        marketplace=row.marketplace,
        now=c.now,
        reason=reason,
        registry=c.registry,
    )


def reinstate(
    session: Session,
    *,
    deactivation_id: str,
    now: datetime,
    actor: str,
    reason: str,
    covered: Sequence[str],
    registry: Registry | None = None,
) -> None:
    """Status NORMAL, probation for the ``covered`` issue codes, the violations those issues name
    resolved, the funds hold released, a status-change notification recorded.

    ``deactivation_not_found`` (404) for an unknown id; ``already_reinstated`` (409) for a
    deactivation lifted before, or not the store's current one."""
    found = get_deactivation(session, deactivation_id)
    row = repo.state_locked(session, found.seller_id, found.marketplace)
    if found.reinstated_at is not None or row is None or row.deactivation_id != found.id:
        raise Conflict(
            N_("Deactivation {deactivation_id} is not the store's current one"),
            code="already_reinstated",
            deactivation_id=deactivation_id,
            details={"deactivation_id": deactivation_id},
        )
    c = _Context(now, actor, registry or Registry(BUILTIN))
    _lift(
        session,
        c,
        row,
        status=NORMAL,
        reason="reinstated",
        note=reason,
        covered=tuple(covered),
        probation=True,
    )
    audit.append(
        session,
        action="enforcement_reinstated",
        outcome="success",
        now=now,
        actor=actor,
        target=f"{found.seller_id}/{found.marketplace}",
        details={"deactivation": found.id, "covered": list(covered)},
    )


def evaluation_end(day: date, marketplace: Marketplace) -> datetime:
    """The instant an evaluation of ``day`` stands for: the end of that local day."""
    return end_of_day(day, marketplace.tz)
