"""Uploading Amazon's V2 report and comparing it with tsunagu, over real HTTP handling."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.api.test_api import assert_envelope, new_seller
from tests.auth import api_client
from tests.conftest import Db
from tests.factories import at, event, placed

DATA = Path(__file__).resolve().parent.parent / "data" / "amazon"


@pytest.fixture
def client(db: Db) -> Iterator[TestClient]:
    with api_client(db, max_body_bytes=64 * 1024) as c:
        yield c


def upload(client: TestClient, seller: str, name: str, market: str = "JP", **params: str):
    return client.post(
        f"/v1/sellers/{seller}/health/{market}/amazon-report",
        content=(DATA / name).read_bytes(),
        headers={"content-type": "application/json"},
        params={"filename": name, **params},
    )


def test_upload_then_compare(client: TestClient):
    seller = new_seller(client)
    events = [
        placed(seller, "503-1", when=at(-3), latest_ship_date=at(-2)),
        event("order_shipped", seller, order_id="503-1", tracking_id="T", when=at(-1)),
    ]
    assert client.post("/v1/events", json=events).status_code == 200
    url = f"/v1/sellers/{seller}/health/JP/compare"
    assert_envelope(client.get(url), 404, "no_snapshot")

    r = upload(client, seller, "v2-health-jp.json")
    assert r.status_code == 201, r.text
    stored = r.json()
    assert stored["outcome"] == "stored"
    snap = stored["snapshot"]
    assert (snap["report_date"], snap["ahr_score"], snap["ahr_status"]) == (
        "2026-11-25",
        212,
        "GREAT",
    )
    assert (snap["metric_count"], snap["source_name"]) == (9, "v2-health-jp.json")
    again = upload(client, seller, "v2-health-jp.json")
    assert again.status_code == 200, again.text
    assert (again.json()["outcome"], again.json()["snapshot"]["id"]) == ("duplicate", snap["id"])

    r = client.get(url, params={"as_of": "2026-11-25"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["report_date"], body["snapshot"]["id"], body["rate_tolerance"]) == (
        "2026-11-25",
        snap["id"],
        0.0005,
    )
    rows = {row["figure"]: row for row in body["rows"]}
    lsr = rows["late_shipment_rate_30.denominator"]
    assert (lsr["amazon"], lsr["tsunagu"], lsr["difference"]) == (301, 1, "differs")
    target = rows["order_defect_rate_mfn.target"]
    assert (target["amazon"], target["tsunagu"], target["difference"]) == (0.01, 0.01, "same")
    assert sum(body["counts"].values()) == len(body["rows"])
    # the report's date is 2026-11-25 in Tokyo and it prints reportingDateTo 2026-11-24 (UTC):
    # either day finds it (ADR 0037); the day before both finds none
    assert client.get(url, params={"as_of": "2026-11-24"}).json()["report_date"] == "2026-11-25"
    assert_envelope(client.get(url, params={"as_of": "2026-11-23"}), 404, "no_snapshot")


def test_upload_errors_use_the_envelope(client: TestClient):
    seller = new_seller(client, "Only JP", ("JP",))
    bad = assert_envelope(
        upload(client, seller, "v2-health-bad-rate.json"), 422, "invalid_report_value"
    )
    assert bad["details"]["path"] == "performanceMetrics[0].orderDefectRate.mfn.rate"
    assert_envelope(upload(client, seller, "v2-health-truncated.json"), 400, "invalid_json")
    missing = assert_envelope(
        upload(client, seller, "v2-health-us-only.json"), 422, "marketplace_not_in_report"
    )
    assert missing["details"]["found"] == ["ATVPDKIKX0DER"]
    assert_envelope(
        upload(client, seller, "v2-health-jp.json", "US"), 404, "marketplace_not_enabled"
    )
    assert_envelope(upload(client, "sel_nobody", "v2-health-jp.json"), 404, "seller_not_found")
    big = client.post(
        f"/v1/sellers/{seller}/health/JP/amazon-report",
        content=b" " * (65 * 1024),
        headers={"content-type": "application/json"},
    )
    assert_envelope(big, 413, "payload_too_large")
    assert_envelope(
        client.get(f"/v1/sellers/{seller}/health/JP/compare", params={"as_of": "x"}),
        422,
        "validation_error",
    )
