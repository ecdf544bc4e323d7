"""AUTH-15 as configured: the session lifetimes come from the environment and the API honours
them (idle limit measured from the last use, absolute limit from the sign-in)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from tests.auth import OWNER_EMAIL, TEST_IDENTITY, app_settings, create_user, sign_in
from tests.conftest import Db
from tsunagu.core.db import unit_of_work
from tsunagu.identity.models import AuthSession
from tsunagu.settings import load_settings
from tsunagu.slices import create_app


def test_lifetimes_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TSUNAGU_SESSION_IDLE_MINUTES", "15")
    monkeypatch.setenv("TSUNAGU_SESSION_ABSOLUTE_HOURS", "8")
    sessions = load_settings().identity.sessions
    assert (sessions.idle, sessions.absolute) == (timedelta(minutes=15), timedelta(hours=8))
    monkeypatch.delenv("TSUNAGU_SESSION_IDLE_MINUTES")
    monkeypatch.delenv("TSUNAGU_SESSION_ABSOLUTE_HOURS")
    sessions = load_settings().identity.sessions
    assert (sessions.idle, sessions.absolute) == (timedelta(minutes=30), timedelta(hours=12))


@pytest.mark.parametrize(
    ("idle", "absolute"), [("0", "12"), ("ten", "12"), ("30", "-1"), ("900", "12")]
)
def test_bad_lifetimes_stop_with_a_message(monkeypatch: pytest.MonkeyPatch, idle, absolute):
    monkeypatch.setenv("TSUNAGU_SESSION_IDLE_MINUTES", idle)
    monkeypatch.setenv("TSUNAGU_SESSION_ABSOLUTE_HOURS", absolute)
    with pytest.raises(SystemExit, match="TSUNAGU_SESSION_"):
        load_settings()


def _age(db: Db, *, idle: timedelta = timedelta(0), since_sign_in: timedelta = timedelta(0)):
    with unit_of_work(db.factory) as session:
        for row in session.query(AuthSession).all():
            session.execute(
                update(AuthSession)
                .where(AuthSession.id == row.id)
                .values(
                    last_seen_at=row.last_seen_at - idle,
                    last_authenticated_at=row.last_authenticated_at - idle,
                    started_at=row.started_at - since_sign_in,
                )
            )


def test_the_api_ends_sessions_at_the_configured_limits(db: Db):
    """AUTH-15 with a 10-minute idle and a 1-hour absolute limit: 9 idle minutes keep the session,
    11 end it; each use restarts the idle clock; a session in use for more than the absolute
    limit ends too."""
    create_user(db, OWNER_EMAIL)
    short = replace(
        TEST_IDENTITY,
        sessions=replace(
            TEST_IDENTITY.sessions, idle=timedelta(minutes=10), absolute=timedelta(hours=1)
        ),
    )
    with TestClient(create_app(app_settings(db, identity=short), migrate=False)) as client:
        client.headers["Authorization"] = f"Bearer {sign_in(client, OWNER_EMAIL)}"
        _age(db, idle=timedelta(minutes=9))
        assert client.get("/v1/auth/me").status_code == 200
        _age(db, idle=timedelta(minutes=9))  # 18 minutes since sign-in, 9 since the last use
        assert client.get("/v1/auth/me").status_code == 200
        _age(db, idle=timedelta(minutes=11))
        r = client.get("/v1/auth/me")
        assert r.status_code == 401
        assert r.json()["error"]["code"] == "session_invalid"

        client.headers["Authorization"] = f"Bearer {sign_in(client, OWNER_EMAIL)}"
        _age(db, since_sign_in=timedelta(minutes=61))  # used a moment ago, signed in long ago
        r = client.get("/v1/auth/me")
        assert r.status_code == 401
        assert r.json()["error"]["code"] == "session_invalid"
