"""The settlement routes through real HTTP handling against a real database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.api.test_api import assert_envelope, new_seller
from tests.auth import api_client
from tests.conftest import Db
from tests.factories import placed

DATA = Path(__file__).parent.parent / "data" / "amazon"
US_ORDERS = {
    "112-2611001-0000001": 2598,
    "112-2611002-0000002": 2003,
    "112-2611003-0000003": 3464,
    "112-2611004-0000004": 9634,
}


@pytest.fixture
def client(db: Db) -> Iterator[TestClient]:
    with api_client(db) as c:
        yield c


def _import(client: TestClient, seller: str, body: bytes, **params: str):
    return client.post(
        f"/v1/sellers/{seller}/imports/US/amazon-settlement",
        content=body,
        params={"filename": "settlement.txt", **params},
        headers={"Content-Type": "text/tab-separated-values"},
    )


def test_import_then_balance_and_entries(client: TestClient):
    seller = new_seller(client)
    events = [
        placed(seller, o, marketplace="US", when="2026-10-25T01:00:00Z", price=p)
        for o, p in US_ORDERS.items()
    ]
    assert client.post("/v1/events", json=events).json()["stored"] == 4

    r = _import(client, seller, (DATA / "settlement_v2_us.txt").read_bytes())
    assert r.status_code == 200, r.text
    report = r.json()
    assert (report["stored"], report["rejected"]) == (5, 0)
    assert (report["file"]["total"], report["file"]["posted"]) == (3294, 27)

    r = client.get(f"/v1/sellers/{seller}/stores/US/settlement")
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["balance"], body["currency"], body["held"], body["hold"]) == (
        3294,
        "USD",
        False,
        None,
    )
    assert body["next_disbursement"] is not None

    first = client.get(f"/v1/sellers/{seller}/stores/US/settlement/entries", params={"limit": 20})
    assert first.status_code == 200, first.text
    page = first.json()
    assert len(page["items"]) == 20
    assert page["next_cursor"]
    rest = client.get(
        f"/v1/sellers/{seller}/stores/US/settlement/entries",
        params={"limit": 20, "cursor": page["next_cursor"]},
    ).json()
    items = page["items"] + rest["items"]
    assert rest["next_cursor"] is None
    assert len({i["id"] for i in items}) == 27
    assert sum(i["amount"] for i in items) == 3294
    assert all(isinstance(i["amount"], int) for i in items)


def test_mismatched_report_is_422_and_writes_nothing(client: TestClient):
    seller = new_seller(client)
    text = (DATA / "settlement_v2_us.txt").read_text().replace("\t32.94\t", "\t32.95\t", 1)
    r = _import(client, seller, text.encode())
    error = assert_envelope(r, 422, "settlement_total_mismatch")
    assert (error["details"]["total"], error["details"]["rows_total"]) == (3295, 3294)
    assert client.get(f"/v1/sellers/{seller}/stores/US/settlement").json()["balance"] == 0


def test_other_sellers_settlement_is_404(db: Db, client: TestClient):
    seller = new_seller(client)
    with api_client(db, email="other@example.test") as other:
        for path in ("settlement", "settlement/entries"):
            r = other.get(f"/v1/sellers/{seller}/stores/US/{path}")
            assert_envelope(r, 404, "seller_not_found")


def test_bad_cursor_and_unknown_store(client: TestClient):
    seller = new_seller(client, "Only JP", ("JP",))
    r = client.get(f"/v1/sellers/{seller}/stores/US/settlement")
    assert_envelope(r, 404, "marketplace_not_enabled")
    r = client.get(f"/v1/sellers/{seller}/stores/JP/settlement/entries", params={"cursor": "x"})
    assert_envelope(r, 422, "invalid_cursor")
