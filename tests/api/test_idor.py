"""API-03: authorisation is enforced on every operation, generated from the OpenAPI description.

Two sellers with real data: A (owned by a@) and B (owned by b@), each with JP and US stores,
orders sent as events, an Amazon orders import, an Amazon health snapshot and raised alerts; b@
also has a session, an API token and a linked-account id. Every operation of ``/openapi.json``
whose path carries parameters is then called with *B's* real values (seller, marketplace, order,
import, session, token, principal) by callers who must not reach them:

* a@ (owner of A only): every such operation answers 404 (or 403), with none of B's data in the
  body; the lists a@ can read (sellers, sessions, tokens, links, jobs, me) hold nothing of B.
* an API token of a@ scoped ``read`` to A: B is 404; writing A is 403.
* a viewer of A: reads A, writing A is 403, B is 404.
* a platform operator: reads B (200), writing B is 403.
* the marketplace's own operations (customers' points, ``/v1/points/…``): 403 ``forbidden`` to
  a@, a@'s token and the viewer, whatever the method; the operator reads them.
* no credentials, a garbage bearer, a revoked API token, a signed-out session: every non-public
  operation answers 401 with the error envelope.

The dashboard pages under ``/sellers/…`` are not in the OpenAPI description; they are enumerated
from the application's routes and must answer 404 to a@'s bearer with B's ids.

A new operation is covered automatically; if it has a path parameter this suite has no value for,
or a request body it cannot build, the suite fails and says what to add to :data:`B_VALUES` or
:data:`BODIES`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from httpx import Response

from tests.api.test_api import assert_envelope
from tests.auth import PASSWORD, app_settings, create_user, sign_in
from tests.conftest import Db
from tests.factories import at, event, placed
from tsunagu.access.actor import LOCAL_OWNER
from tsunagu.enforcement import service as enforcement
from tsunagu.slices import create_app

DATA = Path(__file__).parent.parent / "data" / "amazon"
DAY = "2026-11-25"
HOOK = "https://hooks.example.com/tsunagu"
#: a multipart body with one evidence file (``POST /v1/appeals/{appeal_id}/attachments``)
_BOUNDARY = "tsunagu-idor-boundary"
EVIDENCE = (
    f'--{_BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="note.txt"\r\n'
    f"Content-Type: text/plain\r\n\r\nTracking numbers of every order.\r\n--{_BOUNDARY}--\r\n"
).encode()
AUTO_FILES = (
    f'--{_BOUNDARY}\r\nContent-Disposition: form-data; name="files"; '
    'filename="feedback-jp.txt"\r\nContent-Type: text/plain\r\n\r\n'.encode()
    + (DATA / "feedback-jp.txt").read_bytes()
    + f"\r\n--{_BOUNDARY}--\r\n".encode()
)

A_EMAIL = "alpha-owner@example.test"
B_EMAIL = "bravo-owner@example.test"
VIEWER_EMAIL = "alpha-viewer@example.test"
OPERATOR_EMAIL = "platform-operator@example.test"
A_NAME = "Alpha Green Tea"
B_NAME = "Bravo Kimono Atelier"

#: the dashboard's metric page takes a metric name (not in the OpenAPI description)
METRIC = "late_shipment_rate_30"
#: a customer of the JP marketplace with points (customers are the marketplace's, not a seller's)
CUSTOMER = "cust-idor-1"
#: path parameters with a value that is not one object's id: every seller has them
SHARED_VALUES = {"marketplace": "JP", "name": METRIC, "customer": CUSTOMER}

#: the names of the path parameters this suite knows how to fill (documentation for a developer
#: whose new route fails the coverage check: add the parameter to :func:`_values`)
B_VALUES = (
    "seller_id",
    "marketplace",
    "order_id",
    "import_id",
    "name",
    "session_id",
    "token_id",
    "principal_id",
    "appeal_id",
    "webhook_id",
    "sku",
    "customer",
)


# -- the world ---------------------------------------------------------------------------------


@dataclass
class Seller:
    """One seller, its owner and the ids of its real data."""

    id: str
    name: str
    owner_email: str
    owner_token: str
    owner_session: str
    owner_principal: str
    jp_order: str
    import_id: str
    snapshot_id: str
    api_token: str = ""
    api_token_id: str = ""
    appeal_id: str = ""
    webhook_id: str = ""
    #: a SKU with its own points rate
    sku: str = ""
    order_ids: list[str] = field(default_factory=list)
    alert_ids: list[str] = field(default_factory=list)

    def values(self) -> dict[str, str]:
        """A real value for every path parameter, all of them this seller's (or its owner's)."""
        return {
            **SHARED_VALUES,
            "seller_id": self.id,
            "order_id": self.jp_order,
            "import_id": self.import_id,
            "session_id": self.owner_session,
            "token_id": self.api_token_id,
            "principal_id": self.owner_principal,
            "appeal_id": self.appeal_id,
            "webhook_id": self.webhook_id,
            "sku": self.sku,
        }

    def secrets(self) -> set[str]:
        """What identifies this seller or its owner and must never reach another caller."""
        return {
            self.name,
            self.owner_email,
            self.owner_principal,
            self.owner_session,
            self.owner_token,
            self.import_id,
            self.snapshot_id,
            self.api_token,
            self.api_token_id,
            self.appeal_id,
            self.webhook_id,
            self.sku,
            *self.order_ids,
            *self.alert_ids,
        } - {""}


@dataclass
class World:
    client: TestClient
    spec: dict[str, Any]
    a: Seller
    b: Seller
    tokens: dict[str, str]  # caller -> bearer


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _ok(r: Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json() if r.content else None


def _orders(seller: str, marketplace: str, tag: str) -> list[dict[str, Any]]:
    """One order shipped on time and one late: a late shipment rate of 50 %, so an alert."""
    prefix = f"503-{tag}" if marketplace == "JP" else f"112-{tag}"
    return [
        placed(
            seller, f"{prefix}-OK", marketplace=marketplace, when=at(-5), latest_ship_date=at(-4)
        ),
        event(
            "order_shipped",
            seller,
            marketplace=marketplace,
            order_id=f"{prefix}-OK",
            tracking_id="T1",
            when=at(-4.5),
        ),
        placed(
            seller, f"{prefix}-LATE", marketplace=marketplace, when=at(-5), latest_ship_date=at(-4)
        ),
        event(
            "order_shipped",
            seller,
            marketplace=marketplace,
            order_id=f"{prefix}-LATE",
            tracking_id="T2",
            when=at(-3),
        ),
    ]


def _seller(
    client: TestClient, db: Db, *, email: str, name: str, tag: str, orders_file: tuple[str, str]
) -> Seller:
    """A seller created through the API by its owner, filled through the API as a user would."""
    principal = create_user(db, email)
    signed = _ok(client.post("/v1/auth/sign-in", json={"email": email, "password": PASSWORD}))
    auth = _bearer(signed["token"])
    seller = _ok(
        client.post("/v1/sellers", json={"name": name, "marketplaces": ["JP", "US"]}, headers=auth),
        201,
    )["id"]
    events = [*_orders(seller, "JP", tag), *_orders(seller, "US", tag)]
    assert _ok(client.post("/v1/events", json=events, headers=auth))["stored"] == len(events)
    market, filename = orders_file
    imported = _ok(
        client.post(
            f"/v1/sellers/{seller}/imports/{market}/amazon-orders",
            params={"filename": filename},
            content=(DATA / filename).read_bytes(),
            headers={**auth, "content-type": "text/tab-separated-values"},
        )
    )
    snapshot = _ok(
        client.post(
            f"/v1/sellers/{seller}/health/JP/amazon-report",
            params={"filename": "v2-health-jp.json"},
            content=(DATA / "v2-health-jp.json").read_bytes(),
            headers={**auth, "content-type": "application/json"},
        ),
        201,
    )["snapshot"]["id"]
    _ok(client.post(f"/v1/sellers/{seller}/alerts/check", params={"as_of": DAY}, headers=auth))
    alerts = _ok(client.get(f"/v1/sellers/{seller}/alerts", headers=auth))["items"]
    assert alerts, "the late orders should have raised alerts"
    orders = _ok(client.get(f"/v1/sellers/{seller}/orders", params={"limit": 100}, headers=auth))
    sku = f"{tag}-POINTS-SKU"
    offer = f"/v1/sellers/{seller}/stores/JP/points/offers/{sku}"
    _ok(client.put(offer, json={"rate": 3, "category": "tea"}, headers=auth))
    found = Seller(
        id=seller,
        name=name,
        owner_email=email,
        owner_token=signed["token"],
        owner_session=signed["session_id"],
        owner_principal=principal,
        jp_order=f"503-{tag}-LATE",
        import_id=imported["import_id"],
        snapshot_id=snapshot,
        order_ids=[o["order_id"] for o in orders["items"]],
        alert_ids=[a["id"] for a in alerts],
        sku=sku,
    )
    assert found.jp_order in found.order_ids
    assert len(found.order_ids) > len(events) // 2  # the import's orders are there too
    return found


def _api_token(client: TestClient, owner: Seller, seller: str, scope: str) -> tuple[str, str]:
    created = _ok(
        client.post(
            "/v1/auth/tokens",
            json={"name": f"{scope} {seller}", "scope": scope, "seller_ids": [seller]},
            headers=_bearer(owner.owner_token),
        ),
        201,
    )
    return created["token"], created["info"]["id"]


def _deactivated_with_appeal(client: TestClient, db: Db, b: Seller) -> None:
    """B's JP store deactivated by an operator (its US store goes with it), an appeal of it and a
    webhook. A deactivation ends the owner's sessions (SH-03): the owner signs in again."""
    with db.factory() as session:
        enforcement.override(
            session,
            seller_id=b.id,
            marketplace=db.registry.require("JP"),
            status="DEACTIVATED",
            reason="a deactivated store for the IDOR walk",
            actor=LOCAL_OWNER,
            now=datetime.now(UTC),
            registry=db.registry,
        )
        session.commit()
    signed = _ok(client.post("/v1/auth/sign-in", json={"email": B_EMAIL, "password": PASSWORD}))
    b.owner_token, b.owner_session = signed["token"], signed["session_id"]
    auth = _bearer(b.owner_token)
    b.appeal_id = _ok(client.post(f"/v1/sellers/{b.id}/stores/JP/appeals", headers=auth), 201)["id"]
    hook = {"url": HOOK, "kinds": ["ACCOUNT_STATUS_CHANGED"], "seller_id": b.id}
    b.webhook_id = _ok(client.post("/v1/webhooks", json=hook, headers=auth), 201)["webhook"]["id"]


