"""``POST /v1/sellers/{seller_id}/auto-imports`` and ``…/auto-imports/detect`` (issue 16 item 3): the
CLI's ``import auto`` over HTTP, multipart ``files``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.api.test_api import assert_envelope, new_seller
from tests.auth import api_client
from tests.conftest import Db

DATA = Path(__file__).resolve().parent.parent / "data" / "amazon"


@pytest.fixture
def client(db: Db) -> Iterator[TestClient]:
    with api_client(db, max_body_bytes=1024 * 1024) as c:
        yield c


def files(*names: str) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("files", (n, (DATA / n).read_bytes(), "text/plain")) for n in names]


def test_detect_then_import_jp_and_us_files(client: TestClient):
    seller = new_seller(client)
    sent = files("feedback-jp.txt", "all-orders-us.txt", "all-orders-jp-utf8.txt")
    detected = client.post(f"/v1/sellers/{seller}/auto-imports/detect", files=sent)
    assert detected.status_code == 200, detected.text
    body = detected.json()
    assert body["dry_run"] is True
    assert [
        (f["name"], f["kind"], f["marketplace"], f["rows"], f["status"]) for f in body["files"]
    ] == [
        ("all-orders-jp-utf8.txt", "orders", "JP", 10, "ready"),
        ("all-orders-us.txt", "orders", "US", 16, "ready"),
        ("feedback-jp.txt", "feedback", "JP", 4, "ready"),
    ]
    assert client.get(f"/v1/sellers/{seller}/imports").json()["items"] == []

    imported = client.post(f"/v1/sellers/{seller}/auto-imports", files=sent)
    assert imported.status_code == 200, imported.text
    out = imported.json()
    assert out["totals"]["imported"] == 3
    assert out["totals"]["rejected"] == 0
    runs = client.get(f"/v1/sellers/{seller}/imports").json()["items"]
    assert sorted(r["id"] for r in runs) == sorted(f["import_id"] for f in out["files"])
    feedback = next(f for f in out["files"] if f["kind"] == "feedback")
    assert (feedback["attributed_by"], feedback["report"]["stored"]) == ("orders", 4)


def test_a_contradicting_marketplace_refuses_that_file_only(client: TestClient):
    seller = new_seller(client)
    r = client.post(
        f"/v1/sellers/{seller}/auto-imports",
        params={"marketplace": "US"},
        files=files("all-orders-jp-utf8.txt", "all-orders-us.txt"),
    )
    assert r.status_code == 200, r.text
    by_name = {f["name"]: f for f in r.json()["files"]}
    jp = by_name["all-orders-jp-utf8.txt"]
    assert (jp["status"], [p["code"] for p in jp["problems"]]) == (
        "refused",
        ["file_marketplace_mismatch"],
    )
    assert by_name["all-orders-us.txt"]["status"] == "imported"


def test_the_calls_own_errors(client: TestClient):
    seller = new_seller(client, markets=("US",))
    url = f"/v1/sellers/{seller}/auto-imports"
    assert_envelope(client.post(url, data={"x": "y"}), 422, "validation_error")
    assert_envelope(
        client.post(url, params={"marketplace": "XX"}, files=files("all-orders-us.txt")),
        422,
        "unknown_marketplace",
    )
    assert_envelope(
        client.post(url, params={"marketplace": "JP"}, files=files("all-orders-us.txt")),
        404,
        "marketplace_not_enabled",
    )
    assert_envelope(
        client.post("/v1/sellers/sel_nope/auto-imports/detect", files=files("all-orders-us.txt")),
        404,
        "seller_not_found",
    )
    many = [("files", (f"f{n}.txt", b"a\tb\n", "text/plain")) for n in range(31)]
    assert_envelope(client.post(url, files=many), 400, "too_many_files")
