"""The points routes (issue 15) over HTTP, on SQLite and PostgreSQL: checkout redemptions with
an ``Idempotency-Key`` (LED-03) that never overdraw a balance however many arrive at once
(LED-01), whole numbers only (LED-08), who may call what, and a store's settings, offers, badge
and cost statement with a customer's balance, history and expiry.

The concurrency tests run a real server (uvicorn on a thread) and give every request thread an
HTTP client of its own, as separate checkout processes would."""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.api.test_api import assert_envelope
from tests.auth import PASSWORD, app_settings, create_user, sign_in
from tests.conftest import Db
from tests.factories import ingest_events, make_seller
from tests.integration.test_points_ledger import iso, order, shipped
from tsunagu.core.clock import utcnow
from tsunagu.core.db import unit_of_work
from tsunagu.core.ids import new_id
from tsunagu.customers.service import ensure_customer
from tsunagu.points import repo, service
from tsunagu.points.models import PointsEntry
from tsunagu.points.redemptions import check_request
from tsunagu.slices import create_app

OWNER = "points-owner@example.test"
OTHER = "points-other@example.test"
OPERATOR = "points-operator@example.test"
#: long enough ago that the balances it starts have expired by now
T0 = datetime(2025, 3, 1, 3, 0, tzinfo=UTC)
REDEEM = "/v1/points/redemptions"
EARN = "/v1/points/earnings"


def _config(tmp_path: Path, wait: float) -> Path:
    path = tmp_path / "tsunagu.toml"
    path.write_text(f"[points]\nidempotency_wait_seconds = {wait}\n")
    return path


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _redemption(order_id: str, points: int = 30, customer: str = "cust-1") -> dict[str, Any]:
    return {"customer": customer, "marketplace": "JP", "order_id": order_id, "points": points}


def _earning(points: int, customer: str = "cust-1") -> dict[str, Any]:
    return {"customer": customer, "marketplace": "JP", "points": points, "source": "card"}


def _redeem_entries(db: Db) -> list[PointsEntry]:
    with db.factory() as session:
        return list(session.scalars(select(PointsEntry).where(PointsEntry.kind == "redeem")))


def _reconciled(db: Db) -> None:
    """LED-02 after the requests: every account's entries add up, no balance below zero."""
    with unit_of_work(db.factory) as session:
        found = service.reconcile(session)
    assert found.ok, found


# -- a real server for the concurrency tests ----------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Live:
    base: str
    auth: dict[str, str]

    def post(self, path: str, body: dict[str, Any], key: str | None = None) -> httpx.Response:
        """One request on a client of its own (a checkout process of its own)."""
        headers = {**self.auth, **({"Idempotency-Key": key} if key else {})}
        with httpx.Client(base_url=self.base, timeout=120) as client:
            return client.post(path, json=body, headers=headers)

    def get(self, path: str) -> httpx.Response:
        with httpx.Client(base_url=self.base, timeout=120) as client:
            return client.get(path, headers=self.auth)


@contextmanager
def live_server(db: Db, config: Path) -> Iterator[Live]:
    """The application on a real socket, signed in as a platform operator."""
    create_user(db, OPERATOR, operator=True)
    port = _free_port()
    app = create_app(app_settings(db, config_path=config), migrate=False)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            if server.started:
                break
            time.sleep(0.05)
        assert server.started, "the server did not start"
        signed = httpx.post(
            f"{base}/v1/auth/sign-in", json={"email": OPERATOR, "password": PASSWORD}
        )
        assert signed.status_code == 200, signed.text
        yield Live(base, _bearer(signed.json()["token"]))
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def _at_once(count: int, call: Any) -> list[httpx.Response]:
    """``call(i)`` on ``count`` threads released together."""
    start = threading.Barrier(count)

    def one(i: int) -> httpx.Response:
        start.wait()
        result: httpx.Response = call(i)
        return result

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(one, range(count)))


def _code(r: httpx.Response) -> str | None:
    body = r.json()
    return str(body["error"]["code"]) if "error" in body else None


