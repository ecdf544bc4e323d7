"""The dashboard pages through real HTTP handling, in English and Japanese."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Db
from tests.factories import make_seller
from tests.web.conftest import both_stores
from tsunagu.demo.generate import DemoDataset
from tsunagu.health import incremental, service

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def ids_in(html: str) -> set[str]:
    return set(re.findall(r'data-testid="([^"]+)"', html))


def texts(html: str, testid: str) -> list[str]:
    return re.findall(rf'data-testid="{re.escape(testid)}"[^>]*>([^<]*)<', html)


def assert_page_frame(html: str, lang: str) -> None:
    assert f'<html lang="{lang}">' in html
    assert {"lang-en", "lang-ja"} <= ids_in(html)


# --------------------------------------------------------------------------- home and language


def test_home_lists_each_seller_with_a_link_in_both_languages(client: TestClient, db: Db):
    seller = make_seller(db, name="Kyoto Tea Works")
    for lang, heading in (("en", "Sellers"), ("ja", "セラー")):
        html = client.get(f"/?lang={lang}").text
        assert_page_frame(html, lang)
        assert f'data-testid="seller-link" href="/sellers/{seller}">Kyoto Tea Works<' in html
        assert heading in html


def test_home_without_sellers_says_how_to_start(client: TestClient):
    html = client.get("/").text
    assert 'data-testid="empty"' in html
    assert "tsunagu sellers create" in html
    assert "make demo" in html


def test_the_chosen_language_is_remembered_and_defaults_from_accept_language(
    client: TestClient,
):
    assert '<html lang="ja">' in client.get("/", headers={"Accept-Language": "ja-JP,ja"}).text
    r = client.get("/?lang=ja")
    assert r.cookies.get("lang") == "ja"
    # no ?lang= any more: the cookie decides, even against the browser's language
    assert '<html lang="ja">' in client.get("/", headers={"Accept-Language": "en"}).text
    client.get("/?lang=en")
    assert '<html lang="en">' in client.get("/").text


def test_language_links_keep_the_current_address(client: TestClient, db: Db):
    seller = make_seller(db)
    html = client.get(f"/sellers/{seller}/orders?status=shipped").text
    assert (
        f'data-testid="lang-ja" href="/sellers/{seller}/orders?status=shipped&amp;lang=ja"' in html
    )


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("lang", "text"),
    [("en", "No seller with id nobody"), ("ja", "ID nobody のセラーは存在しません")],
)
def test_an_unknown_seller_is_a_friendly_404_page_in_the_chosen_language(
    client: TestClient, lang: str, text: str
):
    r = client.get(f"/sellers/nobody?lang={lang}")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/html")
    assert_page_frame(r.text, lang)
    assert text in r.text


def test_an_unknown_store_metric_or_order_is_a_404_page(client: TestClient, db: Db):
    seller = make_seller(db, marketplaces=("JP",))
    for url in (
        f"/sellers/{seller}/stores/US",
        f"/sellers/{seller}/stores/XX",
        f"/sellers/{seller}/stores/JP/metrics/no_such_metric",
        f"/sellers/{seller}/orders/JP/503-0000000-0000000",
    ):
        r = client.get(url)
        assert r.status_code == 404, url
        assert 'data-testid="error"' in r.text


# --------------------------------------------------------------------------- a new seller


def test_a_seller_without_orders_sees_what_to_do_next_on_every_page(client: TestClient, db: Db):
    seller = make_seller(db)
    overview = client.get(f"/sellers/{seller}").text
    assert {"store-card-JP", "store-card-US", "alerts", "empty"} <= ids_in(overview)
    assert texts(overview, "ahr-score") == ["200", "200"]
    assert f'href="/sellers/{seller}/imports"' in overview
    store = client.get(f"/sellers/{seller}/stores/JP").text
    assert {"ahr-waterfall", "history-chart", "what-if", "empty"} <= ids_in(store)
    orders = client.get(f"/sellers/{seller}/orders").text
    assert "No orders yet" in orders
    assert "orders-table" not in ids_in(orders)
    alerts = client.get(f"/sellers/{seller}/alerts?lang=ja").text
    assert "alerts-empty" in ids_in(alerts)


# --------------------------------------------------------------------------- with the demo data


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_overview_shows_every_store_side_by_side_with_its_rating(
    client: TestClient, db: Db, demo: DemoDataset, lang: str
):
    seller = both_stores(demo)
    html = client.get(f"/sellers/{seller}?lang={lang}").text
    assert_page_frame(html, lang)
    assert {"store-card-JP", "store-card-US", "store-link", "alerts", "ahr-band"} <= ids_in(html)
    with db.factory() as session:
        found = incremental.seller_health_now(
            session, seller_id=seller, registry=db.registry, now=datetime.now(UTC)
        )
    assert texts(html, "ahr-score") == [str(h.rating.score) for h in found]
    band = {"en": "healthy", "ja": "健全"}[lang] if found[0].rating.band == "healthy" else None
    if band:
        assert texts(html, "ahr-band")[0] == band
    assert f'href="/sellers/{seller}/stores/JP"' in html
    assert {"nav-overview", "nav-orders", "nav-alerts", "nav-imports"} <= ids_in(html)
    for path in ("orders", "alerts", "imports"):
        assert f'href="/sellers/{seller}/{path}"' in html


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_store_page_explains_the_rating_and_every_metric(
    client: TestClient, db: Db, demo: DemoDataset, lang: str
):
    seller = next(s.id for s in demo.sellers if s.marketplaces == ("JP",))
    html = client.get(f"/sellers/{seller}/stores/JP?lang={lang}").text
    assert_page_frame(html, lang)
    with db.factory() as session:
        h = service.store_health(
            session,
            seller_id=seller,
            marketplace=db.registry.require("JP"),
            day=None,
            now=datetime.now(UTC),
        )
    ids = ids_in(html)
    assert {"ahr-waterfall", "ahr-terms", "history-chart", "history-table", "what-if"} <= ids
    assert re.search(r'<svg[^>]*data-testid="ahr-waterfall"', html)
    assert len(re.findall(r"<rect ", html)) >= len(h.rating.terms) + 1
    lsr = h.metrics["late_shipment_rate_30"]
    row = html[html.index('data-testid="metric-late_shipment_rate_30"') :]
    assert f"{lsr.numerator}/{lsr.denominator}" in row[:600]
    assert 'data-testid="drill-late_shipment_rate_30"' in row[:1200]
    boxes = re.findall(r'name="resolve" value="([^"]+)"', html)
    assert boxes == [v.violation_id for v in h.open_violations]
    assert 'name="add_orders"' in html
    assert "hx-get=" in html
    assert 'stroke-dasharray="6 4"' in html  # the forecast after today


def test_what_if_fragment_answers_score_now_and_after(
    client: TestClient, db: Db, demo: DemoDataset
):
    seller = next(s.id for s in demo.sellers if s.marketplaces == ("JP",))
    page = client.get(f"/sellers/{seller}/stores/JP").text
    violations = re.findall(r'name="resolve" value="([^"]+)"', page)
    params: dict[str, object] = {"add_orders": "400", "resolve": violations[:1]}
    r = client.get(f"/sellers/{seller}/stores/JP/what-if", params=params)
    assert r.status_code == 200
    with db.factory() as session:
        expected = service.store_what_if(
            session,
            seller_id=seller,
            marketplace=db.registry.require("JP"),
            day=None,
            now=datetime.now(UTC),
            resolve=violations[:1],
            add_orders=400,
        )
    assert r.text.lstrip().startswith('<div id="what-if-result" data-testid="what-if-result"')
    assert texts(r.text, "what-if-now") == [str(expected.now.score)]
    assert texts(r.text, "what-if-after") == [str(expected.after.score)]
    assert expected.after.score > expected.now.score
    # the chart comes along, swapped out of band, with the what-if forecast dotted
    assert 'hx-swap-oob="true"' in r.text
    assert 'class="alternative"' in r.text
    assert "<html" not in r.text


def test_what_if_works_without_javascript_and_reports_bad_input(
    client: TestClient, demo: DemoDataset
):
    seller = next(s.id for s in demo.sellers if s.marketplaces == ("JP",))
    full = client.get(f"/sellers/{seller}/stores/JP", params={"add_orders": "1000"}).text
    assert "<html" in full
    assert texts(full, "what-if-after")
    bad = client.get(f"/sellers/{seller}/stores/JP/what-if", params={"resolve": "nope"})
    assert bad.status_code == 200
    assert "nope" in bad.text
    assert "what-if-after" not in bad.text
    bad = client.get(f"/sellers/{seller}/stores/JP/what-if", params={"add_orders": "-3"})
    assert "what-if-after" not in bad.text
    assert "notice error" in bad.text


def test_metric_drill_down_lists_the_orders_behind_the_numerator(
    client: TestClient, db: Db, demo: DemoDataset
):
    seller = both_stores(demo)
    with db.factory() as session:
        h = service.store_health(
            session,
            seller_id=seller,
            marketplace=db.registry.require("US"),
            day=None,
            now=datetime.now(UTC),
        )
    name = next(
        # a metric whose numerator counts defects (the drill-down lists defects, not good records)
        (n for n, m in h.metrics.items() if m.ids and m.comparison == "<"),
        "late_shipment_rate_30",
    )
    html = client.get(f"/sellers/{seller}/stores/US/metrics/{name}?lang=ja").text
    assert_page_frame(html, "ja")
    if h.metrics[name].ids and name != "return_dissatisfaction_rate":
        first = h.metrics[name].ids[0]
        assert f'href="/sellers/{seller}/orders/US/{first}"' in html
    else:
        assert 'data-testid="empty"' in html


def test_orders_page_filters_pages_and_links_to_the_timeline(client: TestClient, demo: DemoDataset):
    seller = both_stores(demo)
    html = client.get(f"/sellers/{seller}/orders?marketplace=US&status=delivered").text
    assert "orders-table" in ids_in(html)
    links = re.findall(rf'href="/sellers/{seller}/orders/(\w+)/([^"]+)"', html)
    assert links
    assert {mp for mp, _ in links} == {"US"}
    assert "$" in html
    assert "PST" in html or "PDT" in html
    everything = client.get(f"/sellers/{seller}/orders").text
    next_link = re.search(r'data-testid="next-page" rel="next" href="([^"]+)"', everything)
    assert next_link is not None
    second = client.get(next_link.group(1).replace("&amp;", "&")).text
    first_ids = set(re.findall(r'data-testid="order-link"[^>]*>([^<]+)<', everything))
    second_ids = set(re.findall(r'data-testid="order-link"[^>]*>([^<]+)<', second))
    assert second_ids
    assert not first_ids & second_ids
    mp, order_id = links[0]
    detail = client.get(f"/sellers/{seller}/orders/{mp}/{order_id}?lang=ja").text
    assert_page_frame(detail, "ja")
    timeline = detail[detail.index('data-testid="timeline"') :]
    assert "注文" in timeline
    assert "配達" in timeline
    assert order_id in detail


def test_alerts_page_lists_recorded_alerts(client: TestClient, db: Db, demo: DemoDataset):
    from tsunagu.core.db import unit_of_work
    from tsunagu.health import alert_service

    seller = next(s.id for s in demo.sellers if s.marketplaces == ("JP",))
    with unit_of_work(db.factory) as session:
        checks = alert_service.check_seller(
            session, seller_id=seller, registry=db.registry, day=None, now=datetime.now(UTC)
        )
    html = client.get(f"/sellers/{seller}/alerts").text
    assert 'data-testid="alerts"' in html
    if any(c.active for c in checks):
        assert "alerts-table" in html
    else:
        assert "alerts-empty" in ids_in(html)
