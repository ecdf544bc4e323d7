"""The policy compliance page and its API route (issue 16, item 6) through real HTTP handling.

The demo's Hanamizuki Zakka has one open low-severity trademark complaint
(``receivedIntellectualPropertyComplaints``): the page names it as Seller Central does, in
English and Japanese, with its ASIN, the 2 points a low violation costs, the day it ages out
(180 days after it opened, in Tokyo) and the event that opened it. With Amazon's V2 report
imported (``tests/data/amazon/v2-health-jp.json``: one received IP complaint), Amazon's counts
stand beside tsunagu's, and for a store without violation events they are the counts used,
marked as Amazon's. No policy key is ever shown as it is (item 7).
"""

from __future__ import annotations

import html as html_lib
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.auth import api_client
from tests.conftest import Db
from tests.factories import at, event, ingest_events, make_seller
from tsunagu.core.db import unit_of_work
from tsunagu.demo.generate import DemoDataset
from tsunagu.events.models import Event
from tsunagu.health import snapshots
from tsunagu.violations.models import Violation

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

V2_JP = Path(__file__).parent.parent / "data" / "amazon" / "v2-health-jp.json"
TOKYO = ZoneInfo("Asia/Tokyo")
#: a snake_case or camelCase token: what no page may show (issue 16, item 7)
CODE = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b|\b[a-z]+[A-Z][A-Za-z0-9]*\b")
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


@pytest.fixture
def db(sqlite_db: Db) -> Db:
    """The page renders the service's answer: one database is enough here (the API route's
    test below runs the same service on both through ``db_both``)."""
    return sqlite_db


def main_text(html: str) -> str:
    """The visible text of ``<main>`` (tags, and the values of attributes, left out)."""
    found = re.search(r"<main[^>]*>(.*)</main>", html, re.S)
    assert found is not None
    return html_lib.unescape(re.sub(r"<[^>]+>", " ", found.group(1)))


def texts_of(html: str, name: str) -> list[str]:
    """The text of every element with ``data-testid=name`` (its inner tags stripped)."""
    found = re.findall(rf'<(\w+)[^>]*data-testid="{re.escape(name)}"[^>]*>(.*?)</\1>', html, re.S)
    return [
        " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", inner)).split()) for _, inner in found
    ]


def codes_in(text: str) -> list[str]:
    # ids (demo-vio-…, event ids) are values, not words: only tokens that look like keys count
    return [t for t in CODE.findall(text) if not re.search(r"\d", t)]


def hanamizuki(demo: DemoDataset) -> str:
    return next(s.id for s in demo.sellers if s.name == "Hanamizuki Zakka")


def import_v2(db: Db, seller: str) -> str:
    with unit_of_work(db.factory) as session:
        result = snapshots.import_snapshot(
            session,
            seller_id=seller,
            marketplace=db.registry.require("JP"),
            data=V2_JP.read_bytes(),
            source_name="v2-health-jp.json",
            now=datetime.now(UTC),
        )
        return result.snapshot.report_date


def test_the_demo_trademark_complaint_in_english(
    db: Db, client: TestClient, demo: DemoDataset
) -> None:
    seller = hanamizuki(demo)
    with db.session() as session:
        (row,) = session.scalars(select(Violation).where(Violation.seller_id == seller)).all()
        opening = session.scalars(
            select(Event.event_id).where(
                Event.seller_id == seller,
                Event.type == "violation_opened",
                Event.ref_id == row.violation_id,
            )
        ).one()
    assert row.policy == "receivedIntellectualPropertyComplaints"
    assert row.resolved_at is None
    assert row.opened_at is not None
    assert row.asin
    opened_on = row.opened_at.astimezone(TOKYO).date()

    r = client.get(f"/sellers/{seller}/stores/JP/policy?lang=en")
    assert r.status_code == 200, r.text
    html = r.text
    assert html.count('data-testid="violation"') == 1
    assert texts_of(html, "violation-policy") == ["Received Intellectual Property Complaints"]
    assert texts_of(html, "violation-asin") == [row.asin]
    assert texts_of(html, "violation-severity") == ["low"]
    # a low violation costs 2 points (amazon-domain.md §2.2, ADR 0008's defaults)
    assert 'data-points="2"' in html
    assert texts_of(html, "violation-points") == ["−2"]
    assert texts_of(html, "violation-status") == ["Open"]
    ages_out = opened_on + timedelta(days=180)
    assert texts_of(html, "violation-ages-out") == [
        f"{ages_out:%b} {ages_out.day}, {ages_out.year}"
    ]
    assert texts_of(html, "violation-opened-by") == [opening]
    assert row.violation_id in texts_of(html, "violation-evidence")[0]
    # the Tokyo opening day, as the store's zone shows it
    assert (
        f"{opened_on:%b} {opened_on.day}, {opened_on.year}" in texts_of(html, "violation-opened")[0]
    )
    # no report imported: tsunagu's count only, and a word on how to get Amazon's
    assert 'data-testid="no-snapshot"' in html
    assert texts_of(html, "policy-tsunagu") == ["1"]
    assert 'data-testid="policy-amazon"' not in html
    text = main_text(html)
    assert "Policy compliance" in text
    assert codes_in(text) == [], codes_in(text)
    assert "receivedIntellectualPropertyComplaints" not in text

    store = client.get(f"/sellers/{seller}/stores/JP?lang=en").text
    assert f'href="/sellers/{seller}/stores/JP/policy" data-testid="policy-link"' in store