@pytest.fixture
def world(db: Db, tmp_path: Path) -> Iterator[World]:
    config = tmp_path / "tsunagu.toml"
    config.write_text('[notifications]\nallowed_hosts = ["hooks.example.com"]\n')
    with TestClient(create_app(app_settings(db, config_path=config), migrate=False)) as client:
        a = _seller(
            client,
            db,
            email=A_EMAIL,
            name=A_NAME,
            tag="ALPHA",
            orders_file=("US", "all-orders-us.txt"),
        )
        b = _seller(
            client,
            db,
            email=B_EMAIL,
            name=B_NAME,
            tag="BRAVO",
            orders_file=("JP", "all-orders-jp-utf8.txt"),
        )
        assert not set(a.order_ids) & set(b.order_ids)
        _deactivated_with_appeal(client, db, b)
        b.api_token, b.api_token_id = _api_token(client, b, b.id, "write")
        a_read, a.api_token_id = _api_token(client, a, a.id, "read")
        create_user(db, VIEWER_EMAIL, owner_of=[a.id], role="viewer")
        create_user(db, OPERATOR_EMAIL, operator=True)
        tokens = {
            "a": a.owner_token,
            "a_read_token": a_read,
            "viewer": sign_in(client, VIEWER_EMAIL),
            "operator": sign_in(client, OPERATOR_EMAIL),
        }
        earning = {"customer": CUSTOMER, "marketplace": "JP", "points": 50, "source": "card"}
        _ok(
            client.post(
                "/v1/points/earnings",
                json=earning,
                headers={**_bearer(tokens["operator"]), "Idempotency-Key": "idor-1"},
            )
        )
        yield World(client, client.get("/openapi.json").json(), a, b, tokens)


