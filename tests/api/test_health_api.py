"""The health routes through real HTTP handling against a real database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.amazon_schema import assert_valid_v2_report
from tests.api.test_api import assert_envelope, new_seller
from tests.auth import api_client
from tests.conftest import Db
from tests.factories import at, event, placed


@pytest.fixture
def client(db: Db) -> Iterator[TestClient]:
    with api_client(db, max_body_bytes=64 * 1024) as c:
        yield c


def test_health_of_all_stores_and_of_one(client: TestClient):
    seller = new_seller(client)
    events = [
        placed(seller, "503-1", when=at(-3), latest_ship_date=at(-2)),
        event("order_shipped", seller, order_id="503-1", tracking_id="T", when=at(-1)),
        event(
            "violation_opened",
            seller,
            violation_id="V-1",
            policy="receivedIntellectualPropertyComplaints",
            severity="low",
            when=at(-20),
        ),
    ]
    r = client.post("/v1/events", json=events)
    assert r.status_code == 200, r.text
    assert r.json()["stored"] == 3

    everything = client.get(f"/v1/sellers/{seller}/health", params={"as_of": "2026-11-25"})
    assert everything.status_code == 200, everything.text
    assert [h["marketplace"] for h in everything.json()] == ["JP", "US"]

    r = client.get(f"/v1/sellers/{seller}/health/JP", params={"as_of": "2026-11-25"})
    assert r.status_code == 200, r.text
    jp = r.json()
    assert jp["day"] == "2026-11-25"
    assert (jp["rating"]["score"], jp["rating"]["band"]) == (198, "at_risk")
    assert sum(t["points"] for t in jp["rating"]["terms"]) == 198
    lsr = {m["name"]: m for m in jp["metrics"]}["late_shipment_rate_30"]
    assert (lsr["numerator"], lsr["denominator"], lsr["ids"]) == (1, 1, [])  # ids: /explain
    assert lsr["window_to"] == "2026-11-25"

    us = client.get(f"/v1/sellers/{seller}/health/US").json()
    assert (us["rating"]["score"], us["rating"]["band"]) == (200, "healthy")


def test_health_errors_use_the_envelope(client: TestClient):
    only_jp = new_seller(client, "Only JP", ("JP",))
    assert_envelope(client.get("/v1/sellers/sel_nobody/health"), 404, "seller_not_found")
    assert_envelope(client.get("/v1/sellers/sel_nobody/health/JP"), 404, "seller_not_found")
    missing = client.get(f"/v1/sellers/{only_jp}/health/US")
    assert_envelope(missing, 404, "marketplace_not_enabled")
    bad = client.get(f"/v1/sellers/{only_jp}/health/JP", params={"as_of": "25/11/2026"})
    assert_envelope(bad, 422, "validation_error")


def the_issues_case(client: TestClient) -> str:
    seller = new_seller(client, "Hanamizuki", ("JP",))
    events = []
    for n in range(150):
        order_id = f"503-{n:07d}"
        events.append(placed(seller, order_id, when=at(-1 - n)))
        events.append(
            event(
                "order_shipped", seller, order_id=order_id, tracking_id=f"T{n}", when=at(-n - 0.5)
            )
        )
    events.append(
        event(
            "violation_opened",
            seller,
            violation_id="V-logo",
            policy="receivedIntellectualPropertyComplaints",
            severity="low",
            when=at(-30),
        )
    )
    r = client.post("/v1/events", json=events)
    assert r.status_code == 200, r.text
    assert r.json()["stored"] == len(events)
    return seller


def test_forecast_and_what_if_of_the_issues_case(client: TestClient):
    seller = the_issues_case(client)
    url = f"/v1/sellers/{seller}/health/JP"
    r = client.get(f"{url}/forecast", params={"as_of": "2026-11-25", "days": 180})
    assert r.status_code == 200, r.text
    f = r.json()
    assert (f["day"], f["current"]["score"], f["fulfilled_orders"]) == ("2026-11-25", 198, 150)
    assert len(f["days"]) == 180
    assert f["days"][0]["day"] == "2026-11-26"
    by_day = {d["day"]: d for d in f["days"]}
    assert (by_day["2027-04-23"]["score"], by_day["2027-04-23"]["band"]) == (198, "at_risk")
    assert (by_day["2027-04-24"]["score"], by_day["2027-04-24"]["band"]) == (200, "healthy")
    assert len(client.get(f"{url}/forecast", params={"as_of": "2026-11-25"}).json()["days"]) == 90

    params: dict[str, object] = {"as_of": "2026-11-25", "resolve": ["V-logo"], "add_orders": 200}
    r = client.get(f"{url}/what-if", params=params)
    assert r.status_code == 200, r.text
    w = r.json()
    assert (w["now"]["score"], w["after"]["score"], w["change"]) == (198, 204, 6)
    assert w["resolve"] == ["V-logo"]
    assert sum(t["points"] for t in w["now"]["terms"]) == 198
    assert sum(t["points"] for t in w["after"]["terms"]) == 204
    only = client.get(f"{url}/what-if", params={"as_of": "2026-11-25", "resolve": "V-logo"})
    assert only.json()["after"]["score"] == 200
    more = client.get(f"{url}/what-if", params={"as_of": "2026-11-25", "add_orders": 200})
    assert more.json()["after"]["score"] == 202
    # nothing was written
    assert client.get(url, params={"as_of": "2026-11-25"}).json()["rating"]["score"] == 198


def test_forecast_and_what_if_errors_use_the_envelope(client: TestClient):
    seller = the_issues_case(client)
    for path in ("forecast", "what-if"):
        assert_envelope(
            client.get(f"/v1/sellers/sel_nobody/health/JP/{path}"), 404, "seller_not_found"
        )
        missing = client.get(f"/v1/sellers/{seller}/health/US/{path}")
        assert_envelope(missing, 404, "marketplace_not_enabled")
        bad = client.get(f"/v1/sellers/{seller}/health/JP/{path}", params={"as_of": "x"})
        assert_envelope(bad, 422, "validation_error")
    url = f"/v1/sellers/{seller}/health/JP"
    for days in (0, 366, "many"):
        r = client.get(f"{url}/forecast", params={"days": days})
        assert_envelope(r, 422, "validation_error")
    for count in (-1, 1_000_001):
        r = client.get(f"{url}/what-if", params={"add_orders": count})
        assert_envelope(r, 422, "validation_error")
    unknown = client.get(f"{url}/what-if", params={"resolve": ["V-logo", "V-nope"]})
    error = assert_envelope(unknown, 422, "unknown_violation")
    assert error["details"]["value"] == "V-nope"
    assert "V-nope" in error["message"]


def test_report_of_the_issues_case_is_v2_shaped(client: TestClient):
    seller = the_issues_case(client)
    url = f"/v1/sellers/{seller}/health/JP/report"
    r = client.get(url, params={"as_of": "2026-11-25"})
    assert r.status_code == 200, r.text
    report = r.json()
    assert_valid_v2_report(report)
    assert report["accountStatuses"] == [{"marketplaceId": "A1VC38T7YXB528", "status": "AT_RISK"}]
    (item,) = report["performanceMetrics"]
    assert (item["accountHealthRating"]["ahrScore"], item["accountHealthRating"]["ahrStatus"]) == (
        198,
        "WARNED",
    )
    assert item["receivedIntellectualPropertyComplaints"]["defectsCount"] == 1
    assert item["accountHealthRating"]["reportingDateRange"] == {
        "reportingDateFrom": "2026-05-29T15:00:00Z",
        "reportingDateTo": "2026-11-25T15:00:00Z",
    }
    assert set(item["orderDefectRate"]) == {"mfn", "afn"}
    assert_envelope(client.get("/v1/sellers/sel_nobody/health/JP/report"), 404, "seller_not_found")
    missing = client.get(f"/v1/sellers/{seller}/health/US/report")
    assert_envelope(missing, 404, "marketplace_not_enabled")
    assert_envelope(client.get(url, params={"as_of": "x"}), 422, "validation_error")


def test_history_of_the_issues_case(client: TestClient):
    seller = the_issues_case(client)
    url = f"/v1/sellers/{seller}/health/JP/history"
    r = client.get(url, params={"from": "2026-11-20", "to": "2026-11-25"})
    assert r.status_code == 200, r.text
    h = r.json()
    assert (h["start"], h["end"], h["marketplace"]) == ("2026-11-20", "2026-11-25", "JP")
    assert [d["day"] for d in h["days"]][::5] == ["2026-11-20", "2026-11-25"]
    assert all((d["score"], d["band"]) == (198, "at_risk") for d in h["days"])
    assert {"order_defect_rate_mfn", "late_shipment_rate_30", "valid_tracking_rate"} <= set(
        h["days"][0]
    )
    too_long = client.get(url, params={"from": "2025-01-01", "to": "2026-11-25"})
    assert_envelope(too_long, 422, "invalid_range")
    backwards = client.get(url, params={"from": "2026-11-25", "to": "2026-11-20"})
    assert_envelope(backwards, 422, "invalid_range")
    assert_envelope(
        client.get(url, params={"from": "x", "to": "2026-11-25"}), 422, "validation_error"
    )
    assert_envelope(client.get(url), 422, "validation_error")
    assert_envelope(
        client.get(
            "/v1/sellers/sel_nobody/health/JP/history",
            params={"from": "2026-11-20", "to": "2026-11-25"},
        ),
        404,
        "seller_not_found",
    )
