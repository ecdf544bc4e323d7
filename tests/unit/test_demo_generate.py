"""The demo dataset: reproducible, consistent, and each required seller tells its story."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path

import pytest

from tsunagu.demo.generate import DemoDataset, generate, write_jsonl

AS_OF = date(2026, 11, 20)
AS_OF_MIDNIGHT = datetime(2026, 11, 20, tzinfo=UTC)
SMALL = 600  # orders; enough for every profile's floor, quick to build

Event = dict[str, object]


@cache
def small(seed: int = 7, sellers: int = 3) -> DemoDataset:
    return generate(seed=seed, sellers=sellers, orders=SMALL, as_of=AS_OF)


@cache
def default() -> DemoDataset:
    return generate(as_of=AS_OF)


def at(event: Event) -> datetime:
    return datetime.fromisoformat(str(event["at"]))


def seller_id(dataset: DemoDataset, profile: str) -> str:
    (seller,) = [s for s in dataset.sellers if s.profile == profile]
    return seller.id


def events_of(dataset: DemoDataset, seller: str, kind: str | None = None) -> list[Event]:
    return [e for e in dataset.events if e["seller"] == seller and kind in (None, e["type"])]


def by_order(events: list[Event]) -> dict[object, dict[str, list[Event]]]:
    """order_id -> event type -> events, for one seller in one marketplace."""
    orders: dict[object, dict[str, list[Event]]] = defaultdict(lambda: defaultdict(list))
    for event in events:
        if "order_id" in event:
            orders[event["order_id"]][str(event["type"])].append(event)
    return orders


def fulfilled_in_180_days(dataset: DemoDataset, seller: str) -> int:
    since = AS_OF_MIDNIGHT - timedelta(days=180)
    orders = by_order(events_of(dataset, seller))
    return sum(
        1
        for kinds in orders.values()
        if "order_shipped" in kinds
        and "order_cancelled" not in kinds
        and at(kinds["order_placed"][0]) >= since
    )


# -- reproducibility ------------------------------------------------------------------------------


def test_same_seed_gives_identical_events(tmp_path: Path) -> None:
    first = generate(seed=11, sellers=4, orders=SMALL, as_of=AS_OF)
    second = generate(seed=11, sellers=4, orders=SMALL, as_of=AS_OF)
    assert first == second
    write_jsonl(first, tmp_path / "a.jsonl")
    write_jsonl(second, tmp_path / "b.jsonl")
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()


def test_different_seed_gives_different_events() -> None:
    assert small(seed=7).events != small(seed=8).events


def test_required_profiles_come_first_and_extras_follow() -> None:
    dataset = small(sellers=5)
    assert [s.profile for s in dataset.sellers] == [
        "trademark_jp",
        "cancels_us",
        "healthy",
        "extra",
        "extra",
    ]
    assert [s.id for s in dataset.sellers] == [f"sel_demo7_{n:02d}" for n in range(1, 6)]
    assert dataset.sellers[0].marketplaces == ("JP",)
    assert dataset.sellers[1].marketplaces == ("US",)
    assert dataset.sellers[2].marketplaces == ("JP", "US")
    assert all(set(s.marketplaces) <= {"JP", "US"} and s.description for s in dataset.sellers)
    assert {e["seller"] for e in dataset.events} == {s.id for s in dataset.sellers}


def test_fewer_than_three_sellers_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 3"):
        generate(sellers=2, orders=SMALL, as_of=AS_OF)


def test_default_arguments_place_the_requested_number_of_orders() -> None:
    placed = [e for e in default().events if e["type"] == "order_placed"]
    assert len(placed) == 6000


# -- the required profiles ------------------------------------------------------------------------


@pytest.mark.parametrize("build", [small, default])
def test_trademark_seller_has_one_open_low_severity_ip_complaint(
    build: Callable[[], DemoDataset],
) -> None:
    dataset = build()
    seller = seller_id(dataset, "trademark_jp")
    (violation,) = events_of(dataset, seller, "violation_opened")
    assert violation["policy"] == "receivedIntellectualPropertyComplaints"
    assert violation["severity"] == "low"
    assert violation["marketplace"] == "JP"
    assert at(violation) >= AS_OF_MIDNIGHT - timedelta(days=90)
    assert re.fullmatch(r"B0[A-Z0-9]{8}", str(violation["asin"]))
    assert events_of(dataset, seller, "violation_resolved") == []
    assert fulfilled_in_180_days(dataset, seller) < 200


def test_trademark_seller_is_clean_apart_from_the_violation() -> None:
    dataset = default()
    events = events_of(dataset, seller_id(dataset, "trademark_jp"))
    assert {e["marketplace"] for e in events} == {"JP"}
    kinds = {e["type"] for e in events}
    assert not kinds & {"claim_filed", "chargeback_filed", "feedback_removed"}
    assert all(e["by"] == "buyer" for e in events if e["type"] == "order_cancelled")
    assert all(int(str(e["rating"])) >= 3 for e in events if e["type"] == "feedback_posted")
    assert all(e["satisfied"] for e in events if e["type"] == "cs_survey_answered")
    for kinds_of in by_order(events).values():
        placed = kinds_of["order_placed"][0]
        if kinds_of["order_shipped"] and placed["channel"] == "MFN":
            assert at(kinds_of["order_shipped"][0]) <= datetime.fromisoformat(
                str(placed["latest_ship_date"])
            )
        if kinds_of["order_delivered"] and placed["channel"] == "MFN":
            assert at(kinds_of["order_delivered"][0]) <= datetime.fromisoformat(
                str(placed["latest_delivery_date"])
            )
        shipped = kinds_of["order_shipped"]
        if shipped and at(shipped[0]) < AS_OF_MIDNIGHT - timedelta(days=1):
            assert kinds_of["tracking_scanned"], "every older parcel has a carrier scan"
    received = {e["message_id"]: at(e) for e in events if e["type"] == "message_received"}
    closed = {
        e["message_id"]: at(e)
        for e in events
        if e["type"] in ("message_answered", "message_no_response_needed")
    }
    for message_id, when in received.items():
        if when < AS_OF_MIDNIGHT - timedelta(days=1):
            assert closed[message_id] - when < timedelta(hours=24)


def test_cancels_seller_cancels_many_orders_for_lack_of_stock() -> None:
    dataset = small()
    seller = seller_id(dataset, "cancels_us")
    placed = events_of(dataset, seller, "order_placed")
    stock_outs = [
        e
        for e in events_of(dataset, seller, "order_cancelled")
        if e["by"] == "seller" and e["reason"] == "out_of_stock"
    ]
    assert len(stock_outs) / len(placed) > 0.05
    recent = [e for e in placed if at(e) >= AS_OF_MIDNIGHT - timedelta(days=30)]
    recent_ids = {e["order_id"] for e in recent}
    assert any(e["order_id"] in recent_ids for e in stock_outs)


def test_cancels_seller_has_lost_parcels_with_not_received_claims() -> None:
    dataset = small()
    orders = by_order(events_of(dataset, seller_id(dataset, "cancels_us")))
    lost = [
        kinds
        for kinds in orders.values()
        if kinds["order_shipped"]
        and kinds["order_shipped"][0]["tracking_id"]
        and not kinds["tracking_scanned"]
        and not kinds["order_delivered"]
        and any(c["reason"] == "not_received" for c in kinds["claim_filed"])
    ]
    assert len(lost) >= 5
    assert all(kinds["order_placed"][0]["channel"] == "MFN" for kinds in lost)
    outcomes = [[d["outcome"] for d in kinds["claim_decided"]] for kinds in lost]
    assert ["granted_seller_funded"] in outcomes, "some claims are decided against the seller"
    assert [] in outcomes, "some claims are still open"


def test_healthy_seller_has_thousands_of_orders_in_each_marketplace() -> None:
    dataset = default()
    placed = events_of(dataset, seller_id(dataset, "healthy"), "order_placed")
    for marketplace in ("JP", "US"):
        assert sum(e["marketplace"] == marketplace for e in placed) >= 2000


def test_healthy_seller_keeps_defects_well_under_targets() -> None:
    dataset = default()
    events = events_of(dataset, seller_id(dataset, "healthy"))
    for marketplace in ("JP", "US"):
        orders = by_order([e for e in events if e["marketplace"] == marketplace])
        mfn = [k for k in orders.values() if k["order_placed"][0]["channel"] == "MFN"]
        late = sum(
            1
            for k in mfn
            if k["order_shipped"]
            and at(k["order_shipped"][0])
            > datetime.fromisoformat(str(k["order_placed"][0]["latest_ship_date"]))
        )
        seller_cancels = sum(
            1 for k in mfn for c in k["order_cancelled"] if c["by"] in ("seller", "system")
        )
        defects = sum(
            1
            for k in orders.values()
            if k["claim_filed"]
            or k["chargeback_filed"]
            or any(int(str(f["rating"])) <= 2 for f in k["feedback_posted"])
        )
        assert late / len(mfn) < 0.02
        assert seller_cancels / len(mfn) < 0.01
        assert defects / len(orders) < 0.005


# -- consistency ----------------------------------------------------------------------------------


def test_order_events_follow_their_placement() -> None:
    dataset = small(sellers=4)
    placed: dict[tuple[object, object, object], datetime] = {}
    for event in dataset.events:  # the stream is chronological, so placement comes first
        key = (event["seller"], event["marketplace"], event.get("order_id"))
        if event["type"] == "order_placed":
            assert key not in placed, "order ids are unique per seller and marketplace"
            placed[key] = at(event)
        elif "order_id" in event:
            assert key in placed, f"{event['event_id']} refers to an order not placed earlier"
            assert at(event) >= placed[key]


def test_fulfilment_steps_happen_in_order() -> None:
    dataset = small(sellers=4)
    for seller in dataset.sellers:
        for marketplace in seller.marketplaces:
            events = [e for e in events_of(dataset, seller.id) if e["marketplace"] == marketplace]
            for kinds in by_order(events).values():
                steps = [
                    kinds[k][0]
                    for k in (
                        "order_placed",
                        "order_shipped",
                        "tracking_scanned",
                        "order_delivered",
                    )
                    if kinds[k]
                ]
                assert [at(e) for e in steps] == sorted(at(e) for e in steps)
                assert not (kinds["order_cancelled"] and kinds["order_shipped"])


def test_message_follow_ups_come_after_the_message() -> None:
    dataset = small(sellers=4)
    received: dict[object, datetime] = {}
    for event in dataset.events:
        if event["type"] == "message_received":
            assert event["message_id"] not in received
            assert "body" not in event, "message text is personal data"
            received[event["message_id"]] = at(event)
        elif event["type"] in ("message_answered", "message_no_response_needed"):
            assert at(event) >= received[event["message_id"]]


def test_event_ids_are_unique() -> None:
    ids = [e["event_id"] for e in default().events]
    assert len(ids) == len(set(ids))


def test_no_event_is_in_the_future_or_older_than_200_days() -> None:
    times = [at(e) for e in small(sellers=4).events]
    assert max(times) < AS_OF_MIDNIGHT
    assert min(times) >= AS_OF_MIDNIGHT - timedelta(days=200)
    assert times == sorted(times), "events come out in time order"


def test_events_carry_the_common_fields_in_utc() -> None:
    for event in small(sellers=4).events:
        assert {"event_id", "type", "seller", "marketplace", "at"} <= event.keys()
        assert event["marketplace"] in ("JP", "US")
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", str(event["at"]))


def test_money_fields_are_whole_minor_units() -> None:
    totals: dict[tuple[object, object, object], int] = {}
    for event in small(sellers=4).events:
        key = (event["seller"], event["marketplace"], event.get("order_id"))
        if event["type"] == "order_placed":
            us = event["marketplace"] == "US"
            assert event["currency"] == ("USD" if us else "JPY")
            assert re.fullmatch(r"\d{3}-\d{7}-\d{7}", str(event["order_id"]))
            items = event["items"]
            assert isinstance(items, list)
            assert items
            for item in items:
                assert type(item["price"]) is int
                assert item["price"] > 0
                assert ("tax" in item) == us
                if us:
                    assert type(item["tax"]) is int
            if "points" in event:
                assert not us
                assert type(event["points"]) is int
            totals[key] = sum(item["price"] for item in items)
        elif event["type"] == "refund_issued":
            assert type(event["amount"]) is int
            assert 0 < event["amount"] <= totals[key]


def test_write_jsonl_writes_one_event_per_line(tmp_path: Path) -> None:
    dataset = small()
    path = tmp_path / "demo.jsonl"
    count = write_jsonl(dataset, path)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert count == len(lines) == len(dataset.events)
    assert [json.loads(line) for line in lines] == list(dataset.events)
