"""The alerts and explain routes through real HTTP handling against a real database."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from fastapi.testclient import TestClient

from tests.api.test_api import assert_envelope, new_seller
from tests.auth import api_client
from tests.conftest import Db
from tests.factories import NOW, at, event, placed
from tsunagu.core.db import unit_of_work
from tsunagu.health import alert_service


@pytest.fixture
def client(db: Db) -> Iterator[TestClient]:
    with api_client(db, max_body_bytes=256 * 1024) as c:
        yield c


def late_orders(seller: str, marketplace: str = "JP", prefix: str = "503-") -> list[dict]:
    """One on-time and one late shipment: a late shipment rate of 50 %."""
    return [
        placed(
            seller, f"{prefix}OK", marketplace=marketplace, when=at(-5), latest_ship_date=at(-4)
        ),
        event(
            "order_shipped",
            seller,
            marketplace=marketplace,
            order_id=f"{prefix}OK",
            tracking_id="T1",
            when=at(-4.5),
        ),
        placed(
            seller, f"{prefix}LATE", marketplace=marketplace, when=at(-5), latest_ship_date=at(-4)
        ),
        event(
            "order_shipped",
            seller,
            marketplace=marketplace,
            order_id=f"{prefix}LATE",
            tracking_id="T2",
            when=at(-3),
        ),
    ]


def test_alerts_are_listed_after_a_check_with_filters(client: TestClient, db: Db):
    seller = new_seller(client)
    events = [*late_orders(seller), *late_orders(seller, "US", "112-")]
    r = client.post("/v1/events", json=events)
    assert r.status_code == 200, r.text
    assert r.json()["stored"] == len(events)

    url = f"/v1/sellers/{seller}/alerts"
    empty = client.get(url)
    assert empty.status_code == 200, empty.text
    assert empty.json() == {"items": [], "next_cursor": None}  # reading never checks

    with unit_of_work(db.factory) as session:
        alert_service.check_seller(
            session, seller_id=seller, registry=db.registry, day=date(2026, 11, 25), now=NOW
        )
    r = client.get(url)
    assert r.status_code == 200, r.text
    # 50 % late misses both late shipment targets (10 and 30 days): one alert each, per store
    body = [a for a in r.json()["items"] if a["subject"] == "late_shipment_rate_30"]
    assert sorted(a["marketplace"] for a in body) == ["JP", "US"]
    assert sorted(a["subject"] for a in r.json()["items"]) == [
        "late_shipment_rate_10",
        "late_shipment_rate_10",
        "late_shipment_rate_30",
        "late_shipment_rate_30",
    ]
    jp = next(a for a in body if a["marketplace"] == "JP")
    assert (jp["kind"], jp["subject"], jp["raised_on"], jp["cleared_on"], jp["active"]) == (
        "metric_margin",
        "late_shipment_rate_30",
        "2026-11-25",
        None,
        True,
    )
    assert jp["id"].startswith("alr_")
    assert (jp["details"]["value"], jp["details"]["threshold"]) == (0.5, 0.03)
    assert (jp["details"]["level"], jp["details"]["target"]) == ("missed", 0.04)

    only_us = client.get(url, params={"marketplace": "US", "active": "true"}).json()["items"]
    assert [a["marketplace"] for a in only_us] == ["US", "US"]
    by_id = client.get(url, params={"marketplace": "ATVPDKIKX0DER"}).json()["items"]
    assert [a["marketplace"] for a in by_id] == ["US", "US"]


def test_alert_errors_use_the_envelope(client: TestClient):
    seller = new_seller(client, "Only JP", ("JP",))
    assert_envelope(client.get("/v1/sellers/sel_nobody/alerts"), 404, "seller_not_found")
    bad = client.get(f"/v1/sellers/{seller}/alerts", params={"marketplace": "XX"})
    assert_envelope(bad, 422, "unknown_marketplace")
    assert_envelope(
        client.get(f"/v1/sellers/{seller}/alerts", params={"active": "maybe"}),
        422,
        "validation_error",
    )


def test_explain_lists_every_term_and_the_ids_behind_each_metric(client: TestClient):
    seller = new_seller(client, "Hanamizuki", ("JP",))
    events = [
        *late_orders(seller),
        event(
            "violation_opened",
            seller,
            violation_id="V-logo",
            policy="receivedIntellectualPropertyComplaints",
            severity="low",
            when=at(-20),
        ),
    ]
    assert client.post("/v1/events", json=events).json()["stored"] == len(events)

    url = f"/v1/sellers/{seller}/health/JP/explain"
    r = client.get(url, params={"as_of": "2026-11-25"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["day"], body["rating"]["score"], body["rating"]["band"]) == (
        "2026-11-25",
        198,
        "at_risk",
    )
    terms = body["rating"]["terms"]
    assert [(t["kind"], t["points"]) for t in terms] == [
        ("base", 200),
        ("sales_credit", 0),
        ("violation", -2),
    ]
    assert sum(t["points"] for t in terms) == body["rating"]["score"]
    assert terms[2]["violation_id"] == "V-logo"
    metrics = {m["name"]: m for m in body["metrics"]}
    assert metrics["late_shipment_rate_30"]["ids"] == ["503-LATE"]
    assert "order_defect_rate_mfn" in metrics
    # the same content as the store's health, which leaves the ids to this route
    same = client.get(f"/v1/sellers/{seller}/health/JP", params={"as_of": "2026-11-25"}).json()
    for m in body["metrics"]:
        m["ids"] = []
    assert {k: v for k, v in same.items() if k != "evaluated_at"} == {
        k: v for k, v in body.items() if k != "evaluated_at"
    }


def test_explain_errors_use_the_envelope(client: TestClient):
    seller = new_seller(client, "Only JP", ("JP",))
    assert_envelope(client.get("/v1/sellers/sel_nobody/health/JP/explain"), 404, "seller_not_found")
    assert_envelope(
        client.get(f"/v1/sellers/{seller}/health/US/explain"), 404, "marketplace_not_enabled"
    )
    assert_envelope(
        client.get(f"/v1/sellers/{seller}/health/JP/explain", params={"as_of": "25/11/2026"}),
        422,
        "validation_error",
    )


def test_openapi_documents_both_routes(client: TestClient):
    spec = client.get("/openapi.json").json()
    alerts = spec["paths"]["/v1/sellers/{seller_id}/alerts"]["get"]
    assert {p["name"] for p in alerts["parameters"]} >= {"seller_id", "marketplace", "active"}
    assert alerts["description"]
    explain = spec["paths"]["/v1/sellers/{seller_id}/health/{marketplace}/explain"]["get"]
    assert explain["description"]
    example = explain["responses"]["200"]["content"]["application/json"]["example"]
    assert sum(t["points"] for t in example["rating"]["terms"]) == example["rating"]["score"]
    assert "AlertOut" in spec["components"]["schemas"]
