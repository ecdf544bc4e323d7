"""Signed-in callers for API and page tests: real principals, real sign-in, cheap hashing.

Every API route needs a caller, so tests that are about something else (health, imports, pages)
sign in as an owner first, exactly as a user of the API would.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import Db
from tsunagu.access.service import grant_role, set_operator
from tsunagu.core.clock import utcnow
from tsunagu.core.db import unit_of_work
from tsunagu.core.ids import new_id
from tsunagu.identity.models import AuthSession, Principal
from tsunagu.identity.rules import CHEAP_HASH, IdentitySettings
from tsunagu.identity.sealing import SeedKey
from tsunagu.identity.service import create_principal, hash_token
from tsunagu.settings import Settings
from tsunagu.slices import create_app

#: cheap Argon2 parameters for tests only (production ones are asserted in test_identity.py)
TEST_IDENTITY = IdentitySettings(hash=CHEAP_HASH, seed_key=SeedKey(raw=bytes(range(32))))
OWNER_EMAIL = "owner@example.test"
PASSWORD = "plum-blossom-kettle"


#: the test client's address (``http://testserver``) is the installation's public URL
TEST_PUBLIC_URL = "http://testserver"


def app_settings(db: Db, **overrides: Any) -> Settings:
    return Settings(
        database_url=db.url,
        **{"identity": TEST_IDENTITY, "public_url": TEST_PUBLIC_URL, **overrides},
    )


def create_user(
    db: Db,
    email: str,
    *,
    password: str = PASSWORD,
    owner_of: Iterable[str] = (),
    role: str = "owner",
    operator: bool = False,
    verified: bool = True,
) -> str:
    """A principal (created once per e-mail) with ``role`` on ``owner_of``; its id."""
    now = utcnow()
    with unit_of_work(db.factory) as session:
        principal = session.scalars(select(Principal).where(Principal.email == email)).first()
        if principal is None:
            principal = create_principal(
                session,
                email=email,
                display_name=email.split("@")[0],
                password=password,
                now=now,
                settings=TEST_IDENTITY,
            )
            if verified and hasattr(principal, "email_verified_at"):
                principal.email_verified_at = now
        for seller_id in owner_of:
            grant_role(
                session,
                principal_id=principal.id,
                seller_id=seller_id,
                role=role,
                now=now,
                actor="test",
            )
        if operator:
            set_operator(session, principal_id=principal.id, operator=True, now=now, actor="test")
        return principal.id


def sign_in(client: TestClient, email: str, password: str = PASSWORD) -> str:
    """A full session token through ``POST /v1/auth/sign-in``."""
    r = client.post("/v1/auth/sign-in", json={"email": email, "password": password})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["stage"] == "full", body
    return str(body["token"])


@contextmanager
def api_client(
    db: Db,
    *,
    email: str = OWNER_EMAIL,
    owner_of: Iterable[str] = (),
    operator: bool = False,
    **overrides: Any,
) -> Iterator[TestClient]:
    """A TestClient signed in (bearer header) as ``email``, created as needed; sellers it
    creates through the API are its own."""
    create_user(db, email, owner_of=owner_of, operator=operator)
    with TestClient(create_app(app_settings(db, **overrides), migrate=False)) as client:
        client.headers["Authorization"] = f"Bearer {sign_in(client, email)}"
        yield client


def mint_session(factory: sessionmaker[Session], principal_id: str) -> tuple[str, str]:
    """A fully signed-in session made straight in the database: its bearer token and id.

    No password is checked, so no sign-in throttle counts it and a locked account still gets
    one: for fuzzers that give every request a fresh bearer (the fuzzer itself signs out, ends
    sessions and sends wrong passwords). Tests of signing in use :func:`sign_in`.
    """
    now = utcnow()
    token = secrets.token_urlsafe(32)
    session_id = new_id("ses")
    with unit_of_work(factory) as session:
        session.add(
            AuthSession(
                id=session_id,
                token_hash=hash_token(token),
                principal_id=principal_id,
                stage="full",
                started_at=now,
                last_seen_at=now,
                last_authenticated_at=now,
            )
        )
    return token, session_id
