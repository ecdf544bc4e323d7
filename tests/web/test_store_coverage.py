"""The store page's banners for metrics over their target and its coverage (issue 16 items 4
and 5), on the demo, in English and Japanese."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Db
from tests.factories import make_seller
from tsunagu.core.db import unit_of_work
from tsunagu.demo.generate import DemoDataset
from tsunagu.demo.profiles import CANCELS_US
from tsunagu.enforcement import service as enforcement
from tsunagu.health import incremental
from tsunagu.web.format import day as format_day
from tsunagu.web.format import percent

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _pinecrest(demo: DemoDataset) -> str:
    return next(s.id for s in demo.sellers if s.profile == CANCELS_US)


def _banners(html: str) -> list[str]:
    return re.findall(r'data-testid="metric-banner" data-metric="([^"]+)"', html)


def test_odr_over_target_has_a_banner_with_value_and_target(
    client: TestClient, db: Db, demo: DemoDataset
) -> None:
    seller = _pinecrest(demo)
    with db.session() as session:
        h = incremental.store_health_now(
            session, seller_id=seller, marketplace=db.registry.require("US"), now=datetime.now(UTC)
        )
    odr = h.metrics["order_defect_rate_mfn"]
    assert odr.status == "BAD"  # the demo's Pinecrest Outfitters misses the ODR target
    missed = {name for name, m in h.metrics.items() if m.status == "BAD"}
    for lang, heading, may, nxt in (
        ("en", "misses its target", "What Amazon may do", "What to do next"),
        ("ja", "目標を達成していません", "Amazon が取りうる措置", "次にすること"),
    ):
        html = client.get(f"/sellers/{seller}/stores/US?lang={lang}").text
        assert set(_banners(html)) == missed
        banner = html.split('data-metric="order_defect_rate_mfn"', 1)[1].split("</div>", 1)[0]
        assert percent(odr.rate, lang) in banner
        assert percent(odr.target, lang) in banner
        assert heading in banner
        assert may in banner
        assert nxt in banner
        assert 'data-testid="account-status"' in html


def test_a_store_meeting_every_target_has_no_banner(
    client: TestClient, db: Db, demo: DemoDataset
) -> None:
    seller = next(s.id for s in demo.sellers if s.marketplaces == ("JP",))
    html = client.get(f"/sellers/{seller}/stores/JP").text
    with db.session() as session:
        h = incremental.store_health_now(
            session, seller_id=seller, marketplace=db.registry.require("JP"), now=datetime.now(UTC)
        )
    assert len(_banners(html)) == sum(m.status == "BAD" for m in h.metrics.values())


def test_demo_feed_is_complete_data(client: TestClient, demo: DemoDataset) -> None:
    """The demo is an event feed: every source is present, nothing says incomplete data."""
    seller = _pinecrest(demo)
    html = client.get(f"/sellers/{seller}/stores/US").text
    assert 'data-testid="incomplete-data"' not in html
    assert 'data-coverage="incomplete"' not in html


def test_empty_store_is_incomplete_data_not_healthy(client: TestClient, db: Db) -> None:
    seller = make_seller(db, name="Quiet Harbor")
    for lang, words in (("en", "incomplete data"), ("ja", "データ不足")):
        html = client.get(f"/sellers/{seller}/stores/JP?lang={lang}").text
        band = re.search(r'data-testid="ahr-band">([^<]*)<', html)
        assert band is not None
        assert band.group(1) == words
        assert 'data-testid="incomplete-data"' in html
        overview = client.get(f"/sellers/{seller}?lang={lang}").text
        assert 'data-testid="data-status" data-status="incomplete"' in overview


def test_amazon_report_beside_tsunagu_with_its_label(client: TestClient, db: Db) -> None:
    """A store with nothing but Amazon's V2 report of today: Amazon's ODR stands in, labelled,
    and the comparison names the difference in words."""
    from datetime import date

    from tests.integration.test_health_coverage import _v2_report
    from tsunagu.core.db import unit_of_work
    from tsunagu.health import snapshots

    seller = make_seller(db, name="Harbor Tea", marketplaces=("US",))
    today = datetime.now(UTC).astimezone(db.registry.require("US").tz).date()
    assert isinstance(today, date)
    with unit_of_work(db.factory) as session:
        snapshots.import_snapshot(
            session,
            seller_id=seller,
            marketplace=db.registry.require("US"),
            data=_v2_report(today),
            source_name="v2.json",
            now=datetime.now(UTC),
        )
    html = client.get(f"/sellers/{seller}/stores/US").text
    row = html.split('data-testid="metric-order_defect_rate_mfn"', 1)[1].split("</tr>", 1)[0]
    assert "from Amazon&#39;s report" in row or "from Amazon's report" in row
    assert "3.33%" in row
    assert "3/90" in row
    assert "Amazon counts 1" in row  # the claims Amazon counted
    side = html.split('data-testid="amazon-side"', 1)[1].split("</section>", 1)[0]
    assert "tsunagu has nothing to measure for these days; Amazon counts 3/90." in side
    # Amazon's ODR is over its target: the banner uses Amazon's figure
    assert "order_defect_rate_mfn" in _banners(html)


def test_the_status_banner_says_its_figures_are_from_the_account_check(
    client: TestClient, db: Db, demo: DemoDataset
) -> None:
    """The enforcement check evaluates the last complete day, the metric banners today: the
    status banner names the day its figures are from, so two values of one metric on the page
    are never a puzzle."""
    seller = _pinecrest(demo)
    with unit_of_work(db.factory) as session:
        enforcement.evaluate_stores(
            session, registry=db.registry, day=None, now=datetime.now(UTC), seller_id=seller
        )
    with db.session() as session:
        status = enforcement.store_status(session, seller_id=seller, marketplace="US")
    assert status.issues
    assert status.last_day is not None
    shown = format_day(date.fromisoformat(status.last_day), "en")
    html = client.get(f"/sellers/{seller}/stores/US?lang=en").text
    note = re.search(r'data-testid="issues-as-of">([^<]+)<', html)
    assert note is not None
    assert shown in note.group(1)
    assert "today" in note.group(1)
