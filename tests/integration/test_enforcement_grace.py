"""Account Health Assurance under the job runner, related accounts in both modes, and probation
after a reinstatement, on both databases (issue 14, ADR 0024)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from tests.conftest import Db
from tests.factories import event, ingest_events, make_seller, placed
from tests.integration.test_enforcement import LA_NOON, LATER, D, changes, status, when
from tests.integration.test_links import linked_pair
from tsunagu.access.actor import LOCAL_OWNER
from tsunagu.access.service import grant_role
from tsunagu.core.db import unit_of_work
from tsunagu.enforcement import jobs as enforcement_jobs
from tsunagu.enforcement import service
from tsunagu.enforcement.rules import (
    AT_RISK,
    CANCELLATION_RATE,
    DEACTIVATED,
    NORMAL,
    RELATED_ACCOUNT,
)
from tsunagu.jobs import registry as job_registry
from tsunagu.jobs import service as jobs
from tsunagu.marketplaces.registry import Registry
from tsunagu.slices import load_registry

KINDS = job_registry.by_name(enforcement_jobs.KINDS)


def configured(tmp_path: Path, text: str) -> Registry:
    path = tmp_path / "tsunagu.toml"
    path.write_text(text, encoding="utf-8")
    return load_registry(path)


def evaluate(db: Db, registry: Registry, seller: str, mp: str, days: int = 0) -> service.Evaluated:
    with unit_of_work(db.factory) as session:
        return service.evaluate_store(
            session,
            seller_id=seller,
            marketplace=registry.require(mp),
            day=D + timedelta(days=days),
            now=LATER,
            registry=registry,
        )


def critical(seller: str, violation_id: str = "v-crit") -> dict[str, object]:
    return event(
        "violation_opened",
        seller,
        when=when(-0.5),
        violation_id=violation_id,
        policy="productAuthenticityCustomerComplaints",
        severity="critical",
    )


#: a store with no violation sits at 200: assured when the assurance score is 200
ASSURED = "[enforcement]\nassurance_score = 200\n"


def test_assurance_grants_72_hours_then_deactivates_if_the_issue_is_still_open(
    db: Db, tmp_path: Path
):
    registry = configured(tmp_path, ASSURED)
    seller = make_seller(db, marketplaces=("JP",))
    ingest_events(db, [critical(seller)], now=LATER)
    first = evaluate(db, registry, seller, "JP")
    assert first.status == AT_RISK
    assert first.grace_until is not None
    grace_until = first.grace_until
    # the job is waiting; just before the end nothing happens
    ran = jobs.run_due(
        db.factory, as_of=grace_until - timedelta(minutes=1), registry=registry, kinds=KINDS
    ).ran
    assert not [r for r in ran if r["kind"] == "enforcement.grace_end"]
    assert status(db, seller, "JP").status == AT_RISK
    ran = jobs.run_due(db.factory, as_of=grace_until, registry=registry, kinds=KINDS).ran
    assert [r["status"] for r in ran if r["kind"] == "enforcement.grace_end"] == ["done"]
    after = status(db, seller, "JP")
    assert after.status == DEACTIVATED
    assert after.grace_until is None
    assert [(c.current, c.reason) for c in reversed(changes(db, seller, "JP"))] == [
        (AT_RISK, "grace_started"),
        (DEACTIVATED, "grace_ended"),
    ]


def test_an_issue_fixed_during_the_grace_period_ends_it_without_deactivation(
    db: Db, tmp_path: Path
):
    registry = configured(tmp_path, ASSURED)
    seller = make_seller(db, marketplaces=("JP",))
    ingest_events(db, [critical(seller)], now=LATER)
    grace_until = evaluate(db, registry, seller, "JP").grace_until
    assert grace_until is not None
    fixed = event("violation_resolved", seller, when=when(1), violation_id="v-crit")
    ingest_events(db, [fixed], now=LATER)
    jobs.run_due(db.factory, as_of=grace_until, registry=registry, kinds=KINDS)
    after = status(db, seller, "JP")
    assert (after.status, after.grace_until, after.issues) == (NORMAL, None, ())
    assert changes(db, seller, "JP")[0].reason == "grace_ended"


def test_without_assurance_the_same_trigger_deactivates_at_once(db: Db):
    seller = make_seller(db, marketplaces=("JP",))
    ingest_events(db, [critical(seller)], now=LATER)
    assert evaluate(db, db.registry, seller, "JP").status == DEACTIVATED


def test_a_linked_seller_account_is_deactivated_with_related_account(db: Db):
    jp_owner, us_owner, _token = linked_pair(db, when=LA_NOON)
    origin = make_seller(db, name="Kyoto Tea", marketplaces=("JP",))
    other = make_seller(db, name="Kyoto Tea US", marketplaces=("US",))
    with unit_of_work(db.factory) as session:
        for principal, seller in ((jp_owner, origin), (us_owner, other)):
            grant_role(
                session, principal_id=principal, seller_id=seller, role="owner", now=LA_NOON,
                actor="test",
            )  # fmt: skip
    ingest_events(db, [critical(origin)], now=LATER)
    assert evaluate(db, db.registry, origin, "JP").status == DEACTIVATED
    related = status(db, other, "US")
    assert related.status == DEACTIVATED
    assert [(i.code, i.related) for i in related.issues] == [
        (RELATED_ACCOUNT, {"seller": origin, "marketplace": "JP"})
    ]
    assert changes(db, other, "US")[0].reason == "related_account"


def test_flag_mode_records_the_related_issue_without_deactivating(db: Db, tmp_path: Path):
    registry = configured(tmp_path, '[enforcement]\nrelated_accounts = "flag"\n')
    seller = make_seller(db, marketplaces=("JP", "US"))
    ingest_events(db, [critical(seller)], now=LATER)
    assert evaluate(db, registry, seller, "JP").status == DEACTIVATED
    flagged = status(db, seller, "US")
    assert flagged.status == NORMAL
    assert [i.code for i in flagged.issues] == [RELATED_ACCOUNT]
    assert [(c.previous, c.current, c.reason) for c in changes(db, seller, "US")] == [
        (NORMAL, NORMAL, "related_account_flagged")
    ]


def cancellations(seller: str, first: int, last: int, prefix: str) -> list[dict[str, object]]:
    """Two orders a day in the US store, one cancelled for ``out_of_stock`` (50 %)."""
    events: list[dict[str, object]] = []
    for day in range(first, last + 1):
        for n in range(2):
            order_id = f"{prefix}{day + 100:03d}-{n}"
            events.append(placed(seller, order_id, marketplace="US", when=when(day)))
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
    return events


def test_probation_ignores_orders_placed_before_the_reinstatement_but_not_new_ones(db: Db):
    seller = make_seller(db, marketplaces=("US",))
    ingest_events(db, cancellations(seller, -8, 0, "old"), now=LATER)
    with unit_of_work(db.factory) as session:
        service.override(
            session, seller_id=seller, marketplace=db.registry.require("US"),
            status=DEACTIVATED, reason="test", actor=LOCAL_OWNER, now=LA_NOON,
            registry=db.registry,
        )  # fmt: skip
    found = status(db, seller, "US")
    assert found.deactivation_id is not None
    reinstated_at = LA_NOON + timedelta(days=1)
    with unit_of_work(db.factory) as session:
        service.reinstate(
            session, deactivation_id=found.deactivation_id, now=reinstated_at, actor="op",
            reason="appeal accepted", covered=[CANCELLATION_RATE], registry=db.registry,
        )  # fmt: skip
    # the old cancellations still sit in the 7-day window on D+2, but no longer count
    on_probation = evaluate(db, db.registry, seller, "US", days=2)
    assert (on_probation.status, on_probation.issues) == (NORMAL, ())
    # new cancellations after the reinstatement count normally
    ingest_events(db, cancellations(seller, 2, 3, "new"), now=LATER)
    again = evaluate(db, db.registry, seller, "US", days=3)
    assert again.status == AT_RISK
    issue = again.issues[0]
    assert issue.code == CANCELLATION_RATE
    assert all(order_id.startswith("new") for order_id in issue.evidence)
    assert issue.causes == {"out_of_stock": len(issue.evidence)}
