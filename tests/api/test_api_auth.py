"""``/v1/auth`` through real HTTP handling (TestClient), as an API client uses it: sign-in and
the bearer, 2FA enrolment and the second-factor step, step-up, sessions, API tokens, password
change and reset, and the headers that come with 401 and 429 (AUTH-06, AUTH-07, AUTH-12,
AUTH-14, API-03)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pyotp
import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import update

from tests.api.test_api import assert_envelope
from tests.auth import PASSWORD, TEST_IDENTITY, app_settings, create_user, sign_in
from tests.conftest import Db
from tsunagu.core.clock import utcnow
from tsunagu.core.db import unit_of_work
from tsunagu.identity.models import AuthSession
from tsunagu.slices import create_app

EMAIL = "sakura@example.test"
OTHER_EMAIL = "kaede@example.test"
NEW_PASSWORD = "yuzu-citron-lantern"


@pytest.fixture
def client(db: Db) -> Iterator[TestClient]:
    """A client without credentials; each test sends its bearer explicitly."""
    create_user(db, EMAIL)
    create_user(db, OTHER_EMAIL)
    with TestClient(create_app(app_settings(db), migrate=False)) as c:
        yield c


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _code(secret: str, step: int) -> str:
    """The code ``step`` periods from now (the server accepts -1, 0 and +1); each test takes a
    later step for each use, since a used step never works again (AUTH-03)."""
    return str(pyotp.TOTP(secret).at(time.time() + 30 * step))


def _me(client: TestClient, token: str) -> Response:
    return client.get("/v1/auth/me", headers=_bearer(token))


def _dead(r: Response, code: str = "session_invalid") -> None:
    """401 with the envelope and the bearer challenge (RFC 6750)."""
    assert_envelope(r, 401, code)
    assert r.headers["www-authenticate"].startswith("Bearer")


def _enrol(client: TestClient, token: str) -> str:
    """Turn 2FA on with a fresh sign-in's session (that counts as a recent authentication)."""
    begun = client.post("/v1/auth/totp", headers=_bearer(token))
    assert begun.status_code == 200, begun.text
    secret = str(begun.json()["secret"])
    assert begun.json()["uri"].startswith("otpauth://totp/")
    done = client.post(
        "/v1/auth/totp/confirm", json={"code": _code(secret, -1)}, headers=_bearer(token)
    )
    assert done.status_code == 200, done.text
    assert len(done.json()["recovery_codes"]) == 10
    return secret


def _age_sign_in(db: Db, session_id: str, by: timedelta) -> None:
    """Move the session's last full authentication back (not its idle clock)."""
    with unit_of_work(db.factory) as session:
        session.execute(
            update(AuthSession)
            .where(AuthSession.id == session_id)
            .values(last_authenticated_at=utcnow() - by)
        )


# -- sign-in and the bearer --------------------------------------------------------------------


def test_sign_in_gives_a_bearer_that_works_and_sign_out_kills_it(client: TestClient):
    """AUTH-14: the token from sign-in is the bearer; sign-out ends it on the server."""
    r = client.post("/v1/auth/sign-in", json={"email": EMAIL, "password": PASSWORD})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["stage"] == "full"
    assert len(body["token"]) >= 22  # >= 128 bits of URL-safe base64
    me = _me(client, body["token"])
    assert me.status_code == 200, me.text
    assert (me.json()["principal"]["email"], me.json()["session_id"]) == (EMAIL, body["session_id"])
    assert client.get("/v1/sellers", headers=_bearer(body["token"])).status_code == 200
    assert client.post("/v1/auth/sign-out", headers=_bearer(body["token"])).status_code == 204
    _dead(_me(client, body["token"]))
    _dead(client.get("/v1/sellers", headers=_bearer(body["token"])))