def test_led03_one_key_sent_ten_times_serially_and_at_once_spends_once(db: Db, tmp_path: Path):
    """LED-03: the same key and body, 10× one after another and 10× at the same instant: one
    ledger ``redeem`` entry per key and the identical status and body for every request (the
    repeats marked ``Idempotent-Replayed``); the key with another body is 422
    ``idempotency_mismatch`` and spends nothing."""
    with live_server(db, _config(tmp_path, wait=30)) as live:
        assert live.post(EARN, _earning(1000), "e-1").status_code == 200

        serial = [live.post(REDEEM, _redemption("O-1"), "k-serial") for _ in range(10)]
        assert {r.status_code for r in serial} == {201}
        assert len({r.content for r in serial}) == 1
        assert [r.headers.get("idempotent-replayed") for r in serial] == [None] + ["true"] * 9
        assert serial[0].json()["available"] == 970

        together = _at_once(10, lambda _: live.post(REDEEM, _redemption("O-2"), "k-together"))
        assert {r.status_code for r in together} == {201}, [r.text for r in together]
        assert len({r.content for r in together}) == 1
        assert sum(r.headers.get("idempotent-replayed") is None for r in together) == 1
        assert together[0].json()["available"] == 940

        other = live.post(REDEEM, _redemption("O-2", points=31), "k-together")
        assert_envelope(other, 422, "idempotency_mismatch")
        balance = live.get("/v1/points/JP/customers/cust-1").json()
    entries = _redeem_entries(db)
    assert sorted(e.redemption_id or "" for e in entries) == sorted(
        [serial[0].json()["redemption_id"], together[0].json()["redemption_id"]]
    )
    assert (balance["available"], balance["pending"]) == (940, 0)
    _reconciled(db)


def test_led01_fifty_redemptions_at_once_over_http_never_overdraw(db: Db, tmp_path: Path):
    """LED-01 through HTTP: 1,000 points available, 50 redemptions of 30 at the same instant,
    each with its own key and client: exactly 33 answer 201 and 17 answer 422
    ``insufficient_points``, nothing else; 10 points are left."""
    with live_server(db, _config(tmp_path, wait=30)) as live:
        assert live.post(EARN, _earning(1000), "e-1").status_code == 200
        answers = _at_once(50, lambda i: live.post(REDEEM, _redemption(f"O-{i}"), f"k-{i}"))
        balance = live.get("/v1/points/JP/customers/cust-1").json()
    outcomes = Counter((r.status_code, _code(r)) for r in answers)
    assert outcomes == {(201, None): 33, (422, "insufficient_points"): 17}, outcomes
    assert balance["available"] == 10
    assert sorted(r.json()["available"] for r in answers if r.status_code == 201) == list(
        range(10, 1000, 30)
    )
    assert len(_redeem_entries(db)) == 33
    _reconciled(db)


def test_led03_a_key_still_in_flight_is_409_and_with_another_body_422(db: Db, tmp_path: Path):
    """LED-03: while the first request with a key has not finished (its claim is in the
    database, here committed by hand), the same request is 409 ``idempotency_in_flight`` (the
    wait is 0 seconds in the config file) and another body 422 ``idempotency_mismatch``;
    neither spends anything."""
    create_user(db, OPERATOR, operator=True)
    app = create_app(app_settings(db, config_path=_config(tmp_path, wait=0)), migrate=False)
    body = _redemption("O-1")
    first = check_request(
        marketplace=db.registry.require("JP"),
        customer="cust-1",
        order_id="O-1",
        points=30,
        key="k-flight",
        lines=None,
    )
    with unit_of_work(db.factory) as session:
        customer = ensure_customer(session, marketplace="JP", external_id="cust-1", now=utcnow())
        assert repo.claim_redemption(
            session,
            {
                "id": new_id("red"),
                "marketplace": "JP",
                "key": "k-flight",
                "request_hash": first.fingerprint(),
                "customer_id": customer.id,
                "order_id": "O-1",
                "points": 30,
                "state": "in_flight",
                "claimed_at": utcnow(),
            },
        )
    with TestClient(app) as client:
        auth = {**_bearer(sign_in(client, OPERATOR)), "Idempotency-Key": "k-flight"}
        assert_envelope(client.post(REDEEM, json=body, headers=auth), 409, "idempotency_in_flight")
        assert_envelope(
            client.post(REDEEM, json={**body, "points": 29}, headers=auth),
            422,
            "idempotency_mismatch",
        )
    assert _redeem_entries(db) == []


