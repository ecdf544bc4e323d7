"""The points pages in Debian's Chromium, in English and Japanese and on a 390-pixel phone
(issue 15, item 3).

A new account owns a JP (and US) store. Its offers: ``MATCHA-50`` with its own 10% rate and
``KETTLE-1`` following the store's 1%. A buyer orders both about 350 days ago (3,000 + 5,000 yen:
300 + 50 points), the order ships, and the points job settles them; a second order is cancelled
before shipment; a refund of half the matcha takes 150 points back; the buyer pays 100 points
at checkout; the expiry run records the 30-day warning (the balance expires in about 17 days).

The seller changes the store's rate and joins the "2% or more" badge through the forms (English,
then Japanese) and reads the statement; an operator (the demo owner) looks the buyer up and
reads the upcoming expiries. No page shows a ledger code (``grant_pending``,
``shipment_settled`` …), and at 390×844 none is wider than the screen.

Screenshots go to ``/tmp/shots/points`` (or ``TSUNAGU_POINTS_SHOTS``), to be looked at.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.browser.conftest import CSP_REFUSAL, make_account, sign_in_with_form
from tsunagu.core.clock import utcnow
from tsunagu.core.db import unit_of_work
from tsunagu.core.timeutil import format_instant
from tsunagu.events import ingest
from tsunagu.marketplaces.registry import Registry, load_registry
from tsunagu.points import service
from tsunagu.points.jobs import run_expiry, settle
from tsunagu.points.redemptions import RedemptionRequest, redeem

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

PASSWORD = "points-lantern-harbour"
SHOTS = Path(os.environ.get("TSUNAGU_POINTS_SHOTS") or "/tmp/shots/points")
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
#: the ledger's codes, which no page may show as they are
RAW_CODES = re.compile(
    r"grant_pending|shipment_settled|order_placed|order_cancelled|clawback|"
    r"\bredemption\b|\bexpiry\b|external:|adjustment:|\bpost\b|\bvoid\b"
)
PHONE = {"width": 390, "height": 844}
SELLER_NAME = "Uji Matcha Garden"


# -- the data: a buyer's year of points, through the real events and jobs ------------------------


@dataclass(frozen=True)
class Story:
    seller: str
    customer: str
    #: points granted, returned by the refund, spent, and left
    granted: int = 350
    returned: int = 150
    spent: int = 100

    @property
    def available(self) -> int:
        return self.granted - self.returned - self.spent


def points_story(
    factory: sessionmaker[Session], registry: Registry, seller: str, customer: str, now: datetime
) -> Story:
    """The buyer's orders as events, settled and expired by the jobs as they would have run.

    The orders are placed 350 days before ``now`` so that the balance expires within 30 days
    (a year after the points became available) and the expiry run records its first warning."""
    jp = registry.require("JP")
    placed = now - timedelta(days=350)
    with unit_of_work(factory) as session:
        for sku, rate, category in (("MATCHA-50", 10, "grocery"), ("KETTLE-1", None, "kitchen")):
            service.set_rate(
                session,
                seller_id=seller,
                marketplace=jp,
                rate=rate,
                sku=sku,
                category=category,
                actor="test",
                now=placed - timedelta(days=1),
            )

    def ev(kind: str, key: str, at: datetime, **fields: Any) -> dict[str, Any]:
        return {
            "event_id": f"points-pages-{seller}-{key}",
            "type": kind,
            "seller": seller,
            "marketplace": "JP",
            "at": format_instant(at),
            **fields,
        }

    def feed(events: list[dict[str, Any]], as_of: datetime) -> None:
        report = ingest.run(
            factory,
            lambda: enumerate(events, start=1),
            registry=registry,
            now=as_of,
            source_label="points-pages",
        )
        assert report.rejected == 0, report.item_errors
        with unit_of_work(factory) as session:
            settle(session, registry=registry, as_of=as_of)

    matcha = {"sku": "MATCHA-50", "quantity": 1, "price": 3000}
    kettle = {"sku": "KETTLE-1", "quantity": 1, "price": 5000}
    order = {"channel": "MFN", "currency": "JPY", "customer_id": customer}
    feed(
        [
            ev("order_placed", "o1", placed, order_id="PTS-O1", items=[matcha, kettle], **order),
            ev("order_shipped", "o1-ship", placed + timedelta(hours=20), order_id="PTS-O1"),
            ev(
                "order_placed",
                "o2",
                placed + timedelta(hours=1),
                order_id="PTS-O2",
                items=[{**kettle, "price": 2000}],
                **order,
            ),
            ev(
                "order_cancelled",
                "o2-cancel",
                placed + timedelta(hours=2),
                order_id="PTS-O2",
                by="buyer",
            ),
        ],
        placed + timedelta(days=3),
    )
    feed(
        [
            ev(
                "refund_issued",
                "o1-refund",
                placed + timedelta(days=10),
                order_id="PTS-O1",
                sku="MATCHA-50",
                amount=1500,
            )
        ],
        placed + timedelta(days=11),
    )
    redeem(
        factory,
        RedemptionRequest(jp, customer, "PTS-O3", 100, key=f"points-pages-{customer}"),
    )
    with unit_of_work(factory) as session:
        run_expiry(session, registry=registry, as_of=now)
        found = service.balance(session, marketplace=jp, customer=customer)
    story = Story(seller, customer)
    assert (found.pending, found.available) == (0, story.available), found
    return story


@dataclass(frozen=True)
class Seller:
    id: str
    email: str
    story: Story


@pytest.fixture(scope="module")
def seller(server_db: sessionmaker[Session]) -> Seller:
    """A new account owning a JP and US seller, with a buyer's year of points in JP."""
    email = f"points-seller-{uuid.uuid4().hex[:8]}@example.test"
    seller_id = make_account(
        server_db,
        email=email,
        password=PASSWORD,
        name="Ito Matcha",
        seller=(SELLER_NAME, ("JP", "US")),
    )
    assert seller_id is not None
    customer = f"buyer-pages-{uuid.uuid4().hex[:8]}"
    story = points_story(server_db, load_registry(None), seller_id, customer, utcnow())
    return Seller(seller_id, email, story)