# -- the operations ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    spec: dict[str, Any]

    @property
    def label(self) -> str:
        return f"{self.method.upper()} {self.path}"

    @property
    def path_params(self) -> list[str]:
        return [p["name"] for p in self.spec.get("parameters", []) if p["in"] == "path"]

    @property
    def reads(self) -> bool:
        return self.method in ("get", "head")


def operations(spec: dict[str, Any]) -> list[Operation]:
    return [
        Operation(method, path, op)
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
        if method in ("get", "post", "put", "patch", "delete", "head")
    ]


def non_public(spec: dict[str, Any]) -> list[Operation]:
    """Operations the description says need a bearer (every /v1 one but the sign-in steps)."""
    return [op for op in operations(spec) if op.spec.get("security")]


def seller_scoped(spec: dict[str, Any]) -> list[Operation]:
    return [op for op in non_public(spec) if "seller_id" in op.path_params]


def _fill(path: str, params: list[str], values: dict[str, str], where: str) -> str:
    missing = [p for p in params if p not in values]
    if missing:
        pytest.fail(
            f"{where}: no value for path parameter(s) {missing}. Give the new route's parameter a "
            "real value of seller B in tests/api/test_idor.py (Seller.values and B_VALUES) so "
            "that its authorisation is tested.",
            pytrace=False,
        )
    for name in params:
        path = path.replace("{" + name + "}", values[name])
    return path


