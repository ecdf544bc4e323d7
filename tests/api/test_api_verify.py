"""E-mail verification through ``/v1/auth`` (AUTH-13 b: linking needs both addresses verified):
the signed-in request that sends the link, the public confirmation that spends it once, and
``GET /v1/auth/me`` showing the change."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from tests.api.test_api import assert_envelope
from tests.auth import app_settings, create_user, sign_in
from tests.conftest import Db
from tests.factories import make_seller
from tsunagu.core.clock import utcnow
from tsunagu.core.db import unit_of_work
from tsunagu.identity.api import PUBLIC_PATHS
from tsunagu.identity.mail import list_outbox
from tsunagu.identity.models import EmailVerification
from tsunagu.slices import create_app

EMAIL = "tsubaki@example.test"
VERIFIED_EMAIL = "momiji@example.test"
CONFIRM = "/v1/auth/verify-email/confirm"


@pytest.fixture
def client(db: Db) -> Iterator[TestClient]:
    """A client without credentials; each test sends its bearer explicitly."""
    create_user(db, EMAIL, verified=False)
    create_user(db, VERIFIED_EMAIL)
    with TestClient(create_app(app_settings(db), migrate=False)) as c:
        yield c


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _messages(db: Db, email: str) -> list[str]:
    with db.session() as session:
        return [m.body for m in list_outbox(session, to=email) if m.kind == "email_verification"]


def _link_token(body: str) -> str:
    found = re.search(r"http://testserver/verify-email\?token=(\S+)", body)
    assert found is not None, body
    return found.group(1)


def _verified_at(client: TestClient, token: str) -> str | None:
    r = client.get("/v1/auth/me", headers=_bearer(token))
    assert r.status_code == 200, r.text
    value: str | None = r.json()["principal"]["email_verified_at"]
    return value


def test_the_link_verifies_the_address_once_and_me_shows_it(client: TestClient, db: Db):
    token = sign_in(client, EMAIL)
    assert _verified_at(client, token) is None

    r = client.post("/v1/auth/verify-email", headers=_bearer(token))
    assert r.status_code == 202, r.text
    assert r.content == b""
    (body,) = _messages(db, EMAIL)
    code = _link_token(body)
    assert code in body

    # anyone holding the link may confirm: no bearer needed
    done = client.post(CONFIRM, json={"token": code})
    assert done.status_code == 204, done.text
    verified = _verified_at(client, token)
    assert verified is not None

    again = client.post(CONFIRM, json={"token": code})
    assert_envelope(again, 400, "verification_invalid")
    assert _verified_at(client, token) == verified

    # verified already: 202 again, and nothing more is sent
    assert client.post("/v1/auth/verify-email", headers=_bearer(token)).status_code == 202
    assert len(_messages(db, EMAIL)) == 1


def test_a_newer_message_supersedes_the_older_link(client: TestClient, db: Db):
    token = sign_in(client, EMAIL)
    client.post("/v1/auth/verify-email", headers=_bearer(token))
    client.post("/v1/auth/verify-email", headers=_bearer(token))
    newer, older = (_link_token(b) for b in _messages(db, EMAIL))
    assert_envelope(client.post(CONFIRM, json={"token": older}), 400, "verification_invalid")
    assert _verified_at(client, token) is None
    assert client.post(CONFIRM, json={"token": newer}).status_code == 204
    assert _verified_at(client, token) is not None


def test_unknown_and_expired_codes_are_refused_with_the_same_code(client: TestClient, db: Db):
    token = sign_in(client, EMAIL)
    client.post("/v1/auth/verify-email", headers=_bearer(token))
    code = _link_token(_messages(db, EMAIL)[0])
    assert_envelope(client.post(CONFIRM, json={"token": "not-a-code"}), 400, "verification_invalid")
    with unit_of_work(db.factory) as session:
        session.execute(
            update(EmailVerification).values(expires_at=utcnow() - timedelta(seconds=1))
        )
    assert_envelope(client.post(CONFIRM, json={"token": code}), 400, "verification_invalid")
    assert _verified_at(client, token) is None
    assert_envelope(client.post(CONFIRM, json={}), 422, "validation_error")


def test_the_message_is_in_the_callers_language(client: TestClient, db: Db):
    token = sign_in(client, EMAIL)
    r = client.post("/v1/auth/verify-email", headers={**_bearer(token), "Accept-Language": "ja"})
    assert r.status_code == 202
    with db.session() as session:
        (mail,) = list_outbox(session, to=EMAIL)
    assert mail.subject != "Confirm your e-mail address for tsunagu"
    assert re.search(r"[\u3040-\u30ff]", mail.subject + mail.body), mail.subject


def test_asking_for_the_message_needs_a_signed_in_session(client: TestClient, db: Db):
    assert_envelope(client.post("/v1/auth/verify-email"), 401, "authentication_required")
    seller = make_seller(db)
    create_user(db, EMAIL, owner_of=[seller])
    session_token = sign_in(client, EMAIL)
    created = client.post(
        "/v1/auth/tokens",
        json={"name": "ci", "scope": "write", "seller_ids": [seller]},
        headers=_bearer(session_token),
    )
    assert created.status_code == 201, created.text
    api_token = created.json()["token"]
    refused = client.post("/v1/auth/verify-email", headers=_bearer(api_token))
    assert_envelope(refused, 403, "session_required")
    assert _messages(db, EMAIL) == []


def test_only_the_confirmation_is_public(client: TestClient):
    assert CONFIRM in PUBLIC_PATHS
    assert "/v1/auth/verify-email" not in PUBLIC_PATHS
    spec = client.get("/openapi.json").json()["paths"]
    assert "security" not in spec[CONFIRM]["post"]
    assert spec["/v1/auth/verify-email"]["post"]["security"] == [{"bearer": []}]


def test_messages_are_limited_per_account(client: TestClient, db: Db):
    """API-06: three verification messages in a row are sent; the fourth answers 429
    ``too_many_attempts`` with ``Retry-After`` and sends nothing."""
    token = sign_in(client, EMAIL)
    for _ in range(3):
        assert client.post("/v1/auth/verify-email", headers=_bearer(token)).status_code == 202
    refused = client.post("/v1/auth/verify-email", headers=_bearer(token))
    error = assert_envelope(refused, 429, "too_many_attempts")
    assert int(refused.headers["Retry-After"]) == error["details"]["retry_after"] > 0
    assert len(_messages(db, EMAIL)) == 3
