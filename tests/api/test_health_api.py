"""The health routes through real HTTP handling against a real database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.api.test_api import assert_envelope, new_seller
from tests.conftest import Db
from tests.factories import at, event, placed
from tsunagu.api.app import create_app
from tsunagu.core.settings import Settings


@pytest.fixture
def client(db: Db) -> Iterator[TestClient]:
    settings = Settings(database_url=db.url, max_body_bytes=64 * 1024)
    with TestClient(create_app(settings, migrate=False)) as c:
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
    assert (lsr["numerator"], lsr["denominator"], lsr["ids"]) == (1, 1, ["503-1"])
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