def test_401_answers_carry_the_bearer_challenge(client: TestClient):
    _dead(client.get("/v1/sellers"), "authentication_required")
    _dead(client.get("/v1/sellers", headers=_bearer("garbage")))
    _dead(client.get("/v1/sellers", headers=_bearer("tsu_garbage")), "token_invalid")
    wrong = client.post("/v1/auth/sign-in", json={"email": EMAIL, "password": "not it at all"})
    _dead(wrong, "invalid_credentials")
    assert_envelope(
        client.get("/v1/sellers", headers={"Authorization": "Basic x"}),
        401,
        ("invalid_authorization"),
    )


def test_too_many_wrong_passwords_answer_429_with_retry_after(db: Db):
    """AUTH-06: the back-off is announced with ``Retry-After``; another account is untouched."""
    create_user(db, EMAIL)
    create_user(db, OTHER_EMAIL)
    with TestClient(create_app(app_settings(db), migrate=False)) as client:
        answers = [
            client.post("/v1/auth/sign-in", json={"email": EMAIL, "password": f"wrong-{n}"})
            for n in range(8)
        ]
        limited = [r for r in answers if r.status_code == 429]
        assert limited, [r.status_code for r in answers]
        assert all(r.status_code in (401, 429) for r in answers)
        for r in limited:
            assert_envelope(r, 429, "too_many_attempts")
            assert int(r.headers["retry-after"]) > 0
        # the right password is refused too while backing off
        right = client.post("/v1/auth/sign-in", json={"email": EMAIL, "password": PASSWORD})
        assert_envelope(right, 429, "too_many_attempts")
        assert int(right.headers["retry-after"]) > 0
        assert sign_in(client, OTHER_EMAIL)


# -- 2FA ---------------------------------------------------------------------------------------


def test_two_factor_sign_in_rotates_the_pending_session(client: TestClient):
    """AUTH-14: with 2FA on, sign-in gives a pending session that reads nothing (401
    ``second_factor_required``); the code turns it into a new token and the pending one dies."""
    secret = _enrol(client, sign_in(client, EMAIL))
    pending = client.post("/v1/auth/sign-in", json={"email": EMAIL, "password": PASSWORD}).json()
    assert pending["stage"] == "second_factor"
    _dead(client.get("/v1/sellers", headers=_bearer(pending["token"])), "second_factor_required")
    _dead(_me(client, pending["token"]), "second_factor_required")
    wrong = client.post(
        "/v1/auth/second-factor", json={"code": "000000"}, headers=_bearer(pending["token"])
    )
    assert wrong.status_code in (401, 429), wrong.text
    time.sleep(1.1)  # the code back-off starts at the first wrong code (AUTH-05)
    done = client.post(
        "/v1/auth/second-factor", json={"code": _code(secret, 0)}, headers=_bearer(pending["token"])
    )
    assert done.status_code == 200, done.text
    full = done.json()
    assert full["stage"] == "full"
    assert full["token"] != pending["token"]
    assert full["session_id"] != pending["session_id"]
    assert _me(client, full["token"]).json()["two_factor"]["enabled"] is True
    _dead(client.get("/v1/sellers", headers=_bearer(pending["token"])))
    again = client.post(
        "/v1/auth/second-factor", json={"code": _code(secret, 1)}, headers=_bearer(pending["token"])
    )
    _dead(again)


def test_step_up_rotates_the_token(client: TestClient):
    """AUTH-14: step-up gives a new session id and token; the old token is dead."""
    token = sign_in(client, EMAIL)
    old_id = _me(client, token).json()["session_id"]
    wrong = client.post("/v1/auth/step-up", json={"password": "not it"}, headers=_bearer(token))
    _dead(wrong, "invalid_credentials")
    assert _me(client, token).status_code == 200  # a wrong password does not end the session
    r = client.post("/v1/auth/step-up", json={"password": PASSWORD}, headers=_bearer(token))
    assert r.status_code == 200, r.text
    new = r.json()
    assert new["stage"] == "full"
    assert new["token"] != token
    assert new["session_id"] != old_id
    _dead(_me(client, token))
    assert _me(client, new["token"]).json()["session_id"] == new["session_id"]


