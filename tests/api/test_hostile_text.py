"""API-10 "Hostile text" through the API and the dashboard, on SQLite and PostgreSQL (which
refuses NUL in text: every case here was a 500 there), with issue 11's small fixes that the API
shows: cursors tsunagu did not make, header-only uploads, a fractional health rating."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.test_api import assert_envelope, new_seller
from tests.auth import api_client
from tests.conftest import Db
from tests.factories import at, event, placed
from tsunagu.core.paging import encode_cursor

DATA = Path(__file__).parent.parent / "data" / "amazon"
ORDERS_HEADER = (DATA / "all-orders-us.txt").read_text(encoding="utf-8").split("\n", 1)[0]
UNSHIPPED_HEADER = (DATA / "unshipped-us.txt").read_text(encoding="utf-8").split("\n", 1)[0]
FEEDBACK_HEADER = (DATA / "feedback-us.txt").read_text(encoding="utf-8").split("\n", 1)[0]


@pytest.fixture
def client(db: Db) -> Iterator[TestClient]:
    with api_client(db, max_body_bytes=256 * 1024) as c:
        yield c


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/v1/sellers/{seller}/orders/US/112-4830291%00-5520147", "order_id"),
        ("/v1/sellers/{seller}/orders/US/%1B%5B2J", "order_id"),
        ("/v1/sellers/{seller}/orders/US/503%E2%80%AE1", "order_id"),  # a bidi override
        ("/v1/sellers/sel%00x", "seller_id"),
        ("/v1/sellers/sel%00x/orders", "seller_id"),
        ("/v1/sellers/{seller}/health/U%00S", "marketplace"),
        ("/v1/sellers/{seller}/imports/imp%00", "import_id"),
        ("/v1/points/JP/customers/cust%001", "customer"),
        ("/v1/sellers/{seller}/stores/US/points/offers/TEA%1B", "sku"),
        ("/v1/nothing/here%00", "path"),
    ],
)
def test_api_10_a_control_character_in_a_path_segment_is_422_naming_the_parameter(
    client: TestClient, path: str, field: str
):
    """API-10: an id in the path is printable; anything else is 422 ``invalid_value`` naming
    the path parameter (or ``path``), never a 500 from PostgreSQL."""
    seller = new_seller(client, markets=("US",))
    r = client.get(path.format(seller=seller))
    error = assert_envelope(r, 422, "invalid_value")
    assert error["details"]["field"] == field
    assert field in error["message"]


def test_api_10_a_dashboard_page_with_a_nul_in_its_path_is_an_error_page(client: TestClient):
    seller = new_seller(client, markets=("US",))
    for path in (f"/sellers/{seller}/orders/US/503%001", "/sellers/sel%00x/orders"):
        r = client.get(path, headers={"accept-language": "ja"})
        assert r.status_code == 422, r.text
        assert r.headers["content-type"].startswith("text/html")
        assert 'data-testid="error"' in r.text
        assert "invalid_value" in r.text
        assert "\x00" not in r.text


def test_api_10_events_with_control_characters_are_rejected_naming_the_field(
    client: TestClient,
):
    """API-10: NUL in an order id, a SKU, a message body or an unknown field of ``POST
    /v1/events`` is a rejected item with ``invalid_value`` on that field; the others are stored
    (PostgreSQL answered 500 for the whole request)."""
    seller = new_seller(client)
    good = placed(seller, "503-1234567-1234567", when=at(-3))
    sku = placed(seller, "503-0000000-0000002", when=at(-3))
    sku["items"][0]["sku"] = "MATCHA\x00"
    body = [
        good,
        placed(seller, "503-1\x00", when=at(-3)),
        sku,
        event("message_received", seller, message_id="m1", body="hello\x00"),
        placed(seller, "503-0000000-0000003", when=at(-3), note="gift\x1b[2J"),
        event("order_shipped", seller, order_id="503-1234567-1234567", carrier="Yamato\x9b"),
    ]
    r = client.post("/v1/events", json=body)
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["status"] for x in results] == ["stored"] + ["rejected"] * 5
    assert [(e["field"], e["code"]) for x in results[1:] for e in x["errors"]] == [
        ("order_id", "invalid_value"),
        ("items[0].sku", "invalid_value"),
        ("body", "invalid_value"),
        ("note", "invalid_value"),
        ("carrier", "invalid_value"),
    ]
    orders = client.get(f"/v1/sellers/{seller}/orders").json()["items"]
    assert [o["order_id"] for o in orders] == ["503-1234567-1234567"]


def test_api_10_a_seller_name_with_a_nul_is_422_naming_the_field(client: TestClient):
    for name in ("Kyoto\x00Tea", "Kyoto\x1b[2J"):
        r = client.post("/v1/sellers", json={"name": name, "marketplaces": ["JP"]})
        assert assert_envelope(r, 422, "invalid_value")["details"]["field"] == "name"
    assert client.get("/v1/sellers").json()["items"] == []


def _row(header: str, **cells: str) -> str:
    return "\t".join(cells.get(name.lower(), "") for name in header.split("\t"))


GOOD_ORDER = {
    "amazon-order-id": "112-4830291-5520147",
    "purchase-date": "2026-10-01T08:14:52-07:00",
    "order-status": "Shipped",
    "fulfillment-channel": "Merchant",
    "sales-channel": "Amazon.com",
    "sku": "MATCHA-UJI-100G",
    "quantity": "1",
    "currency": "USD",
    "item-price": "19.99",
}


def test_api_10_a_nul_in_an_uploaded_report_cell_is_a_row_error_naming_the_column(
    client: TestClient,
):
    """API-10 / IMP-04: the upload answers 200 with the row error (line, field, code, value);
    the good rows are stored. PostgreSQL answered 500 for the whole file."""
    seller = new_seller(client, markets=("US",))
    hostile = {**GOOD_ORDER, "amazon-order-id": "112-0000000-0000002", "sku": "MAT\x00CHA"}
    city = {**GOOD_ORDER, "amazon-order-id": "112-0000000-0000003", "ship-city": "Sea\x00ttle"}
    rows = [_row(ORDERS_HEADER, **cells) for cells in (GOOD_ORDER, hostile, city)]
    text = "\n".join([ORDERS_HEADER, *rows])
    r = client.post(
        f"/v1/sellers/{seller}/imports/US/amazon-orders", content=(text + "\n").encode()
    )
    assert r.status_code == 200, r.text
    report = r.json()
    assert [(e["line"], e["field"], e["code"], e["value"]) for e in report["errors"]] == [
        (3, "sku", "invalid_value", "MAT\x00CHA"),
        (4, "ship-city", "invalid_value", "***"),
    ]
    assert report["stored"] == 2  # order_placed and order_shipped of the good row
    unshipped = "\n".join(
        [
            UNSHIPPED_HEADER,
            _row(
                UNSHIPPED_HEADER,
                **{
                    "order-id": "112-4830291-5520147",
                    "purchase-date": "2026-10-01T08:14:52-07:00",
                    "promise-date": "2026-10-03T23:59:59-07:00",
                    "buyer-name": "Marcus\x00",
                },
            ),
        ]
    )
    feedback = "\n".join(
        [
            FEEDBACK_HEADER,
            _row(
                FEEDBACK_HEADER,
                **{
                    "date": "10/9/26",
                    "rating": "2",
                    "comments": "Late\x00!",
                    "order id": "112-4830291-5520147",
                },
            ),
        ]
    )
    for kind, body, field in (
        ("unshipped", unshipped, "buyer-name"),
        ("feedback", feedback, "comments"),
    ):
        r = client.post(
            f"/v1/sellers/{seller}/imports/US/amazon-{kind}", content=(body + "\n").encode()
        )
        assert r.status_code == 200, r.text
        assert [(e["line"], e["field"], e["code"]) for e in r.json()["errors"]] == [
            (2, field, "invalid_value")
        ]


def _paged_routes(client: TestClient) -> list[str]:
    spec = client.app.openapi()  # type: ignore[attr-defined]
    return sorted(
        url
        for url, item in spec["paths"].items()
        if any(p["name"] == "cursor" for p in item.get("get", {}).get("parameters", []))
    )


def test_item_11d_every_paged_route_refuses_a_cursor_it_did_not_make(client: TestClient, db: Db):
    """Item 11d: ``GET /v1/sellers?cursor=garbage`` listed sellers as if there were no cursor.
    Every route with a ``cursor`` (found in the OpenAPI description, so a new one is covered)
    answers 422 ``invalid_cursor`` to garbage and to a forged cursor carrying a NUL (API-10),
    asked by an operator, who may read every one of them."""
    seller = new_seller(client)
    forged = [encode_cursor(*(["2026-11-25T00:00:00Z"] * n)) for n in (1, 2, 3)]
    forged_nul = [encode_cursor(*(["x\x00"] * n)) for n in (1, 2, 3)]
    with api_client(db, email="operator@example.test", operator=True) as operator:
        routes = _paged_routes(operator)
        assert "/v1/sellers" in routes
        assert len(routes) >= 5, routes
        for url in routes:
            if "{webhook_id}" in url:  # a webhook's deliveries: test_notifications_api.py
                continue
            path = (
                url.replace("{seller_id}", seller)
                .replace("{marketplace}", "JP")
                .replace("{customer}", "cust-1")
            )
            assert operator.get(path).status_code == 200, path
            for cursor in ["garbage", "nope", *forged_nul]:
                r = operator.get(path, params={"cursor": cursor})
                assert_envelope(r, 422, "invalid_cursor")
            for cursor in forged:  # well-formed, maybe of another route's size: never a 500
                assert operator.get(path, params={"cursor": cursor}).status_code in (200, 422)


def test_item_11d_seller_paging_still_walks_every_seller(client: TestClient):
    ids = {new_seller(client, f"s{n}") for n in range(3)}
    first = client.get("/v1/sellers", params={"limit": 2}).json()
    rest = client.get("/v1/sellers", params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert {s["id"] for s in first["items"] + rest["items"]} == ids
    assert rest["next_cursor"] is None


@pytest.mark.parametrize(
    ("kind", "header"),
    [("orders", ORDERS_HEADER), ("unshipped", UNSHIPPED_HEADER), ("feedback", FEEDBACK_HEADER)],
)
def test_item_11f_a_header_only_upload_succeeds_and_says_no_rows(
    client: TestClient, kind: str, header: str
):
    """Item 11f: a report with a header and no rows (Amazon's answer when there is nothing to
    report) imports nothing, answers 200 and says so in ``file.warning``, as the CLI does."""
    seller = new_seller(client, markets=("US",))
    r = client.post(
        f"/v1/sellers/{seller}/imports/US/amazon-{kind}", content=(header + "\r\n\r\n").encode()
    )
    assert r.status_code == 200, r.text
    report = r.json()
    assert (report["read"], report["stored"], report["rejected"]) == (0, 0, 0)
    assert report["file"]["rows"] == 0
    assert report["file"]["warning"] == "no_rows"
    run = client.get(f"/v1/sellers/{seller}/imports/{report['import_id']}").json()
    assert run["status"] == "done"


def test_item_11e_an_ahr_of_200_5_is_refused_with_its_json_path(client: TestClient):
    seller = new_seller(client)
    report: dict[str, Any] = json.loads((DATA / "v2-health-jp.json").read_text(encoding="utf-8"))
    report["performanceMetrics"][0]["accountHealthRating"]["ahrScore"] = 200.5
    r = client.post(
        f"/v1/sellers/{seller}/health/JP/amazon-report",
        content=json.dumps(report).encode(),
        headers={"content-type": "application/json"},
    )
    error = assert_envelope(r, 422, "invalid_report_value")
    assert error["details"]["path"] == "performanceMetrics[0].accountHealthRating.ahrScore"
