"""The enforcement routes through real HTTP handling: sellers read their own stores' status,
only operators override or evaluate (403 ``forbidden`` otherwise), bad input is 4xx."""

from __future__ import annotations

from tests.api.test_api import assert_envelope, new_seller
from tests.auth import OWNER_EMAIL, api_client, create_user, sign_in
from tests.conftest import Db
from tests.factories import at, event

OPERATOR = "operator@example.test"
STRANGER = "stranger@example.test"


def critical(seller: str) -> dict[str, object]:
    return event(
        "violation_opened",
        seller,
        when=at(-3),
        violation_id="V-crit",
        policy="productAuthenticityCustomerComplaints",
        severity="critical",
    )


def test_owner_reads_status_operator_evaluates_and_overrides(db: Db):
    with api_client(db) as owner:
        seller = new_seller(owner)
        assert owner.post("/v1/events", json=[critical(seller)]).status_code == 200
        url = f"/v1/sellers/{seller}/stores/JP/status"
        fresh = owner.get(url)
        assert fresh.status_code == 200, fresh.text
        assert (fresh.json()["status"], fresh.json()["issues"], fresh.json()["grace_until"]) == (
            "NORMAL",
            [],
            None,
        )
        # a seller may not evaluate or override, even its own store
        body = {"as_of": "2026-11-25", "seller_id": seller}
        assert_envelope(owner.post("/v1/enforcement/evaluations", json=body), 403, "forbidden")
        override = {"seller_id": seller, "marketplace": "JP", "status": "NORMAL", "reason": "x"}
        assert_envelope(owner.post("/v1/enforcement/overrides", json=override), 403, "forbidden")

        create_user(db, OPERATOR, operator=True)
        operator = {"Authorization": f"Bearer {sign_in(owner, OPERATOR)}"}
        r = owner.post("/v1/enforcement/evaluations", json=body, headers=operator)
        assert r.status_code == 200, r.text
        by_store = {i["marketplace"]: i for i in r.json()["items"]}
        assert by_store["JP"]["status"] == "DEACTIVATED"
        assert by_store["US"]["status"] == "DEACTIVATED"  # a related store
        assert [i["code"] for i in by_store["US"]["issues"]] == ["RELATED_ACCOUNT"]

        # SH-03: the deactivation ended the owner's session; signing in again still works
        assert_envelope(owner.get(url), 401, "session_invalid")
        owner.headers["Authorization"] = f"Bearer {sign_in(owner, OWNER_EMAIL)}"
        shown = owner.get(url).json()
        assert shown["status"] == "DEACTIVATED"
        assert shown["appeal_deadline"] is not None
        codes = {i["code"]: i for i in shown["issues"]}
        assert codes["POLICY_VIOLATION"]["evidence"] == ["V-crit"]
        # the V2 report now carries the decision
        report = owner.get(f"/v1/sellers/{seller}/health/JP/report").json()
        assert report["accountStatuses"][0]["status"] == "DEACTIVATED"

        again = dict(override, status="UNDER_REVIEW", reason="documents received")
        r = owner.post("/v1/enforcement/overrides", json=again, headers=operator)
        assert r.status_code == 200, r.text
        assert (r.json()["status"], r.json()["amazon_status"]) == ("UNDER_REVIEW", "AT_RISK")
        changes = owner.get(url + "/changes", params={"limit": 1}).json()
        assert [(c["current"], c["reason"], c["note"]) for c in changes["items"]] == [
            ("UNDER_REVIEW", "override", "documents received")
        ]
        assert changes["next_cursor"] is not None
        rest = owner.get(url + "/changes", params={"cursor": changes["next_cursor"]}).json()
        assert [c["current"] for c in rest["items"]] == ["DEACTIVATED"]


def test_another_sellers_status_is_not_found_and_bad_input_is_refused(db: Db):
    with api_client(db) as owner:
        seller = new_seller(owner)
        create_user(db, STRANGER)
        stranger = {"Authorization": f"Bearer {sign_in(owner, STRANGER)}"}
        r = owner.get(f"/v1/sellers/{seller}/stores/JP/status", headers=stranger)
        assert_envelope(r, 404, "seller_not_found")
        r = owner.get(f"/v1/sellers/{seller}/stores/JP/status/changes", headers=stranger)
        assert_envelope(r, 404, "seller_not_found")
        assert_envelope(
            owner.get(f"/v1/sellers/{seller}/stores/XX/status"), 404, "unknown_marketplace"
        )
        assert_envelope(
            owner.get(f"/v1/sellers/{seller}/stores/JP/status/changes?cursor=nope"),
            422,
            "invalid_cursor",
        )
        create_user(db, OPERATOR, operator=True)
        operator = {"Authorization": f"Bearer {sign_in(owner, OPERATOR)}"}
        bad = {"seller_id": seller, "marketplace": "JP", "status": "SUSPENDED", "reason": "x"}
        r = owner.post("/v1/enforcement/overrides", json=bad, headers=operator)
        assert_envelope(r, 422, "invalid_account_status")
        r = owner.post(
            "/v1/enforcement/evaluations", json={"as_of": "2999-01-01"}, headers=operator
        )
        assert_envelope(r, 422, "day_not_over")
        r = owner.post(
            "/v1/enforcement/evaluations",
            json={"as_of": "2026-11-25", "seller_id": "sel_nope"},
            headers=operator,
        )
        assert_envelope(r, 404, "seller_not_found")