# -- the browser -------------------------------------------------------------------------------


@pytest.fixture
def tab(browser: Any, server: str) -> Iterator[Any]:
    """Opens a browser page (a context per person); none may end with a CSP refusal or an
    HTTP 5xx answer."""
    opened: list[tuple[Any, list[str]]] = []

    def open_tab(locale: str = "en-US", state: str | None = None) -> Any:
        context = browser.new_context(
            base_url=server,
            locale=locale,
            viewport={"width": 1280, "height": 900},
            storage_state=state,
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


def sign_in(page: Any, path: str, email: str) -> None:
    page.goto(path)
    page.wait_for_url(re.compile(r".*/sign-in\?next=.*"))
    sign_in_with_form(page, email, PASSWORD)
    page.wait_for_url(re.compile(rf".*{re.escape(path.split('?')[0])}(\?.*)?$"))


def shot(page: Any, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def press(page: Any, testid: str) -> None:
    with page.expect_navigation():
        page.locator(f"[data-testid={testid}]").click()


def fits_the_phone(page: Any, name: str) -> None:
    """At 390×844 the document is no wider than the screen (tables scroll in their box)."""
    size = page.viewport_size
    page.set_viewport_size(PHONE)
    width = page.evaluate("document.scrollingElement.scrollWidth")
    wide = page.evaluate(
        """(w) => [...document.querySelectorAll('body *')]
             .filter(e => e.getBoundingClientRect().right > w + 1)
             .filter(e => !(e.parentElement && e.parentElement.closest('.table-scroll')))
             .slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' + e.getBoundingClientRect().right)""",
        PHONE["width"],
    )
    assert width <= PHONE["width"], f"{name} is {width} px wide at 390 px: {wide}"
    shot(page, f"{name}-390")
    page.set_viewport_size(size)


def main_text(page: Any) -> str:
    return str(page.locator("main").inner_text())


def test_the_seller_sets_points_in_english_and_japanese(tab, seller) -> None:
    """The store's rate and the badge through the forms; the badge count follows the effective
    rates; the Japanese page says the same in Japanese; the US store says the programme is off."""
    settings = f"/sellers/{seller.id}/stores/JP/points"
    page = tab()
    sign_in(page, f"{settings}?lang=en", seller.email)
    assert page.locator("[data-testid=store-rate]").get_attribute("data-rate") == "1"
    rows = page.locator("[data-testid=offer-row]")
    assert rows.count() == 2
    matcha = page.locator("[data-testid=offer-row][data-sku=MATCHA-50]")
    kettle = page.locator("[data-testid=offer-row][data-sku=KETTLE-1]")
    assert matcha.locator("[data-testid=effective-rate]").inner_text() == "10%"
    assert kettle.locator("[data-testid=effective-rate]").inner_text() == "1%"
    # not a member: no offer carries the badge yet
    assert page.locator("[data-testid=badge-count]").inner_text() == "0"
    assert page.locator(".badge-mark").count() == 0

    press(page, "join-badge")
    assert page.locator("[data-testid=badge-member]").get_attribute("data-member") == "yes"
    assert page.locator("[data-testid=badge-count]").inner_text() == "1"
    assert matcha.locator("[data-testid=offer-badge]").inner_text() == "2% or more"
    assert kettle.locator("[data-testid=offer-badge]").inner_text() == ""

    page.locator("[data-testid=rate-input]").fill("2")
    press(page, "save-rate")
    assert page.locator("[data-testid=notice]").is_visible()
    assert page.locator("[data-testid=store-rate]").get_attribute("data-rate") == "2"
    assert kettle.locator("[data-testid=effective-rate]").inner_text() == "2%"
    assert page.locator("[data-testid=badge-count]").inner_text() == "2"
    assert kettle.locator("[data-testid=offer-badge]").inner_text() == "2% or more"

    # a SKU's own rate, then the filter "badge only"
    page.locator("[data-testid=sku-input]").fill("TEA-CUP-0")
    page.locator("[data-testid=sku-rate-input]").fill("0")
    press(page, "save-sku")
    cup = page.locator("[data-testid=offer-row][data-sku=TEA-CUP-0]")
    assert cup.locator("[data-testid=own-rate]").inner_text() == "0%"
    assert cup.locator("[data-testid=offer-badge]").inner_text() == ""
    page.locator("#badge-only").check()
    with page.expect_navigation():
        page.locator("[data-testid=offers-filter] button").click()
    assert {r.get_attribute("data-sku") for r in rows.all()} == {"MATCHA-50", "KETTLE-1"}
    page.goto(settings)
    assert not RAW_CODES.search(main_text(page)), RAW_CODES.search(main_text(page))
    shot(page, "01-settings-en")
    fits_the_phone(page, "01-settings-en")

    # the same page in Japanese
    page.goto(f"{settings}?lang=ja")
    assert page.locator("html").get_attribute("lang") == "ja"
    assert JAPANESE.search(page.locator("h1").inner_text())
    assert matcha.locator("[data-testid=offer-badge]").inner_text() == "2%以上"
    page.locator("[data-testid=rate-input]").fill("3")
    press(page, "save-rate")
    assert page.locator("[data-testid=store-rate]").get_attribute("data-rate") == "3"
    assert JAPANESE.search(page.locator("[data-testid=notice]").inner_text())
    press(page, "leave-badge")
    assert page.locator("[data-testid=badge-count]").inner_text() == "0"
    press(page, "join-badge")
    assert page.locator("[data-testid=badge-count]").inner_text() == "2"
    for label in ("store-rate", "badge-only", "sku-rate"):
        text = page.locator(f"label[for={label}]").inner_text()
        assert JAPANESE.search(text), text
    assert not RAW_CODES.search(main_text(page))
    shot(page, "02-settings-ja")
    fits_the_phone(page, "02-settings-ja")

    # the US store: the programme does not run there
    page.goto(f"/sellers/{seller.id}/stores/US/points?lang=en")
    assert (
        page.locator("[data-testid=points-disabled]")
        .inner_text()
        .startswith("The points programme is not enabled in US")
    )
    assert page.locator("[data-testid=rate-form]").count() == 0
    fits_the_phone(page, "03-settings-us-en")


def test_the_statement_shows_the_points_cost_per_month(tab, seller) -> None:
    """Points granted, returned, the net cost in yen and the referral fee saved, per month."""
    page = tab()
    sign_in(page, f"/sellers/{seller.id}/stores/JP?lang=en", seller.email)
    page.locator("[data-testid=points-settings-link]").click()
    page.wait_for_url(f"**/sellers/{seller.id}/stores/JP/points")
    page.locator("[data-testid=statement-link]").click()
    page.wait_for_url("**/points/statement")
    rows = page.locator("[data-testid=statement-row]")
    assert rows.count() >= 1

    def total(testid: str) -> int:
        cells = page.locator(f"[data-testid=statement-row] [data-testid={testid}]").all()
        return sum(int(re.sub(r"[^\d-]", "", c.inner_text())) for c in cells)

    assert total("granted") == seller.story.granted
    assert total("returned") == seller.story.returned
    assert total("net-cost") == seller.story.granted - seller.story.returned
    assert "¥" in page.locator("[data-testid=net-cost]").first.inner_text()
    assert not RAW_CODES.search(main_text(page))
    shot(page, "04-statement-en")
    fits_the_phone(page, "04-statement-en")
    page.goto(f"/sellers/{seller.id}/stores/JP/points/statement?lang=ja")
    assert JAPANESE.search(page.locator("thead").inner_text())
    assert "年" in rows.first.locator("th").inner_text()
    fits_the_phone(page, "05-statement-ja")


def test_an_operator_reads_a_customers_points_and_the_expiries(
    tab, seller, signed_in_state
) -> None:
    """The demo owner (a platform operator) looks the buyer up: balance, expiry and the history
    in words (EN and JA, never a ledger code), then the upcoming expiries with the warning the
    expiry run recorded. The seller, no operator, is refused the operator's pages."""
    story = seller.story
    page = tab(state=signed_in_state)
    page.goto("/?lang=en")
    page.locator("[data-testid=points-link]").click()
    page.wait_for_url("**/points/customers")
    page.locator("[data-testid=customer-input]").fill(story.customer)
    press(page, "customer-search")
    assert page.locator("[data-testid=available]").get_attribute("data-points") == str(
        story.available
    )
    assert page.locator("[data-testid=pending]").get_attribute("data-points") == "0"
    assert "JST" in page.locator("[data-testid=expires]").inner_text()
    history = page.locator("[data-testid=history]")
    kinds = [r.get_attribute("data-kind") for r in page.locator("[data-testid=history-row]").all()]
    assert sorted(kinds) == sorted(
        ["grant_pending", "post", "grant_pending", "void", "clawback", "redeem"]
    )
    text = history.inner_text()
    for words in (
        "Points earned (pending)",
        "Points available",
        "Pending points cancelled",
        "Points returned for a refund",
        "Points used",
        "Order PTS-O1 shipped; points settled",
        "Refund on order PTS-O1",
        "Paid for order PTS-O3",
    ):
        assert words in text, words
    assert not RAW_CODES.search(main_text(page)), RAW_CODES.search(main_text(page))
    clawback = page.locator("[data-testid=history-row][data-kind=clawback]")
    assert clawback.locator("[data-testid=history-points]").inner_text() == "-150"
    shot(page, "06-customer-en")
    fits_the_phone(page, "06-customer-en")

    page.goto(f"/points/customers?marketplace=JP&customer={story.customer}&lang=ja")
    assert page.locator("html").get_attribute("lang") == "ja"
    for cell in page.locator("[data-testid=history-what], [data-testid=history-reason]").all():
        assert JAPANESE.search(cell.inner_text()), cell.inner_text()
    assert not RAW_CODES.search(main_text(page)), RAW_CODES.search(main_text(page))
    shot(page, "07-customer-ja")
    fits_the_phone(page, "07-customer-ja")

    page.goto("/points/expiries?marketplace=JP&within_days=30&lang=en")
    row = page.locator(f"[data-testid=expiry-row][data-customer={story.customer}]")
    assert row.locator("[data-testid=expiry-points]").inner_text() == f"{story.available} pt"
    assert row.locator("[data-testid=expiry-warned]").inner_text() == "30 days before"
    shot(page, "08-expiries-en")
    fits_the_phone(page, "08-expiries-en")
    page.goto("/points/expiries?marketplace=JP&within_days=30&lang=ja")
    assert JAPANESE.search(row.locator("[data-testid=expiry-warned]").inner_text())
    fits_the_phone(page, "09-expiries-ja")

    # an operator reads the seller's settings without the forms (operators cannot write)
    page.goto(f"/sellers/{seller.id}/stores/JP/points?lang=en")
    assert page.locator("[data-testid=read-only]").is_visible()
    assert page.locator("form[method=post][data-testid]").count() == 0

    # the seller is no operator: no link, and the page refuses
    own = tab()
    sign_in(own, f"/sellers/{seller.id}?lang=en", seller.email)
    assert own.locator("[data-testid=points-link]").count() == 0
    assert own.request.get(f"/points/customers?customer={story.customer}").status == 403
    assert own.request.get("/points/expiries").status == 403
