"""Signing in to the dashboard with the session cookie, as a browser does (issue 6, point 9).

The client here carries no bearer header: it signs in through the form and keeps the cookie, and
its POSTs send ``Origin: http://testserver`` like a browser on the same site.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import timedelta

import pyotp
import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import update

from tests.auth import OWNER_EMAIL, PASSWORD, app_settings, create_user
from tests.conftest import Db
from tests.factories import make_seller
from tsunagu.core.clock import utcnow
from tsunagu.core.db import unit_of_work
from tsunagu.identity.mail import list_outbox
from tsunagu.identity.models import AuthSession
from tsunagu.slices import create_app
from tsunagu.web.session import safe_next

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SITE = "http://testserver"
OTHER_EMAIL = "other@example.test"


def browser_client(db: Db, **overrides: object) -> TestClient:
    client = TestClient(
        create_app(app_settings(db, **overrides), migrate=False), follow_redirects=False
    )
    client.headers["Origin"] = SITE
    return client


@pytest.fixture
def web(db: Db) -> Iterator[TestClient]:
    create_user(db, OWNER_EMAIL)
    with browser_client(db) as client:
        yield client


def sign_in(client: TestClient, email: str = OWNER_EMAIL, password: str = PASSWORD, **form: str):
    return client.post("/sign-in", data={"email": email, "password": password, **form})


def cookie_header(r: Response) -> str:
    found = [v for k, v in r.headers.multi_items() if k.lower() == "set-cookie"]
    assert found, dict(r.headers)
    return found[0]


def ids_in(html: str) -> set[str]:
    return set(re.findall(r'data-testid="([^"]+)"', html))


def age_session(db: Db, minutes: int = 10) -> None:
    """Every session last authenticated ``minutes`` ago: past the 5-minute step-up window."""
    with unit_of_work(db.factory) as session:
        session.execute(
            update(AuthSession).values(last_authenticated_at=utcnow() - timedelta(minutes=minutes))
        )


# --------------------------------------------------------------------------- the gate


def test_pages_send_you_to_sign_in_and_back(web: TestClient, db: Db):
    seller = make_seller(db)
    r = web.get(f"/sellers/{seller}/orders?marketplace=JP")
    assert r.status_code == 303
    assert r.headers["location"] == f"/sign-in?next=/sellers/{seller}/orders%3Fmarketplace%3DJP"
    assert web.get("/").headers["location"] == "/sign-in"
    assert web.get("/account").headers["location"] == "/sign-in?next=/account"

    form = web.get(r.headers["location"])
    assert form.status_code == 200
    assert f'name="next" value="/sellers/{seller}/orders?marketplace=JP"' in form.text
    assert {"sign-in-form", "forgot-link"} <= ids_in(form.text)
    assert "store-switcher" not in ids_in(form.text)  # nobody is signed in

    done = sign_in(web, next=f"/sellers/{seller}/orders?marketplace=JP")
    assert done.status_code == 303
    assert done.headers["location"] == f"/sellers/{seller}/orders?marketplace=JP"
    page = web.get(done.headers["location"])
    assert page.status_code == 200
    assert {"store-switcher", "user-name", "account-link", "sign-out"} <= ids_in(page.text)
    # signed in already: the sign-in page moves on
    assert web.get("/sign-in?next=/account").headers["location"] == "/account"


def test_public_pages_need_no_session(web: TestClient):
    for path in ("/sign-in", "/forgot-password", "/reset-password?token=x", "/static/app.css"):
        assert web.get(path).status_code == 200, path


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/x",
        "https://evil.example/",
        "/\\evil.example",
        "javascript:alert(1)",
        "evil.example",
        "/ok\r\nSet-Cookie: x=1",
        "",
    ],
)
def test_next_never_leaves_the_site(web: TestClient, target: str):
    assert safe_next(target) == "/"
    r = sign_in(web, next=target)
    assert r.status_code == 303
    assert r.headers["location"] == "/"
    page = web.get("/sign-in", params={"next": target})
    assert 'name="next" value="/"' in page.text or page.status_code == 303


def test_a_same_site_next_is_kept():
    assert safe_next("/sellers/s1?lang=ja") == "/sellers/s1?lang=ja"
    assert safe_next("/account/2fa") == "/account/2fa"


def test_a_wrong_password_is_said_on_the_form_in_japanese(web: TestClient):
    web.cookies.set("lang", "ja")
    r = sign_in(web, password="not-the-password")
    assert r.status_code == 401
    assert '<html lang="ja">' in r.text
    assert "メールアドレスまたはパスワードが正しくありません。" in r.text
    assert 'data-code="invalid_credentials"' in r.text
    assert f'value="{OWNER_EMAIL}"' in r.text  # the address stays in the form
    assert "tsunagu_session" not in r.headers.get("set-cookie", "")


def test_back_off_is_shown_with_its_wait(web: TestClient):
    for _ in range(5):
        sign_in(web, password="wrong-wrong")
    r = sign_in(web, password="wrong-wrong")
    assert r.status_code in (401, 429)
    assert int(r.headers["retry-after"]) > 0
    assert re.search(r"\b\d+ seconds\b", r.text), r.text


# --------------------------------------------------------------------------- the cookie


def test_the_cookie_is_httponly_and_samesite_lax(web: TestClient):
    header = cookie_header(sign_in(web))
    assert header.startswith("tsunagu_session=")
    lowered = header.lower()
    assert "httponly" in lowered
    assert "samesite=lax" in lowered
    assert "path=/" in lowered
    assert "secure" not in lowered
    assert "domain=" not in lowered


def test_over_https_the_cookie_is_secure_and_host_only(db: Db):
    create_user(db, OWNER_EMAIL)
    with browser_client(db, secure_cookies=True) as client:
        header = cookie_header(sign_in(client))
    assert header.startswith("__Host-tsunagu_session=")
    lowered = header.lower()
    assert "; secure" in lowered
    assert "httponly" in lowered
    assert "samesite=lax" in lowered
    assert "path=/" in lowered
    assert "domain=" not in lowered


def test_a_cross_site_post_is_refused(web: TestClient):
    sign_in(web)
    for headers in ({"Origin": "http://evil.example"}, {"Origin": "null"}):
        r = web.post("/account/sessions", data={"others": "1"}, headers=headers)
        assert r.status_code == 403
        assert "cross_site_request" in r.text
    # a sign-in form posted from another site is refused too (no login CSRF)
    r = web.post(
        "/sign-in",
        data={"email": OWNER_EMAIL, "password": PASSWORD},
        headers={"Origin": "http://evil.example"},
    )
    assert r.status_code == 403
    assert "set-cookie" not in r.headers


def test_sign_out_ends_the_session_on_the_server(web: TestClient):
    sign_in(web)
    token = web.cookies.get("tsunagu_session")
    assert token
    r = web.post("/sign-out")
    assert r.status_code == 303
    assert r.headers["location"] == "/sign-in"
    assert 'tsunagu_session=""' in cookie_header(r) or "max-age=0" in cookie_header(r).lower()
    # the old token no longer works, in the cookie or as a bearer
    web.cookies.set("tsunagu_session", token)
    assert web.get("/account").headers["location"] == "/sign-in?next=/account"
    assert web.get("/v1/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


# --------------------------------------------------------------------------- reach


def test_home_lists_only_the_sellers_you_reach(web: TestClient, db: Db):
    mine = make_seller(db, name="Kyoto Tea Works")
    create_user(db, OTHER_EMAIL)
    with unit_of_work(db.factory) as session:
        from tsunagu.sellers.service import create_seller

        theirs = create_seller(
            session,
            name="Someone Else KK",
            marketplaces=("US",),
            registry=db.registry,
            now=utcnow(),
        ).id
    sign_in(web)
    html = web.get("/").text
    assert f'href="/sellers/{mine}"' in html
    assert "Someone Else KK" not in html
    assert theirs not in html
    switcher = web.get(f"/sellers/{mine}/stores/JP").text
    assert f'data-testid="switcher-store-{mine}-JP"' in switcher
    assert f'data-testid="switcher-store-{mine}-JP" aria-current="page"' in switcher
    assert theirs not in switcher

    for path in (f"/sellers/{theirs}", f"/sellers/{theirs}/orders", f"/sellers/{theirs}/stores/US"):
        r = web.get(path)
        assert r.status_code == 404, path
        assert 'data-testid="error"' in r.text
        assert "seller_not_found" in r.text
        assert "Someone Else KK" not in r.text


# --------------------------------------------------------------------------- 2FA


def _enrol(web: TestClient) -> tuple[str, list[str]]:
    """2FA on through the pages (right after sign-in no step-up is needed); secret and codes."""
    setup = web.get("/account/2fa/setup")
    assert setup.status_code == 200, setup.text
    assert "<svg" in setup.text
    secret = re.search(r'data-secret="([A-Z2-7]+)"', setup.text)
    assert secret is not None
    code = pyotp.TOTP(secret.group(1)).now()
    done = web.post("/account/2fa/setup", data={"code": code})
    assert done.status_code == 200, done.text
    codes = re.findall(r'data-testid="recovery-code">([^<]+)<', done.text)
    assert len(codes) == 10
    assert done.headers["cache-control"] == "no-store"
    return secret.group(1), codes


def test_two_factor_enrolment_and_the_code_prompt(web: TestClient, db: Db):
    seller = make_seller(db)
    sign_in(web)
    secret, codes = _enrol(web)
    account = web.get("/account").text
    assert 'data-enabled="true"' in account
    web.post("/sign-out")

    r = sign_in(web, next=f"/sellers/{seller}")
    assert r.status_code == 303
    assert r.headers["location"] == f"/sign-in/code?next=/sellers/{seller}"
    pending = web.cookies.get("tsunagu_session")
    # a session waiting for its code reaches no page: every page sends it to the prompt
    assert web.get(f"/sellers/{seller}").headers["location"] == (
        f"/sign-in/code?next=/sellers/{seller}"
    )
    prompt = web.get(r.headers["location"])
    assert prompt.status_code == 200
    assert "code-form" in ids_in(prompt.text)

    wrong = web.post("/sign-in/code", data={"code": "000000", "next": f"/sellers/{seller}"})
    assert wrong.status_code in (401, 429)
    assert 'data-code="invalid_code"' in wrong.text or "too_many_attempts" in wrong.text
    time.sleep(1.1)  # the code throttle's first delay
    ok = web.post(
        "/sign-in/code",
        data={"code": pyotp.TOTP(secret).at(time.time() + 30), "next": f"/sellers/{seller}"},
    )
    assert ok.status_code == 303, ok.text
    assert ok.headers["location"] == f"/sellers/{seller}"
    rotated = web.cookies.get("tsunagu_session")
    assert rotated
    assert rotated != pending
    assert web.get(f"/sellers/{seller}").status_code == 200

    # a recovery code works once, in place of the app's code
    web.post("/sign-out")
    sign_in(web)
    used = web.post("/sign-in/code", data={"code": codes[0], "next": "/account"})
    assert used.headers["location"] == "/account"
    assert "Recovery codes left: 9" in web.get("/account/recovery-codes").text


def test_sensitive_pages_ask_for_a_step_up_and_rotate_the_session(web: TestClient, db: Db):
    sign_in(web)
    age_session(db)
    r = web.get("/account/2fa/setup")
    assert r.status_code == 303
    assert r.headers["location"] == "/account/step-up?next=/account/2fa/setup"
    page = web.get(r.headers["location"])
    assert "step-up-form" in ids_in(page.text)
    assert 'name="code"' not in page.text  # no 2FA yet: the password is enough

    before = web.cookies.get("tsunagu_session")
    wrong = web.post(
        "/account/step-up", data={"password": "nope-nope", "next": "/account/2fa/setup"}
    )
    assert wrong.status_code == 401
    assert 'data-code="invalid_credentials"' in wrong.text
    ok = web.post("/account/step-up", data={"password": PASSWORD, "next": "/account/2fa/setup"})
    assert ok.status_code == 303
    assert ok.headers["location"] == "/account/2fa/setup"
    after = web.cookies.get("tsunagu_session")
    assert after
    assert after != before
    assert web.get("/account/2fa/setup").status_code == 200
    # the old token died with the rotation
    web.cookies.set("tsunagu_session", before or "")
    assert web.get("/account").status_code == 303
    # a POST that needs a step-up goes there too, then back to the page with the form
    web.cookies.set("tsunagu_session", after or "")
    age_session(db)
    r = web.post("/account/sessions", data={"others": "1"})
    assert r.headers["location"] == "/account/step-up?next=/account/sessions"


# --------------------------------------------------------------------------- sessions


def test_the_sessions_page_marks_this_one_and_ends_another(web: TestClient, db: Db):
    with browser_client(db) as laptop:
        sign_in(laptop)
        sign_in(web)
        page = web.get("/account/sessions")
        assert page.status_code == 200
        rows = re.findall(r'data-testid="session-row" data-session="([^"]+)"', page.text)
        assert len(rows) == 2
        current = re.findall(r'data-session="([^"]+)" data-current="true"', page.text)
        assert len(current) == 1
        other = next(s for s in rows if s not in current)
        assert laptop.get("/account").status_code == 200

        r = web.post("/account/sessions", data={"end": other})
        assert r.status_code == 303
        assert r.headers["location"] == "/account/sessions?done=one"
        assert laptop.get("/account").headers["location"] == "/sign-in?next=/account"
        assert (
            len(re.findall('data-testid="session-row"', web.get(r.headers["location"]).text)) == 1
        )

        # every other session, right after signing in (no step-up needed yet)
        sign_in(laptop)
        ended = web.post("/account/sessions", data={"others": "1"})
        assert ended.headers["location"] == "/account/sessions?done=others"
        assert laptop.get("/account").status_code == 303
        # another user's session id is not found, never ended
        assert web.post("/account/sessions", data={"end": "ses_not_mine"}).status_code == 404


# --------------------------------------------------------------------------- password reset


def test_forgot_password_never_tells_and_reset_never_signs_in(web: TestClient, db: Db):
    answers = []
    for email in (OWNER_EMAIL, "nobody@example.test"):
        r = web.post("/forgot-password", data={"email": email})
        assert r.status_code == 200
        answers.append(re.sub(r"\s+", " ", r.text))
    assert answers[0] == answers[1]
    assert "reset-sent" in answers[0]
    with db.session() as session:
        mail = next(m for m in list_outbox(session, to=OWNER_EMAIL) if m.kind == "password_reset")
    link = re.search(r"http://testserver/reset-password\?token=(\S+)", mail.body)
    assert link is not None, mail.body
    token = link.group(1)

    form = web.get(f"/reset-password?token={token}")
    assert f'name="token" value="{token}"' in form.text
    assert form.headers["referrer-policy"] == "same-origin"
    differ = web.post("/reset-password", data={"token": token, "password": "a", "repeat": "b"})
    assert differ.status_code == 422
    short = web.post("/reset-password", data={"token": token, "password": "x", "repeat": "x"})
    assert short.status_code == 422  # the policy's message; the token still works
    new = "lantern-harbour-moss"
    done = web.post("/reset-password", data={"token": token, "password": new, "repeat": new})
    assert done.status_code == 200
    assert "reset-done" in ids_in(done.text)
    assert "tsunagu_session" not in done.headers.get("set-cookie", "")
    again = web.post("/reset-password", data={"token": token, "password": new, "repeat": new})
    assert again.status_code == 400
    assert 'data-code="reset_token_invalid"' in again.text
    assert sign_in(web, password=new).headers["location"] == "/"


# --------------------------------------------------------------------------- linked accounts


def _unlink_code(db: Db, email: str) -> str:
    with db.session() as session:
        mail = next(m for m in list_outbox(session, to=email) if m.kind == "unlink_code")
    found = re.search(r"\b(\d{8})\b", mail.body)
    assert found is not None, mail.body
    return found.group(1)


def test_link_then_unlink_through_the_pages(web: TestClient, db: Db):
    """A (with 2FA) asks to link B by B's password. B has no second factor of its own, so the
    link waits: B's owner opens the message in another browser — first signed out (only
    declining and signing in are offered), then signed in as B — and agrees (AUTH-13 f). A then
    reaches B's seller, and unlinks it with a step-up and the e-mailed code; B gets its own copy
    of the authenticator and new recovery codes, shown once, and B's seller is not found for A
    any more."""
    mine = make_seller(db, name="Kyoto Tea Works", marketplaces=("JP",))
    with unit_of_work(db.factory) as session:
        from tsunagu.sellers.service import create_seller

        theirs = create_seller(
            session, name="Seattle Goods", marketplaces=("US",), registry=db.registry, now=utcnow()
        ).id
    create_user(db, OTHER_EMAIL, owner_of=[theirs])
    sign_in(web)
    _secret, codes = _enrol(web)
    assert web.get(f"/sellers/{theirs}").status_code == 404

    form = web.get("/account/links/new")
    assert "link-form" in ids_in(form.text)
    wrong = web.post("/account/links/new", data={"email": OTHER_EMAIL, "password": "nope-nope"})
    assert wrong.status_code == 401
    assert 'data-code="invalid_credentials"' in wrong.text
    asked = web.post("/account/links/new", data={"email": OTHER_EMAIL, "password": PASSWORD})
    assert asked.status_code == 303, asked.text
    assert asked.headers["location"] == "/account/links?done=pending"
    waiting = web.get(asked.headers["location"]).text
    assert "link-requests" in ids_in(waiting)
    assert web.get(f"/sellers/{theirs}").status_code == 404  # nothing linked yet

    with unit_of_work(db.factory) as session:
        message = next(m for m in list_outbox(session, to=OTHER_EMAIL) if m.kind == "link_request")
    link = re.search(r"http://testserver(/link-request\?token=\S+)", message.body)
    assert link is not None, message.body
    with browser_client(db) as b:
        opened = b.get(link.group(1))
        assert opened.status_code == 200
        assert {"link-request-summary", "link-sign-in", "link-decline"} <= ids_in(opened.text)
        assert "link-accept" not in ids_in(opened.text)
        # the authenticator that would protect B is named before B agrees
        assert "link-request-factor" in ids_in(opened.text)
        assert OWNER_EMAIL in opened.text
        signed = sign_in(b, OTHER_EMAIL, next=link.group(1))
        assert signed.headers["location"] == link.group(1)
        mine_now = b.get(link.group(1))
        assert "link-accept" in ids_in(mine_now.text)
        token = re.search(r'name="token" value="([^"]+)"', mine_now.text)
        assert token is not None
        agreed = b.post("/account/links/accept", data={"token": token.group(1)})
        assert agreed.status_code == 303, agreed.text
        assert agreed.headers["location"] == "/account/links?done=linked"
    page = web.get("/account/links?done=linked").text
    assert OTHER_EMAIL in page
    home = web.get("/").text
    assert f'href="/sellers/{mine}"' in home
    assert f'href="/sellers/{theirs}"' in home
    store = web.get(f"/sellers/{theirs}/stores/US")
    assert store.status_code == 200
    assert f'data-testid="switcher-store-{theirs}-US" aria-current="page"' in store.text
    assert f'data-testid="switcher-store-{mine}-JP"' in store.text

    other_id = re.search(r'data-testid="linked-account" data-principal="([^"]+)"', page)
    assert other_id is not None
    unlink_page = f"/account/links/unlink?account={other_id.group(1)}"
    age_session(db)
    r = web.get(unlink_page)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/account/step-up?next=/account/links/unlink")
    stepped = web.post(
        "/account/step-up", data={"password": PASSWORD, "code": codes[1], "next": unlink_page}
    )
    assert stepped.headers["location"] == unlink_page
    confirm = web.get(unlink_page)
    assert confirm.status_code == 200
    assert OTHER_EMAIL in confirm.text
    sent = web.post("/account/links/unlink", data={"account": other_id.group(1)})
    assert sent.headers["location"] == "/account/links/confirm"
    assert "code-sent" in ids_in(web.get("/account/links/confirm").text)

    bad = web.post("/account/links/confirm", data={"code": "00000000"})
    assert bad.status_code == 401
    assert 'data-code="invalid_code"' in bad.text
    done = web.post("/account/links/confirm", data={"code": _unlink_code(db, OWNER_EMAIL)})
    assert done.status_code == 200, done.text
    assert done.headers["cache-control"] == "no-store"
    assert f'data-testid="new-recovery-codes" data-email="{OTHER_EMAIL}"' in done.text
    assert len(re.findall('data-testid="recovery-code"', done.text)) == 10
    assert theirs not in done.text  # the header already shows what the session reaches now

    assert web.get(f"/sellers/{theirs}").status_code == 404
    home = web.get("/").text
    assert f'href="/sellers/{theirs}"' not in home
    assert f'href="/sellers/{mine}"' in home
    assert "no-links" in ids_in(web.get("/account/links").text)


def test_a_page_in_japanese_shows_the_account_in_japanese(web: TestClient):
    sign_in(web)
    html = web.get("/account?lang=ja").text
    assert '<html lang="ja">' in html
    assert "Your account" not in html


def test_recovery_codes_and_turning_2fa_off_need_a_recent_step_up(web: TestClient, db: Db):
    sign_in(web)
    _secret, codes = _enrol(web)
    assert "regenerate-codes" in ids_in(web.get("/account/recovery-codes").text)
    new = web.post("/account/recovery-codes")
    assert new.status_code == 200
    fresh = re.findall(r'data-testid="recovery-code">([^<]+)<', new.text)
    assert len(fresh) == 10
    assert not set(fresh) & set(codes)

    age_session(db)
    page = web.get("/account/recovery-codes").text
    assert "regenerate-codes" not in ids_in(page)
    assert 'href="/account/step-up?next=/account/recovery-codes"' in page
    assert web.post("/account/recovery-codes").headers["location"] == (
        "/account/step-up?next=/account/recovery-codes"
    )
    assert web.post("/account/2fa").headers["location"] == "/account/step-up?next=/account/2fa"
    step_up = web.get("/account/step-up?next=/account/2fa")
    assert 'name="code"' in step_up.text  # 2FA is on: the step-up wants a code as well
    no_code = web.post("/account/step-up", data={"password": PASSWORD, "next": "/account/2fa"})
    assert no_code.status_code in (401, 429)
    time.sleep(1.1)  # the code throttle's first delay
    ok = web.post(
        "/account/step-up", data={"password": PASSWORD, "code": fresh[0], "next": "/account/2fa"}
    )
    assert ok.headers["location"] == "/account/2fa"
    assert "disable-2fa" in ids_in(web.get("/account/2fa").text)
    off = web.post("/account/2fa")
    assert off.headers["location"] == "/account/2fa?done=disabled"
    assert (
        'data-testid="two-factor-state" data-enabled="false"'
        in web.get(off.headers["location"]).text
    )
    web.post("/sign-out")
    assert sign_in(web).headers["location"] == "/"


def test_an_htmx_fragment_without_a_session_sends_the_whole_page_to_sign_in(
    web: TestClient, db: Db
):
    seller = make_seller(db)
    r = web.get(f"/sellers/{seller}/stores/JP/what-if?add_orders=5", headers={"HX-Request": "true"})
    assert r.status_code == 204
    assert r.headers["hx-redirect"] == (
        f"/sign-in?next=/sellers/{seller}/stores/JP/what-if%3Fadd_orders%3D5"
    )


def test_an_api_token_reads_pages_but_cannot_manage_the_account(db: Db):
    seller = make_seller(db)
    with browser_client(db) as client:
        from tests.auth import sign_in as api_sign_in

        create_user(db, OWNER_EMAIL, owner_of=[seller])
        bearer = {"Authorization": f"Bearer {api_sign_in(client, OWNER_EMAIL)}"}
        token = client.post(
            "/v1/auth/tokens",
            json={"name": "dash", "scope": "read", "seller_ids": [seller]},
            headers=bearer,
        ).json()["token"]
        client.headers["Authorization"] = f"Bearer {token}"
        assert client.get(f"/sellers/{seller}").status_code == 200
        r = client.get("/account")
        assert r.status_code == 403
        assert "session_required" in r.text


def _reset_code(db: Db, email: str) -> str:
    with unit_of_work(db.factory) as session:
        mail = next(m for m in list_outbox(session, to=email) if m.kind == "password_reset")
    found = re.search(r"once\): (\S+)", mail.body)
    assert found is not None
    return found.group(1)


def test_the_reset_page_cuts_the_links_when_asked(web: TestClient, db: Db):
    """AUTH-13 g through the pages: an owner who did not make a link resets the password with the
    box ticked; the account leaves its link group, and the page says what happened."""
    mine = make_seller(db, name="Kyoto Tea Works", marketplaces=("JP",))
    create_user(db, OTHER_EMAIL)
    sign_in(web)
    asked = web.post("/account/links/new", data={"email": OTHER_EMAIL, "password": PASSWORD})
    assert asked.headers["location"] == "/account/links?done=pending"
    for email in (OWNER_EMAIL, OTHER_EMAIL):
        with unit_of_work(db.factory) as session:
            message = next(m for m in list_outbox(session, to=email) if m.kind == "link_request")
        token = re.search(r"Confirmation code: (\S+)", message.body)
        assert token is not None
        with browser_client(db) as b:
            sign_in(b, email)
            assert (
                b.post("/account/links/accept", data={"token": token.group(1)}).status_code == 303
            )
    with browser_client(db) as other:
        sign_in(other, OTHER_EMAIL)
        assert other.get(f"/sellers/{mine}").status_code == 200  # reached through the link

        assert other.post("/forgot-password", data={"email": OTHER_EMAIL}).status_code == 200
        form = other.get(f"/reset-password?token={_reset_code(db, OTHER_EMAIL)}")
        assert "reset-cut-links" in ids_in(form.text)
        done = other.post(
            "/reset-password",
            data={
                "token": _reset_code(db, OTHER_EMAIL),
                "password": "a-quiet-new-phrase",
                "repeat": "a-quiet-new-phrase",
                "cut_links": "1",
            },
        )
        assert done.status_code == 200, done.text
        assert "reset-links-cut" in ids_in(done.text)
        sign_in(other, OTHER_EMAIL, "a-quiet-new-phrase")
        assert other.get(f"/sellers/{mine}").status_code == 404
    # cutting ended every session of every former member, the other owner's too
    assert web.get("/account/links").headers["location"].startswith("/sign-in")
    sign_in(web)
    assert "no-links" in ids_in(web.get("/account/links").text)


def test_a_link_request_is_declined_on_its_page_without_signing_in(web: TestClient, db: Db):
    create_user(db, OTHER_EMAIL)
    sign_in(web)
    web.post("/account/links/new", data={"email": OTHER_EMAIL, "password": PASSWORD})
    with unit_of_work(db.factory) as session:
        message = next(m for m in list_outbox(session, to=OTHER_EMAIL) if m.kind == "link_request")
    path = re.search(r"http://testserver(/link-request\?token=(\S+))", message.body)
    assert path is not None
    with browser_client(db) as stranger:
        page = stranger.get(path.group(1))
        assert "link-decline" in ids_in(page.text)
        declined = stranger.post("/link-request/decline", data={"token": path.group(2)})
        assert declined.headers["location"] == "/link-request?done=declined"
        assert "link-declined" in ids_in(stranger.get(declined.headers["location"]).text)
        again = stranger.get(path.group(1))
        assert "link-request-invalid" in ids_in(again.text)
    with unit_of_work(db.factory) as session:
        told = [m for m in list_outbox(session, to=OWNER_EMAIL) if m.kind == "link_declined"]
    assert len(told) == 1


def test_the_password_page_revokes_the_tokens_when_asked(web: TestClient, db: Db):
    """AUTH-18: the box revokes every API token of the account, and the page says how many."""
    seller = make_seller(db, name="Kyoto Tea Works", marketplaces=("JP",))
    create_user(db, OWNER_EMAIL, owner_of=[seller])
    sign_in(web)
    api = TestClient(web.app)
    token = api.post(
        "/v1/auth/tokens",
        json={"name": "n", "scope": "read", "seller_ids": [seller]},
        headers={
            "Authorization": "Bearer "
            + api.post(
                "/v1/auth/sign-in", json={"email": OWNER_EMAIL, "password": PASSWORD}
            ).json()["token"]
        },
    ).json()["token"]
    changed = web.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "password": "another-calm-phrase",
            "repeat": "another-calm-phrase",
            "revoke_tokens": "1",
        },
    )
    assert changed.headers["location"] == "/account/password?done=changed&revoked=1"
    assert "password-tokens-revoked" in ids_in(web.get(changed.headers["location"]).text)
    gone = api.get(f"/v1/sellers/{seller}", headers={"Authorization": f"Bearer {token}"})
    assert gone.status_code == 401
