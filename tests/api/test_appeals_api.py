"""The appeals routes (issue 14 item 9): the seller's journey from a deactivation to an accepted
appeal over HTTP, the operator's decision, evidence uploads and their limits, and a seller who
never sees another seller's appeal (API-03)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import get_args

import pytest
from fastapi.testclient import TestClient

from tests.api.test_api import assert_envelope
from tests.auth import app_settings, create_user, sign_in
from tests.conftest import Db
from tests.factories import make_seller
from tests.integration.test_appeals import deactivate
from tsunagu.appeals.api import StatusName
from tsunagu.appeals.rules import STATUSES
from tsunagu.slices import create_app

OWNER = "appeal-owner@example.test"
OTHER = "other-owner@example.test"
OPERATOR = "appeal-operator@example.test"
LONG = "We traced every affected order to its cause and recorded the figures behind it."
PDF = b"%PDF-1.7\n%invoice from our supplier\n"


@dataclass
class World:
    client: TestClient
    seller: str
    owner: dict[str, str]
    other: dict[str, str]
    operator: dict[str, str]
    files: Path


@pytest.fixture
def world(db: Db, tmp_path: Path) -> Iterator[World]:
    seller = make_seller(db, marketplaces=("US",))
    other_seller = make_seller(db, name="Other Shop", marketplaces=("US",))
    deactivate(db, seller)
    create_user(db, OWNER, owner_of=[seller])
    create_user(db, OTHER, owner_of=[other_seller])
    create_user(db, OPERATOR, operator=True)
    config = tmp_path / "tsunagu.toml"
    config.write_text("[appeals]\nmax_attachment_bytes = 1000\n")
    files = tmp_path / "files"
    settings = app_settings(db, files_dir=files, config_path=config)
    with TestClient(create_app(settings, migrate=False)) as client:

        def bearer(email: str) -> dict[str, str]:
            return {"Authorization": f"Bearer {sign_in(client, email)}"}

        yield World(client, seller, bearer(OWNER), bearer(OTHER), bearer(OPERATOR), files)


def _plan(issues: list[str], evidence: list[str] | None = None) -> dict[str, object]:
    return {
        "sections": [
            {
                "issue": code,
                "root_cause": LONG,
                "actions": LONG,
                "prevention": LONG,
                "evidence": evidence or [],
            }
            for code in issues
        ]
    }


def _open(w: World) -> dict[str, object]:
    r = w.client.post(f"/v1/sellers/{w.seller}/stores/US/appeals", headers=w.owner)
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_a_seller_appeals_and_an_operator_accepts(world: World):
    w = world
    appeal = _open(w)
    assert appeal["status"] == "DRAFT"
    assert appeal["issues"] == ["POLICY_VIOLATION"]
    base = f"/v1/appeals/{appeal['id']}"
    refused = assert_envelope(
        w.client.post(base + "/submit", headers=w.owner), 422, "plan_incomplete"
    )
    assert "POLICY_VIOLATION" in refused["message"]
    assert refused["details"]["missing"] == [{"issue": "POLICY_VIOLATION", "part": "section"}]
    r = w.client.post(
        base + "/attachments",
        files={"file": ("supplier invoice.pdf", PDF, "application/octet-stream")},
        headers=w.owner,
    )
    assert r.status_code == 201, r.text
    attachment = r.json()
    assert attachment["media_type"] == "application/pdf"
    assert (w.files / "appeals" / str(appeal["id"]) / attachment["sha256"]).read_bytes() == PDF
    r = w.client.put(
        base + "/plan", json=_plan(["POLICY_VIOLATION"], [attachment["id"]]), headers=w.owner
    )
    assert r.status_code == 200, r.text
    check = w.client.get(base + "/check", headers=w.owner).json()
    assert check["complete"] is True
    assert check["missing"] == []
    assert w.client.post(base + "/submit", headers=w.owner).json()["status"] == "SUBMITTED"
    assert_envelope(
        w.client.post(base + "/decision", json={"decision": "accept"}, headers=w.owner),
        403,
        "forbidden",
    )
    queue = w.client.get("/v1/appeals", params={"status": "SUBMITTED"}, headers=w.operator)
    assert [a["id"] for a in queue.json()["items"]] == [appeal["id"]]
    r = w.client.post(
        base + "/decision",
        json={"decision": "accept", "note": "Evidence checked."},
        headers=w.operator,
    )
    assert r.status_code == 200, r.text
    shown = w.client.get(base, headers=w.owner).json()
    assert shown["status"] == "ACCEPTED"
    assert [(t["from"], t["to"]) for t in shown["transitions"]][-2:] == [
        ("SUBMITTED", "UNDER_REVIEW"),
        ("UNDER_REVIEW", "ACCEPTED"),
    ]
    assert shown["sections"][0]["evidence"] == [attachment["id"]]
    assert_envelope(w.client.post(base + "/withdraw", headers=w.owner), 409, "sequence_fail")


def test_another_seller_never_sees_the_appeal(world: World):
    w = world
    appeal = _open(w)
    base = f"/v1/appeals/{appeal['id']}"
    for method, path, kwargs in (
        ("GET", base, {}),
        ("GET", base + "/check", {}),
        ("PUT", base + "/plan", {"json": _plan(["POLICY_VIOLATION"])}),
        ("POST", base + "/submit", {}),
        ("POST", base + "/withdraw", {}),
        ("POST", base + "/draft", {}),
        ("POST", base + "/attachments", {"files": {"file": ("a.pdf", PDF, "application/pdf")}}),
    ):
        r = w.client.request(method, path, headers=w.other, **kwargs)
        body = assert_envelope(r, 404, "appeal_not_found")
        assert w.seller not in r.text, body
    assert w.client.get("/v1/appeals", headers=w.other).json()["items"] == []
    assert_envelope(
        w.client.post(f"/v1/sellers/{w.seller}/stores/US/appeals", headers=w.other),
        404,
        "seller_not_found",
    )


def test_evidence_limits_answer_with_their_codes(world: World):
    w = world
    base = f"/v1/appeals/{_open(w)['id']}/attachments"
    big = PDF + b"0" * 2000
    assert_envelope(
        w.client.post(base, files={"file": ("a.pdf", big, "application/pdf")}, headers=w.owner),
        413,
        "attachment_too_large",
    )
    exe = b"MZ\x90\x00\x03\x00\x00\x00"
    error = assert_envelope(
        w.client.post(base, files={"file": ("a.pdf", exe, "application/pdf")}, headers=w.owner),
        422,
        "attachment_type",
    )
    assert error["details"]["reason"] == "binary"
    assert not list(w.files.rglob("*")) if w.files.exists() else True


def test_a_second_open_appeal_and_bad_plans_are_refused(world: World):
    w = world
    appeal = _open(w)
    error = assert_envelope(
        w.client.post(f"/v1/sellers/{w.seller}/stores/US/appeals", headers=w.owner),
        409,
        "appeal_exists",
    )
    assert error["details"]["appeal_id"] == appeal["id"]
    base = f"/v1/appeals/{appeal['id']}"
    error = assert_envelope(
        w.client.put(base + "/plan", json=_plan(["LATE_SHIPMENT_RATE"]), headers=w.owner),
        422,
        "unknown_issue",
    )
    assert error["details"]["field"] == "sections[0].issue"
    assert_envelope(
        w.client.post(base + "/decision", json={"decision": "maybe"}, headers=w.operator),
        422,
        "validation_error",
    )
    assert_envelope(
        w.client.post(base + "/decision", json={"decision": "accept"}, headers=w.operator),
        409,
        "sequence_fail",
    )
    assert_envelope(
        w.client.get("/v1/appeals", params={"status": "PENDING"}, headers=w.operator),
        422,
        "validation_error",
    )


def test_the_status_filter_knows_every_status_of_the_lifecycle():
    assert get_args(StatusName) == STATUSES


def test_an_upload_is_read_only_after_the_caller_is_known(world: World):
    """A malformed multipart body without credentials is 401, like any other request; with
    them, no boundary is 400 and no `file` field 422."""
    w = world
    base = f"/v1/appeals/{_open(w)['id']}/attachments"
    broken = {"content-type": "multipart/form-data"}
    assert_envelope(w.client.post(base, headers=broken), 401, "authentication_required")
    assert_envelope(w.client.post(base, headers={**broken, **w.owner}), 400, "usage_error")
    error = assert_envelope(
        w.client.post(base, data={"other": "x"}, headers=w.owner), 422, "validation_error"
    )
    assert error["details"]["errors"][0]["field"] == "file"
