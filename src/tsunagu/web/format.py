"""Numbers, money, rates and times as a seller reads them, in the page's language.

Rates and days are memoised: a store page shows hundreds of them (its history table), and most
recur from one page to the next.

Money is integer minor units plus its currency (¥1,234 / $12.34); times are shown in the
marketplace's zone with the zone's abbreviation (JST, PST/PDT), whatever the page's language.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from babel.numbers import format_decimal

from tsunagu.core.money import Money


def money(amount: int, currency: str, lang: str) -> str:
    """``1234 JPY`` → ``¥1,234`` (``￥1,234`` in Japanese); ``1234 USD`` → ``$12.34``."""
    return Money(amount, currency).format(lang)


def number(value: int | float, lang: str) -> str:
    return str(format_decimal(value, locale=lang))


@lru_cache(maxsize=4096)
def percent(rate: float | None, lang: str) -> str:
    """A metric rate with two decimals (``1.23%``); ``–`` when there is nothing to measure."""
    if rate is None:
        return "–"
    return str(format_decimal(rate * 100, format="#,##0.00", locale=lang)) + "%"


def instant(value: datetime | None, zone: ZoneInfo, lang: str) -> str:
    """``2026-11-25T03:04Z`` in Tokyo → ``Nov 25, 2026 12:04 PM JST`` / ``2026/11/25 12:04 JST``."""
    if value is None:
        return "–"
    local = value.astimezone(zone)
    return (
        f"{format_date(local, 'medium', locale=lang)} "
        f"{format_time(local, 'short', locale=lang)} {zone_abbreviation(local)}"
    )


@lru_cache(maxsize=4096)
def day(value: date | None, lang: str) -> str:
    if value is None:
        return "–"
    return str(format_date(value, "medium", locale=lang))


def zone_abbreviation(local: datetime) -> str:
    """JST, PST, PDT … (the same in every language; numeric offset where a zone has none)."""
    name = local.tzname() or ""
    return name if name.isalpha() else f"UTC{name}"
