"""Money, rates and times as the dashboard shows them, in English and Japanese."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from tsunagu.web import format as fmt

TOKYO = ZoneInfo("Asia/Tokyo")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")


def test_yen_has_no_decimals_and_dollars_two_in_both_languages():
    assert fmt.money(1234, "JPY", "en") == "¥1,234"
    assert fmt.money(1234, "USD", "en") == "$12.34"
    # CLDR's Japanese yen sign is the full-width one Amazon.co.jp shows
    assert fmt.money(1234, "JPY", "ja") == "￥1,234"
    assert fmt.money(1234, "USD", "ja") == "$12.34"
    assert fmt.money(-50, "USD", "en") == "-$0.50"


def test_an_instant_is_shown_in_the_marketplace_zone_with_its_abbreviation():
    at = datetime(2026, 11, 25, 3, 4, tzinfo=UTC)
    assert fmt.instant(at, TOKYO, "en") == "Nov 25, 2026 12:04\u202fPM JST"
    assert fmt.instant(at, TOKYO, "ja") == "2026/11/25 12:04 JST"
    assert fmt.instant(at, LOS_ANGELES, "en") == "Nov 24, 2026 7:04\u202fPM PST"
    assert fmt.instant(at, LOS_ANGELES, "ja") == "2026/11/24 19:04 PST"


def test_pacific_summer_time_is_pdt():
    at = datetime(2026, 7, 1, 0, 0, tzinfo=UTC)
    assert fmt.instant(at, LOS_ANGELES, "en").endswith("5:00\u202fPM PDT")


def test_missing_values_show_a_dash():
    assert fmt.instant(None, TOKYO, "en") == "–"
    assert fmt.percent(None, "ja") == "–"
    assert fmt.day(None, "en") == "–"


def test_rates_and_counts_follow_the_locale():
    assert fmt.percent(0.01234, "en") == "1.23%"
    assert fmt.percent(0.9, "ja") == "90.00%"
    assert fmt.number(12345, "en") == "12,345"
    assert fmt.day(date(2026, 11, 25), "ja") == "2026/11/25"