def test_step_up_with_2fa_needs_the_code(client: TestClient):
    secret = _enrol(client, sign_in(client, EMAIL))
    pending = client.post("/v1/auth/sign-in", json={"email": EMAIL, "password": PASSWORD}).json()
    full = client.post(
        "/v1/auth/second-factor", json={"code": _code(secret, 0)}, headers=_bearer(pending["token"])
    ).json()["token"]
    no_code = client.post("/v1/auth/step-up", json={"password": PASSWORD}, headers=_bearer(full))
    _dead(no_code, "invalid_code")
    time.sleep(1.1)  # the code back-off after the missing code (AUTH-05)
    r = client.post(
        "/v1/auth/step-up",
        json={"password": PASSWORD, "code": _code(secret, 1)},
        headers=_bearer(full),
    )
    assert r.status_code == 200, r.text
    _dead(_me(client, full))


def test_sensitive_actions_need_an_authentication_within_five_minutes(db: Db, client: TestClient):
    """AUTH-12: six minutes after signing in, enrolling 2FA and ending other sessions answer 401
    ``reauth_required``; a step-up opens them again."""
    token = sign_in(client, EMAIL)
    session_id = _me(client, token).json()["session_id"]
    _age_sign_in(db, session_id, timedelta(minutes=6))
    for path in ("/v1/auth/totp", "/v1/auth/sign-out-others"):
        error = assert_envelope(client.post(path, headers=_bearer(token)), 401, "reauth_required")
        assert error["details"] == {"within_minutes": 5}
    assert _me(client, token).status_code == 200  # still signed in, just not recently
    fresh = client.post("/v1/auth/step-up", json={"password": PASSWORD}, headers=_bearer(token))
    token = fresh.json()["token"]
    assert client.post("/v1/auth/totp", headers=_bearer(token)).status_code == 200
    assert client.post("/v1/auth/sign-out-others", headers=_bearer(token)).status_code == 200


def test_with_no_step_up_window_every_sensitive_action_is_refused(db: Db):
    """AUTH-12, with the window at zero: 2FA set-up, revoke-others, recovery codes and turning
    2FA off all answer ``reauth_required``."""
    create_user(db, EMAIL)
    stale = replace(TEST_IDENTITY, recent_auth=timedelta(0))
    with TestClient(create_app(app_settings(db, identity=stale), migrate=False)) as client:
        token = sign_in(client, EMAIL)
        for path in (
            "/v1/auth/totp",
            "/v1/auth/sign-out-others",
            "/v1/auth/recovery-codes",
            "/v1/auth/totp/disable",
        ):
            r = client.post(path, headers=_bearer(token))
            assert_envelope(r, 401, "reauth_required")


# -- sessions ----------------------------------------------------------------------------------


def test_sessions_are_listed_and_ended_one_by_one_or_all_others(client: TestClient):
    """AUTH-14: the list marks the current session; ending one kills its token at once; another
    user's session id is not found; revoke-others keeps only the caller's session."""
    first, second, third = (sign_in(client, EMAIL) for _ in range(3))
    listed = client.get("/v1/auth/sessions", headers=_bearer(first))
    assert listed.status_code == 200, listed.text
    sessions = listed.json()
    assert len(sessions) == 3
    assert [s["current"] for s in sessions].count(True) == 1
    mine = _me(client, first).json()["session_id"]
    assert next(s for s in sessions if s["current"])["id"] == mine
    second_id = _me(client, second).json()["session_id"]

    theirs = sign_in_other(client)
    other_id = _me(client, theirs).json()["session_id"]
    assert_envelope(
        client.delete(f"/v1/auth/sessions/{other_id}", headers=_bearer(first)),
        404,
        "session_not_found",
    )
    assert _me(client, theirs).status_code == 200

    assert (
        client.delete(f"/v1/auth/sessions/{second_id}", headers=_bearer(first)).status_code == 204
    )
    _dead(_me(client, second))
    assert_envelope(
        client.delete(f"/v1/auth/sessions/{second_id}", headers=_bearer(first)),
        404,
        "session_not_found",
    )
    ended = client.post("/v1/auth/sign-out-others", headers=_bearer(first))
    assert ended.status_code == 200, ended.text
    assert ended.json() == {"revoked": 1, "tokens_revoked": 0}
    _dead(_me(client, third))
    assert [s["id"] for s in client.get("/v1/auth/sessions", headers=_bearer(first)).json()] == [
        mine
    ]
    assert _me(client, theirs).status_code == 200  # another user's stays