# -- whole numbers, keys, access ------------------------------------------------------------------


@dataclass
class World:
    client: TestClient
    seller: str
    other_seller: str
    owner: dict[str, str]
    other: dict[str, str]
    operator: dict[str, str]


@pytest.fixture
def world(db: Db, tmp_path: Path) -> Iterator[World]:
    seller = make_seller(db, marketplaces=("JP", "US"))
    other_seller = make_seller(db, name="Other Shop", marketplaces=("JP",))
    create_user(db, OWNER, owner_of=[seller])
    create_user(db, OTHER, owner_of=[other_seller])
    create_user(db, OPERATOR, operator=True)
    settings = app_settings(db, config_path=_config(tmp_path, wait=2))
    with TestClient(create_app(settings, migrate=False)) as client:

        def bearer(email: str) -> dict[str, str]:
            return _bearer(sign_in(client, email))

        yield World(client, seller, other_seller, bearer(OWNER), bearer(OTHER), bearer(OPERATOR))


def _earn(w: World, points: int, key: str, customer: str = "cust-1") -> dict[str, Any]:
    r = w.client.post(
        EARN, json=_earning(points, customer), headers={**w.operator, "Idempotency-Key": key}
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_led08_points_and_prices_are_whole_numbers_never_floats_or_strings(world: World):
    """LED-08: 30.0, 30.5, "30" and true for points, and 1200.0 or "1200" for a line's price,
    are 422 ``validation_error`` naming the field; so are fractional or string points to earn
    or adjust and a fractional rate. Nothing is spent."""
    w = world
    _earn(w, 100, "e-1")
    key = {**w.operator, "Idempotency-Key": "k-1"}
    for points in (30.0, 30.5, "30", True):
        r = w.client.post(REDEEM, json={**_redemption("O-1"), "points": points}, headers=key)
        error = assert_envelope(r, 422, "validation_error")
        assert [e["field"] for e in error["details"]["errors"]] == ["points"]
    for price in (1200.0, "1200"):
        body = {**_redemption("O-1"), "lines": [{"category": "ebook", "price": price}]}
        error = assert_envelope(
            w.client.post(REDEEM, json=body, headers=key), 422, "validation_error"
        )
        assert [e["field"] for e in error["details"]["errors"]] == ["lines.0.price"]
    earn = {"customer": "cust-1", "marketplace": "JP", "points": 5.0, "source": "card", "key": "e"}
    assert_envelope(w.client.post(EARN, json=earn, headers=w.operator), 422, "validation_error")
    adjust = {"customer": "cust-1", "marketplace": "JP", "points": "-5", "note": "x", "key": "a"}
    assert_envelope(
        w.client.post("/v1/points/adjustments", json=adjust, headers=w.operator),
        422,
        "validation_error",
    )
    store = f"/v1/sellers/{w.seller}/stores/JP/points"
    for body in ({"rate": 2.0}, {"rate": "2"}, {"badge": "true"}):
        assert_envelope(w.client.put(store, json=body, headers=w.owner), 422, "validation_error")
    balance = w.client.get("/v1/points/JP/customers/cust-1", headers=w.operator).json()
    assert balance["available"] == 100


def test_a_redemption_needs_its_key_and_is_refused_with_stable_codes(world: World):
    """No ``Idempotency-Key`` is 400 ``idempotency_key_required``; a refusal is stored with its
    key and answered again as it was (``insufficient_points``, ``exceeds_eligible_amount``
    with only the eligible lines counted)."""
    w = world
    _earn(w, 100, "e-1")
    assert_envelope(
        w.client.post(REDEEM, json=_redemption("O-1"), headers=w.operator),
        400,
        "idempotency_key_required",
    )
    short = {**w.operator, "Idempotency-Key": "k-short"}
    first = w.client.post(REDEEM, json=_redemption("O-1", points=101), headers=short)
    error = assert_envelope(first, 422, "insufficient_points")
    assert error["details"] == {"available": 100, "wanted": 101}
    _earn(w, 100, "e-2")
    again = w.client.post(REDEEM, json=_redemption("O-1", points=101), headers=short)
    assert (again.status_code, again.content) == (first.status_code, first.content)
    lines = [{"category": "gift_card", "price": 5000}, {"category": "ebook", "price": 80}]
    mixed = {**_redemption("O-2", points=81), "lines": lines}
    error = assert_envelope(
        w.client.post(REDEEM, json=mixed, headers={**w.operator, "Idempotency-Key": "k-mixed"}),
        422,
        "exceeds_eligible_amount",
    )
    assert error["details"] == {"eligible": 80, "wanted": 81}
    for field in ("customer", "order_id"):
        hostile = {**_redemption("O-3"), field: "O\x00-3"}
        r = w.client.post(REDEEM, json=hostile, headers={**w.operator, "Idempotency-Key": "k-h"})
        assert assert_envelope(r, 422, "invalid_value")["details"]["field"] == field
    paid = {**mixed, "points": 80}
    r = w.client.post(REDEEM, json=paid, headers={**w.operator, "Idempotency-Key": "k-paid"})
    assert r.status_code == 201, r.text
    assert r.json()["available"] == 120
    assert set(r.json()) == {
        "redemption_id",
        "customer",
        "marketplace",
        "order_id",
        "points",
        "available",
    }


def test_customers_points_are_for_platform_operators_only(world: World):
    """A seller's user reads no customer's balance and spends no one's points (403
    ``forbidden``); a platform operator does. An operator's ``read`` API token reads but
    changes nothing."""
    w = world
    _earn(w, 50, "e-1")
    for headers in (w.owner, w.other):
        for method, url, body in (
            ("GET", "/v1/points/JP/customers/cust-1", None),
            ("GET", "/v1/points/JP/customers/cust-1/entries", None),
            ("GET", "/v1/points/JP/expiries", None),
            ("POST", REDEEM, _redemption("O-1")),
            ("POST", EARN, {**_earning(5), "key": "e-9"}),
            ("POST", "/v1/points/expiry-runs", {}),
        ):
            r = w.client.request(
                method, url, json=body, headers={**headers, "Idempotency-Key": "k-1"}
            )
            assert_envelope(r, 403, "forbidden")
    balance = w.client.get("/v1/points/JP/customers/cust-1", headers=w.operator).json()
    assert set(balance) == {"customer", "marketplace", "pending", "available", "expires_at"}
    assert (balance["customer"], balance["pending"], balance["available"]) == ("cust-1", 0, 50)
    assert balance["expires_at"] is not None
    created = w.client.post(
        "/v1/auth/tokens",
        json={"name": "points reader", "scope": "read", "seller_ids": [w.seller]},
        headers=w.operator,
    )
    assert created.status_code == 201, created.text
    reader = _bearer(created.json()["token"])
    r = w.client.get("/v1/points/JP/customers/cust-1", headers=reader)
    assert r.json()["available"] == 50
    spend = {**reader, "Idempotency-Key": "k-token"}
    assert_envelope(w.client.post(REDEEM, json=_redemption("O-1"), headers=spend), 403, "forbidden")
    assert _earn(w, 1, "e-2")["available"] == 51


def test_a_store_programme_follows_the_seller_access_rule(world: World):
    """A seller's user reads and sets its own store's points, never another seller's (404
    ``seller_not_found``, as if it did not exist); an operator reads every store and changes
    none (403)."""
    w = world
    mine = f"/v1/sellers/{w.seller}/stores/JP/points"
    theirs = f"/v1/sellers/{w.other_seller}/stores/JP/points"
    assert w.client.get(mine, headers=w.owner).status_code == 200
    for suffix in ("", "/offers", "/statement"):
        assert_envelope(w.client.get(theirs + suffix, headers=w.owner), 404, "seller_not_found")
    assert_envelope(
        w.client.put(theirs, json={"rate": 5}, headers=w.owner), 404, "seller_not_found"
    )
    assert_envelope(
        w.client.put(theirs + "/offers/TEA", json={"rate": 5}, headers=w.owner),
        404,
        "seller_not_found",
    )
    assert w.client.get(theirs, headers=w.operator).status_code == 200
    assert_envelope(w.client.put(theirs, json={"rate": 5}, headers=w.operator), 403, "forbidden")
    assert_envelope(
        w.client.get(f"/v1/sellers/{w.seller}/stores/DE/points", headers=w.owner),
        404,
        "unknown_marketplace",
    )


# -- a store's programme and a customer's points, end to end ------------------------------------


def test_rate_badge_offers_statement_balance_history_and_expiry(world: World, db: Db):
    """A store sets 2% and joins the badge: its offers at 2% or more carry ``points_badge``
    (filterable, counted in the settings). An order of ¥1,000 earns 20 points, available once
    settled; the history says why, newest first; the statement charges the store 20; the
    balance shows in the upcoming expiries and expires a year later, once."""
    w = world
    store = f"/v1/sellers/{w.seller}/stores/JP/points"
    before = w.client.get(store, headers=w.owner).json()
    assert (before["rate"], before["rate_set"], before["badge"], before["enabled"]) == (
        1,
        False,
        False,
        True,
    )
    r = w.client.put(store, json={"rate": 2, "badge": True}, headers=w.owner)
    assert r.status_code == 200, r.text
    assert (r.json()["rate"], r.json()["rate_set"], r.json()["badge"]) == (2, True, True)
    for sku, body in (
        ("TEA-A", {"rate": None, "category": "tea"}),
        ("TEA-B", {"rate": 1}),
        ("GIFT", {"rate": 5, "category": "Gift_Card"}),
    ):
        r = w.client.put(f"{store}/offers/{sku}", json=body, headers=w.owner)
        assert r.status_code == 200, r.text
    assert r.json() == {
        "sku": "GIFT",
        "category": "gift_card",
        "rate": 5,
        "effective_rate": 5,
        "points_badge": True,
    }

    def skus(**params: Any) -> list[str]:
        found = w.client.get(f"{store}/offers", params=params, headers=w.owner).json()
        return [o["sku"] for o in found["items"]]

    assert_envelope(
        w.client.put(
            f"{store}/offers/TEA-C", json={"rate": 1, "category": "t\x00"}, headers=w.owner
        ),
        422,
        "invalid_value",
    )
    assert skus() == ["GIFT", "TEA-A", "TEA-B"]
    assert skus(badge="true") == ["GIFT", "TEA-A"]
    assert skus(badge="false") == ["TEA-B"]
    first = w.client.get(f"{store}/offers", params={"limit": 2}, headers=w.owner).json()
    rest = w.client.get(
        f"{store}/offers", params={"limit": 2, "cursor": first["next_cursor"]}, headers=w.owner
    ).json()
    assert [o["sku"] for o in first["items"] + rest["items"]] == ["GIFT", "TEA-A", "TEA-B"]
    assert rest["next_cursor"] is None
    assert w.client.get(store, headers=w.owner).json()["offers_with_badge"] == 2

    ingest_events(
        db,
        [
            order(w.seller, "O-1", [{"sku": "TEA-A", "quantity": 1, "price": 1000}], when=T0),
            shipped(w.seller, "O-1", T0 + timedelta(hours=5)),
        ],
        now=T0 + timedelta(hours=6),
    )
    settled = T0 + timedelta(days=2)
    run = w.client.post("/v1/points/expiry-runs", json={"as_of": iso(settled)}, headers=w.operator)
    assert run.status_code == 200, run.text
    assert (run.json()["posted"], run.json()["expired_points"]) == (1, 0)
    customer = "/v1/points/JP/customers/cust-1"
    balance = w.client.get(customer, headers=w.operator).json()
    assert (balance["pending"], balance["available"]) == (0, 20)
    expires_at = datetime.fromisoformat(balance["expires_at"])

    history = w.client.get(customer + "/entries", headers=w.operator).json()
    assert [(e["kind"], e["points"], e["order_id"]) for e in history["items"]] == [
        ("post", 20, "O-1"),
        ("grant_pending", 20, "O-1"),
    ]
    assert [e["reason"] for e in history["items"]] == ["shipment_settled", "order_placed"]
    assert "O-1" in history["items"][0]["reason_text"]
    assert history["items"][0]["seller_id"] == w.seller
    page = w.client.get(customer + "/entries", params={"limit": 1}, headers=w.operator).json()
    older = w.client.get(
        customer + "/entries",
        params={"limit": 1, "cursor": page["next_cursor"]},
        headers=w.operator,
    ).json()
    assert [e["id"] for e in page["items"] + older["items"]] == [e["id"] for e in history["items"]]

    months = w.client.get(store + "/statement", headers=w.owner).json()
    assert months["currency"] == "JPY"
    assert [(m["granted"], m["returned"], m["net_cost"]) for m in months["months"]] == [(20, 0, 20)]

    soon = w.client.get(
        "/v1/points/JP/expiries",
        params={"as_of": iso(expires_at - timedelta(days=10)), "within_days": 30},
        headers=w.operator,
    ).json()
    assert [(u["customer"], u["available"]) for u in soon["items"]] == [("cust-1", 20)]
    later = {"as_of": iso(expires_at + timedelta(days=1))}
    expired = w.client.post("/v1/points/expiry-runs", json=later, headers=w.operator).json()
    assert (expired["expired_accounts"], expired["expired_points"]) == (1, 20)
    again = w.client.post("/v1/points/expiry-runs", json=later, headers=w.operator).json()
    assert again["expired_points"] == 0
    assert w.client.get(customer, headers=w.operator).json()["available"] == 0
    kinds = w.client.get(customer + "/entries", headers=w.operator).json()["items"]
    assert [e["kind"] for e in kinds][:1] == ["expire"]
    assert_envelope(
        w.client.post(
            "/v1/points/expiry-runs", json={"as_of": "2999-01-01T00:00:00Z"}, headers=w.operator
        ),
        422,
        "as_of_in_future",
    )
    assert_envelope(
        w.client.post("/v1/points/expiry-runs", json={"as_of": "yesterday"}, headers=w.operator),
        422,
        "invalid_as_of",
    )
    _reconciled(db)


def test_outside_points_and_adjustments_are_keyed_and_checked(world: World):
    """Points from a card partner are available at once; the key comes in the header or the
    body (both must agree, one is needed) and a repeat changes nothing. An adjustment takes
    what is there and no more, needs a known customer and a note without control
    characters."""
    w = world
    assert _earn(w, 300, "e-1")["available"] == 300
    assert _earn(w, 300, "e-1")["available"] == 300  # the same key again
    body = {"customer": "cust-1", "marketplace": "JP", "points": 5, "source": "card"}
    in_body = w.client.post(EARN, json={**body, "key": "e-2"}, headers=w.operator)
    assert in_body.json()["available"] == 305
    assert_envelope(
        w.client.post(EARN, json=body, headers=w.operator), 400, "idempotency_key_required"
    )
    assert_envelope(
        w.client.post(
            EARN, json={**body, "key": "e-3"}, headers={**w.operator, "Idempotency-Key": "e-4"}
        ),
        422,
        "invalid_key",
    )
    assert_envelope(
        w.client.post(EARN, json={**body, "points": 6, "key": "e-2"}, headers=w.operator),
        422,
        "idempotency_mismatch",
    )
    assert_envelope(
        w.client.post(EARN, json={**body, "source": "card x", "key": "e-5"}, headers=w.operator),
        422,
        "invalid_source",
    )
    assert_envelope(
        w.client.post(
            EARN, json={**body, "customer": "cust\x001", "key": "e-6"}, headers=w.operator
        ),
        422,
        "invalid_value",
    )

    adjust = "/v1/points/adjustments"
    fix = {"customer": "cust-1", "marketplace": "JP", "note": "goodwill", "key": "a-1"}
    r = w.client.post(adjust, json={**fix, "points": -5}, headers=w.operator)
    assert r.status_code == 200, r.text
    assert r.json()["available"] == 300
    assert (
        w.client.post(adjust, json={**fix, "points": -5}, headers=w.operator).json()["available"]
        == 300
    )
    assert_envelope(
        w.client.post(adjust, json={**fix, "points": -301, "key": "a-2"}, headers=w.operator),
        422,
        "insufficient_points",
    )
    assert_envelope(
        w.client.post(adjust, json={**fix, "points": 0, "key": "a-3"}, headers=w.operator),
        422,
        "invalid_points",
    )
    assert_envelope(
        w.client.post(
            adjust,
            json={**fix, "points": 1, "customer": "nobody", "key": "a-4"},
            headers=w.operator,
        ),
        404,
        "customer_not_found",
    )
    assert_envelope(
        w.client.post(
            adjust, json={**fix, "points": 1, "note": "x\x1b[2J", "key": "a-5"}, headers=w.operator
        ),
        422,
        "invalid_value",
    )
