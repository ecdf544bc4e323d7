"""``/v1/notifications`` and ``/v1/webhooks`` through real HTTP handling: the secret shown once,
never listed; each seller sees only its own webhooks and notifications (API-03); operators alone
make webhooks for every seller."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.api.test_api import assert_envelope, new_seller
from tests.auth import api_client, create_user, sign_in
from tests.conftest import Db
from tests.factories import NOW
from tsunagu.core.db import unit_of_work
from tsunagu.core.paging import encode_cursor
from tsunagu.notifications import service

OTHER = "other-owner@example.test"
OPERATOR = "operator@example.test"
VIEWER = "viewer@example.test"
HOOK = "https://hooks.example.com/tsunagu"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "tsunagu.toml"
    path.write_text('[notifications]\nallowed_hosts = ["hooks.example.com"]\n', "utf-8")
    return path


@pytest.fixture
def client(db: Db, config: Path) -> Iterator[TestClient]:
    with api_client(db, config_path=config) as c:
        yield c


def bearer(client: TestClient, email: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {sign_in(client, email)}"}


def test_a_webhook_shows_its_secret_once_and_never_again(client: TestClient):
    seller = new_seller(client)
    body = {"url": HOOK, "kinds": ["ACCOUNT_STATUS_CHANGED"], "seller_id": seller}
    r = client.post("/v1/webhooks", json=body)
    assert r.status_code == 201, r.text
    created = r.json()
    secret, hook = created["secret"], created["webhook"]["id"]
    assert secret.startswith("whsec_")
    assert created["webhook"]["seller_id"] == seller
    for url in ("/v1/webhooks", f"/v1/webhooks/{hook}", f"/v1/webhooks/{hook}/deliveries"):
        answer = client.get(url)
        assert answer.status_code == 200, answer.text
        assert secret not in answer.text
    listed = client.get("/v1/webhooks").json()
    assert [w["id"] for w in listed["items"]] == [hook]
    assert "secret" not in listed["items"][0]
    assert client.delete(f"/v1/webhooks/{hook}").status_code == 204
    assert_envelope(client.get(f"/v1/webhooks/{hook}"), 404, "webhook_not_found")
    assert client.get("/v1/webhooks").json()["items"] == []


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"url": "https://evil.example.net/x"}, 422, "webhook_host_not_allowed"),
        ({"url": "http://hooks.example.com/x"}, 422, "webhook_https_required"),
        ({"url": "https://u:p@hooks.example.com/"}, 422, "invalid_webhook_url"),
        ({"kinds": ["ORDER_CHANGE"]}, 422, "unknown_notification_kind"),
        ({"kinds": []}, 422, "validation_error"),
        ({"seller_id": "sel_nope"}, 404, "seller_not_found"),
        ({"seller_id": None}, 403, "forbidden"),  # every seller: operators only
    ],
)
def test_refused_webhooks(client: TestClient, body: dict, status: int, code: str):
    seller = new_seller(client)
    sent = {"url": HOOK, "kinds": ["ACCOUNT_STATUS_CHANGED"], "seller_id": seller, **body}
    assert_envelope(client.post("/v1/webhooks", json=sent), status, code)


def test_sellers_see_only_their_own_webhooks_and_notifications(client: TestClient, db: Db):
    """API-03: B's webhook and notification are not found for A, whatever the route."""
    mine = new_seller(client)
    create_user(db, OTHER)
    theirs_auth = bearer(client, OTHER)
    theirs = client.post(
        "/v1/sellers", json={"name": "Bravo", "marketplaces": ["JP"]}, headers=theirs_auth
    ).json()["id"]
    hook = client.post(
        "/v1/webhooks",
        json={"url": HOOK, "kinds": ["ACCOUNT_STATUS_CHANGED"], "seller_id": theirs},
        headers=theirs_auth,
    ).json()["webhook"]["id"]
    with unit_of_work(db.factory) as session:
        for seller in (mine, theirs):
            service.notify(
                session,
                kind="ACCOUNT_STATUS_CHANGED",
                seller_id=seller,
                marketplace="JP",
                payload={"previousAccountStatus": "NORMAL", "currentAccountStatus": "AT_RISK"},
                now=NOW,
                key=f"status:{seller}",
            )
    for method, url in [
        ("GET", f"/v1/webhooks/{hook}"),
        ("DELETE", f"/v1/webhooks/{hook}"),
        ("GET", f"/v1/webhooks/{hook}/deliveries"),
    ]:
        assert_envelope(client.request(method, url), 404, "webhook_not_found")
    assert client.get("/v1/webhooks").json()["items"] == []
    seen = client.get("/v1/notifications").json()["items"]
    assert [n["seller_id"] for n in seen] == [mine]
    assert seen[0]["payload"]["currentAccountStatus"] == "AT_RISK"
    assert_envelope(
        client.get("/v1/notifications", params={"seller_id": theirs}), 404, "seller_not_found"
    )
    # B still has its webhook (A's DELETE changed nothing)
    assert client.get(f"/v1/webhooks/{hook}", headers=theirs_auth).status_code == 200
    theirs_seen = client.get("/v1/notifications", headers=theirs_auth).json()["items"]
    assert [n["seller_id"] for n in theirs_seen] == [theirs]


