"""Account health from stored events, through the projection, on both databases."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.amazon_schema import assert_valid_v2_report
from tests.conftest import Db
from tests.factories import NOW, at, event, ingest_events, make_seller, placed
from tests.integration.test_cli import tsunagu, write_jsonl
from tsunagu.demo.generate import generate
from tsunagu.demo.load import load
from tsunagu.demo.profiles import HEALTHY, TRADEMARK_JP
from tsunagu.health import service
from tsunagu.health.rules import StoreHealth
from tsunagu.sellers.models import Seller

DAY = date(2026, 11, 25)


def run(db: Db, events: list[dict[str, Any]]) -> None:
    ingest_events(db, events)


def health(db: Db, seller: str, marketplace: str = "JP", **kw: Any) -> StoreHealth:
    with db.session() as session:
        return service.store_health(
            session,
            seller_id=seller,
            marketplace=db.registry.require(marketplace),
            day=kw.get("day", DAY),
            now=kw.get("now", NOW),
        )


def shipped_orders(seller: str, count: int, prefix: str = "503-") -> list[dict[str, Any]]:
    events = []
    for n in range(count):
        order_id = f"{prefix}{n:07d}"
        events.append(placed(seller, order_id, when=at(-1 - n)))
        events.append(
            event(
                "order_shipped", seller, order_id=order_id, tracking_id=f"T{n}", when=at(-n - 0.5)
            )
        )
    return events


def test_the_issues_trademark_case_is_198_at_risk_and_200_once_resolved(db: Db):
    seller = make_seller(db, marketplaces=("JP",))
    logo = event(
        "violation_opened",
        seller,
        violation_id="V-logo",
        policy="receivedIntellectualPropertyComplaints",
        severity="low",
        when=at(-30),
    )
    run(db, [*shipped_orders(seller, 150), logo])

    h = health(db, seller)
    assert h.fulfilled_orders == 150
    assert (h.rating.score, h.rating.band, h.rating.profile) == (198, "at_risk", "amazon")
    terms = [(t.kind, t.points) for t in h.rating.terms]
    assert terms == [("base", 200), ("sales_credit", 0), ("violation", -2)]
    assert sum(t.points for t in h.rating.terms) == 198
    (violation,) = [t for t in h.rating.terms if t.kind == "violation"]
    assert violation.violation_id == "V-logo"
    assert (
        violation.opened_on
        == (NOW - timedelta(days=30)).astimezone(db.registry.require("JP").tz).date()
    )

    run(db, [event("violation_resolved", seller, violation_id="V-logo", when=at(-1))])
    resolved = health(db, seller)
    assert (resolved.rating.score, resolved.rating.band) == (200, "healthy")


def test_a_late_shipment_is_in_the_numerator_with_its_id(db: Db):
    seller = make_seller(db, marketplaces=("JP",))
    run(
        db,
        [
            placed(seller, "503-LATE", when=at(-5), latest_ship_date=at(-4)),
            event("order_shipped", seller, order_id="503-LATE", tracking_id="T1", when=at(-3)),
            placed(seller, "503-ONTIME", when=at(-5), latest_ship_date=at(-4)),
            event("order_shipped", seller, order_id="503-ONTIME", tracking_id="T2", when=at(-4.5)),
        ],
    )
    lsr = health(db, seller).metrics["late_shipment_rate_30"]
    assert (lsr.numerator, lsr.denominator, lsr.ids) == (1, 2, ("503-LATE",))
    assert lsr.status == "BAD"


def test_survey_answers_count_on_their_answer_day(db: Db):
    seller = make_seller(db, marketplaces=("JP",))
    run(
        db,
        [
            placed(seller, "503-1", when=at(-20)),
            event("cs_survey_answered", seller, order_id="503-1", satisfied=False, when=at(-2)),
        ],
    )
    cs = health(db, seller).metrics["customer_service_dissatisfaction_rate"]
    assert (cs.numerator, cs.denominator, cs.ids) == (1, 1, ("503-1",))
    before = health(db, seller, day=DAY - timedelta(days=3))
    assert before.metrics["customer_service_dissatisfaction_rate"].denominator == 0


def test_unknown_seller_and_store_raise_the_usual_errors(db: Db):
    from tsunagu.core.errors import NotFound

    seller = make_seller(db, marketplaces=("JP",))
    with pytest.raises(NotFound) as unknown:
        health(db, "sel_nobody")
    assert unknown.value.code == "seller_not_found"
    with pytest.raises(NotFound) as no_store:
        health(db, seller, "US")
    assert no_store.value.code == "marketplace_not_enabled"


def test_demo_sellers_terms_add_up_and_the_trademark_store_is_198(sqlite_db: Db):
    db = sqlite_db
    dataset = generate(seed=7, orders=1000, as_of=DAY)
    now = datetime.combine(DAY, time(12), UTC)
    load(db.factory, dataset, registry=db.registry, now=now)
    profiles = {s.id: s.profile for s in dataset.sellers}
    with db.session() as session:
        seller_ids = [s.id for s in session.query(Seller).order_by(Seller.id)]
        results = {
            seller_id: service.seller_health(
                session, seller_id=seller_id, registry=db.registry, day=DAY, now=now
            )
            for seller_id in seller_ids
        }
    assert set(results) == set(profiles)
    for stores in results.values():
        for h in stores:
            assert sum(t.points for t in h.rating.terms) == h.rating.score, h
    (trademark,) = [s for s, p in profiles.items() if p == TRADEMARK_JP]
    (jp,) = [h for h in results[trademark] if h.marketplace == "JP"]
    assert (jp.rating.score, jp.rating.band) == (198, "at_risk")
    (healthy,) = [s for s, p in profiles.items() if p == HEALTHY]
    assert results[healthy]
    assert all(h.rating.band == "healthy" for h in results[healthy])


def test_cli_health_show_and_explain(tmp_path: Path):
    seller = tsunagu(tmp_path, "sellers", "create", "--name", "Hanamizuki", "-m", "JP").stdout
    seller = seller.strip()
    logo = event(
        "violation_opened",
        seller,
        violation_id="V-logo",
        policy="receivedIntellectualPropertyComplaints",
        severity="low",
        when=at(-30),
    )
    events = write_jsonl(tmp_path / "events.jsonl", [*shipped_orders(seller, 150), logo])
    r = tsunagu(tmp_path, "events", "import", str(events))
    assert r.returncode == 0, r.stderr

    r = tsunagu(tmp_path, "health", "show", "--seller", seller, "--as-of", "2026-11-25", "--json")
    assert r.returncode == 0, r.stderr
    (store,) = json.loads(r.stdout)
    assert store["marketplace"] == "JP"
    assert store["day"] == "2026-11-25"
    assert (store["rating"]["score"], store["rating"]["band"]) == (198, "at_risk")
    names = {m["name"] for m in store["metrics"]}
    assert {"order_defect_rate_mfn", "late_shipment_rate_30", "valid_tracking_rate"} <= names

    wide = {"COLUMNS": "160"}
    r = tsunagu(tmp_path, "health", "show", "--seller", seller, "--as-of", "2026-11-25", env=wide)
    assert r.returncode == 0, r.stderr
    assert "Late shipment rate (30 days)" in r.stdout  # words, not the code (ADR 0037)
    assert "Account Health Rating: 198 (at risk)" in r.stdout

    args = ("health", "explain", "--seller", seller, "-m", "JP", "--as-of", "2026-11-25")
    r = tsunagu(tmp_path, *args, env=wide)
    assert r.returncode == 0, r.stderr
    assert "Check: the terms add up to 198" in r.stdout
    assert "V-logo" in r.stdout
    assert "+200" in r.stdout
    assert "-2" in r.stdout
    ja = tsunagu(tmp_path, *args, env={**wide, "TSUNAGU_LANG": "ja"})
    assert "検算: 内訳の合計は 198 です" in ja.stdout

    explained = json.loads(tsunagu(tmp_path, *args, "--json").stdout)
    assert sum(t["points"] for t in explained["rating"]["terms"]) == 198

    assert tsunagu(tmp_path, "health", "show", "--seller", "sel_nobody").returncode == 1
    r = tsunagu(tmp_path, "health", "show", "--seller", seller, "-m", "XX")
    assert r.returncode == 2
    r = tsunagu(tmp_path, "health", "show", "--seller", seller, "--as-of", "yesterday")
    assert r.returncode == 2
    assert "invalid_date" in r.stderr
    for far in ("0001-01-01", "9999-12-31", "20261125"):  # out of range, or not YYYY-MM-DD
        r = tsunagu(tmp_path, "health", "show", "--seller", seller, "--as-of", far)
        assert (r.returncode, "invalid_date" in r.stderr, "Traceback" in r.stderr) == (
            2,
            True,
            False,
        ), r.stderr


def the_issues_store(db: Db) -> str:
    seller = make_seller(db, marketplaces=("JP",))
    logo = event(
        "violation_opened",
        seller,
        violation_id="V-logo",
        policy="receivedIntellectualPropertyComplaints",
        severity="low",
        when=at(-30),
    )
    cancelled = [
        placed(seller, "503-CXL", when=at(-2)),
        event("order_cancelled", seller, order_id="503-CXL", by="buyer", when=at(-1.5)),
    ]
    run(db, [*shipped_orders(seller, 150), logo, *cancelled])
    return seller


def test_forecast_of_the_issues_case_reaches_200_when_the_violation_ages_out(db: Db):
    seller = the_issues_store(db)
    jp = db.registry.require("JP")
    with db.session() as session:
        f = service.store_forecast(
            session, seller_id=seller, marketplace=jp, day=DAY, now=NOW, days=180
        )
    assert f.fulfilled_orders == health(db, seller).fulfilled_orders == 150
    assert (f.current.score, f.current.band) == (198, "at_risk")
    assert len(f.days) == 180
    assert f.days[0][0] == DAY + timedelta(days=1)
    opened = (NOW - timedelta(days=30)).astimezone(jp.tz).date()
    ages_out = opened + timedelta(days=180)
    scores = {d: r.score for d, r in f.days}
    assert scores[ages_out - timedelta(days=1)] == 198
    assert scores[ages_out] == 200
    assert dict(f.days)[ages_out].band == "healthy"


def test_what_if_on_the_issues_case_writes_nothing(db: Db):
    from tsunagu.core.errors import InvalidInput

    seller = the_issues_store(db)
    jp = db.registry.require("JP")

    def what_if(**kw: Any) -> tuple[int, int]:
        with db.session() as session:
            w = service.store_what_if(
                session, seller_id=seller, marketplace=jp, day=DAY, now=NOW, **kw
            )
        return w.now.score, w.after.score

    assert what_if(resolve=["V-logo"]) == (198, 200)
    assert what_if(add_orders=200) == (198, 202)
    assert what_if(resolve=["V-logo"], add_orders=200) == (198, 204)
    with pytest.raises(InvalidInput) as unknown:
        what_if(resolve=["V-nope"])
    assert unknown.value.code == "unknown_violation"
    assert unknown.value.details["value"] == "V-nope"
    assert health(db, seller).rating.score == 198


def test_cli_health_forecast_and_what_if(tmp_path: Path):
    seller = tsunagu(tmp_path, "sellers", "create", "--name", "Hanamizuki", "-m", "JP").stdout
    seller = seller.strip()
    logo = event(
        "violation_opened",
        seller,
        violation_id="V-logo",
        policy="receivedIntellectualPropertyComplaints",
        severity="low",
        when=at(-30),
    )
    events = write_jsonl(tmp_path / "events.jsonl", [*shipped_orders(seller, 150), logo])
    assert tsunagu(tmp_path, "events", "import", str(events)).returncode == 0

    base = ("--seller", seller, "-m", "JP", "--as-of", "2026-11-25")
    r = tsunagu(tmp_path, "health", "forecast", *base, "--days", "180", "--json")
    assert r.returncode == 0, r.stderr
    f = json.loads(r.stdout)
    assert f["current"]["score"] == 198
    assert len(f["days"]) == 180
    changes = [(d["day"], d["score"]) for d in f["days"] if d["score"] != 198]
    assert changes[0] == ("2027-04-24", 200)

    wide = {"COLUMNS": "160"}
    r = tsunagu(tmp_path, "health", "forecast", *base, "--days", "180", env=wide)
    assert r.returncode == 0, r.stderr
    assert "2027-04-24" in r.stdout
    assert "2027-04-23" not in r.stdout
    assert "2026-11-26" in r.stdout
    assert "2027-05-24" in r.stdout
    assert "only days where the score or band changes" in r.stdout

    args = ("health", "what-if", *base, "--resolve", "V-logo", "--add-orders", "200")
    r = tsunagu(tmp_path, *args, "--json")
    assert r.returncode == 0, r.stderr
    w = json.loads(r.stdout)
    assert (w["now"]["score"], w["after"]["score"], w["change"]) == (198, 204, 6)
    assert w["resolve"] == ["V-logo"]
    assert sum(t["points"] for t in w["after"]["terms"]) == 204

    r = tsunagu(tmp_path, *args, env=wide)
    assert r.returncode == 0, r.stderr
    assert "Now: 198 (at risk)" in r.stdout
    assert "After: 204 (healthy)" in r.stdout
    ja = tsunagu(tmp_path, *args, env={**wide, "TSUNAGU_LANG": "ja"})
    assert ja.returncode == 0, ja.stderr
    assert "現在: 198（リスクあり）" in ja.stdout
    assert "変更後: 204（健全）" in ja.stdout

    r = tsunagu(tmp_path, "health", "what-if", *base, "--resolve", "V-nope")
    assert r.returncode != 0
    assert "V-nope" in r.stderr
    assert tsunagu(tmp_path, "health", "forecast", *base, "--days", "0").returncode == 2


def test_the_report_of_the_trademark_case_is_v2_shaped(db: Db):
    seller = make_seller(db, marketplaces=("JP",))
    logo = event(
        "violation_opened",
        seller,
        violation_id="V-logo",
        policy="receivedIntellectualPropertyComplaints",
        severity="low",
        when=at(-30),
    )
    run(db, [*shipped_orders(seller, 150), logo])
    with db.session() as session:
        report = service.store_report(
            session, seller_id=seller, marketplace=db.registry.require("JP"), day=DAY, now=NOW
        )
    assert_valid_v2_report(report)
    assert report["accountStatuses"] == [{"marketplaceId": "A1VC38T7YXB528", "status": "AT_RISK"}]
    (item,) = report["performanceMetrics"]
    assert item["accountHealthRating"]["ahrScore"] == 198
    ip = item["receivedIntellectualPropertyComplaints"]
    assert (ip["defectsCount"], ip["status"]) == (1, "BAD")
    assert item["tsunaguFulfilledOrders"] == 150
    # the orders were shipped with tracking but never scanned
    assert item["validTrackingRate"]["targetCondition"] == "GREATER_THAN"


def test_cli_health_report_prints_json(tmp_path: Path):
    seller = tsunagu(tmp_path, "sellers", "create", "--name", "Hanamizuki", "-m", "JP").stdout
    seller = seller.strip()
    logo = event(
        "violation_opened",
        seller,
        violation_id="V-logo",
        policy="receivedIntellectualPropertyComplaints",
        severity="low",
        when=at(-30),
    )
    events = write_jsonl(tmp_path / "events.jsonl", [*shipped_orders(seller, 150), logo])
    assert tsunagu(tmp_path, "events", "import", str(events)).returncode == 0
    args = ("health", "report", "--seller", seller, "--marketplace", "JP", "--as-of", "2026-11-25")
    r = tsunagu(tmp_path, *args)
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert_valid_v2_report(report)
    assert report["accountStatuses"][0]["status"] == "AT_RISK"
    (item,) = report["performanceMetrics"]
    assert item["marketplaceId"] == "A1VC38T7YXB528"
    assert item["accountHealthRating"]["ahrScore"] == 198
    assert item["receivedIntellectualPropertyComplaints"]["defectsCount"] == 1
    bad = tsunagu(tmp_path, "health", "report", "--seller", seller, "-m", "JP", "--as-of", "x")
    assert bad.returncode == 2


def test_history_shows_the_step_when_the_violation_ages_out(db: Db):
    seller = make_seller(db, marketplaces=("JP",))
    logo = event(
        "violation_opened",
        seller,
        violation_id="V-logo",
        policy="receivedIntellectualPropertyComplaints",
        severity="low",
        when=at(-30),
    )
    run(db, [*shipped_orders(seller, 150), logo])
    later = datetime(2027, 5, 1, tzinfo=UTC)
    with db.session() as session:
        days = service.store_history(
            session,
            seller_id=seller,
            marketplace=db.registry.require("JP"),
            start=date(2027, 4, 21),
            end=date(2027, 4, 25),
            now=later,
        )
    series = [(h.day.isoformat(), h.rating.score, h.rating.band) for h in days]
    assert series == [
        ("2027-04-21", 198, "at_risk"),
        ("2027-04-22", 198, "at_risk"),
        ("2027-04-23", 198, "at_risk"),
        ("2027-04-24", 200, "healthy"),
        ("2027-04-25", 200, "healthy"),
    ]
    # each day equals a single-day evaluation of that day
    for h in days:
        assert health(db, seller, day=h.day, now=later).rating == h.rating


def test_history_reads_orders_older_than_one_days_reach(db: Db):
    seller = make_seller(db, marketplaces=("JP",))
    run(db, shipped_orders(seller, 400))
    with db.session() as session:
        days = service.store_history(
            session,
            seller_id=seller,
            marketplace=db.registry.require("JP"),
            start=DAY - timedelta(days=365),
            end=DAY,
            now=NOW,
        )
    assert len(days) == 366
    for h in (days[0], days[150], days[-1]):
        single = health(db, seller, day=h.day)
        assert (single.rating, single.fulfilled_orders) == (h.rating, h.fulfilled_orders)
        assert single.metrics == h.metrics


def test_history_range_is_limited(db: Db):
    from tsunagu.core.errors import InvalidInput

    seller = make_seller(db, marketplaces=("JP",))
    for start, end in ((DAY, DAY - timedelta(days=1)), (DAY - timedelta(days=366), DAY)):
        with db.session() as session, pytest.raises(InvalidInput) as error:
            service.store_history(
                session,
                seller_id=seller,
                marketplace=db.registry.require("JP"),
                start=start,
                end=end,
                now=NOW,
            )
        assert error.value.code == "invalid_range"


def test_cli_health_history_in_three_formats(tmp_path: Path):
    seller = tsunagu(tmp_path, "sellers", "create", "--name", "Hanamizuki", "-m", "JP").stdout
    seller = seller.strip()
    logo = event(
        "violation_opened",
        seller,
        violation_id="V-logo",
        policy="receivedIntellectualPropertyComplaints",
        severity="low",
        when=at(-2),
    )
    events = write_jsonl(tmp_path / "events.jsonl", [*shipped_orders(seller, 5), logo])
    assert tsunagu(tmp_path, "events", "import", str(events)).returncode == 0
    base = ("health", "history", "--seller", seller, "-m", "JP")
    span = ("--from", "2026-11-20", "--to", "2026-11-25")
    r = tsunagu(tmp_path, *base, *span, "--format", "json")
    assert r.returncode == 0, r.stderr
    found = json.loads(r.stdout)
    assert [d["score"] for d in found["days"]] == [200, 200, 200, 198, 198, 198]
    r = tsunagu(tmp_path, *base, *span, "--format", "csv")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("date,ahr_score,band,odr_mfn,late_shipment_rate_30")
    assert lines[-1].startswith("2026-11-25,198,at_risk,")
    assert len(lines) == 7
    r = tsunagu(tmp_path, *base, *span, env={"COLUMNS": "160"})
    assert r.returncode == 0, r.stderr
    assert "2026-11-25" in r.stdout
    assert "at risk" in r.stdout
    too_long = tsunagu(tmp_path, *base, "--from", "2025-01-01", "--to", "2026-11-25")
    assert too_long.returncode == 2
    assert "invalid_range" in too_long.stderr
    bad = tsunagu(tmp_path, *base, "--from", "yesterday", "--to", "2026-11-25")
    assert bad.returncode == 2
