"""The API's reach and its standards: Amazon imports, import runs, alert checks, jobs, paging and
size limits on every list, and an OpenAPI description where every operation is documented."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.api.test_api import assert_envelope, new_seller
from tests.auth import api_client
from tests.conftest import Db
from tsunagu.jobs import service as jobs_service
from tsunagu.slices import job_kinds

DATA = Path(__file__).parent.parent / "data" / "amazon"
LIMIT = 256 * 1024


@pytest.fixture
def client(db: Db) -> Iterator[TestClient]:
    with api_client(db, max_body_bytes=LIMIT) as c:
        yield c


def _upload(client: TestClient, seller: str, kind: str, name: str, **params: object):
    return client.post(
        f"/v1/sellers/{seller}/imports/JP/amazon-{kind}",
        params={"filename": name, **params},
        content=(DATA / name).read_bytes(),
        headers={"content-type": "text/tab-separated-values"},
    )


def test_amazon_files_import_like_the_cli_and_are_recorded(client: TestClient):
    seller = new_seller(client)
    dry = _upload(client, seller, "orders", "all-orders-jp-utf8.txt", dry_run="true")
    assert dry.status_code == 200, dry.text
    report = dry.json()
    assert report["dry_run"] is True
    assert report["import_id"] is None
    assert report["stored"] > 0
    assert report["file"]["encoding"].startswith("utf-8")
    assert client.get(f"/v1/sellers/{seller}/orders").json()["items"] == []

    real = _upload(client, seller, "orders", "all-orders-jp-utf8.txt").json()
    assert real["stored"] == report["stored"]
    assert real["import_id"].startswith("imp_")
    orders = client.get(f"/v1/sellers/{seller}/orders", params={"limit": 100}).json()["items"]
    assert len(orders) == report["file"]["orders"] - report["file"].get("pending", 0)

    again = _upload(client, seller, "orders", "all-orders-jp-utf8.txt").json()
    assert again["stored"] == 0
    assert again["duplicates"] > 0
    for kind, name in (("unshipped", "unshipped-jp.txt"), ("feedback", "feedback-jp.txt")):
        r = _upload(client, seller, kind, name)
        assert r.status_code == 200, r.text
        assert set(r.json()) >= {"read", "stored", "duplicates", "rejected", "errors", "file"}

    runs = client.get(f"/v1/sellers/{seller}/imports", params={"limit": 2}).json()
    assert len(runs["items"]) == 2
    assert runs["next_cursor"]
    rest = client.get(
        f"/v1/sellers/{seller}/imports", params={"limit": 100, "cursor": runs["next_cursor"]}
    ).json()
    everything = runs["items"] + rest["items"]
    assert [r["kind"] for r in everything][::-1] == [
        "amazon-orders",
        "amazon-orders",
        "amazon-unshipped",
        "amazon-feedback",
    ]
    assert rest["next_cursor"] is None
    one = client.get(f"/v1/sellers/{seller}/imports/{real['import_id']}").json()
    assert (one["status"], one["source_name"], one["stored"]) == (
        "done",
        "all-orders-jp-utf8.txt",
        real["stored"],
    )
    assert one["report"]["stored"] == real["stored"]
    assert client.get(f"/v1/sellers/{seller}/imports", params={"marketplace": "US"}).json() == {
        "items": [],
        "next_cursor": None,
    }


def test_import_errors_use_the_envelope_and_never_show_server_paths(client: TestClient):
    seller = new_seller(client, markets=("US",))
    url = f"/v1/sellers/{seller}/imports/US/amazon-orders"
    missing = client.post(
        url,
        params={"filename": "mine.txt"},
        content=(DATA / "all-orders-missing-column.txt").read_bytes(),
    )
    error = assert_envelope(missing, 400, "missing_column")
    assert "mine.txt" in error["message"]
    assert "tsunagu-upload" not in missing.text
    assert error["details"]["path"] == "mine.txt"
    assert_envelope(client.post(url, content=b""), 400, "empty_file")
    assert_envelope(client.post(url, content=b"\xef\xbb\xbf\xff\tbad"), 400, "unreadable_file")
    only_us = f"/v1/sellers/{seller}/imports/JP/amazon-orders"
    assert_envelope(client.post(only_us, content=b"x"), 404, "marketplace_not_enabled")
    assert_envelope(
        client.post("/v1/sellers/sel_nope/imports/US/amazon-orders", content=b"x"),
        404,
        "seller_not_found",
    )
    assert_envelope(
        client.post(f"/v1/sellers/{seller}/imports/XX/amazon-orders"), 404, "unknown_marketplace"
    )
    too_big = client.post(url, content=b"a\tb\n" * (LIMIT // 4 + 1))
    assert_envelope(too_big, 413, "payload_too_large")
    # refused files are recorded as failed runs, never as done
    statuses = {r["status"] for r in client.get(f"/v1/sellers/{seller}/imports").json()["items"]}
    assert statuses == {"failed"}
    assert_envelope(client.get(f"/v1/sellers/{seller}/imports/imp_nope"), 404, "import_not_found")
    other = new_seller(client, "Other", ("US",))
    run = client.post(
        f"/v1/sellers/{other}/imports/US/amazon-orders",
        content=(DATA / "all-orders-us.txt").read_bytes(),
    ).json()
    # another seller's run is not found, not forbidden: no existence leak
    hidden = client.get(f"/v1/sellers/{seller}/imports/{run['import_id']}")
    assert_envelope(hidden, 404, "import_not_found")


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("..", None),
        ("a/..", None),
        ("n" * 300, None),
        ("a\x00b.txt", "invalid_file_name"),
        ("a\nb.txt", "invalid_file_name"),
    ],
    ids=["dotdot", "a-dotdot", "long", "nul", "newline"],
)
def test_api_10_the_filename_parameter_is_a_label_and_control_characters_are_refused(
    client: TestClient, name: str, code: str | None
):
    """API-10 (client-supplied file names never become paths; control characters are a 4xx
    naming the field) and API-05 (never a 500: PostgreSQL once refused a NUL with a 500), for
    both upload routes that take a ``filename``."""
    seller = new_seller(client, markets=("US",))
    orders = client.post(
        f"/v1/sellers/{seller}/imports/US/amazon-orders",
        params={"filename": name},
        content=(DATA / "all-orders-us.txt").read_bytes(),
    )
    report = client.post(
        f"/v1/sellers/{seller}/health/US/amazon-report",
        params={"filename": name},
        content=(DATA / "v2-health-us-only.json").read_bytes(),
    )
    if code is not None:
        for r in (orders, report):
            assert assert_envelope(r, 422, code)["details"] == {"field": "filename"}
        assert client.get(f"/v1/sellers/{seller}/imports").json()["items"] == []
        return
    label = name if len(name) <= 200 else name[:199] + "…"
    assert report.status_code == 201, report.text
    assert report.json()["snapshot"]["source_name"] == label
    if len(name) > 200:  # the import route takes at most 200 characters
        assert_envelope(orders, 422, "validation_error")
        return
    assert orders.status_code == 200, orders.text
    [run] = client.get(f"/v1/sellers/{seller}/imports").json()["items"]
    assert run["source_name"] == name


def test_strict_import_with_a_bad_row_stores_nothing_and_is_recorded_rejected(
    client: TestClient,
):
    seller = new_seller(client, markets=("US",))
    r = client.post(
        f"/v1/sellers/{seller}/imports/US/amazon-orders",
        params={"strict": "true"},
        content=(DATA / "all-orders-us-bad.txt").read_bytes(),
    )
    assert r.status_code == 200, r.text
    assert r.json()["rejected"] > 0
    assert r.json()["stored"] == 0
    run = client.get(f"/v1/sellers/{seller}/imports/{r.json()['import_id']}").json()
    assert run["status"] == "rejected"
    assert run["mode"] == "strict"


def test_alert_check_records_once_and_the_list_pages(client: TestClient):
    seller = new_seller(client)
    check = client.post(f"/v1/sellers/{seller}/alerts/check", params={"as_of": "2026-11-25"})
    assert check.status_code == 200, check.text
    assert [c["marketplace"] for c in check.json()] == ["JP", "US"]
    assert all(c["day"] == "2026-11-25" for c in check.json())
    again = client.post(
        f"/v1/sellers/{seller}/alerts/check", params={"as_of": "2026-11-25", "marketplace": "JP"}
    )
    assert [c["raised"] for c in again.json()] == [[]]
    bad = client.post(f"/v1/sellers/{seller}/alerts/check", params={"marketplace": "XX"})
    assert_envelope(bad, 422, "unknown_marketplace")
    page = client.get(f"/v1/sellers/{seller}/alerts", params={"limit": 1}).json()
    assert set(page) == {"items", "next_cursor"}
    assert_envelope(
        client.get(f"/v1/sellers/{seller}/alerts", params={"cursor": "nope"}), 422, "invalid_cursor"
    )


def test_jobs_are_listed_in_pages_with_the_kinds(client: TestClient, db: Db):
    """Jobs span every seller: a platform operator lists them, a seller's owner may not."""
    assert_envelope(client.get("/v1/jobs"), 403, "forbidden")
    with api_client(db, email="ops@example.test", operator=True) as operator:
        _walk_jobs(operator, db)