def test_viewers_cannot_make_webhooks_and_operators_make_them_for_every_seller(
    client: TestClient, db: Db
):
    seller = new_seller(client)
    create_user(db, VIEWER, owner_of=[seller], role="viewer")
    create_user(db, OPERATOR, operator=True)
    body = {"url": HOOK, "kinds": ["ACCOUNT_STATUS_CHANGED"], "seller_id": seller}
    viewer = bearer(client, VIEWER)
    assert_envelope(client.post("/v1/webhooks", json=body, headers=viewer), 403, "forbidden")
    operator = bearer(client, OPERATOR)
    every = {"url": HOOK, "kinds": ["ACCOUNT_STATUS_CHANGED", "APPEAL_STATUS_CHANGED"]}
    r = client.post("/v1/webhooks", json=every, headers=operator)
    assert r.status_code == 201, r.text
    hook = r.json()["webhook"]
    assert hook["seller_id"] is None
    # the seller's owner does not see an every-seller webhook; the operator does
    assert client.get("/v1/webhooks").json()["items"] == []
    listed = client.get("/v1/webhooks", headers=operator).json()["items"]
    assert [w["id"] for w in listed] == [hook["id"]]
    assert_envelope(client.delete(f"/v1/webhooks/{hook['id']}"), 404, "webhook_not_found")


def test_lists_page(client: TestClient, db: Db):
    seller = new_seller(client)
    with unit_of_work(db.factory) as session:
        for n in range(3):
            service.notify(
                session,
                kind="APPEAL_STATUS_CHANGED",
                seller_id=seller,
                marketplace=None,
                payload={"n": n},
                now=NOW,
                key=f"appeal:{n}",
            )
    first = client.get("/v1/notifications", params={"limit": 2}).json()
    assert len(first["items"]) == 2
    rest = client.get(
        "/v1/notifications", params={"limit": 2, "cursor": first["next_cursor"]}
    ).json()
    seen = first["items"] + rest["items"]
    # newest first by id; ids order by the millisecond they were made in, and three made in
    # the same millisecond order among themselves by their random part, not by n
    assert [n["id"] for n in seen] == sorted((n["id"] for n in seen), reverse=True)
    assert sorted(n["payload"]["n"] for n in seen) == [0, 1, 2]
    assert rest["next_cursor"] is None
    assert_envelope(
        client.get("/v1/notifications", params={"cursor": "garbage"}), 422, "invalid_cursor"
    )


def test_a_webhooks_deliveries_page_and_cap_their_page_size(client: TestClient):
    """The deliveries list follows every list route's paging rules (limit 1–100, a cursor)."""
    seller = new_seller(client)
    body = {"url": HOOK, "kinds": ["ACCOUNT_STATUS_CHANGED"], "seller_id": seller}
    hook = client.post("/v1/webhooks", json=body).json()["webhook"]["id"]
    url = f"/v1/webhooks/{hook}/deliveries"
    for bad in (0, 101, "many"):
        error = assert_envelope(client.get(url, params={"limit": bad}), 422, "validation_error")
        assert error["details"]["errors"][0]["field"] == "query.limit"
    ok = client.get(url, params={"limit": 100})
    assert ok.status_code == 200, ok.text
    assert set(ok.json()) >= {"items", "next_cursor"}
    for cursor in ("garbage", encode_cursor("x\x00")):  # API-10: never a cursor it did not make
        assert_envelope(client.get(url, params={"cursor": cursor}), 422, "invalid_cursor")
