"""The home page in a real browser: sellers listed, language switched and remembered."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def test_home_lists_the_demo_sellers_and_switches_language(page) -> None:
    page.goto("/")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("table tbody tr").count() >= 3

    page.locator("[data-testid=lang-ja], a[href='?lang=ja']").first.click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "ja"
    # remembered: a plain visit keeps Japanese
    page.goto("/")
    assert page.locator("html").get_attribute("lang") == "ja"
    page.locator("[data-testid=lang-en], a[href='?lang=en']").first.click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"


def test_japanese_is_the_default_for_a_japanese_browser(browser, server) -> None:
    context = browser.new_context(base_url=server, locale="ja-JP")
    try:
        page = context.new_page()
        page.goto("/")
        assert page.locator("html").get_attribute("lang") == "ja"
    finally:
        context.close()
