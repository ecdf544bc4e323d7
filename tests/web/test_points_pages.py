"""The points pages through real HTTP handling: who may change a store's points settings, the
forms' refusals, the programme switched off in US, and the operators' pages (issue 15, item 3).

The browser journey (``tests/browser/test_points_pages.py``) reads the same pages in Chromium;
these tests cover what a browser would not send (a rate of 51, a viewer's post)."""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.auth import api_client, create_user
from tests.browser.test_points_pages import RAW_CODES, points_story
from tests.conftest import Db
from tests.factories import make_seller
from tsunagu.core.clock import utcnow
from tsunagu.points import words

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

OPERATOR = "operator@example.test"
VIEWER = "viewer@example.test"


@pytest.fixture
def db(sqlite_db: Db) -> Db:
    """Pages render the services' answers: one database is enough (the services' tests run
    on both)."""
    return sqlite_db


@pytest.fixture
def seller(db: Db, client: TestClient) -> str:
    return make_seller(db, name="Uji Matcha Garden", marketplaces=("JP", "US"))


@pytest.fixture
def operator(db: Db) -> Iterator[TestClient]:
    with api_client(db, email=OPERATOR, operator=True) as c:
        yield c


def text_of(html: str, name: str) -> str:
    """The text of the first element with ``data-testid=name``."""
    found = re.search(rf'data-testid="{re.escape(name)}"[^>]*>([^<]*)<', html)
    assert found is not None, name
    return html_lib.unescape(found.group(1))


def main_of(html: str) -> str:
    found = re.search(r"<main[^>]*>(.*)</main>", html, re.S)
    assert found is not None
    return html_lib.unescape(re.sub(r"<[^>]+>", " ", found.group(1)))