def _walk_jobs(client: TestClient, db: Db) -> None:
    for day in (24, 25, 26):
        jobs_service.run_due(
            db.factory,
            as_of=datetime(2026, 11, day, 2, 0, tzinfo=UTC),
            registry=db.registry,
            kinds=job_kinds(),
        )
    first = client.get("/v1/jobs", params={"limit": 2}).json()
    assert first["kinds"] == sorted(job_kinds())
    assert len(first["items"]) == 2
    assert first["next_cursor"]
    seen = [j["id"] for j in first["items"]]
    cursor = first["next_cursor"]
    while cursor:
        page = client.get("/v1/jobs", params={"limit": 2, "cursor": cursor}).json()
        seen += [j["id"] for j in page["items"]]
        cursor = page["next_cursor"]
    periodic = [k for k in job_kinds().values() if k.period is not None]  # one-offs: enqueued
    assert len(seen) == len(set(seen)) == 3 * len(periodic)
    due = [j["due_at"] for j in client.get("/v1/jobs").json()["items"]]
    assert due == sorted(due, reverse=True)
    assert_envelope(client.get("/v1/jobs", params={"cursor": "x"}), 422, "invalid_cursor")


def _list_routes(client: TestClient) -> list[str]:
    spec = client.get("/openapi.json").json()
    return [
        path
        for path, ops in spec["paths"].items()
        if "get" in ops and {p["name"] for p in ops["get"].get("parameters", [])} >= {"limit"}
    ]


