"""Signing in, 2FA and linked accounts in Debian's Chromium (issue 6, point 9).

The demo owner signs in through the form; a new account turns 2FA on with the QR page's key
(codes computed with pyotp, as an authenticator app would), signs out and back in with a code;
and two accounts, each owning one seller, are linked and unlinked the whole way: step-up, the
other account's password, both sellers in the store switcher, then the e-mailed code from the
outbox, the new recovery codes, and the other seller gone.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pyotp
import pytest

from tests.browser.conftest import (
    CSP_REFUSAL,
    age_sessions,
    make_account,
    outbox_code,
    sign_in_with_form,
)
from tsunagu.demo.load import DEMO_EMAIL, DEMO_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

PASSWORD = "lantern-harbour-moss"
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def new_page(browser, server: str, locale: str = "en-US", width: int = 1280):
    context = browser.new_context(
        base_url=server, locale=locale, viewport={"width": width, "height": 900}
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    refusals: list[str] = []
    page.on("console", lambda m: refusals.append(m.text) if CSP_REFUSAL.search(m.text) else None)
    page.csp_refusals = refusals  # type: ignore[attr-defined]
    return context, page


def link_request_path(factory, *, to: str) -> str:
    """The page the newest link confirmation sent to ``to`` points at."""
    from tsunagu.identity.mail import list_outbox

    with factory() as session:
        mail = next(m for m in list_outbox(session, to=to) if m.kind == "link_request")
    found = re.search(r"https?://[^/\s]+(/link-request\?token=\S+)", mail.body)
    assert found is not None, mail.body
    return found.group(1)


def switcher_sellers(page) -> set[str]:
    switcher = page.locator("[data-testid=store-switcher]")
    return {
        s.get_attribute("data-seller") or ""
        for s in switcher.locator("[data-testid=switcher-seller]").all()
    }


def test_the_demo_owner_signs_in_and_out(browser, server) -> None:
    context, page = new_page(browser, server)
    try:
        page.goto("/sellers/sel_demo7_03?lang=en")
        page.wait_for_url(re.compile(r".*/sign-in\?next=/sellers/sel_demo7_03"))
        sign_in_with_form(page, DEMO_EMAIL, "not-the-password")
        error = page.locator("[data-testid=form-error]")
        assert error.is_visible()
        assert "incorrect" in error.inner_text()
        sign_in_with_form(page, DEMO_EMAIL, DEMO_PASSWORD)
        page.wait_for_url("**/sellers/sel_demo7_03?lang=en")  # back where it was going
        assert page.locator("[data-testid=user-name]").inner_text() == "Demo owner"
        assert len(switcher_sellers(page)) >= 3
        cookie = next(c for c in context.cookies() if c["name"] == "tsunagu_session")
        assert cookie["httpOnly"] is True
        assert cookie["sameSite"] == "Lax"
        page.locator("[data-testid=sign-out]").click()
        page.wait_for_url("**/sign-in")
        assert not [c for c in context.cookies() if c["name"] == "tsunagu_session"]
        page.goto("/")
        page.wait_for_url("**/sign-in")
    finally:
        context.close()


def test_two_factor_enrolment_then_signing_in_with_a_code(browser, server, server_db) -> None:
    email = "two-factor@example.test"
    make_account(server_db, email=email, password=PASSWORD, name="Aiko")
    context, page = new_page(browser, server)
    try:
        page.goto("/account")
        page.wait_for_url("**/sign-in?next=/account")
        sign_in_with_form(page, email, PASSWORD)
        page.wait_for_url("**/account")
        assert page.locator("[data-testid=account-2fa]").get_attribute("data-enabled") == "false"
        page.locator("[data-testid=account-nav-2fa]").click()
        page.locator("[data-testid=setup-2fa]").click()
        page.wait_for_url("**/account/2fa/setup")
        assert page.locator("[data-testid=totp-qr] svg").is_visible()
        secret = page.locator("[data-testid=totp-secret]").get_attribute("data-secret")
        assert secret
        assert page.locator("[data-testid=totp-secret]").inner_text().replace(" ", "") == secret
        page.locator("input[name=code]").fill(pyotp.TOTP(secret).now())
        page.locator("[data-testid=totp-confirm]").click()
        codes = page.locator("[data-testid=recovery-code]")
        codes.first.wait_for()
        assert codes.count() == 10

        page.locator("[data-testid=sign-out]").click()
        page.wait_for_url("**/sign-in")
        page.goto("/account")
        sign_in_with_form(page, email, PASSWORD)
        page.wait_for_url("**/sign-in/code?next=/account")
        # the app's next code (the one used to confirm is spent)
        page.locator("input[name=code]").fill(pyotp.TOTP(secret).at(time.time() + 30))
        page.locator("[data-testid=code-submit]").click()
        page.wait_for_url("**/account")
        assert page.locator("[data-testid=account-2fa]").get_attribute("data-enabled") == "true"
        assert page.locator("[data-testid=account-codes-left]").inner_text().startswith("10")
    finally:
        context.close()


def test_link_then_unlink_two_accounts(browser, server, server_db) -> None:
    """The whole journey: A (with 2FA) asks to link B. B has no 2FA of its own, so the link waits
    until B's owner opens the message on a phone (390 px, Japanese), signs in as B and agrees
    (AUTH-13 f). A then sees and opens B's store, unlinks it in Japanese with the e-mailed code and
    gets B's new recovery codes; B's seller is gone. No page's security policy refuses anything
    on the way (API-09)."""
    a_email, b_email = "hanami@example.jp", "cascade@example.com"
    a_seller = make_account(
        server_db, email=a_email, password=PASSWORD, name="Hanami", seller=("Hanami Zakka", ["JP"])
    )
    b_seller = make_account(
        server_db,
        email=b_email,
        password=PASSWORD,
        name="Cascade",
        seller=("Cascade Outfitters", ["US"]),
    )
    context, page = new_page(browser, server)
    try:
        page.goto("/")
        sign_in_with_form(page, a_email, PASSWORD)
        page.wait_for_url(f"{server}/")
        assert switcher_sellers(page) == {a_seller}
        assert page.locator("[data-testid=seller-link]").count() == 1

        # A turns 2FA on, so the unlink will hand B its own copy and new recovery codes
        page.goto("/account/2fa/setup")
        secret = page.locator("[data-testid=totp-secret]").get_attribute("data-secret")
        assert secret
        page.locator("input[name=code]").fill(pyotp.TOTP(secret).now())
        page.locator("[data-testid=totp-confirm]").click()
        page.locator("[data-testid=recovery-code]").first.wait_for()
        recovery = [c.inner_text() for c in page.locator("[data-testid=recovery-code]").all()]

        # later: linking asks A to confirm it is A first
        age_sessions(server_db)
        page.goto("/account/links")
        page.locator("[data-testid=link-new]").click()
        page.wait_for_url("**/account/step-up?next=/account/links/new")
        step_up = page.locator("[data-testid=step-up-form]")
        step_up.locator("input[name=password]").fill(PASSWORD)
        step_up.locator("input[name=code]").fill(recovery[0])
        step_up.locator("[data-testid=step-up-submit]").click()
        page.wait_for_url("**/account/links/new")
        form = page.locator("[data-testid=link-form]")
        form.locator("input[name=email]").fill(b_email)
        form.locator("input[name=password]").fill(PASSWORD)
        form.locator("[data-testid=link-submit]").click()
        page.wait_for_url("**/account/links?done=pending")
        assert page.locator("[data-testid=notice]").is_visible()
        assert page.locator("[data-testid=link-request]").count() == 1
        assert switcher_sellers(page) == {a_seller}  # nothing linked yet

        # B's owner opens the message on a phone, in Japanese, signed out at first
        phone, b_page = new_page(browser, server, locale="ja-JP", width=390)
        try:
            request_path = link_request_path(server_db, to=b_email)
            b_page.goto(request_path)
            assert b_page.locator("html").get_attribute("lang") == "ja"
            summary = b_page.locator("[data-testid=link-request-summary]").inner_text()
            assert a_email in summary
            assert JAPANESE.search(summary), summary
            # whose authenticator would protect B is said before B agrees
            assert a_email in b_page.locator("[data-testid=link-request-factor]").inner_text()
            assert b_page.locator("[data-testid=link-accept]").count() == 0
            b_page.locator("[data-testid=link-sign-in]").click()
            b_page.wait_for_url(re.compile(r".*/sign-in\?next=/link-request.*"))
            sign_in_with_form(b_page, b_email, PASSWORD)
            b_page.wait_for_url(re.compile(r".*/link-request\?token=.*"))
            accept = b_page.locator("[data-testid=link-accept]")
            box = accept.bounding_box()
            assert box is not None
            assert box["x"] + box["width"] <= 390  # fits the phone's width
            accept.click()
            b_page.wait_for_url("**/account/links?done=linked")
            assert b_page.locator(f"[data-testid=linked-account]:has-text('{a_email}')").count()
            assert not b_page.csp_refusals, b_page.csp_refusals
        finally:
            phone.close()

        page.goto("/account/links")
        assert page.locator(f"[data-testid=linked-account]:has-text('{b_email}')").count() == 1

        # both sellers in the switcher; open B's store from it
        assert switcher_sellers(page) == {a_seller, b_seller}
        page.locator("[data-testid=switcher-current]").click()
        page.locator(f"[data-testid=switcher-store-{b_seller}-US]").click()
        page.wait_for_url(f"**/sellers/{b_seller}/stores/US")
        assert "Cascade Outfitters" in page.locator("[data-testid=switcher-current]").inner_text()
        current = page.locator(f"[data-testid=switcher-store-{b_seller}-US]")
        assert current.get_attribute("aria-current") == "page"

        # unlink, in Japanese
        page.goto("/account/links?lang=ja")
        assert page.locator("html").get_attribute("lang") == "ja"
        age_sessions(server_db)
        page.locator(f"[data-testid='unlink-{b_email}']").click()
        page.wait_for_url(re.compile(r".*/account/step-up\?next=/account/links/unlink.*"))
        heading = page.locator("h1").inner_text()
        assert heading == "本人確認", heading
        step_up = page.locator("[data-testid=step-up-form]")
        step_up.locator("input[name=password]").fill(PASSWORD)
        step_up.locator("input[name=code]").fill(recovery[1])
        step_up.locator("[data-testid=step-up-submit]").click()
        page.wait_for_url(re.compile(r".*/account/links/unlink\?account=.*"))
        assert b_email in page.locator("[data-testid=unlink-target]").inner_text()
        page.locator("[data-testid=unlink-send-code]").click()
        page.wait_for_url("**/account/links/confirm")
        sent = page.locator("[data-testid=code-sent]").inner_text()
        assert a_email in sent
        assert JAPANESE.search(sent), sent
        code = outbox_code(server_db, to=a_email, kind="unlink_code", digits=8)
        page.locator("input[name=code]").fill(code)
        page.locator("[data-testid=unlink-confirm]").click()
        done = page.locator("[data-testid=unlinked]")
        done.wait_for()
        assert "リンクを解除しました" in done.inner_text()
        fresh = page.locator(f"[data-testid=new-recovery-codes][data-email='{b_email}']")
        assert fresh.locator("[data-testid=recovery-code]").count() == 10

        # B's seller is gone from the switcher, and its pages are "not found"
        assert switcher_sellers(page) == {a_seller}
        answer = page.goto(f"/sellers/{b_seller}/stores/US")
        assert answer is not None
        assert answer.status == 404
        assert page.locator("[data-testid=error]").is_visible()
        page.goto(f"/sellers/{a_seller}")
        assert page.locator("html").get_attribute("lang") == "ja"
        assert not page.csp_refusals, page.csp_refusals
    finally:
        context.close()


def test_sign_in_page_in_japanese_and_its_screenshot(browser, server) -> None:
    """Writes docs/sign-in-ja.png when TSUNAGU_SCREENSHOT_DIR is set."""
    context, page = new_page(browser, server, locale="ja-JP")
    try:
        page.goto("/")
        page.wait_for_url("**/sign-in")
        assert page.locator("html").get_attribute("lang") == "ja"
        assert page.locator("h1").inner_text() == "サインイン"
        sign_in_with_form(page, DEMO_EMAIL, "not-the-password")
        error = page.locator("[data-testid=form-error]").inner_text()
        assert "メールアドレスまたはパスワードが正しくありません" in error
        page.goto("/sign-in")
        shot = page.screenshot(full_page=True)
        assert shot[:8] == b"\x89PNG\r\n\x1a\n"
        wanted = os.environ.get("TSUNAGU_SCREENSHOT_DIR")
        if wanted:
            target = Path(wanted)
            target.mkdir(parents=True, exist_ok=True)
            (target / "sign-in-ja.png").write_bytes(shot)
    finally:
        context.close()
