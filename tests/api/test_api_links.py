"""Linked accounts through the HTTP API: a JP account and a US account, each with its own user,
linked by proving both sign-ins, reaching both sellers with one session and one authenticator,
then unlinked with a step-up and the e-mailed code (AUTH-12, AUTH-13, ADR 0014)."""

from __future__ import annotations

import re
import time
from dataclasses import replace
from datetime import timedelta

import pyotp
from fastapi.testclient import TestClient

from tests.api.test_api import assert_envelope, new_seller
from tests.auth import PASSWORD, TEST_IDENTITY, app_settings, create_user, sign_in
from tests.conftest import Db
from tsunagu.identity.mail import list_outbox
from tsunagu.slices import create_app

JP_EMAIL = "tokyo@example.jp"
US_EMAIL = "seattle@example.com"


def _client(db: Db, **overrides: object) -> TestClient:
    return TestClient(create_app(app_settings(db, **overrides), migrate=False))


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _enrol(client: TestClient, token: str) -> str:
    """Turn 2FA on for the session's account; the TOTP secret."""
    begun = client.post("/v1/auth/totp", headers=_bearer(token))
    assert begun.status_code == 200, begun.text
    secret = begun.json()["secret"]
    assert begun.json()["svg"].lstrip().startswith("<svg")
    done = client.post(
        "/v1/auth/totp/confirm", json={"code": _code(secret, -1)}, headers=_bearer(token)
    )
    assert done.status_code == 200, done.text
    assert len(done.json()["recovery_codes"]) == 10
    return str(secret)


def _code(secret: str, step: int) -> str:
    """The code ``step`` time steps from now (the server accepts -1, 0 and +1). Each use in a
    test takes a later step than the one before: a step, once used, never works again."""
    return str(pyotp.TOTP(secret).at(time.time() + 30 * step))


def _link_code(db: Db, email: str) -> str:
    with db.session() as session:
        mail = next(m for m in list_outbox(session, to=email) if m.kind == "link_request")
    found = re.search(r"Confirmation code: (\S+)", mail.body)
    assert found is not None, mail.body
    return found.group(1)


def _unlink_code(db: Db, email: str) -> str:
    with db.session() as session:
        mail = next(m for m in list_outbox(session, to=email) if m.kind == "unlink_code")
    found = re.search(r"\b(\d{8})\b", mail.body)
    assert found is not None, mail.body
    return found.group(1)