def test_the_demo_trademark_complaint_in_japanese(client: TestClient, demo: DemoDataset) -> None:
    seller = hanamizuki(demo)
    html = client.get(f"/sellers/{seller}/stores/JP/policy?lang=ja").text
    assert texts_of(html, "violation-policy") == ["知的財産に関する苦情"]
    assert texts_of(html, "violation-severity") == ["低"]
    assert texts_of(html, "violation-status") == ["未解決"]
    text = main_text(html)
    assert "規約の遵守" in text
    assert "影響度" in text
    assert codes_in(text) == [], codes_in(text)


def test_amazons_counts_beside_tsunagus_with_the_report_date(
    db: Db, client: TestClient, demo: DemoDataset
) -> None:
    seller = hanamizuki(demo)
    report_date = import_v2(db, seller)
    assert report_date == "2026-11-25"
    html = client.get(f"/sellers/{seller}/stores/JP/policy?lang=en").text
    assert texts_of(html, "snapshot-date") == ["Amazon's account health report of Nov 25, 2026"]
    rows = re.findall(
        r'data-testid="policy-row" data-source="(\w+)">\s*<th[^>]*>([^<]*)</th>', html
    )
    shown = {html_lib.unescape(name): source for source, name in rows}
    # every listing-level policy of the report, in Seller Central's words
    assert shown["Received Intellectual Property Complaints"] == "tsunagu"
    assert shown["Listing Policy Violations"] == "amazon"
    assert len(shown) == 11
    amazon = texts_of(html, "policy-amazon")
    tsunagu = texts_of(html, "policy-tsunagu")
    first = list(shown).index("Received Intellectual Property Complaints")
    assert (tsunagu[first], amazon[first]) == ("1", "1")
    # Amazon's zero counts for the other policies are Amazon's, and labelled so
    assert all(
        a.startswith("0") and "Amazon's count" in a for i, a in enumerate(amazon) if i != first
    )
    assert texts_of(html, "policy-warnings") == ["Policy Violation Warnings no events 0"]
    text = main_text(html)
    assert codes_in(text) == [], codes_in(text)
    ja = main_text(client.get(f"/sellers/{seller}/stores/JP/policy?lang=ja").text)
    assert "出品ポリシー違反" in ja
    assert "Amazonの件数" in ja
    assert codes_in(ja) == [], codes_in(ja)


def test_amazons_counts_are_used_where_tsunagu_has_no_violation_events(
    db: Db, client: TestClient
) -> None:
    seller = make_seller(db, name="Sakura Paper", marketplaces=("JP",))
    empty = client.get(f"/sellers/{seller}/stores/JP/policy?lang=en").text
    assert 'data-testid="policy-empty"' in empty
    assert 'data-testid="violation"' not in empty

    import_v2(db, seller)
    html = client.get(f"/sellers/{seller}/stores/JP/policy?lang=en").text
    assert 'data-testid="policy-empty"' not in html
    assert 'data-testid="violations-empty"' in html
    assert 'data-testid="amazon-only"' in html
    ip = re.search(
        r'data-source="amazon">\s*<th[^>]*>Received Intellectual Property Complaints</th>'
        r"(.*?)</tr>",
        html,
        re.S,
    )
    assert ip is not None
    assert "Amazon&#39;s count" in ip.group(1) or "Amazon's count" in ip.group(1)
    assert ">1 <" in ip.group(1)
    api = client.get(f"/v1/sellers/{seller}/stores/JP/policy-compliance").json()
    (row,) = [p for p in api["policies"] if p["policy"] == "receivedIntellectualPropertyComplaints"]
    assert row == {
        "policy": "receivedIntellectualPropertyComplaints",
        "policy_name": "Received Intellectual Property Complaints",
        "tsunagu": None,
        "amazon": 1,
        "count": 1,
        "source": "amazon",
    }
    assert api["violations"] == []
    assert api["amazon"]["report_date"] == "2026-11-25"


