"""The REST API through real HTTP handling (TestClient) against a real database file."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import orjson
import pytest
from fastapi.testclient import TestClient

from tests.auth import TEST_PUBLIC_URL, api_client, app_settings
from tests.conftest import Db
from tests.factories import at, event, placed
from tsunagu.settings import Settings
from tsunagu.slices import create_app


@pytest.fixture
def client(db: Db) -> Iterator[TestClient]:
    with api_client(db, max_body_bytes=64 * 1024) as c:
        yield c


def new_seller(
    client: TestClient, name: str = "Kyoto Tea Works", markets: tuple[str, ...] = ("JP", "US")
) -> str:
    r = client.post("/v1/sellers", json={"name": name, "marketplaces": list(markets)})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def assert_envelope(r, status: int, code: str) -> dict:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    return body["error"]


def test_create_list_and_show_sellers(client: TestClient):
    r = client.post(
        "/v1/sellers", json={"name": "Kyoto Tea Works", "marketplaces": ["A1VC38T7YXB528", "US"]}
    )
    assert r.status_code == 201
    created = r.json()
    assert [s["marketplace"] for s in created["stores"]] == ["JP", "US"]
    shown = client.get(f"/v1/sellers/{created['id']}").json()
    assert shown == created
    listed = client.get("/v1/sellers").json()
    assert [s["id"] for s in listed["items"]] == [created["id"]]


def test_seller_paging_walks_every_seller_once(client: TestClient):
    ids = {new_seller(client, f"s{n}") for n in range(5)}
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = client.get("/v1/sellers", params=params).json()
        seen += [s["id"] for s in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(ids)


def test_unknown_seller_is_404_with_the_envelope(client: TestClient):
    assert_envelope(client.get("/v1/sellers/sel_nope"), 404, "seller_not_found")
    assert_envelope(client.get("/v1/sellers/sel_nope/orders"), 404, "seller_not_found")


def test_bad_seller_body_is_422_with_field_details(client: TestClient):
    error = assert_envelope(
        client.post("/v1/sellers", json={"name": "", "marketplaces": []}), 422, "validation_error"
    )
    fields = {e["field"] for e in error["details"]["errors"]}
    assert {"name", "marketplaces"} <= fields
    assert_envelope(
        client.post("/v1/sellers", json={"name": "x", "marketplaces": ["XX"]}),
        422,
        "unknown_marketplace",
    )


def test_page_size_is_capped(client: TestClient):
    assert_envelope(client.get("/v1/sellers", params={"limit": 101}), 422, "validation_error")


def test_post_events_answers_per_item(client: TestClient):
    seller = new_seller(client)
    body = [
        event("feedback_posted", seller, order_id="503-1", rating=2, when=at(-1)),
        placed(seller, "503-1", when=at(-3)),
        {"event_id": "bad", "type": "order_placed"},
        event("order_delivered", "sel_other", order_id="x"),
    ]
    r = client.post("/v1/events", json=body)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert [x["status"] for x in answer["results"]] == ["stored", "stored", "rejected", "rejected"]
    assert (answer["stored"], answer["rejected"]) == (2, 2)
    assert answer["results"][3]["errors"][0]["code"] == "unknown_seller"
    again = client.post("/v1/events", json=body[:2]).json()
    assert [x["status"] for x in again["results"]] == ["duplicate", "duplicate"]


def test_post_events_needs_a_json_array(client: TestClient):
    assert_envelope(client.post("/v1/events", json={"event_id": "x"}), 400, "not_an_array")
    assert_envelope(
        client.post("/v1/events", content=b"{nope", headers={"content-type": "application/json"}),
        400,
        "invalid_json",
    )


def test_body_over_the_limit_is_413(client: TestClient):
    """API-06: the body limit holds for declared and streamed bodies."""
    big = orjson.dumps([{"pad": "x" * 1000}] * 100)
    assert_envelope(
        client.post("/v1/events", content=big, headers={"content-type": "application/json"}),
        413,
        "payload_too_large",
    )

    def chunks() -> Iterator[bytes]:
        yield b"["
        for _ in range(100):
            yield b'{"pad": "' + b"x" * 1000 + b'"},'
        yield b"{}]"

    assert_envelope(
        client.post("/v1/events", content=chunks(), headers={"content-type": "application/json"}),
        413,
        "payload_too_large",
    )


def test_orders_are_listed_newest_first_with_filters_and_paging(client: TestClient):
    seller = new_seller(client)
    events = [placed(seller, f"503-{n}", when=at(-n)) for n in range(1, 6)]
    events.append(event("order_cancelled", seller, order_id="503-2", by="seller", when=at(-1)))
    events.append(placed(seller, "112-1", marketplace="US", when=at(-2.5)))
    assert client.post("/v1/events", json=events).json()["rejected"] == 0
    page = client.get(f"/v1/sellers/{seller}/orders", params={"limit": 4}).json()
    assert [o["order_id"] for o in page["items"]] == ["503-1", "503-2", "112-1", "503-3"]
    rest = client.get(
        f"/v1/sellers/{seller}/orders", params={"limit": 4, "cursor": page["next_cursor"]}
    ).json()
    assert [o["order_id"] for o in rest["items"]] == ["503-4", "503-5"]
    assert rest["next_cursor"] is None
    jp_cancelled = client.get(
        f"/v1/sellers/{seller}/orders", params={"marketplace": "JP", "status": "cancelled"}
    ).json()
    assert [(o["order_id"], o["cancelled_by"]) for o in jp_cancelled["items"]] == [
        ("503-2", "seller")
    ]
    one = client.get(f"/v1/sellers/{seller}/orders/US/112-1").json()
    assert (one["currency"], one["items_total"]) == ("USD", 1980)
    assert_envelope(
        client.get(f"/v1/sellers/{seller}/orders", params={"cursor": "garbage"}),
        422,
        "invalid_cursor",
    )
    assert_envelope(
        client.get(f"/v1/sellers/{seller}/orders", params={"status": "lost"}), 422, "invalid_status"
    )


def test_errors_follow_accept_language(client: TestClient):
    r = client.get("/v1/sellers/sel_nope", headers={"accept-language": "ja-JP,ja;q=0.9"})
    assert r.json()["error"]["code"] == "seller_not_found"
    assert (
        r.json()["error"]["message"]
        != client.get("/v1/sellers/sel_nope").json()["error"]["message"]
    )


def test_probes_and_openapi(client: TestClient, db: Db):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"
    spec = client.get("/openapi.json").json()
    assert {"/v1/sellers", "/v1/events", "/v1/sellers/{seller_id}/orders"} <= set(spec["paths"])


def test_readyz_reports_an_unmigrated_database(tmp_path):
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'empty.db'}", public_url=TEST_PUBLIC_URL
    )
    with TestClient(create_app(settings, migrate=False)) as c:
        error = assert_envelope(c.get("/readyz"), 503, "schema_outdated")
    assert error["details"]["revision"] is None


def test_unknown_route_uses_the_envelope(client: TestClient):
    assert_envelope(client.get("/v1/nothing-here"), 404, "not_found")


def test_home_page_speaks_both_languages(client: TestClient):
    new_seller(client, "Kyoto Tea Works")
    en = client.get("/", headers={"accept-language": "en"}).text
    ja = client.get("/?lang=ja").text
    assert "Kyoto Tea Works" in en
    assert "Kyoto Tea Works" in ja
    assert '<html lang="ja">' in ja
    assert '<html lang="en">' in en


def test_settings_replace_keeps_limit(db: Db):
    # the body limit comes from settings, not a constant
    with api_client(db) as signed_in:
        token = signed_in.headers["Authorization"]
    s = replace(app_settings(db), max_body_bytes=10)
    with TestClient(create_app(s, migrate=False), headers={"Authorization": token}) as c:
        assert_envelope(
            c.post(
                "/v1/events", content=b"[1,2,3,4,5,6]", headers={"content-type": "application/json"}
            ),
            413,
            "payload_too_large",
        )


def test_reads_do_not_wait_for_a_writer(sqlite_db: Db):
    """With an import holding SQLite's write lock, API reads still answer from their snapshot."""
    with api_client(sqlite_db) as c:
        seller = new_seller(c)
        writer = sqlite_db.engine.connect()  # its transaction begins IMMEDIATE, as imports do
        try:
            writer.exec_driver_sql("UPDATE sellers SET name = 'renamed'")
            assert c.get(f"/v1/sellers/{seller}").json()["name"] == "Kyoto Tea Works"
        finally:
            writer.rollback()
            writer.close()


def test_an_exhausted_connection_pool_is_503_busy_not_500():
    """Overload (no database connection within the pool timeout) is reported as such."""
    from fastapi import FastAPI
    from fastapi.testclient import TestClient
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    from tsunagu.api import errors

    app = FastAPI()
    errors.install(app)

    @app.get("/slow")
    def slow() -> None:
        raise PoolTimeout("QueuePool limit of size 5 overflow 10 reached")

    r = TestClient(app, raise_server_exceptions=False).get("/slow")
    assert (r.status_code, r.json()["error"]["code"]) == (503, "busy")
    assert r.headers["retry-after"] == "1"
