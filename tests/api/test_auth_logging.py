"""AUTH-16 through HTTP: a whole account journey over the API leaves audit entries for each
security step, and no password, TOTP secret or code, recovery code, session token, API token or
reset token appears in anything logged (every logger captured at DEBUG) or in the audit export."""

from __future__ import annotations

import logging
import re
import time

import pyotp
import pytest
from fastapi.testclient import TestClient

from tests.auth import PASSWORD, app_settings, create_user, sign_in
from tests.conftest import Db
from tsunagu.identity import audit
from tsunagu.identity.mail import list_outbox
from tsunagu.slices import create_app

EMAIL = "hanako@example.jp"
NEW_PASSWORD = "yuzu-citron-lantern"


def _code(secret: str, step: int) -> str:
    return str(pyotp.TOTP(secret).at(time.time() + 30 * step))


def test_auth16_no_secret_in_logs_or_audit(sqlite_db: Db, caplog: pytest.LogCaptureFixture):
    db = sqlite_db
    caplog.set_level(logging.DEBUG)
    create_user(db, EMAIL)
    secrets: list[str] = [PASSWORD, NEW_PASSWORD]
    with TestClient(create_app(app_settings(db), migrate=False)) as client:
        wrong = client.post("/v1/auth/sign-in", json={"email": EMAIL, "password": "not-it-at-all"})
        assert wrong.status_code == 401
        token = sign_in(client, EMAIL)
        auth = {"Authorization": f"Bearer {token}"}
        secret = client.post("/v1/auth/totp", headers=auth).json()["secret"]
        first = _code(secret, -1)
        codes = client.post("/v1/auth/totp/confirm", json={"code": first}, headers=auth).json()[
            "recovery_codes"
        ]
        pending = client.post("/v1/auth/sign-in", json={"email": EMAIL, "password": PASSWORD})
        pending_token = pending.json()["token"]
        second = _code(secret, 0)
        full = client.post(
            "/v1/auth/second-factor",
            json={"code": second},
            headers={"Authorization": f"Bearer {pending_token}"},
        ).json()["token"]
        seller = client.post(
            "/v1/sellers",
            json={"name": "Kyoto Tea Works", "marketplaces": ["JP"]},
            headers={"Authorization": f"Bearer {full}"},
        ).json()["id"]
        api_token = client.post(
            "/v1/auth/tokens",
            json={"name": "nightly", "scope": "read", "seller_ids": [seller]},
            headers={"Authorization": f"Bearer {full}"},
        ).json()["token"]
        assert (
            client.get(
                f"/v1/sellers/{seller}", headers={"Authorization": f"Bearer {api_token}"}
            ).status_code
            == 200
        )
        assert client.post("/v1/auth/password-reset", json={"email": EMAIL}).status_code == 202
        with db.session() as session:
            body = next(
                m.body for m in list_outbox(session, to=EMAIL) if m.kind == "password_reset"
            )
        reset_token = re.search(r"token=([A-Za-z0-9_\-]+)", body)
        assert reset_token is not None, body
        done = client.post(
            "/v1/auth/password-reset/complete",
            json={"token": reset_token.group(1), "new_password": NEW_PASSWORD},
        )
        assert done.status_code == 200, done.text
        secrets += [token, secret, first, second, pending_token, full, api_token]
        secrets += [reset_token.group(1), *codes, *(c.replace("-", "") for c in codes)]

    with db.session() as session:
        export = "\n".join(audit.export_jsonl(session))
        actions = {e.action for e in audit.list_entries(session, limit=1000)}
    logged = caplog.text + "\n".join(str(r.args) for r in caplog.records)
    assert caplog.records, "the journey logged nothing: the check would be empty"
    for value in secrets:
        assert value
        assert value not in logged, "a secret reached the logs"
        assert value not in export, "a secret reached the audit log"
    assert {
        "authn_login_fail",
        "authn_login_success",
        "authn_mfa_enabled",
        "authn_mfa_success",
        "session_rotated",
        "authn_token_created",
        "authn_password_reset_request",
    } <= actions, actions
