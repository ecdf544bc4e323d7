"""The account pages beyond sign-in: verifying the e-mail address through the link in the
message, changing the password, and the way to the password page when signing in finds the
password on the list of common passwords.

As in ``test_sign_in.py`` the client is a browser: it signs in through the form, keeps the cookie
and posts with ``Origin: http://testserver``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from tests.auth import OWNER_EMAIL, PASSWORD, TEST_IDENTITY, create_user
from tests.conftest import Db
from tests.factories import make_seller
from tests.web.test_sign_in import _enrol, browser_client, ids_in
from tsunagu.core.db import unit_of_work
from tsunagu.core.i18n import translate
from tsunagu.identity.mail import list_outbox
from tsunagu.identity.models import Principal
from tsunagu.identity.passwords import common_passwords, hasher_for
from tsunagu.identity.rules import password_problem

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

OTHER_EMAIL = "other@example.test"
NEW_PASSWORD = "lantern-harbour-moss"
COMMON = "iloveyou"


@pytest.fixture
def web(db: Db) -> Iterator[TestClient]:
    """A browser; the owner's address is not verified yet."""
    create_user(db, OWNER_EMAIL, verified=False)
    with browser_client(db) as client:
        yield client


def sign_in(client: TestClient, password: str = PASSWORD, **form: str):
    return client.post("/sign-in", data={"email": OWNER_EMAIL, "password": password, **form})


def verified(db: Db, email: str = OWNER_EMAIL) -> bool:
    with db.session() as session:
        principal = session.scalars(select(Principal).where(Principal.email == email)).one()
        return principal.email_verified_at is not None


def _verification_link(db: Db) -> str:
    with db.session() as session:
        mail = next(
            m for m in list_outbox(session, to=OWNER_EMAIL) if m.kind == "email_verification"
        )
    found = re.search(r"http://testserver(/verify-email\?token=\S+)", mail.body)
    assert found is not None, mail.body
    return found.group(1)


# --------------------------------------------------------------------------- e-mail verification


def test_verifying_the_address_through_the_link(web: TestClient, db: Db):
    sign_in(web)
    account = web.get("/account")
    assert 'data-testid="account-email-verified" data-verified="false"' in account.text
    assert {"verify-email-form", "account-password"} <= ids_in(account.text)

    sent = web.post("/account/verify-email")
    assert sent.status_code == 303
    assert sent.headers["location"] == "/account?done=verification_sent"
    notice = web.get(sent.headers["location"]).text
    assert "notice" in ids_in(notice)
    assert OWNER_EMAIL in notice
    link = _verification_link(db)
    token = link.split("token=", 1)[1]

    # the link opens a page with a button, in a browser that is not signed in as well;
    # opening it (as mail scanners do) verifies nothing
    with browser_client(db) as elsewhere:
        page = elsewhere.get(link)
        assert page.status_code == 200
        assert page.headers["referrer-policy"] == "same-origin"
        assert page.headers["cache-control"] == "no-store"
        assert f'name="token" value="{token}"' in page.text
        assert "verify-form" in ids_in(page.text)
        assert not verified(db)
        refused = elsewhere.post(
            "/verify-email", data={"token": token}, headers={"Origin": "http://evil.example"}
        )
        assert refused.status_code == 403
        assert not verified(db)
        done = elsewhere.post("/verify-email", data={"token": token})
        assert done.status_code == 200, done.text
        assert "verify-done" in ids_in(done.text)
    assert verified(db)

    account = web.get("/account").text
    assert 'data-verified="true"' in account
    assert "verify-email-form" not in ids_in(account)
    # the link works once
    again = web.post("/verify-email", data={"token": token})
    assert again.status_code == 400
    assert 'data-code="verification_invalid"' in again.text
    # verified already: nothing more is sent
    assert web.post("/account/verify-email").headers["location"] == "/account"
    with db.session() as session:
        assert len(list_outbox(session, to=OWNER_EMAIL)) == 1


def test_a_link_without_a_code_points_to_the_account_page(web: TestClient):
    page = web.get("/verify-email")
    assert page.status_code == 200
    assert "verify-account-link" in ids_in(page.text)
    bad = web.post("/verify-email", data={"token": "not-a-code"})
    assert bad.status_code == 400
    assert 'data-code="verification_invalid"' in bad.text


def test_the_verification_page_in_japanese(web: TestClient, db: Db):
    web.cookies.set("lang", "ja")
    sign_in(web)
    assert "Send verification e-mail" not in web.get("/account").text
    web.post("/account/verify-email")
    page = web.get(_verification_link(db))
    assert '<html lang="ja">' in page.text
    assert "Verify the address" not in page.text
    with db.session() as session:
        (mail,) = list_outbox(session, to=OWNER_EMAIL)
    assert mail.subject == translate("Confirm your e-mail address for tsunagu", "ja")


