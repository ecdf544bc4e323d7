"""The enforcement service on both databases: decisions from real events, deactivation with its
consequences (funds hold, sessions and tokens, related stores), Account Health Assurance,
operators' overrides, reinstatement and probation (issue 14, ADR 0024)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.conftest import Db
from tests.factories import event, ingest_events, make_seller, placed
from tsunagu.access.actor import LOCAL_OWNER, Actor
from tsunagu.access.rules import PrincipalRoles
from tsunagu.core.db import unit_of_work
from tsunagu.core.errors import TsunaguError
from tsunagu.core.timeutil import format_instant
from tsunagu.enforcement import service
from tsunagu.enforcement.models import EnforcementChange, EnforcementEvaluation
from tsunagu.enforcement.rules import (
    AT_RISK,
    CANCELLATION_RATE,
    DEACTIVATED,
    LOW_ACCOUNT_HEALTH,
    NORMAL,
    ORDER_DEFECT_RATE,
    POLICY_VIOLATION,
    RELATED_ACCOUNT,
    UNDER_REVIEW,
)
from tsunagu.marketplaces.registry import Marketplace

#: the first evaluation day of the scenarios (a US store: Los Angeles days)
D = date(2026, 11, 10)
LA_NOON = datetime(2026, 11, 10, 20, 0, tzinfo=UTC)  # noon in Los Angeles on D
LATER = datetime(2027, 3, 1, tzinfo=UTC)


def us(db: Db) -> Marketplace:
    return db.registry.require("US")


def jp(db: Db) -> Marketplace:
    return db.registry.require("JP")


def when(days: float) -> str:
    return format_instant(LA_NOON + timedelta(days=days))


def troubled_store(db: Db, seller: str) -> dict[str, list[str]]:
    """A US MFN store from D−40 to D+8: 4 orders a day; every day one of them is cancelled by
    the seller for ``out_of_stock``, and every fifth day one order is never delivered and its
    buyer files a ``not_received`` A-to-z claim."""
    events: list[dict[str, Any]] = []
    cancelled: list[str] = []
    claimed: list[str] = []
    for day in range(-40, 9):
        for n in range(4):
            order_id = f"{100 + day + 40:03d}-{n:07d}-0000001"
            events.append(placed(seller, order_id, marketplace="US", when=when(day), price=2500))
            if n == 0:
                events.append(
                    event(
                        "order_cancelled",
                        seller,
                        marketplace="US",
                        when=when(day + 0.1),
                        order_id=order_id,
                        by="seller",
                        reason="out_of_stock",
                    )
                )
                cancelled.append(order_id)
            elif n == 1 and day % 5 == 0:
                events.append(
                    event(
                        "claim_filed",
                        seller,
                        marketplace="US",
                        when=when(day + 3),
                        order_id=order_id,
                        claim_id=f"c-{order_id}",
                        reason="not_received",
                    )
                )
                claimed.append(order_id)
    ingest_events(db, events, now=LATER)
    return {"cancelled": cancelled, "claimed": claimed}


def evaluate(db: Db, seller: str, day: date, mp: str = "US") -> service.Evaluated:
    with unit_of_work(db.factory) as session:
        return service.evaluate_store(
            session,
            seller_id=seller,
            marketplace=db.registry.require(mp),
            day=day,
            now=LATER,
            registry=db.registry,
        )


def status(db: Db, seller: str, mp: str = "US") -> service.StoreStatus:
    with db.factory() as session:
        return service.store_status(session, seller_id=seller, marketplace=mp)


def changes(db: Db, seller: str, mp: str = "US") -> list[service.Change]:
    with db.factory() as session:
        return service.history(session, seller_id=seller, marketplace=mp)


def test_out_of_stock_cancellations_and_missing_parcels_deactivate_after_seven_days(db: Db):
    """Both metrics breached on D and D+7 (two evaluations 7 days apart): DEACTIVATED with both
    issues named, their causes counted and the orders as evidence."""
    seller = make_seller(db, marketplaces=("US",))
    made = troubled_store(db, seller)
    first = evaluate(db, seller, D)
    assert (first.previous, first.status) == (NORMAL, AT_RISK)
    assert [i.code for i in first.issues] == [ORDER_DEFECT_RATE, CANCELLATION_RATE]
    assert evaluate(db, seller, D + timedelta(days=6)).status == AT_RISK
    last = evaluate(db, seller, D + timedelta(days=7))
    assert last.status == DEACTIVATED
    found = status(db, seller)
    assert found.status == DEACTIVATED
    assert found.deactivation_id is not None
    by_code = {i.code: i for i in found.issues}
    assert set(by_code) == {ORDER_DEFECT_RATE, CANCELLATION_RATE}
    cancel = by_code[CANCELLATION_RATE]
    assert cancel.causes == {"out_of_stock": len(cancel.evidence)}
    assert len(cancel.evidence) == 7  # one a day over the 7-day window
    assert set(cancel.evidence) <= set(made["cancelled"])
    assert cancel.value is not None
    assert cancel.target is not None
    assert cancel.value > cancel.target
    odr = by_code[ORDER_DEFECT_RATE]
    assert odr.causes == {"not_received": len(odr.evidence)}
    assert odr.evidence
    assert set(odr.evidence) <= set(made["claimed"])
    with db.factory() as session:
        deactivation = service.get_deactivation(session, found.deactivation_id)
    assert {i.code for i in deactivation.issues} == {ORDER_DEFECT_RATE, CANCELLATION_RATE}
    assert deactivation.appeal_deadline - deactivation.at == timedelta(days=17)
    assert [(c.previous, c.current, c.reason) for c in reversed(changes(db, seller))] == [
        (NORMAL, AT_RISK, "rules"),
        (AT_RISK, DEACTIVATED, "rules"),
    ]


def test_a_day_evaluated_twice_changes_nothing_and_records_one_evaluation(db: Db):
    seller = make_seller(db, marketplaces=("US",))
    troubled_store(db, seller)
    first = evaluate(db, seller, D)
    again = evaluate(db, seller, D)
    assert first.recorded
    assert not again.recorded
    assert not again.changed
    assert again.evaluation_id == first.evaluation_id
    with db.factory() as session:
        evaluations = session.scalar(select(func.count()).select_from(EnforcementEvaluation))
        recorded = session.scalar(select(func.count()).select_from(EnforcementChange))
    assert (evaluations, recorded) == (1, 1)


def test_a_healthy_store_stays_normal_with_no_change_recorded(db: Db):
    seller = make_seller(db, marketplaces=("JP",))
    ingest_events(db, [placed(seller, f"o-{n}", when=when(-20 + n)) for n in range(10)], now=LATER)
    found = evaluate(db, seller, D, mp="JP")
    assert (found.status, found.issues, found.changed) == (NORMAL, (), False)
    assert changes(db, seller, mp="JP") == []


def violations(
    seller: str, count: int, *, mp: str = "JP", severity: str = "high"
) -> list[dict[str, Any]]:
    return [
        event(
            "violation_opened",
            seller,
            marketplace=mp,
            when=when(-5),
            violation_id=f"v-{n}",
            policy="restrictedProductPolicyViolations",
            severity=severity,
        )
        for n in range(count)
    ]


def test_a_critical_violation_deactivates_and_names_the_policy(db: Db):
    seller = make_seller(db, marketplaces=("JP",))
    ingest_events(db, violations(seller, 1, severity="critical"), now=LATER)
    found = evaluate(db, seller, D, mp="JP")
    assert found.status == DEACTIVATED
    codes = {i.code: i for i in found.issues}
    assert set(codes) == {LOW_ACCOUNT_HEALTH, POLICY_VIOLATION}
    assert codes[LOW_ACCOUNT_HEALTH].value == 0
    assert codes[POLICY_VIOLATION].evidence == ("v-0",)
    assert codes[POLICY_VIOLATION].causes == {"restrictedProductPolicyViolations": 1}


def test_a_deactivation_holds_funds_and_ends_sessions_and_tokens_sh03(db: Db):
    """SH-03: a deactivation revokes the seller's API tokens and ends its members' sessions;
    a reinstatement does not revive them, and the change keeps actor, reason and metrics."""
    from tsunagu.access.service import create_seller_token, grant_role
    from tsunagu.identity import service as identity
    from tsunagu.identity.models import ApiToken, AuthSession

    seller = make_seller(db, marketplaces=("JP",))
    with unit_of_work(db.factory) as session:
        principal = identity.create_principal(
            session,
            email="hanako@example.jp",
            display_name="Hanako",
            password="a long enough passphrase",
            now=LA_NOON,
            actor="test",
        )
        grant_role(
            session, principal_id=principal.id, seller_id=seller, role="owner", now=LA_NOON,
            actor="test",
        )  # fmt: skip
        signed_in = identity.sign_in(
            session, email="hanako@example.jp", password="a long enough passphrase", now=LA_NOON
        )
        assert signed_in.ok
        create_seller_token(
            session,
            principal_id=principal.id,
            name="nightly",
            scope="read",
            seller_ids=[seller],
            now=LA_NOON,
            expires_at=None,
            actor=principal.id,
        )
    ingest_events(db, violations(seller, 1, severity="critical"), now=LATER)
    assert evaluate(db, seller, D, mp="JP").status == DEACTIVATED
    with db.factory() as session:
        live_sessions = session.scalars(
            select(AuthSession).where(AuthSession.revoked_at.is_(None))
        ).all()
        live_tokens = session.scalars(select(ApiToken).where(ApiToken.revoked_at.is_(None))).all()
    assert live_sessions == []
    assert live_tokens == []
    deactivated = changes(db, seller, mp="JP")[0]
    assert deactivated.actor == "rules"
    assert deactivated.reason == "rules"
    assert deactivated.metrics["ahr"] == 0
    assert deactivated.previous == NORMAL
    assert deactivated.current == DEACTIVATED


def test_override_needs_an_operator_and_records_who_and_why(db: Db):
    seller = make_seller(db, marketplaces=("JP",))
    owner = Actor(name="p-owner", principal_id="p-owner", roles=PrincipalRoles({seller: "owner"}))
    operator = Actor(name="p-op", principal_id="p-op", roles=PrincipalRoles({}, operator=True))
    with unit_of_work(db.factory) as session:
        with pytest.raises(TsunaguError) as refused:
            service.override(
                session, seller_id=seller, marketplace=jp(db), status=NORMAL, reason="no",
                actor=owner, now=LA_NOON,
            )  # fmt: skip
        assert (refused.value.status, refused.value.code) == (403, "forbidden")
        service.override(
            session, seller_id=seller, marketplace=jp(db), status=UNDER_REVIEW,
            reason="deliveries being checked", actor=operator, now=LA_NOON,
        )  # fmt: skip
    found = changes(db, seller, mp="JP")
    assert [(c.current, c.reason, c.actor, c.note) for c in found] == [
        (UNDER_REVIEW, "override", "p-op", "deliveries being checked")
    ]
    # the daily rules do not lower an operator's UNDER_REVIEW
    assert evaluate(db, seller, D, mp="JP").status == UNDER_REVIEW


def test_fraud_override_deactivates_at_once_with_the_related_stores(db: Db):
    seller = make_seller(db, marketplaces=("JP", "US"))
    with unit_of_work(db.factory) as session:
        service.override(
            session, seller_id=seller, marketplace=jp(db), status=DEACTIVATED,
            reason="stolen identity", actor=LOCAL_OWNER, now=LA_NOON, fraud=True,
            registry=db.registry,
        )  # fmt: skip
    origin = status(db, seller, "JP")
    assert origin.status == DEACTIVATED
    assert [(i.code, dict(i.causes)) for i in origin.issues] == [(POLICY_VIOLATION, {"fraud": 1})]
    related = status(db, seller, "US")
    assert related.status == DEACTIVATED
    assert [(i.code, i.related) for i in related.issues] == [
        (RELATED_ACCOUNT, {"seller": seller, "marketplace": "JP"})
    ]
    with db.factory() as session:
        assert related.deactivation_id is not None
        assert origin.deactivation_id is not None
        blocked = service.appeal_blocked_by(session, related.deactivation_id)
        assert blocked is not None
        assert blocked.id == origin.deactivation_id
        assert service.appeal_blocked_by(session, origin.deactivation_id) is None


def test_reinstatement_puts_the_store_on_probation_and_resolves_covered_violations(db: Db):
    seller = make_seller(db, marketplaces=("JP",))
    ingest_events(db, violations(seller, 1, severity="critical"), now=LATER)
    assert evaluate(db, seller, D, mp="JP").status == DEACTIVATED
    found = status(db, seller, "JP")
    assert found.deactivation_id is not None
    back = LA_NOON + timedelta(days=2)
    with unit_of_work(db.factory) as session:
        service.reinstate(
            session, deactivation_id=found.deactivation_id, now=back, actor="p-op",
            reason="appeal accepted", covered=[POLICY_VIOLATION, LOW_ACCOUNT_HEALTH],
            registry=db.registry,
        )  # fmt: skip
    after = status(db, seller, "JP")
    assert after.status == NORMAL
    assert after.deactivation_id is None
    assert after.probation_until is not None
    assert after.probation_until - back == timedelta(days=30)
    # the violation was resolved through the event store: the AHR is back and so is NORMAL
    assert evaluate(db, seller, D + timedelta(days=3), mp="JP").status == NORMAL
    with unit_of_work(db.factory) as session, pytest.raises(TsunaguError) as twice:
        service.reinstate(
            session, deactivation_id=found.deactivation_id, now=back, actor="p-op",
            reason="again", covered=[],
        )  # fmt: skip
    assert twice.value.code == "already_reinstated"