def test_link_reach_both_then_unlink(db: Db):
    """AUTH-13: link needs the other account's password *and* its 2FA code; the JP account has no
    second factor of its own, so the link waits (202) until JP accepts the message sent to it,
    signed in (13 f). Afterwards one session reads both sellers and the other account's
    authenticator protects both sign-ins; unlink needs the e-mailed code, ends the other sessions
    and the cross-link reach (13 d), and leaves each account with its own working 2FA."""
    create_user(db, JP_EMAIL)
    create_user(db, US_EMAIL)
    # the wrong attempts below would otherwise start the 1-second code back-off (AUTH-05)
    patient = replace(TEST_IDENTITY, code_throttle=replace(TEST_IDENTITY.code_throttle, free=5))
    with _client(db, identity=patient) as client:
        jp = sign_in(client, JP_EMAIL)
        us = sign_in(client, US_EMAIL)
        client.headers.update(_bearer(jp))
        jp_seller = new_seller(client, "Kyoto Tea Works JP", ("JP",))
        us_seller = new_seller(
            TestClient(client.app, headers=_bearer(us)), "Kyoto Tea Works US", ("US",)
        )
        assert_envelope(client.get(f"/v1/sellers/{us_seller}"), 404, "seller_not_found")
        secret = _enrol(client, us)  # the US account uses 2FA

        # e-mail and password alone do not prove control of an account with 2FA
        assert_envelope(
            client.post("/v1/auth/links", json={"email": US_EMAIL, "password": PASSWORD}),
            401,
            "invalid_code",
        )
        assert_envelope(
            client.post(
                "/v1/auth/links",
                json={"email": US_EMAIL, "password": "not the password", "code": "000000"},
            ),
            401,
            "invalid_credentials",
        )
        code = _code(secret, 0)
        waits = client.post(
            "/v1/auth/links", json={"email": US_EMAIL, "password": PASSWORD, "code": code}
        )
        assert waits.status_code == 202, waits.text
        us_id = waits.json()["principal_id"]
        jp_id = client.get("/v1/auth/me").json()["principal"]["id"]
        assert waits.json()["waiting_for"] == [jp_id]
        [open_request] = client.get("/v1/auth/links/requests").json()
        assert open_request["other"] == US_EMAIL
        assert [w["email"] for w in open_request["waiting_for"]] == [JP_EMAIL]
        assert_envelope(client.get(f"/v1/sellers/{us_seller}"), 404, "seller_not_found")
        # the US account cannot accept for JP, even holding the code
        assert_envelope(
            client.post(
                "/v1/auth/links/requests/accept",
                json={"token": _link_code(db, JP_EMAIL)},
                headers=_bearer(us),
            ),
            403,
            "link_request_other_account",
        )
        linked = client.post(
            "/v1/auth/links/requests/accept", json={"token": _link_code(db, JP_EMAIL)}
        )
        assert linked.status_code == 200, linked.text
        assert linked.json()["status"] == "linked"
        assert linked.json()["principal_id"] == us_id
        assert linked.json()["replaced_factor"] is False
        again = client.post(
            "/v1/auth/links", json={"email": US_EMAIL, "password": PASSWORD, "code": code}
        )
        assert again.status_code in (401, 409), again.text  # never a second link row

        # one session, both sellers
        seen = {s["id"] for s in client.get("/v1/sellers").json()["items"]}
        assert seen == {jp_seller, us_seller}
        assert client.get(f"/v1/sellers/{us_seller}").status_code == 200
        assert [a["email"] for a in client.get("/v1/auth/links").json()] == [US_EMAIL]

        # the US authenticator now guards the JP sign-in too (the strongest factor set)
        pending = client.post(
            "/v1/auth/sign-in", json={"email": JP_EMAIL, "password": PASSWORD}
        ).json()
        assert pending["stage"] == "second_factor"
        finished = client.post(
            "/v1/auth/second-factor",
            json={"code": _code(secret, +1)},
            headers=_bearer(pending["token"]),
        )
        assert finished.status_code == 200, finished.text
        jp = finished.json()["token"]
        client.headers.update(_bearer(jp))

        # unlink: the code goes to the caller's mailbox
        asked = client.post(f"/v1/auth/links/{us_id}/unlink")
        assert asked.status_code == 202, asked.text
        assert_envelope(
            client.post("/v1/auth/links/unlink/confirm", json={"code": "00000000"}),
            401,
            "invalid_code",
        )
        done = client.post(
            "/v1/auth/links/unlink/confirm", json={"code": _unlink_code(db, JP_EMAIL)}
        )
        assert done.status_code == 200, done.text
        assert done.json()["detached"] == us_id
        new_codes = done.json()["recovery_codes"]
        assert [len(v) for v in new_codes.values()] == [10]

        # the reach across the link is gone, and so is every other session of the group
        assert_envelope(client.get(f"/v1/sellers/{us_seller}"), 404, "seller_not_found")
        assert client.get(f"/v1/sellers/{jp_seller}").status_code == 200
        assert_envelope(client.get("/v1/sellers", headers=_bearer(us)), 401, "session_invalid")
        assert client.get("/v1/auth/links").json() == []

        # each account still signs in with its own password and the same authenticator
        for email in (JP_EMAIL, US_EMAIL):
            r = client.post("/v1/auth/sign-in", json={"email": email, "password": PASSWORD})
            assert r.json()["stage"] == "second_factor", email


def test_link_and_unlink_need_a_recent_sign_in(db: Db):
    """AUTH-12: with the step-up window at zero, linking and asking to unlink are refused with
    `reauth_required` until the session steps up."""
    create_user(db, JP_EMAIL)
    create_user(db, US_EMAIL)
    stale = replace(TEST_IDENTITY, recent_auth=timedelta(0))
    with _client(db, identity=stale) as client:
        token = sign_in(client, JP_EMAIL)
        body = {"email": US_EMAIL, "password": PASSWORD}
        error = assert_envelope(
            client.post("/v1/auth/links", json=body, headers=_bearer(token)),
            401,
            "reauth_required",
        )
        assert error["details"] == {"within_minutes": 0}
        assert_envelope(
            client.post("/v1/auth/links/usr_x/unlink", headers=_bearer(token)),
            401,
            "reauth_required",
        )