def test_linking_with_an_unverified_address_points_to_the_account_page(web: TestClient, db: Db):
    create_user(db, OTHER_EMAIL)
    sign_in(web)
    r = web.post("/account/links/new", data={"email": OTHER_EMAIL, "password": PASSWORD})
    assert r.status_code == 403
    assert 'data-code="email_unverified"' in r.text
    assert 'href="/account" data-testid="verify-hint-link"' in r.text


# --------------------------------------------------------------------------- the password


def test_changing_the_password_signs_out_the_other_sessions_only(web: TestClient, db: Db):
    sign_in(web)
    assert "password-form" in ids_in(web.get("/account/password").text)
    with browser_client(db) as other:
        assert sign_in(other).status_code == 303
        assert other.get("/account").status_code == 200

        changed = web.post(
            "/account/password",
            data={"current_password": PASSWORD, "password": NEW_PASSWORD, "repeat": NEW_PASSWORD},
        )
        assert changed.status_code == 303, changed.text
        assert changed.headers["location"] == "/account/password?done=changed"
        page = web.get(changed.headers["location"])
        assert "password-changed" in ids_in(page.text)
        assert "signed out" in page.text
        assert web.get("/account").status_code == 200  # this session stays
        assert other.get("/account").headers["location"] == "/sign-in?next=/account"
    web.post("/sign-out")
    assert sign_in(web).status_code == 401
    assert sign_in(web, password=NEW_PASSWORD).status_code == 303


def test_password_errors_are_shown_on_their_field_in_japanese(web: TestClient):
    web.cookies.set("lang", "ja")
    sign_in(web)
    common = web.post(
        "/account/password",
        data={"current_password": PASSWORD, "password": COMMON, "repeat": COMMON},
    )
    assert common.status_code == 422
    assert '<html lang="ja">' in common.text
    assert 'data-field="password" data-code="password_too_common"' in common.text
    message = translate("This password is too common. Choose one that is harder to guess.", "ja")
    assert message != "This password is too common. Choose one that is harder to guess."
    assert message in common.text
    assert 'aria-describedby="password-error"' in common.text

    differ = web.post(
        "/account/password",
        data={"current_password": PASSWORD, "password": NEW_PASSWORD, "repeat": "something-else"},
    )
    assert differ.status_code == 422
    assert 'data-field="repeat" data-code="passwords_differ"' in differ.text

    wrong = web.post(
        "/account/password",
        data={
            "current_password": "not-the-password",
            "password": NEW_PASSWORD,
            "repeat": NEW_PASSWORD,
        },
    )
    assert wrong.status_code == 401
    assert 'data-testid="form-error" data-code="invalid_credentials"' in wrong.text
    # nothing changed
    web.post("/sign-out")
    assert sign_in(web).status_code == 303


# --------------------------------------------------------------------------- a common password


def _give_common_password(db: Db) -> None:
    """The password as it could have been set before the list grew: written as a hash."""
    assert COMMON in common_passwords()
    assert password_problem(COMMON, common=common_passwords()) is not None
    with unit_of_work(db.factory) as session:
        session.execute(
            update(Principal)
            .where(Principal.email == OWNER_EMAIL)
            .values(password_hash=hasher_for(TEST_IDENTITY.hash).hash(COMMON))
        )


def test_a_common_password_leads_to_the_password_page_once(web: TestClient, db: Db):
    seller = make_seller(db)
    _give_common_password(db)
    target = f"/sellers/{seller}/orders?marketplace=JP"
    r = sign_in(web, password=COMMON, next=target)
    assert r.status_code == 303
    assert r.headers["location"] == f"/account/password?common=1&next={quote(target, safe='/')}"
    page = web.get(r.headers["location"])
    assert page.status_code == 200
    assert "password-common" in ids_in(page.text)
    assert f'name="next" value="{target}"' in page.text

    changed = web.post(
        "/account/password",
        data={
            "current_password": COMMON,
            "password": NEW_PASSWORD,
            "repeat": NEW_PASSWORD,
            "common": "1",
            "next": target,
        },
    )
    assert changed.status_code == 303
    done = web.get(changed.headers["location"])
    assert f'href="{target}" class="button" data-testid="password-continue"' in done.text.replace(
        "&amp;", "&"
    )
    web.post("/sign-out")
    assert sign_in(web, password=NEW_PASSWORD, next=target).headers["location"] == target


def test_a_common_password_with_2fa_asks_for_the_code_first(web: TestClient, db: Db):
    sign_in(web)
    _secret, codes = _enrol(web)
    web.post("/sign-out")
    _give_common_password(db)
    r = sign_in(web, password=COMMON)
    assert r.headers["location"].startswith("/sign-in/code?next=/account/password")
    code_page = web.get(r.headers["location"])
    assert 'name="next" value="/account/password?common=1"' in code_page.text
    done = web.post("/sign-in/code", data={"code": codes[0], "next": "/account/password?common=1"})
    assert done.headers["location"] == "/account/password?common=1"
    assert "password-common" in ids_in(web.get(done.headers["location"]).text)


def test_the_password_page_needs_a_session(web: TestClient):
    assert web.get("/account/password").headers["location"] == "/sign-in?next=/account/password"
