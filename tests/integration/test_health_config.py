"""The configured profile and targets reach the score, on both databases."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Db
from tests.factories import NOW, at, event, make_seller, placed
from tests.integration.test_health_service import run
from tsunagu.health import incremental, service
from tsunagu.slices import load_registry


def test_the_metrics_profile_of_one_marketplace_deducts_a_missed_target(db: Db, tmp_path: Path):
    seller = make_seller(db, name="Configured Tea", marketplaces=("JP", "US"))
    events = []
    for code in ("JP", "US"):
        oid = f"late-{code}"
        events += [
            placed(seller, oid, marketplace=code, when=at(-5), latest_ship_date=at(-4)),
            event(
                "order_shipped",
                seller,
                marketplace=code,
                order_id=oid,
                when=at(-3),
                tracking_id="T",
            ),
        ]
    run(db, events)
    path = tmp_path / "tsunagu.toml"
    path.write_text('[health.marketplace.JP]\nprofile = "metrics"\nmetric_points = 15\n')
    registry = load_registry(path)
    scores = {}
    with db.session() as session:
        for code in ("JP", "US"):
            mp = registry.require(code)
            full = service.store_health(
                session, seller_id=seller, marketplace=mp, day=None, now=NOW
            )
            fast = incremental.store_health_now(session, seller_id=seller, marketplace=mp, now=NOW)
            assert fast.rating == full.rating
            scores[code] = full.rating
    assert scores["US"].score == 200
    assert scores["JP"].profile == "metrics"
    deducted = [(t.metric, t.points) for t in scores["JP"].terms if t.kind == "metric"]
    assert deducted == [("late_shipment_rate", -15)]
    assert scores["JP"].score == 185
