"""API tokens under the rules of issue 11, item 9 (AUTH-18): a token that can change sellers
needs a recent step-up, no token outlives the configured maximum, a password change offers to
revoke the account's tokens and a reset does it — and both say so."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from tests.api.test_api import assert_envelope
from tests.api.test_api_auth import EMAIL, NEW_PASSWORD, _age_sign_in, _bearer, _new_seller
from tests.auth import PASSWORD, TEST_IDENTITY, app_settings, create_user, sign_in
from tests.conftest import Db
from tsunagu.core.clock import utcnow
from tsunagu.identity.mail import list_outbox
from tsunagu.slices import create_app


@pytest.fixture
def client(db: Db) -> Iterator[TestClient]:
    create_user(db, EMAIL)
    with TestClient(create_app(app_settings(db), migrate=False)) as c:
        yield c


def _token(client: TestClient, session: str, seller: str, scope: str, **extra: object):
    return client.post(
        "/v1/auth/tokens",
        json={"name": "nightly", "scope": scope, "seller_ids": [seller], **extra},
        headers=_bearer(session),
    )


def _works(client: TestClient, token: str, seller: str) -> bool:
    return client.get(f"/v1/sellers/{seller}", headers=_bearer(token)).status_code == 200


def test_auth18_a_write_token_needs_a_step_up_a_read_token_does_not(db: Db, client: TestClient):
    session = sign_in(client, EMAIL)
    seller = _new_seller(client, session)
    session_id = client.get("/v1/auth/me", headers=_bearer(session)).json()["session_id"]
    _age_sign_in(db, session_id, timedelta(minutes=6))
    assert _token(client, session, seller, "read").status_code == 201
    assert_envelope(_token(client, session, seller, "write"), 401, "reauth_required")
    stepped = client.post(
        "/v1/auth/step-up", json={"password": PASSWORD}, headers=_bearer(session)
    ).json()["token"]
    created = _token(client, stepped, seller, "write")
    assert created.status_code == 201, created.text
    assert created.json()["info"]["scope"] == "write"


def test_auth18_no_token_outlives_the_configured_maximum(db: Db, client: TestClient):
    session = sign_in(client, EMAIL)
    seller = _new_seller(client, session)
    unbounded = _token(client, session, seller, "read")
    assert unbounded.status_code == 201
    expires = datetime.fromisoformat(unbounded.json()["info"]["expires_at"])
    assert timedelta(days=364) < expires - utcnow() <= timedelta(days=365)
    too_late = (utcnow() + timedelta(days=366)).isoformat()
    error = assert_envelope(
        _token(client, session, seller, "read", expires_at=too_late), 422, "expiry_too_late"
    )
    assert error["details"]["field"] == "expires_at"
    week_long = replace(TEST_IDENTITY, token_max_lifetime=timedelta(days=7))
    with TestClient(create_app(app_settings(db, identity=week_long), migrate=False)) as short:
        week = short.post(
            "/v1/auth/tokens",
            json={"name": "short", "scope": "read", "seller_ids": [seller]},
            headers=_bearer(sign_in(short, EMAIL)),
        )
        assert week.status_code == 201
        left = datetime.fromisoformat(week.json()["info"]["expires_at"]) - utcnow()
        assert timedelta(days=6) < left <= timedelta(days=7)


def test_auth18_a_password_change_revokes_the_tokens_when_asked(client: TestClient):
    session = sign_in(client, EMAIL)
    seller = _new_seller(client, session)
    kept = _token(client, session, seller, "read").json()["token"]
    changed = client.post(
        "/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=_bearer(session),
    )
    assert changed.json() == {"sessions_ended": 0, "tokens_revoked": 0}
    assert _works(client, kept, seller)
    again = client.post(
        "/v1/auth/password",
        json={
            "current_password": NEW_PASSWORD,
            "new_password": "a-third-quiet-phrase",
            "revoke_tokens": True,
        },
        headers=_bearer(session),
    )
    assert again.json() == {"sessions_ended": 0, "tokens_revoked": 1}
    assert_envelope(
        client.get(f"/v1/sellers/{seller}", headers=_bearer(kept)), 401, "token_invalid"
    )


def test_auth18_a_reset_revokes_every_token_of_the_account_and_says_so(db: Db, client: TestClient):
    session = sign_in(client, EMAIL)
    seller = _new_seller(client, session)
    tokens = [_token(client, session, seller, "read").json()["token"] for _ in range(2)]
    assert client.post("/v1/auth/password-reset", json={"email": EMAIL}).status_code == 202
    with db.session() as s:
        mail = next(m for m in list_outbox(s, to=EMAIL) if m.kind == "password_reset")
    code = re.search(r"once\): (\S+)", mail.body)
    assert code is not None
    done = client.post(
        "/v1/auth/password-reset/complete",
        json={"token": code.group(1), "new_password": NEW_PASSWORD},
    )
    assert done.status_code == 200, done.text
    assert done.json() == {
        "sessions_ended": 1,
        "linked_sessions_ended": 0,
        "links_cut": False,
        "tokens_revoked": 2,
    }
    for token in tokens:
        assert not _works(client, token, seller)
    with db.session() as s:
        told = next(m for m in list_outbox(s, to=EMAIL) if m.kind == "password_changed")
    assert "2 API tokens of this account were revoked" in told.body