def change(client: TestClient, seller: str, store: str = "JP", **form: str) -> str:
    """Post the settings form and follow the redirect; the page's HTML."""
    r = client.post(f"/sellers/{seller}/stores/{store}/points", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text
    return client.get(r.headers["location"]).text


def test_the_owner_sets_the_rate_a_skus_rate_and_joins_the_badge(
    client: TestClient, seller: str
) -> None:
    html = client.get(f"/sellers/{seller}/stores/JP/points").text
    assert 'data-rate="1"' in html
    assert 'data-testid="offers-empty"' in html
    html = change(client, seller, action="sku", sku="MATCHA-50", sku_rate="10", category="Grocery")
    assert 'data-sku="MATCHA-50"' in html
    assert text_of(html, "badge-count") == "0"
    html = change(client, seller, action="badge", badge="join")
    assert 'data-member="yes"' in html
    assert text_of(html, "badge-count") == "1"
    assert "2% or more" in html
    html = change(client, seller, action="rate", rate="2")
    assert 'data-rate="2"' in html
    assert text_of(html, "notice") == "The store's points rate is saved."
    html = change(client, seller, action="sku", sku="MATCHA-50", sku_rate="")
    assert text_of(html, "notice") == "The SKU follows the store's points rate again."
    assert text_of(html, "effective-rate") == "2%"
    # following the store's 2%: still the badge
    assert text_of(html, "badge-count") == "1"
    html = change(client, seller, action="badge", badge="leave")
    assert text_of(html, "badge-count") == "0"
    assert 'data-member="no"' in html


@pytest.mark.parametrize("rate", ["51", "-1", "2.5", "ten"])
def test_a_rate_outside_0_to_50_is_refused_on_the_form(
    client: TestClient, seller: str, rate: str
) -> None:
    r = client.post(f"/sellers/{seller}/stores/JP/points", data={"action": "rate", "rate": rate})
    assert r.status_code == 422
    assert 'data-code="invalid_rate"' in r.text
    assert "whole percentage from 0 to 50" in r.text
    assert 'data-rate="1"' in r.text  # nothing changed


def test_a_viewer_reads_the_settings_without_forms_and_may_not_post(db: Db, seller: str) -> None:
    create_user(db, VIEWER, owner_of=[seller], role="viewer")
    with api_client(db, email=VIEWER) as viewer:
        html = viewer.get(f"/sellers/{seller}/stores/JP/points").text
        assert 'data-testid="read-only"' in html
        assert 'data-testid="rate-form"' not in html
        assert 'data-testid="sku-form"' not in html
        r = viewer.post(f"/sellers/{seller}/stores/JP/points", data={"action": "rate", "rate": "5"})
        assert r.status_code == 403
        assert 'data-rate="1"' in viewer.get(f"/sellers/{seller}/stores/JP/points").text


def test_the_programme_switched_off_in_us_says_so_in_both_languages(
    client: TestClient, seller: str
) -> None:
    for path in ("points", "points/statement"):
        html = client.get(f"/sellers/{seller}/stores/US/{path}?lang=en").text
        assert "The points programme is not enabled in US" in text_of(html, "points-disabled")
        assert 'data-testid="rate-form"' not in html
        html = client.get(f"/sellers/{seller}/stores/US/{path}?lang=ja").text
        assert 'data-testid="points-disabled"' in html
    r = client.post(f"/sellers/{seller}/stores/US/points", data={"action": "rate", "rate": "3"})
    assert r.status_code == 422
    assert 'data-testid="points-disabled"' in r.text


def test_the_statement_is_empty_until_points_cost_something_then_shows_each_month(
    db: Db, client: TestClient, seller: str
) -> None:
    html = client.get(f"/sellers/{seller}/stores/JP/points/statement").text
    assert 'data-testid="statement-empty"' in html
    story = points_story(db.factory, db.registry, seller, "buyer-statement", utcnow())
    html = client.get(f"/sellers/{seller}/stores/JP/points/statement").text
    granted = sum(int(g) for g in re.findall(r'data-testid="granted">([\d,]+)<', html))
    returned = sum(int(g) for g in re.findall(r'data-testid="returned">([\d,]+)<', html))
    assert (granted, returned) == (story.granted, story.returned)
    assert "¥" in text_of(html, "net-cost")
    assert "￥" in text_of(
        client.get(f"/sellers/{seller}/stores/JP/points/statement?lang=ja").text, "net-cost"
    )


def test_the_operators_pages_need_an_operator(client: TestClient, seller: str) -> None:
    for path in ("/points/customers?customer=anyone", "/points/expiries"):
        r = client.get(path)
        assert r.status_code == 403
        assert 'data-testid="history"' not in r.text


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_a_customers_history_is_in_words_with_every_entry(
    db: Db, operator: TestClient, seller: str, lang: str
) -> None:
    """Every ledger entry of the customer, each kind and reason in the page's words, never a
    code."""
    story = points_story(db.factory, db.registry, seller, "buyer-history", utcnow())
    html = operator.get(
        f"/points/customers?marketplace=JP&customer={story.customer}&lang={lang}"
    ).text
    assert f'data-points="{story.available}"' in html
    kinds = re.findall(r'data-testid="history-row" data-kind="([a-z_]+)"', html)
    assert sorted(kinds) == sorted(
        ["grant_pending", "grant_pending", "void", "post", "clawback", "redeem"]
    )
    shown = re.findall(r'data-testid="history-what">([^<]*)<', html)
    assert sorted(shown) == sorted(words.kind_text(k, lang) for k in kinds)
    assert not RAW_CODES.search(main_of(html)), RAW_CODES.search(main_of(html))
    assert "JST" in text_of(html, "expires")


def test_an_unknown_customer_has_no_entries(operator: TestClient) -> None:
    html = operator.get("/points/customers?marketplace=JP&customer=nobody").text
    assert 'data-points="0"' in html
    assert 'data-testid="history-empty"' in html


def test_upcoming_expiries_list_the_balance_and_the_warnings_recorded(
    db: Db, operator: TestClient, seller: str
) -> None:
    story = points_story(db.factory, db.registry, seller, "buyer-expiry", utcnow())
    html = operator.get("/points/expiries?marketplace=JP&within_days=30").text
    assert f'data-customer="{story.customer}"' in html
    assert text_of(html, "expiry-points") == f"{story.available} pt"
    assert text_of(html, "expiry-warned") == "30 days before"
    html = operator.get("/points/expiries?marketplace=JP&within_days=5").text
    assert 'data-testid="expiries-empty"' in html
    assert operator.get("/points/expiries?within_days=400").status_code == 422
    html = operator.get("/points/expiries?marketplace=US").text
    assert 'data-testid="points-disabled"' in html
