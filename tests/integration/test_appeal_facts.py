"""The facts a Plan-of-Action draft is written from, read from a store's projections (issue 14
item 7, ADR 0028), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from tests.factories import NOW, at, event, ingest_events, make_seller
from tsunagu.appeals.checker import MISSING_EVIDENCE, check_plan
from tsunagu.appeals.drafts import CauseFacts, Tally, draft_plan
from tsunagu.appeals.facts import gather
from tsunagu.appeals.plan import missing_parts
from tsunagu.enforcement.rules import Issue
from tsunagu.enforcement.service import Deactivation

WINDOW = (date(2026, 10, 1), date(2026, 10, 31))


def _placed(seller: str, order_id: str, days: float, sku: str, **fields: Any) -> dict[str, Any]:
    return event(
        "order_placed",
        seller,
        marketplace="US",
        when=at(days),
        order_id=order_id,
        channel="MFN",
        currency="USD",
        items=[{"sku": sku, "quantity": 1, "price": 2500}],
        **fields,
    )


def _store(db: Any) -> str:
    """A US MFN store with out-of-stock cancellations, parcels lost by SAL, one late shipment
    and an authenticity complaint."""
    seller = make_seller(db, marketplaces=("US", "JP"))
    skus = ["TEA-A", "TEA-A", "TEA-B", "TEA-B", "TEA-C", "TEA-D", "TEA-D", "TEA-D", "TEA-E"]
    skus += ["TEA-F", "TEA-F", "TEA-F"]
    events = []
    for n, sku in enumerate(skus, start=1):
        extra: dict[str, Any] = {}
        if n in (6, 7, 8):
            extra = {"ship_service": "SAL", "latest_delivery_date": at(-30)}
        if n == 10:
            extra = {"ship_service": "Standard", "latest_ship_date": at(-50)}
        events.append(_placed(seller, f"o-{n}", -54 + n * 0.5, sku, **extra))
    for n in range(1, 6):
        events.append(
            event(
                "order_cancelled",
                seller,
                marketplace="US",
                when=at(-40),
                order_id=f"o-{n}",
                by="seller",
                reason="out_of_stock",
            )
        )
    for n in (6, 7, 8):
        events.append(
            event(
                "order_shipped",
                seller,
                marketplace="US",
                when=at(-45),
                order_id=f"o-{n}",
                carrier="Japan Post",
                tracking_id="",
            )
        )
        events.append(
            event(
                "claim_filed",
                seller,
                marketplace="US",
                when=at(-20),
                order_id=f"o-{n}",
                claim_id=f"c-{n}",
                reason="not_received",
            )
        )
    for n in (9, 10, 11, 12):
        when = at(-47.5) if n == 10 else at(-45)
        events.append(
            event(
                "order_shipped",
                seller,
                marketplace="US",
                when=when,
                order_id=f"o-{n}",
                carrier="UPS",
                tracking_id=f"1Z{n:04d}",
            )
        )
        events.append(
            event("tracking_scanned", seller, marketplace="US", when=at(-44), order_id=f"o-{n}")
        )
    events.append(
        event("feedback_posted", seller, marketplace="US", when=at(-30), order_id="o-9", rating=1)
    )
    events.append(
        event(
            "violation_opened",
            seller,
            marketplace="US",
            when=at(-10),
            violation_id="v-1",
            policy="productAuthenticityCustomerComplaints",
            severity="high",
            asin="B0TEA00001",
        )
    )
    ingest_events(db, events)
    return seller


def _deactivation(seller: str) -> Deactivation:
    issues = (
        Issue(
            "CANCELLATION_RATE",
            0.4167,
            0.025,
            {"out_of_stock": 5},
            tuple(f"o-{n}" for n in range(1, 6)),
            WINDOW,
        ),
        Issue(
            "ORDER_DEFECT_RATE",
            0.3333,
            0.01,
            {"not_received": 3, "negative_feedback": 1},
            ("o-6", "o-7", "o-8", "o-9"),
            WINDOW,
        ),
        Issue("LATE_SHIPMENT_RATE", 0.1429, 0.04, {"Standard": 1}, ("o-10",), WINDOW),
        Issue("VALID_TRACKING_RATE", 0.5714, 0.95, {"noTracking": 3}, (), WINDOW),
        Issue(
            "POLICY_VIOLATION",
            causes={"productAuthenticityCustomerComplaints": 1},
            evidence=("v-1",),
        ),
        Issue("LOW_ACCOUNT_HEALTH", 90, 100),
        Issue("RELATED_ACCOUNT", related={"seller": seller, "marketplace": "JP"}),
    )
    return Deactivation(
        id="dea_test",
        seller_id=seller,
        marketplace="US",
        at=NOW,
        issues=issues,
        appeal_deadline=NOW + timedelta(days=17),
        origin_id=None,
        reinstated_at=None,
    )


def test_facts_count_the_records_behind_each_issue(db: Any) -> None:
    seller = _store(db)
    deactivation = _deactivation(seller)
    with db.session() as session:
        facts = gather(session, deactivation=deactivation, registry=db.registry)
    assert (facts.marketplace, facts.marketplace_name, facts.day) == (
        "US",
        "Amazon.com",
        date(2026, 11, 25),
    )
    cancel = facts.of("CANCELLATION_RATE")
    assert cancel is not None
    assert (cancel.start, cancel.end, cancel.total, cancel.affected) == (*WINDOW, 12, 5)
    assert cancel.causes == (
        CauseFacts("out_of_stock", 5, (Tally("TEA-A", 2), Tally("TEA-B", 2)), 4),
    )
    assert (cancel.skus, cancel.sku_orders) == ((Tally("TEA-A", 2), Tally("TEA-B", 2)), 4)
    assert cancel.examples == ("o-1", "o-2", "o-3")

    defects = facts.of("ORDER_DEFECT_RATE")
    assert defects is not None
    assert (defects.total, defects.affected) == (12, 4)
    assert defects.causes == (
        CauseFacts(
            "not_received",
            3,
            (Tally("TEA-D", 3),),
            3,
            undelivered=3,
            undelivered_services=(Tally("SAL", 3),),
            untracked=3,
        ),
        CauseFacts("negative_feedback", 1),
    )

    late = facts.of("LATE_SHIPMENT_RATE")
    assert late is not None
    assert (late.affected, late.total, late.late_days) == (1, 7, 3)
    assert late.services == (Tally("Standard", 1),)

    tracking = facts.of("VALID_TRACKING_RATE")
    assert tracking is not None
    assert (tracking.total, tracking.affected, tracking.services) == (7, 3, (Tally("SAL", 3),))

    policy = facts.of("POLICY_VIOLATION")
    assert policy is not None
    assert (policy.affected, policy.asins) == (1, ("B0TEA00001",))
    assert policy.causes == (CauseFacts("productAuthenticityCustomerComplaints", 1),)

    health = facts.of("LOW_ACCOUNT_HEALTH")
    assert health is not None
    assert (health.value, health.target, health.affected) == (90.0, 100.0, 1)

    related = facts.of("RELATED_ACCOUNT")
    assert related is not None
    assert related.related_marketplace == "Amazon.co.jp"


def test_another_sellers_orders_are_never_read(db: Any) -> None:
    seller = _store(db)
    stranger = make_seller(db, name="Someone Else", marketplaces=("US",))
    ingest_events(db, [_placed(stranger, "o-1", -50, "SECRET-SKU")])
    with db.session() as session:
        mine = gather(session, deactivation=_deactivation(seller), registry=db.registry)
        theirs = gather(session, deactivation=_deactivation(stranger), registry=db.registry)
    # the same order id in another seller's store is that store's order only
    cancel, own = theirs.of("CANCELLATION_RATE"), mine.of("CANCELLATION_RATE")
    assert cancel is not None
    assert own is not None
    assert (cancel.total, cancel.affected, cancel.causes) == (1, 1, (CauseFacts("other", 1),))
    assert (own.total, own.affected) == (12, 5)
    assert "SECRET-SKU" not in repr(mine)


def test_a_draft_from_the_records_reads_naturally_and_passes_the_checker(db: Any) -> None:
    seller = _store(db)
    deactivation = _deactivation(seller)
    with db.session() as session:
        facts = gather(session, deactivation=deactivation, registry=db.registry)
    codes = [i.code for i in deactivation.issues]
    for lang in ("en", "ja"):
        plan = draft_plan(deactivation.issues, facts, lang=lang)
        assert missing_parts(plan, codes) == []
        assert [
            f
            for f in check_plan(plan, deactivation.issues, lang=lang)
            if f.rule != MISSING_EVIDENCE
        ] == []
    en = draft_plan(deactivation.issues, facts, lang="en")
    cancel = en.section("CANCELLATION_RATE")
    assert cancel is not None
    assert cancel.root_cause.startswith(
        "5 of 12 orders placed between 2026-10-01 and 2026-10-31 were cancelled by the seller "
        "because the item was out of stock. 4 of them concern 2 SKUs (TEA-A, TEA-B)."
    )
    defects = en.section("ORDER_DEFECT_RATE")
    assert defects is not None
    assert "3 orders shipped by SAL were not delivered by the promised date." in defects.root_cause
    ja = draft_plan(deactivation.issues, facts, lang="ja").section("CANCELLATION_RATE")
    assert ja is not None
    assert ja.root_cause.startswith(
        "2026年10月1日から2026年10月31日までの注文12件のうち5件を、在庫切れのため出品者都合で"
        "キャンセルしました。そのうち4件は、2つのSKU（TEA-A、TEA-B）に集中しています。"
    )
