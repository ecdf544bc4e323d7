"""Settlement settings per marketplace: referral fee rates, the disbursement period, the hold.

Defaults are tsunagu's picks (ADR 0025); the TOML config file overrides them, first for every
marketplace, then per marketplace::

    [settlement]
    disbursement_days = 14
    hold_days = 90
    refund_admin_fee_rate = 0.20

    [settlement.referral_fee_rates]   # by item category; "default" for any other
    default = 0.10
    grocery = 0.08

    [settlement.marketplace.JP]
    withhold_tax = false

An unknown key or a value of the wrong kind is ``invalid_config`` naming the file, the table and
the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tsunagu.core.i18n import N_
from tsunagu.marketplaces.registry import BadSetting, Marketplace, MarketplaceSettings


def _default_rates() -> dict[str, float]:
    return {"default": 0.10}


@dataclass(frozen=True)
class SettlementConfig:
    #: referral fee per item category (lower case); ``default`` for the others
    referral_fee_rates: Mapping[str, float] = field(default_factory=_default_rates)
    #: the part of the referral fee Amazon keeps when an item is refunded
    refund_admin_fee_rate: float = 0.20
    #: days between two disbursements, counted from the store's first entry
    disbursement_days: int = 14
    #: days a funds hold lasts unless released early
    hold_days: int = 90
    #: tax given apart from the price (US sales tax) is collected by the marketplace, not paid out
    withhold_tax: bool = True


DEFAULT = SettlementConfig()


def _fraction(raw: object) -> bool:
    return isinstance(raw, int | float) and not isinstance(raw, bool) and 0 <= raw <= 1


def _value(key: str, raw: object, current: object, source: Path) -> object:
    if key == "referral_fee_rates":
        if not isinstance(raw, dict) or not all(_fraction(v) for v in raw.values()):
            raise BadSetting(N_("expected a table of fractions from 0 to 1"))
        merged = dict(current) if isinstance(current, Mapping) else {}
        merged.update({str(k).lower(): float(v) for k, v in raw.items()})
        return merged
    if isinstance(current, bool):
        if not isinstance(raw, bool):
            raise BadSetting(N_("expected true or false"))
        return raw
    if isinstance(current, int):
        if not isinstance(raw, int) or isinstance(raw, bool) or raw < 1:
            raise BadSetting(N_("expected a whole number ≥ 1"))
        return raw
    if not _fraction(raw):
        raise BadSetting(N_("expected a fraction from 0 to 1"))
    assert isinstance(raw, int | float)
    return float(raw)


SETTINGS = MarketplaceSettings("settlement", DEFAULT, _value)
#: the settlement slice's section of the config file, for the composition root
SECTION = SETTINGS.section


def settlement_of(marketplace: Marketplace) -> SettlementConfig:
    """This marketplace's settlement settings: the defaults, ``[settlement]``, then
    ``[settlement.marketplace.<CODE>]``."""
    return SETTINGS.of(marketplace)
