"""Money is an integer count of minor units plus an ISO-4217 code. Never a float."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache

from babel.numbers import format_currency, get_currency_precision


class AmountError(ValueError):
    pass


#: Integer digits the fast path of :func:`parse_amount` takes: with the few decimals a currency
#: has, far fewer than the 28 significant digits the Decimal path computes with.
_PLAIN_DIGITS = 18


@cache
def exponent(currency: str) -> int:
    """Decimal places of the currency's minor unit (JPY 0, USD 2), from CLDR via Babel."""
    return int(get_currency_precision(currency.upper()))


@dataclass(frozen=True, slots=True)
class Money:
    amount: int
    currency: str

    def format(self, locale: str = "en") -> str:
        major = Decimal(self.amount).scaleb(-exponent(self.currency))
        return str(format_currency(major, self.currency, locale=locale))


def parse_amount(text: str, currency: str) -> int:
    """``"19.99"`` USD → 1999; ``"1980.00"`` JPY → 1980; ``"12.345"`` USD is an error.

    Thousands separators are tolerated (``1,980``); digits beyond the currency's precision are not
    rounded away, because silently changing money is worse than asking.
    """
    # Nearly every amount in a report looks like "19.99" (or "1980" in yen): plain ASCII digits
    # with no more decimals than the currency has. Those are read straight off the digits, which
    # is exact and twice as fast as Decimal; everything else takes the general path below.
    whole, _, fraction = text.partition(".")
    places = exponent(currency)
    if len(fraction) <= places and len(whole) <= _PLAIN_DIGITS and (whole or fraction):
        digits = whole + fraction.ljust(places, "0")
        if digits.isascii() and digits.isdigit():
            return int(digits)
    cleaned = text.strip().replace(",", "")
    if not cleaned:
        raise AmountError("empty")
    try:
        value = Decimal(cleaned)
    except InvalidOperation as exc:
        raise AmountError("not a number") from exc
    if not value.is_finite():
        raise AmountError("not a number")
    scaled = value.scaleb(exponent(currency))
    if scaled != scaled.to_integral_value():
        raise AmountError("too many decimal places")
    return int(scaled)
