"""Drill-downs say why (issue 16, item 7) and the polish of item 13 on the pages: each record
behind a metric with its defect in words and its date; "1 star"; statuses in words; sessions
with the browser's name and local times; the store switcher on a missing store's 404 page."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from tests.auth import OWNER_EMAIL, PASSWORD
from tests.conftest import Db
from tests.factories import make_seller
from tests.web.conftest import both_stores
from tests.web.test_sign_in import browser_client
from tsunagu.core.i18n import ngettext
from tsunagu.demo.generate import DemoDataset
from tsunagu.health import service
from tsunagu.web import labels, useragent

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_every_metric_of_every_demo_store_lists_exactly_what_counts_against_it(
    db: Db, demo: DemoDataset
):
    """The rows follow the metric: a defect-counting metric's rows are its numerator's ids; a
    metric that counts good records lists the rest of its denominator."""
    now = datetime.now(UTC)
    checked = with_rows = 0
    with db.factory() as session:
        for seller in demo.sellers:
            for code in seller.marketplaces:
                market = db.registry.require(code)
                measured = service.store_health(
                    session, seller_id=seller.id, marketplace=market, day=None, now=now
                ).metrics
                # every metric tsunagu measures (Amazon's unit on-time rate it does not)
                assert set(measured) == set(labels.METRICS) - {"unit_on_time_delivery_rate"}
                for name in measured:
                    found = service.metric_drill_down(
                        session,
                        seller_id=seller.id,
                        marketplace=db.registry.require(code),
                        name=name,
                        now=now,
                    )
                    assert found is not None
                    m = found.metric
                    ids = [r.id for r in found.rows]
                    assert len(ids) == len(set(ids))
                    if m.comparison == "<":
                        assert sorted(ids) == sorted(m.ids), (seller.id, code, name)
                    elif name != "contact_response":
                        assert len(ids) == m.denominator - m.numerator, (seller.id, code, name)
                        assert not set(ids) & set(m.ids)
                    for row in found.rows:
                        assert row.reasons
                        assert all(r.kind in labels.DEFECTS for r in row.reasons)
                    checked += 1
                    with_rows += bool(found.rows)
    assert checked == 11 * sum(len(s.marketplaces) for s in demo.sellers)
    assert with_rows >= 3
    assert service.metric_drill_down is not None


@pytest.mark.parametrize(
    ("lang", "words"),
    [("en", labels.DEFECTS.values()), ("ja", None)],
)
def test_the_metric_page_shows_each_defect_in_words_with_its_date(
    client: TestClient, db: Db, demo: DemoDataset, lang: str, words
):
    now = datetime.now(UTC)
    with db.factory() as session:
        found = [
            (seller.id, code, name, drill)
            for seller in demo.sellers
            for code in seller.marketplaces
            for name in labels.METRICS
            if (
                drill := service.metric_drill_down(
                    session,
                    seller_id=seller.id,
                    marketplace=db.registry.require(code),
                    name=name,
                    now=now,
                )
            )
            is not None
            and drill.rows
        ]
    assert found
    seller, code, name, drill = found[0]
    html = client.get(f"/sellers/{seller}/stores/{code}/metrics/{name}?lang={lang}").text
    rows = re.findall(r'data-testid="defect-row" data-id="([^"]+)"', html)
    assert rows == [r.id for r in drill.rows][: len(rows)]
    first = drill.rows[0]
    reasons = re.findall(r'data-testid="defect-reason" data-kind="(\w+)">([^<]+)<', html)
    assert reasons[0][0] == first.reasons[0].kind
    if words is not None:
        assert reasons[0][1].startswith(labels.DEFECTS[first.reasons[0].kind])
    else:
        assert not re.search(r"[a-z]_[a-z]", reasons[0][1])
        assert re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", reasons[0][1])  # Japanese words
    dated = [r for r in first.reasons if r.at is not None]
    if dated:
        assert f'datetime="{dated[0].at.isoformat()}"' in html
    if first.order_id:
        assert f"/sellers/{seller}/orders/{code}/{first.order_id}" in html


def test_one_star_is_singular():
    assert ngettext("{n} star", "{n} stars", 1, "en") == "1 star"
    assert ngettext("{n} star", "{n} stars", 4, "en") == "4 stars"


def test_order_list_shows_statuses_and_feedback_in_words(client: TestClient, demo: DemoDataset):
    seller = both_stores(demo)
    html = client.get(f"/sellers/{seller}/orders?lang=en").text
    table = html[html.index('data-testid="orders-table"') :]
    cells = re.findall(r"<td>([^<]*)</td>", table)
    assert "Shipped" in cells or "Delivered" in cells
    assert not {"shipped", "delivered", "unshipped", "cancelled", "MFN", "AFN"} & set(cells)
    assert not any(re.fullmatch(r"1 stars", c) for c in cells)


@pytest.mark.parametrize(
    ("header", "browser", "system"),
    [
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/126.0.0.0 Safari/537.36",
            "Chrome",
            "Windows",
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
            "Safari",
            "iOS",
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0",
            "Edge",
            "macOS",
        ),
        (
            "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
            "Firefox",
            "Linux",
        ),
        ("curl/8.5.0", "curl", None),
        ("", None, None),
    ],
)
def test_a_user_agent_reads_as_a_browser_and_a_system(header, browser, system):
    assert useragent.parse(header) == useragent.Agent(browser, system)


CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)


def test_sessions_show_the_browser_and_local_times(db: Db):
    make_seller(db, marketplaces=("JP",))
    from tests.auth import create_user

    create_user(db, OWNER_EMAIL)
    with browser_client(db) as web:
        web.headers["User-Agent"] = CHROME_WINDOWS
        assert web.post("/sign-in", data={"email": OWNER_EMAIL, "password": PASSWORD}).status_code
        html = web.get("/account/sessions?lang=en").text
        assert re.search(r'data-testid="session-device"[^>]*>Chrome on Windows<', html)
        assert "Mozilla/5.0" not in re.sub(r'title="[^"]*"', "", html)
        # no zone known from the browser, no store reached: UTC
        started = re.search(r'data-testid="session-started">([^<]+)<', html)
        assert started is not None
        assert started.group(1).endswith("UTC")
        assert '<script src="/static/local-time.js" defer></script>' in html
        # the browser said where it is (the page's script sets the cookie)
        web.cookies.set("tz", "Asia/Tokyo")
        html = web.get("/account/sessions").text
        started = re.search(r'data-testid="session-started">([^<]+)<', html)
        assert started is not None
        assert started.group(1).endswith("JST")
        web.cookies.set("tz", "../../etc/passwd")
        assert web.get("/account/sessions").status_code == 200
        assert web.get("/static/local-time.js").status_code == 200


def test_sessions_fall_back_to_the_zone_of_the_users_stores(db: Db):
    from tests.auth import create_user

    seller = make_seller(db, marketplaces=("JP",))
    create_user(db, OWNER_EMAIL, owner_of=[seller])
    with browser_client(db) as web:
        web.post("/sign-in", data={"email": OWNER_EMAIL, "password": PASSWORD})
        html = web.get("/account/sessions").text
        started = re.search(r'data-testid="session-started">([^<]+)<', html)
        assert started is not None
        assert started.group(1).endswith("JST")


def test_a_missing_store_is_not_shown_as_the_current_store(db: Db):
    from tests.auth import create_user

    seller = make_seller(db, marketplaces=("JP",))
    create_user(db, OWNER_EMAIL, owner_of=[seller])
    with browser_client(db) as web:
        web.post("/sign-in", data={"email": OWNER_EMAIL, "password": PASSWORD})
        r = web.get(f"/sellers/{seller}/stores/XX")
        assert r.status_code == 404
        current = re.search(r'data-testid="switcher-current">([^<]*)<', r.text)
        assert current is not None
        assert "XX" not in current.group(1)
        assert current.group(1) == "Switch store"
        switcher = r.text[r.text.index('data-testid="store-switcher"') :].split("</details>")[0]
        assert 'aria-current="page"' not in switcher
        assert f'data-testid="switcher-store-{seller}-JP"' in switcher
        assert 'data-code="' in r.text
        assert "<code>" not in r.text.split('data-testid="error"')[1].split("</p>")[0]
        # the store that exists is still marked as the current one on its own page
        ok = web.get(f"/sellers/{seller}/stores/JP").text
        mark = re.search(r'data-testid="switcher-current">([^<]*)<', ok)
        assert mark is not None
        assert "JP" in mark.group(1)