def test_every_list_route_pages_and_caps_its_page_size(client: TestClient, db: Db):
    seller = new_seller(client)
    routes = _list_routes(client)
    assert {
        "/v1/sellers",
        "/v1/sellers/{seller_id}/orders",
        "/v1/sellers/{seller_id}/alerts",
        "/v1/sellers/{seller_id}/imports",
        "/v1/jobs",
        "/v1/points/{marketplace}/customers/{customer}/entries",
    } <= set(routes)
    with api_client(db, email="lists-operator@example.test", operator=True) as operator:
        for path in routes:
            if path == "/v1/jobs":  # an operator's list: paged in test_jobs_are_listed_in_pages…
                continue
            if "{webhook_id}" in path:  # a webhook's deliveries: test_notifications_api.py
                continue
            # the marketplace's own lists (customers' points) are for platform operators
            caller = operator if path.startswith("/v1/points/") else client
            url = (
                path.replace("{seller_id}", seller)
                .replace("{marketplace}", "JP")
                .replace("{customer}", "cust-1")
            )
            for bad in (0, 101, "many"):
                error = assert_envelope(
                    caller.get(url, params={"limit": bad}), 422, "validation_error"
                )
                assert error["details"]["errors"][0]["field"] == "query.limit"
            ok = caller.get(url, params={"limit": 100})
            assert ok.status_code == 200, (path, ok.text)
            assert set(ok.json()) >= {"items", "next_cursor"}


def test_every_operation_is_documented(client: TestClient):
    """New routes keep the standard: a summary, a description, and each error they document
    answered with the envelope."""
    spec = client.get("/openapi.json").json()
    envelope = {"$ref": "#/components/schemas/ErrorEnvelope"}
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            where = f"{method.upper()} {path}"
            assert op.get("summary"), where
            assert op.get("description"), where
            errors = {s: r for s, r in op["responses"].items() if s[0] in "45"}
            assert errors, f"{where} documents no error response"
            for status, response in errors.items():
                assert response.get("description"), f"{where} {status}"
                assert response["content"]["application/json"]["schema"] == envelope, where
            if op.get("parameters") or op.get("requestBody"):
                assert "422" in op["responses"] or "400" in op["responses"], where


def test_request_and_response_models_have_examples(client: TestClient):
    spec = client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    for name in ("ErrorBody", "ImportReportOut", "ImportRunOut", "JobOut", "AlertOut"):
        props = schemas[name]["properties"]
        assert any("examples" in p for p in props.values()), name
    for path, ops in spec["paths"].items():
        body = ops.get("post", {}).get("requestBody")
        if body:
            content = body["content"]
            assert any("example" in c or "examples" in c for c in content.values()) or (
                "$ref" in next(iter(content.values()))["schema"]
            ), path


def test_unsupported_methods_name_every_allowed_method(client: TestClient):
    r = client.request("OPTIONS", "/v1/sellers")
    assert_envelope(r, 405, "method_not_allowed")
    assert set(r.headers["allow"].split(", ")) >= {"GET", "POST"}


def test_a_json_body_that_cannot_be_decoded_is_invalid_json(client: TestClient):
    r = client.post("/v1/sellers", content=b"k\xff", headers={"content-type": "application/json"})
    assert_envelope(r, 400, "invalid_json")


@pytest.mark.parametrize("day", ["0", "1", "2026-11-25T00:00:00", "0001-01-01", "3000-01-01"])
def test_days_are_written_yyyy_mm_dd_within_the_supported_years(client: TestClient, day: str):
    seller = new_seller(client, markets=("JP",))
    for suffix in ("", "/forecast", "/explain", "/report", "/what-if"):
        r = client.get(f"/v1/sellers/{seller}/health/JP{suffix}", params={"as_of": day})
        assert_envelope(r, 422, "validation_error")
    r = client.get(f"/v1/sellers/{seller}/health/JP/history", params={"from": day, "to": day})
    assert_envelope(r, 422, "validation_error")