def test_repeats_critical_resolved_and_aged_out_through_the_api(db: Db, client: TestClient) -> None:
    """Two open high violations of one policy cost 8 + 16 (repeats double, ADR 0008); a resolved
    one and one opened 200 days ago cost nothing; an open critical one sets the rating to 0.
    Each carries the event that opened it."""
    seller = make_seller(db, name="Kobe Knives", marketplaces=("JP",))
    now = datetime.now(UTC)
    ingest_events(
        db,
        [
            event(
                "violation_opened",
                seller,
                event_id="e-h1",
                violation_id="H1",
                policy="listingPolicyViolations",
                severity="high",
                asin="B000000001",
                when=at(-20, now),
            ),
            event(
                "violation_opened",
                seller,
                event_id="e-h2",
                violation_id="H2",
                policy="listingPolicyViolations",
                severity="high",
                asin="B000000002",
                when=at(-10, now),
            ),
            event(
                "violation_opened",
                seller,
                event_id="e-r",
                violation_id="R",
                policy="productConditionCustomerComplaints",
                severity="medium",
                when=at(-40, now),
            ),
            event(
                "violation_resolved",
                seller,
                event_id="e-r-done",
                violation_id="R",
                how="appeal accepted",
                when=at(-30, now),
            ),
            event(
                "violation_opened",
                seller,
                event_id="e-old",
                violation_id="OLD",
                policy="hazmatDocumentationMissing",
                severity="low",
                when=at(-200, now),
            ),
            event(
                "violation_opened",
                seller,
                event_id="e-c",
                violation_id="C",
                policy="restrictedProductPolicyViolations",
                severity="critical",
                when=at(-5, now),
            ),
        ],
        now=now,
    )
    r = client.get(
        f"/v1/sellers/{seller}/stores/JP/policy-compliance", headers={"Accept-Language": "ja"}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    by_id = {v["violation_id"]: v for v in body["violations"]}
    assert [by_id[k]["points"] for k in ("H1", "H2", "R", "OLD", "C")] == [8, 16, 0, 0, 0]
    assert [by_id[k]["repeat"] for k in ("H1", "H2")] == [1, 2]
    assert [by_id[k]["status"] for k in ("H1", "R", "OLD", "C")] == [
        "open",
        "resolved",
        "aged_out",
        "open",
    ]
    assert by_id["C"]["sets_rating_to_zero"]
    assert body["rating_zeroed"]
    assert body["points_deducted"] == 24
    assert by_id["R"]["opened_by_event"] == "e-r"
    assert by_id["R"]["resolved_by_event"] == "e-r-done"
    assert by_id["H1"]["opened_by_event"] == "e-h1"
    assert by_id["H1"]["asin"] == "B000000001"
    assert by_id["H2"]["policy_name"] == "出品ポリシー違反"
    assert by_id["OLD"]["policy_name"] == "ポリシー: Hazmat documentation missing"
    opened = datetime.fromisoformat(by_id["OLD"]["opened_on"]).date()
    assert by_id["OLD"]["ages_out_on"] == (opened + timedelta(days=180)).isoformat()
    # open first, then aged out, then resolved
    assert [v["status"] for v in body["violations"]] == [
        "open",
        "open",
        "open",
        "aged_out",
        "resolved",
    ]

    html = client.get(f"/sellers/{seller}/stores/JP/policy?lang=en").text
    assert 'data-testid="rating-zeroed"' in html
    assert "Policy: Hazmat documentation missing" in html
    assert texts_of(html, "violation-points").count("None: it no longer counts") == 2
    assert "Sets the rating to 0" in texts_of(html, "violation-points")
    assert codes_in(main_text(html)) == []


def test_an_unknown_store_or_seller_is_404(db: Db, client: TestClient) -> None:
    seller = make_seller(db, name="Nara Pottery", marketplaces=("JP",))
    assert client.get(f"/sellers/{seller}/stores/US/policy").status_code == 404
    assert client.get("/sellers/nobody/stores/JP/policy").status_code == 404
    api = client.get(f"/v1/sellers/{seller}/stores/US/policy-compliance")
    assert api.status_code == 404
    assert api.json()["error"]["code"]


def test_another_sellers_owner_reaches_neither_the_page_nor_the_route(
    db: Db, client: TestClient, demo: DemoDataset
) -> None:
    """API-03: the page and the route follow the one seller access rule (404, nothing shown)."""
    seller = hanamizuki(demo)
    with api_client(db, email="stranger@example.test") as stranger:
        page = stranger.get(f"/sellers/{seller}/stores/JP/policy")
        api = stranger.get(f"/v1/sellers/{seller}/stores/JP/policy-compliance")
    assert page.status_code == 404
    assert "Hanamizuki" not in page.text
    assert "Intellectual Property" not in page.text
    assert api.status_code == 404
    assert "violations" not in api.json()