def _resolve(schema: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec["components"]["schemas"][name]
    return schema


def minimal(schema: dict[str, Any], spec: dict[str, Any]) -> Any:
    """The smallest instance of a JSON schema: required properties only, examples first."""
    schema = _resolve(schema, spec)
    if "example" in schema:
        return schema["example"]
    if schema.get("examples"):
        return schema["examples"][0]
    if "anyOf" in schema:
        options = [s for s in schema["anyOf"] if _resolve(s, spec).get("type") != "null"]
        return minimal(options[0], spec)
    kind = schema.get("type")
    if kind == "object":
        props = schema.get("properties", {})
        return {name: minimal(props.get(name, {}), spec) for name in schema.get("required", [])}
    if kind == "array":
        return [minimal(schema.get("items", {}), spec)] * max(1, schema.get("minItems", 1))
    if kind == "string":
        if schema.get("format") == "date":
            return DAY
        if schema.get("format") == "date-time":
            return at(30)
        return "x" * max(8, schema.get("minLength", 1))
    if kind in ("integer", "number"):
        return schema.get("minimum", 1)
    if kind == "boolean":
        return False
    raise AssertionError(f"no minimal value for schema {schema}: add the operation to BODIES")


#: request bodies a schema cannot describe well enough: files, and ids the caller must not reach
BODIES: dict[str, Any] = {
    "POST /v1/sellers/{seller_id}/health/{marketplace}/amazon-report": (
        "application/json",
        (DATA / "v2-health-jp.json").read_bytes(),
    ),
    "POST /v1/sellers/{seller_id}/imports/{marketplace}/amazon-orders": (
        "text/tab-separated-values",
        (DATA / "all-orders-jp-utf8.txt").read_bytes(),
    ),
    "POST /v1/sellers/{seller_id}/imports/{marketplace}/amazon-unshipped": (
        "text/tab-separated-values",
        (DATA / "unshipped-jp.txt").read_bytes(),
    ),
    "POST /v1/sellers/{seller_id}/imports/{marketplace}/amazon-feedback": (
        "text/tab-separated-values",
        (DATA / "feedback-jp.txt").read_bytes(),
    ),
    "POST /v1/sellers/{seller_id}/imports/{marketplace}/amazon-settlement": (
        "text/tab-separated-values",
        (DATA / "settlement_v2_jp.txt").read_bytes(),
    ),
    "POST /v1/sellers/{seller_id}/imports/{marketplace}/amazon-returns": (
        "text/tab-separated-values",
        (DATA / "returns-jp-cp932.txt").read_bytes(),
    ),
    "POST /v1/sellers/{seller_id}/imports/{marketplace}/amazon-shipconfirm": (
        "text/tab-separated-values",
        (DATA / "shipconfirm-jp-cp932.txt").read_bytes(),
    ),
    "POST /v1/sellers/{seller_id}/imports/{marketplace}/amazon-afn-shipments": (
        "text/tab-separated-values",
        (DATA / "afn-shipments-jp-cp932.txt").read_bytes(),
    ),
    "POST /v1/appeals/{appeal_id}/attachments": (
        f"multipart/form-data; boundary={_BOUNDARY}",
        EVIDENCE,
    ),
    # issue 16: many Amazon files at once (field ``files``)
    "POST /v1/sellers/{seller_id}/auto-imports": (
        f"multipart/form-data; boundary={_BOUNDARY}",
        AUTO_FILES,
    ),
    "POST /v1/sellers/{seller_id}/auto-imports/detect": (
        f"multipart/form-data; boundary={_BOUNDARY}",
        AUTO_FILES,
    ),
}


def request_for(op: Operation, spec: dict[str, Any], values: dict[str, str]) -> dict[str, Any]:
    """``client.request`` arguments for a valid-looking call of ``op`` on ``values``."""
    url = _fill(op.path, op.path_params, values, op.label)
    query = {
        p["name"]: minimal(p.get("schema", {}), spec)
        for p in op.spec.get("parameters", [])
        if p["in"] == "query" and p.get("required")
    }
    kwargs: dict[str, Any] = {"method": op.method.upper(), "url": url, "params": query}
    body = op.spec.get("requestBody")
    if op.label in BODIES:
        content_type, content = BODIES[op.label]
        kwargs["content"] = content
        kwargs["headers"] = {"content-type": content_type}
    elif body:
        content = body["content"]
        assert "application/json" in content, f"{op.label}: add its body to BODIES"
        media = content["application/json"]
        kwargs["json"] = media["example"] if "example" in media else minimal(media["schema"], spec)
    return kwargs


def call(client: TestClient, kwargs: dict[str, Any], token: str | None) -> Response:
    headers = dict(kwargs.get("headers", {}))
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return client.request(**{**kwargs, "headers": headers})


def assert_no_leak(r: Response, secrets: set[str], sent: dict[str, Any], where: str) -> None:
    """None of ``secrets`` in the answer, except what the caller sent in the URL."""
    shown = {s for s in secrets if s in r.text and s not in str(sent["url"])}
    assert not shown, f"{where} answered {r.status_code} showing {shown}: {r.text[:300]}"


# -- a@ against B ------------------------------------------------------------------------------


def test_every_operation_with_a_path_parameter_hides_b_from_a(world: World):
    """API-03: a@ (owner of A) calls every operation that names an object in its path with B's
    real ids: 404 (``seller_not_found`` for seller routes, the object's own not-found for the
    account routes), never B's data; B's owner keeps their session and token."""
    spec, client, b = world.spec, world.client, world.b
    covered: set[str] = set()
    for op in non_public(spec):
        if not op.path_params:
            continue
        sent = request_for(op, spec, b.values())
        r = call(client, sent, world.tokens["a"])
        if "seller_id" in op.path_params:
            assert_envelope(r, 404, "seller_not_found")
        else:
            assert r.status_code in (403, 404), f"{op.label}: {r.status_code} {r.text}"
            assert_envelope(r, r.status_code, r.json()["error"]["code"])
        assert_no_leak(r, b.secrets(), sent, op.label)
        covered.add(op.label)

    expected = {op.label for op in non_public(spec) if op.path_params}
    assert covered == expected, (
        "the IDOR matrix must cover every non-public operation with path parameters; "
        f"missing: {sorted(expected - covered)}"
    )
    # the sanity floor: the description did not shrink to nothing
    assert len(covered) >= 20, sorted(covered)
    # nothing a@ sent changed B: b's session and token work, B's data is whole
    me = _ok(client.get("/v1/auth/me", headers=_bearer(b.owner_token)))
    assert me["session_id"] == b.owner_session
    seller = _ok(client.get(f"/v1/sellers/{b.id}", headers=_bearer(b.api_token)))
    assert seller["name"] == B_NAME
    runs = _ok(client.get(f"/v1/sellers/{b.id}/imports", headers=_bearer(b.owner_token)))
    assert [r["id"] for r in runs["items"]] == [b.import_id]


def test_what_a_lists_holds_nothing_of_b(world: World):
    """API-03: every non-public GET without path parameters (sellers, jobs, me, sessions, tokens,
    links, marketplaces …) shows a@ nothing of B; a@'s own seller is there."""
    spec, client, b = world.spec, world.client, world.b
    seen = set()
    for op in non_public(spec):
        if op.path_params or not op.reads:
            continue
        sent = request_for(op, spec, {})
        r = call(client, sent, world.tokens["a"])
        assert r.status_code in (200, 403), f"{op.label}: {r.status_code} {r.text}"
        assert_no_leak(r, b.secrets(), sent, op.label)
        seen.add(op.path)
    assert {"/v1/sellers", "/v1/jobs", "/v1/auth/tokens", "/v1/auth/sessions"} <= seen
    sellers = _ok(client.get("/v1/sellers", headers=_bearer(world.tokens["a"])))["items"]
    assert [s["id"] for s in sellers] == [world.a.id]
    assert_envelope(client.get("/v1/jobs", headers=_bearer(world.tokens["a"])), 403, "forbidden")


def test_ids_in_a_body_do_not_reach_b_either(world: World):
    """API-03: seller ids carried in a body rather than the path. a@ cannot write events for B
    (each item rejected, B unchanged) nor make an API token over B (404)."""
    client, b, auth = world.client, world.b, _bearer(world.tokens["a"])
    before = _ok(client.get(f"/v1/sellers/{b.id}/orders", headers=_bearer(b.owner_token)))
    r = _ok(client.post("/v1/events", json=[placed(b.id, "503-INTRUDER")], headers=auth))
    assert (r["stored"], r["rejected"]) == (0, 1)
    assert B_NAME not in str(r)
    after = _ok(client.get(f"/v1/sellers/{b.id}/orders", headers=_bearer(b.owner_token)))
    assert after == before
    body = {"name": "mine", "scope": "read", "seller_ids": [world.a.id, b.id]}
    assert_envelope(
        client.post("/v1/auth/tokens", json=body, headers=auth), 404, "seller_not_found"
    )
    listed = _ok(client.get("/v1/auth/tokens", headers=auth))
    assert [t["id"] for t in listed] == [world.a.api_token_id]


# -- other callers -----------------------------------------------------------------------------


def _status(r: Response) -> tuple[int, str | None]:
    try:
        return r.status_code, r.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return r.status_code, None


@pytest.mark.parametrize(
    ("caller", "on_b", "write_a", "read_a"),
    [
        # a@'s API token, scope read on A
        ("a_read_token", (404, "seller_not_found"), (403, "forbidden"), 200),
        # a viewer of A
        ("viewer", (404, "seller_not_found"), (403, "forbidden"), 200),
    ],
)
def test_limited_callers_read_a_and_cannot_write_it_nor_reach_b(
    world: World,
    caller: str,
    on_b: tuple[int, str],
    write_a: tuple[int, str],
    read_a: int,
):
    """API-03: every seller operation: on B 404 whatever the method; on A reads answer 200 and
    writes 403 ``forbidden``."""
    spec, client, token = world.spec, world.client, world.tokens[caller]
    problems = []
    for op in seller_scoped(spec):
        sent_b = request_for(op, spec, world.b.values())
        r = call(client, sent_b, token)
        if _status(r) != on_b:
            problems.append(f"B {op.label}: {r.status_code} {r.text[:200]}")
        assert_no_leak(r, world.b.secrets(), sent_b, op.label)
        r = call(client, request_for(op, spec, world.a.values()), token)
        if op.reads and r.status_code != read_a:
            problems.append(f"A {op.label}: {r.status_code} {r.text[:200]}")
        if not op.reads and _status(r) != write_a:
            problems.append(f"A {op.label}: {r.status_code} {r.text[:200]}")
    assert not problems, "\n".join(problems)


#: path parameters that name an object of one seller (not of the caller's account)
SELLER_OBJECTS = frozenset({"appeal_id", "webhook_id"})


def for_the_marketplace(op: Operation) -> bool:
    """Operations that act for the marketplace itself rather than a seller or an account: the
    customers' points (balances, history, redemptions, expiry). Platform operators only."""
    return op.path.startswith("/v1/points/")


def test_an_api_token_cannot_manage_the_account(world: World):
    """API-03: account operations need a signed-in session; an API token gets 403
    ``session_required`` on every one of them that names an object."""
    spec, client = world.spec, world.client
    for op in non_public(spec):
        if SELLER_OBJECTS & set(op.path_params):
            continue  # a seller's object: see the test below
        if for_the_marketplace(op):
            continue  # not an account operation: see the test after the next
        if op.path_params and "seller_id" not in op.path_params:
            r = call(client, request_for(op, spec, world.a.values()), world.tokens["a_read_token"])
            assert_envelope(r, 403, "session_required")


@pytest.mark.parametrize("caller", ["a_read_token", "viewer"])
def test_a_sellers_objects_named_by_their_own_id_stay_hidden(world: World, caller: str):
    """API-03: B's appeal and webhook, named by their own ids, are "not found" to A's read
    token and to A's viewer, whatever the method; nothing of B shows."""
    spec, client, b = world.spec, world.client, world.b
    seen = set()
    for op in non_public(spec):
        params = set(op.path_params)
        if not SELLER_OBJECTS & params or "seller_id" in params:
            continue
        sent = request_for(op, spec, b.values())
        r = call(client, sent, world.tokens[caller])
        assert r.status_code in (403, 404), f"{op.label}: {r.status_code} {r.text}"
        assert_no_leak(r, b.secrets(), sent, op.label)
        seen.add(op.label)
    assert {"GET /v1/appeals/{appeal_id}", "GET /v1/webhooks/{webhook_id}"} <= seen


@pytest.mark.parametrize("caller", ["a", "a_read_token", "viewer"])
def test_the_marketplaces_own_operations_are_for_platform_operators_only(world: World, caller: str):
    """API-03: what acts for the marketplace itself (customers' points: balances, history,
    redemptions, outside points, adjustments, expiry) answers 403 ``forbidden`` to every caller
    but a platform operator, whatever the method, showing nothing; the operator reads them."""
    spec, client = world.spec, world.client
    ops = [op for op in non_public(spec) if for_the_marketplace(op)]
    assert {"GET /v1/points/{marketplace}/customers/{customer}", "POST /v1/points/redemptions"} <= {
        op.label for op in ops
    }
    for op in ops:
        sent = request_for(op, spec, world.b.values())
        r = call(client, sent, world.tokens[caller])
        assert_envelope(r, 403, "forbidden")
        assert_no_leak(r, {CUSTOMER, *world.b.secrets()}, sent, op.label)
        if op.reads:
            mine = call(client, sent, world.tokens["operator"])
            assert mine.status_code == 200, f"{op.label}: {mine.status_code} {mine.text}"


def test_an_operator_reads_every_seller_and_changes_none(world: World):
    """API-03: a platform operator reads B (200 on every GET with B's ids) and every write on B
    answers 403 ``forbidden``."""
    spec, client, token = world.spec, world.client, world.tokens["operator"]
    problems = []
    for op in seller_scoped(spec):
        r = call(client, request_for(op, spec, world.b.values()), token)
        if op.reads and r.status_code != 200:
            problems.append(f"{op.label}: {r.status_code} {r.text[:200]}")
        if not op.reads and _status(r) != (403, "forbidden"):
            problems.append(f"{op.label}: {r.status_code} {r.text[:200]}")
    assert not problems, "\n".join(problems)
    assert _ok(client.get("/v1/jobs", headers=_bearer(token)))["items"] is not None


# -- no working credentials --------------------------------------------------------------------


def _dead_credentials(world: World) -> dict[str, str | None]:
    client = world.client
    revoked, revoked_id = _api_token(client, world.a, world.a.id, "write")
    _ok(client.delete(f"/v1/auth/tokens/{revoked_id}", headers=_bearer(world.a.owner_token)), 204)
    signed_out = sign_in(client, VIEWER_EMAIL)
    _ok(client.post("/v1/auth/sign-out", headers=_bearer(signed_out)), 204)
    return {
        "none": None,
        "garbage": "garbage",
        "revoked API token": revoked,
        "signed-out session": signed_out,
    }


def test_every_non_public_operation_needs_working_credentials(world: World):
    """API-03: no credentials, ``Bearer garbage``, a revoked API token and a signed-out session
    each get 401 with the error envelope and ``WWW-Authenticate: Bearer`` on every non-public
    operation; without any credentials the code is ``authentication_required``."""
    spec, client = world.spec, world.client
    problems = []
    count = 0
    for kind, token in _dead_credentials(world).items():
        for op in non_public(spec):
            r = call(client, request_for(op, spec, world.b.values()), token)
            count += 1
            status, code = _status(r)
            if status != 401 or (token is None and code != "authentication_required"):
                problems.append(f"{kind}: {op.label}: {r.status_code} {r.text[:200]}")
                continue
            assert_envelope(r, 401, str(code))
            assert r.headers["www-authenticate"].startswith("Bearer"), op.label
    assert not problems, "\n".join(problems)
    assert count >= 4 * 30


def test_the_openapi_description_marks_every_v1_operation_but_sign_in_as_secured(world: World):
    """The matrices above trust ``security`` in the description: it must be on every /v1
    operation but the three ways of getting credentials, the e-mail verification link and
    declining a link (their codes are the credential, and declining changes nothing)."""
    public = {op.label for op in operations(world.spec) if not op.spec.get("security")}
    assert {label for label in public if " /v1/" in label} == {
        "POST /v1/auth/sign-in",
        "POST /v1/auth/password-reset",
        "POST /v1/auth/password-reset/complete",
        "POST /v1/auth/verify-email/confirm",
        "POST /v1/auth/links/requests/decline",
    }


# -- the dashboard -----------------------------------------------------------------------------


def _pages(client: TestClient) -> list[tuple[str, str]]:
    found = []
    for route in iter_route_contexts(client.app.routes):  # type: ignore[attr-defined]
        if (route.path or "").startswith("/sellers/"):
            found += [(m, str(route.path)) for m in sorted(route.methods or ()) if m != "HEAD"]
    return found


def _page_request(method: str, path: str, values: dict[str, str]) -> dict[str, Any]:
    params = [part[1:-1] for part in path.split("/") if part.startswith("{")]
    kwargs: dict[str, Any] = {"method": method, "url": _fill(path, params, values, path)}
    if method == "POST":  # the upload form
        kwargs["data"] = {"kind": "amazon-orders", "marketplace": "JP"}
        kwargs["files"] = {"file": ("orders.txt", (DATA / "all-orders-jp-utf8.txt").read_bytes())}
    return kwargs


def test_dashboard_pages_hide_b_from_a(world: World):
    """API-03 for the pages: every route under ``/sellers/{seller_id}`` answers 404 to a@'s
    bearer with B's ids (and 200 on A's, so the bearer does work), with none of B's data."""
    client, token = world.client, world.tokens["a"]
    pages = _pages(client)
    assert len(pages) >= 8, pages
    for method, path in pages:
        sent = _page_request(method, path, world.b.values())
        r = call(client, sent, token)
        assert r.status_code == 404, f"{method} {path}: {r.status_code}"
        assert_no_leak(r, world.b.secrets(), sent, f"{method} {path}")
        if method == "GET":
            mine = call(client, _page_request(method, path, world.a.values()), token)
            assert mine.status_code == 200, f"{method} {path} on A: {mine.status_code}"


def test_dashboard_home_lists_only_the_callers_sellers(world: World):
    """API-03: the home page is a list of sellers like ``GET /v1/sellers``: a@ sees A, not B;
    without credentials it shows no seller at all."""
    r = world.client.get("/", headers=_bearer(world.tokens["a"]))
    assert r.status_code == 200
    assert A_NAME in r.text
    assert B_NAME not in r.text
    anonymous = world.client.get("/", follow_redirects=False)
    assert A_NAME not in anonymous.text
    assert B_NAME not in anonymous.text
