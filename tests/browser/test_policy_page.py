"""The policy compliance page in Debian's Chromium, in English and Japanese and on a 390-pixel
phone (issue 16, items 6 and 11).

The demo's Hanamizuki Zakka (``sel_demo7_01``) has one open low-severity trademark complaint: from
its store page the seller follows the "Policy compliance" link and reads the complaint in Seller
Central's words (Received Intellectual Property Complaints / 知的財産に関する苦情), with its
ASIN, severity, the 2 points it costs, the day it stops counting, its status and the event that
opened it. A new account's store with Amazon's V2 report imported and no violation events shows
Amazon's per-policy counts, labelled as Amazon's. No page shows a policy key as it is, and at
390×844 none is wider than the screen.

Screenshots go to ``/tmp/shots/policy`` (or ``TSUNAGU_POLICY_SHOTS``), to be looked at.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.browser.conftest import CSP_REFUSAL, make_account, sign_in_with_form
from tsunagu.core.clock import utcnow
from tsunagu.core.db import unit_of_work
from tsunagu.health import snapshots
from tsunagu.marketplaces.registry import load_registry

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

TRADEMARK = "sel_demo7_01"
SHOTS = Path(os.environ.get("TSUNAGU_POLICY_SHOTS") or "/tmp/shots/policy")
V2_JP = Path(__file__).parent.parent / "data" / "amazon" / "v2-health-jp.json"
PASSWORD = "policy-lantern-harbour"
PHONE = {"width": 390, "height": 844}
#: a snake_case or camelCase token without digits (ids carry digits): no page may show one
CODE = re.compile(r"\b[a-z]+(?:_[a-z]+)+\b|\b[a-z]+[A-Z][A-Za-z]*\b")


@pytest.fixture
def tab(browser: Any, server: str, signed_in_state: str) -> Iterator[Any]:
    """Opens a browser page (signed in as the demo owner unless ``state`` is ``None``); none
    may end with a content-security-policy refusal or an HTTP 5xx answer."""
    opened: list[tuple[Any, list[str]]] = []

    def open_tab(*, viewport: dict[str, int] | None = None, demo_owner: bool = True) -> Any:
        context = browser.new_context(
            base_url=server,
            locale="en-US",
            viewport=viewport or {"width": 1280, "height": 900},
            storage_state=signed_in_state if demo_owner else None,
        )
        page = context.new_page()
        page.set_default_timeout(15_000)
        problems: list[str] = []
        page.on(
            "console", lambda m: problems.append(m.text) if CSP_REFUSAL.search(m.text) else None
        )
        page.on(
            "response",
            lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 500 else None,
        )
        opened.append((context, problems))
        return page

    yield open_tab
    problems = [p for _, found in opened for p in found]
    for context, _ in opened:
        context.close()
    if problems:
        pytest.fail(f"refused by the content security policy or a server error: {problems}")


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def fits(page: Any, name: str) -> None:
    """No wider than the viewport (tables scroll inside their own box)."""
    width = page.viewport_size["width"]
    scroll = page.evaluate("document.scrollingElement.scrollWidth")
    wide = page.evaluate(
        """(w) => [...document.querySelectorAll('body *')]
             .filter(e => e.getBoundingClientRect().right > w + 1)
             .filter(e => !(e.parentElement && e.parentElement.closest('.table-scroll')))
             .slice(0, 5).map(e => e.tagName + '.' + e.className)""",
        width,
    )
    assert scroll <= width, f"{name} is {scroll} px wide at {width} px: {wide}"
    shot(page, name)


def no_codes(page: Any) -> None:
    text = str(page.locator("main").inner_text())
    assert CODE.findall(text) == [], CODE.findall(text)


def card(page: Any) -> Any:
    cards = page.locator("[data-testid=violation]")
    assert cards.count() == 1
    return cards.first


@pytest.mark.parametrize(
    ("lang", "policy", "severity", "status", "section"),
    [
        ("en", "Received Intellectual Property Complaints", "low", "Open", "Policy compliance"),
        ("ja", "知的財産に関する苦情", "低", "未解決", "規約の遵守"),
    ],
)
def test_the_trademark_complaint_from_the_store_page(
    tab: Any, lang: str, policy: str, severity: str, status: str, section: str
) -> None:
    page = tab()
    page.goto(f"/sellers/{TRADEMARK}/stores/JP?lang={lang}")
    with page.expect_navigation():
        page.locator("[data-testid=policy-link]").click()
    assert page.url.split("?")[0].endswith(f"/sellers/{TRADEMARK}/stores/JP/policy")
    assert section in page.locator("h1").inner_text()
    one = card(page)
    assert one.locator("[data-testid=violation-policy]").inner_text() == policy
    assert one.locator("[data-testid=violation-severity]").inner_text() == severity
    assert one.locator("[data-testid=violation-status]").inner_text() == status
    # a low violation costs the rating 2 points (ADR 0008's defaults)
    assert one.locator("[data-testid=violation-points]").inner_text() == "−2"
    asin = one.locator("[data-testid=violation-asin]").inner_text()
    assert re.fullmatch(r"B0[0-9A-Z]{8}", asin), asin
    assert one.locator("[data-testid=violation-opened-by]").inner_text().strip()
    assert re.search(r"\d", one.locator("[data-testid=violation-ages-out]").inner_text())
    assert page.locator("[data-testid=no-snapshot]").is_visible()
    no_codes(page)
    fits(page, f"trademark-{lang}")


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_the_page_fits_a_phone_with_its_key_figures_visible(tab: Any, lang: str) -> None:
    page = tab(viewport=PHONE)
    page.goto(f"/sellers/{TRADEMARK}/stores/JP/policy?lang={lang}")
    one = card(page)
    for testid in ("violation-policy", "violation-points", "violation-status"):
        found = one.locator(f"[data-testid={testid}]")
        found.scroll_into_view_if_needed()
        assert found.is_visible(), testid
    fits(page, f"trademark-{lang}-390")


@pytest.fixture(scope="module")
def amazon_only(server_db: sessionmaker[Session]) -> tuple[str, str]:
    """A new account owning a JP store with Amazon's V2 report imported and no violation
    events: its email and seller id."""
    email = f"policy-seller-{uuid.uuid4().hex[:8]}@example.test"
    seller_id = make_account(
        server_db, email=email, password=PASSWORD, name="Aoi Sato", seller=("Sakura Paper", ("JP",))
    )
    assert seller_id is not None
    with unit_of_work(server_db) as session:
        snapshots.import_snapshot(
            session,
            seller_id=seller_id,
            marketplace=load_registry(None).require("JP"),
            data=V2_JP.read_bytes(),
            source_name="v2-health-jp.json",
            now=utcnow(),
        )
    return email, seller_id


@pytest.mark.parametrize(
    ("lang", "policy", "label"),
    [
        ("en", "Received Intellectual Property Complaints", "Amazon's count"),
        ("ja", "知的財産に関する苦情", "Amazonの件数"),
    ],
)
def test_amazons_counts_where_tsunagu_has_no_events(
    tab: Any, amazon_only: tuple[str, str], lang: str, policy: str, label: str
) -> None:
    email, seller_id = amazon_only
    page = tab(demo_owner=False)
    path = f"/sellers/{seller_id}/stores/JP/policy?lang={lang}"
    page.goto(path)
    page.wait_for_url(re.compile(r".*/sign-in\?next=.*"))
    sign_in_with_form(page, email, PASSWORD)
    page.wait_for_url(re.compile(rf".*/sellers/{seller_id}/stores/JP/policy(\?.*)?$"))
    assert page.locator("[data-testid=violations-empty]").is_visible()
    assert page.locator("[data-testid=amazon-only]").is_visible()
    assert re.search(r"2026", page.locator("[data-testid=snapshot-date]").inner_text())
    row = page.locator("[data-testid=policy-row]", has_text=policy)
    assert row.get_attribute("data-source") == "amazon"
    amazon = row.locator("[data-testid=policy-amazon]").inner_text()
    assert amazon.startswith("1")
    assert label in amazon
    assert page.locator("[data-testid=policy-row]").count() == 11
    no_codes(page)
    fits(page, f"amazon-counts-{lang}")
    page.set_viewport_size(PHONE)
    fits(page, f"amazon-counts-{lang}-390")