def test_an_unverified_account_cannot_be_linked(db: Db):
    """AUTH-13 b: an account whose e-mail address nobody proved (e.g. created by an attacker in
    the victim's name) cannot join a link group, whatever the password."""
    create_user(db, JP_EMAIL)
    create_user(db, US_EMAIL, verified=False)
    with _client(db) as client:
        token = sign_in(client, JP_EMAIL)
        r = client.post(
            "/v1/auth/links",
            json={"email": US_EMAIL, "password": PASSWORD},
            headers=_bearer(token),
        )
        assert_envelope(r, 403, "email_unverified")
        assert client.get("/v1/auth/links", headers=_bearer(token)).json() == []


def test_api_tokens_cannot_manage_links(db: Db):
    """Links change who reaches what: only a signed-in session may touch them, never a token."""
    create_user(db, JP_EMAIL)
    with _client(db) as client:
        session_token = sign_in(client, JP_EMAIL)
        seller = new_seller(TestClient(client.app, headers=_bearer(session_token)))
        created = client.post(
            "/v1/auth/tokens",
            json={"name": "nightly", "scope": "write", "seller_ids": [seller]},
            headers=_bearer(session_token),
        )
        assert created.status_code == 201, created.text
        api_token = created.json()["token"]
        assert_envelope(
            client.get("/v1/auth/links", headers=_bearer(api_token)), 403, "session_required"
        )


def test_both_with_2fa_link_at_once_and_a_request_can_be_declined_without_signing_in(db: Db):
    """Both accounts prove their own second factor in the request: 201 at once. A request asked
    of an account without 2FA can be declined with the code alone; then nothing links."""
    create_user(db, JP_EMAIL)
    create_user(db, US_EMAIL)
    create_user(db, "osaka@example.jp")
    patient = replace(TEST_IDENTITY, code_throttle=replace(TEST_IDENTITY.code_throttle, free=5))
    with _client(db, identity=patient) as client:
        jp, us = sign_in(client, JP_EMAIL), sign_in(client, US_EMAIL)
        jp_secret, us_secret = _enrol(client, jp), _enrol(client, us)
        pending = client.post(
            "/v1/auth/sign-in", json={"email": JP_EMAIL, "password": PASSWORD}
        ).json()
        full = client.post(
            "/v1/auth/second-factor",
            json={"code": _code(jp_secret, 0)},
            headers=_bearer(pending["token"]),
        ).json()["token"]
        linked = client.post(
            "/v1/auth/links",
            json={"email": US_EMAIL, "password": PASSWORD, "code": _code(us_secret, 0)},
            headers=_bearer(full),
        )
        assert linked.status_code == 201, linked.text
        assert linked.json()["replaced_factor"] is True

        osaka = sign_in(client, "osaka@example.jp")
        waits = client.post(
            "/v1/auth/links",
            json={"email": JP_EMAIL, "password": PASSWORD, "code": _code(jp_secret, 1)},
            headers=_bearer(osaka),
        )
        assert_envelope(waits, 409, "linked_elsewhere")
        waits = client.post(
            "/v1/auth/links",
            json={"email": "osaka@example.jp", "password": PASSWORD},
            headers=_bearer(full),
        )
        assert waits.status_code == 202, waits.text
        declined = client.post(
            "/v1/auth/links/requests/decline", json={"token": _link_code(db, "osaka@example.jp")}
        )
        assert declined.status_code == 204, declined.text
        assert_envelope(
            client.post(
                "/v1/auth/links/requests/accept",
                json={"token": _link_code(db, "osaka@example.jp")},
                headers=_bearer(osaka),
            ),
            400,
            "link_request_invalid",
        )
        emails = [a["email"] for a in client.get("/v1/auth/links", headers=_bearer(full)).json()]
        assert emails == [US_EMAIL]
