"""A store's policy compliance on SQLite and PostgreSQL (issue 16, item 6): the violations'
points come from the rating itself, each carries the events that opened and resolved it, and
Amazon's per-policy counts come from the latest snapshot as imported (ADR 0035)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from tests.conftest import Db
from tests.factories import at, event, ingest_events, make_seller
from tsunagu.core.db import unit_of_work
from tsunagu.health import service, snapshots
from tsunagu.health.compliance import policy_compliance

V2_JP = Path(__file__).parent.parent / "data" / "amazon" / "v2-health-jp.json"


def test_points_evidence_and_amazons_counts(db: Db) -> None:
    seller = make_seller(db, name="Otaru Glass", marketplaces=("JP",))
    now = datetime.now(UTC)
    ingest_events(
        db,
        [
            event(
                "violation_opened",
                seller,
                event_id="open-1",
                violation_id="IP-1",
                policy="receivedIntellectualPropertyComplaints",
                severity="medium",
                asin="B0TEST0001",
                when=at(-12, now),
            ),
            event(
                "violation_opened",
                seller,
                event_id="open-2",
                violation_id="IP-2",
                policy="receivedIntellectualPropertyComplaints",
                severity="low",
                when=at(-3, now),
            ),
            event(
                "violation_resolved",
                seller,
                event_id="close-2",
                violation_id="IP-2",
                when=at(-1, now),
            ),
        ],
        now=now,
    )
    mp = db.registry.require("JP")
    with unit_of_work(db.factory) as session:
        snapshots.import_snapshot(
            session,
            seller_id=seller,
            marketplace=mp,
            data=V2_JP.read_bytes(),
            source_name="v2.json",
            now=now,
        )
    with db.session() as session:
        found = policy_compliance(session, seller_id=seller, marketplace=mp, now=now)
        rating = service.store_health(session, seller_id=seller, marketplace=mp, day=None, now=now)
    by_id = {v.violation_id: v for v in found.violations}
    # a medium violation costs 4; the resolved low one nothing
    assert (by_id["IP-1"].points, by_id["IP-1"].status) == (4, "open")
    assert (by_id["IP-2"].points, by_id["IP-2"].status) == (0, "resolved")
    assert (by_id["IP-1"].opened_by, by_id["IP-1"].resolved_by) == ("open-1", None)
    assert (by_id["IP-2"].opened_by, by_id["IP-2"].resolved_by) == ("open-2", "close-2")
    assert by_id["IP-1"].asin == "B0TEST0001"
    # the page's points are the rating's: 200 − 4 (no orders, so no sales credit)
    assert found.points_deducted == 4
    assert rating.rating.score == 200 - found.points_deducted
    (ip,) = [p for p in found.policies if p.policy == "receivedIntellectualPropertyComplaints"]
    assert (ip.tsunagu, ip.amazon, ip.shown, ip.source) == (1, 1, 1, "tsunagu")
    (other,) = [p for p in found.policies if p.policy == "otherPolicyViolations"]
    assert (other.tsunagu, other.amazon, other.shown, other.source) == (None, 0, 0, "amazon")
    assert found.amazon is not None
    assert found.amazon.report_date.isoformat() == "2026-11-25"
    assert found.amazon.warnings == 0