def sign_in_other(client: TestClient) -> str:
    """A session of another user (created by the ``client`` fixture)."""
    return sign_in(client, OTHER_EMAIL)


# -- API tokens --------------------------------------------------------------------------------


def _new_seller(client: TestClient, token: str, name: str = "Kyoto Tea Works") -> str:
    r = client.post(
        "/v1/sellers", json={"name": name, "marketplaces": ["JP", "US"]}, headers=_bearer(token)
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def test_api_tokens_are_shown_once_listed_without_the_secret_and_revoked(client: TestClient):
    session = sign_in(client, EMAIL)
    seller = _new_seller(client, session)
    created = client.post(
        "/v1/auth/tokens",
        json={"name": "nightly import", "scope": "read", "seller_ids": [seller]},
        headers=_bearer(session),
    )
    assert created.status_code == 201, created.text
    token, info = created.json()["token"], created.json()["info"]
    assert token.startswith("tsu_")
    assert token.startswith(info["prefix"])
    assert (info["scope"], info["resources"], info["revoked_at"]) == ("read", [seller], None)

    assert client.get(f"/v1/sellers/{seller}", headers=_bearer(token)).status_code == 200
    listed = client.get("/v1/auth/tokens", headers=_bearer(session))
    assert listed.status_code == 200, listed.text
    assert [t["id"] for t in listed.json()] == [info["id"]]
    assert token not in listed.text
    assert token[len(info["prefix"]) :] not in listed.text
    assert listed.json()[0]["last_used_at"] is not None

    # tokens do not manage the account, nor create sellers
    assert_envelope(client.get("/v1/auth/tokens", headers=_bearer(token)), 403, "session_required")
    assert_envelope(
        client.post(
            "/v1/sellers", json={"name": "x", "marketplaces": ["JP"]}, headers=_bearer(token)
        ),
        403,
        "session_required",
    )
    # another user cannot see or revoke it
    other = sign_in_other(client)
    assert client.get("/v1/auth/tokens", headers=_bearer(other)).json() == []
    assert_envelope(
        client.delete(f"/v1/auth/tokens/{info['id']}", headers=_bearer(other)),
        404,
        "token_not_found",
    )
    assert client.get(f"/v1/sellers/{seller}", headers=_bearer(token)).status_code == 200

    revoked = client.delete(f"/v1/auth/tokens/{info['id']}", headers=_bearer(session))
    assert revoked.status_code == 204, revoked.text
    _dead(client.get(f"/v1/sellers/{seller}", headers=_bearer(token)), "token_invalid")
    listed = client.get("/v1/auth/tokens", headers=_bearer(session)).json()
    assert listed[0]["revoked_at"] is not None


def test_a_token_cannot_exceed_its_scope_or_the_callers_sellers(client: TestClient):
    session = sign_in(client, EMAIL)
    seller = _new_seller(client, session)
    theirs = _new_seller(client, sign_in_other(client), "Someone Else")
    body = {"name": "x", "scope": "read", "seller_ids": [seller, theirs]}
    assert_envelope(
        client.post("/v1/auth/tokens", json=body, headers=_bearer(session)),
        404,
        "seller_not_found",
    )
    token = client.post(
        "/v1/auth/tokens",
        json={"name": "x", "scope": "read", "seller_ids": [seller]},
        headers=_bearer(session),
    ).json()["token"]
    check = client.post(f"/v1/sellers/{seller}/alerts/check", headers=_bearer(token))
    assert_envelope(check, 403, "forbidden")
    assert_envelope(
        client.get(f"/v1/sellers/{theirs}", headers=_bearer(token)), 404, ("seller_not_found")
    )


# -- sellers belong to whoever creates them ----------------------------------------------------


def test_a_seller_created_by_a_user_is_theirs_alone(client: TestClient):
    """API-03: the creator becomes the owner (``/me`` says so); another user gets 404."""
    mine = sign_in(client, EMAIL)
    seller = _new_seller(client, mine)
    roles = {s["seller_id"]: s["role"] for s in _me(client, mine).json()["sellers"]}
    assert roles == {seller: "owner"}
    other = sign_in_other(client)
    assert_envelope(
        client.get(f"/v1/sellers/{seller}", headers=_bearer(other)), 404, ("seller_not_found")
    )
    assert client.get("/v1/sellers", headers=_bearer(other)).json()["items"] == []
    assert _me(client, other).json()["sellers"] == []


# -- passwords ---------------------------------------------------------------------------------


def test_password_change_ends_every_other_session(client: TestClient):
    current, other = sign_in(client, EMAIL), sign_in(client, EMAIL)
    wrong = client.post(
        "/v1/auth/password",
        json={"current_password": "not it", "new_password": NEW_PASSWORD},
        headers=_bearer(current),
    )
    _dead(wrong, "invalid_credentials")
    assert _me(client, other).status_code == 200
    r = client.post(
        "/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=_bearer(current),
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"sessions_ended": 1, "tokens_revoked": 0}
    assert _me(client, current).status_code == 200
    _dead(_me(client, other))
    refused = client.post("/v1/auth/sign-in", json={"email": EMAIL, "password": PASSWORD})
    _dead(refused, "invalid_credentials")
    assert sign_in(client, EMAIL, NEW_PASSWORD)


def test_password_reset_request_answers_the_same_for_any_address(client: TestClient):
    """AUTH-07: 202 with identical bodies and the same headers for a known and an unknown
    address (and for a malformed-looking one)."""
    answers = [
        client.post("/v1/auth/password-reset", json={"email": email})
        for email in (EMAIL, "nobody@example.test", "not-an-address")
    ]
    assert [r.status_code for r in answers] == [202, 202, 202]
    assert len({r.content for r in answers}) == 1
    varying = {"date", "content-length", "x-request-id"}
    headers = [{k: v for k, v in r.headers.items() if k not in varying} for r in answers]
    assert headers[0] == headers[1] == headers[2]


def test_password_reset_completion_with_a_bad_token_is_refused(client: TestClient):
    r = client.post(
        "/v1/auth/password-reset/complete", json={"token": "nope", "new_password": NEW_PASSWORD}
    )
    assert_envelope(r, 400, "reset_token_invalid")


def test_codes_in_any_script_are_wrong_codes_not_server_errors(client: TestClient):
    """Found by the fuzzer: a code with non-ASCII letters (here Latin-1 and a character outside
    the BMP) reached the constant-time comparison, which only takes ASCII, and answered 500. Any
    such code is simply wrong: 401 ``invalid_code``, through 2FA set-up and sign-in alike."""
    token = sign_in(client, EMAIL)
    client.post("/v1/auth/totp", headers=_bearer(token))
    for code in ("ÒÍá×\U0010c1bcO{~Ç", "١٢٣٤٥٦"):  # the second: Arabic-Indic digits
        r = client.post("/v1/auth/totp/confirm", json={"code": code}, headers=_bearer(token))
        assert_envelope(r, 401, "invalid_code")
        time.sleep(1.1)  # the code back-off starts at the first wrong code (AUTH-05)
