"""Points settings per marketplace (ADR 0029).

The programme runs where it is enabled: by default in JP and nowhere else (Amazon's points are
a JP feature). The TOML config file overrides the defaults, first for every marketplace, then
per marketplace::

    [points]
    default_rate = 1                 # percent, for a store that set none
    settling_hours = 24              # shipment confirmed → points available
    excluded_categories = ["gift_card", "amazon_coins", "fresh_grocery", "digital_content"]

    [points.marketplace.US]
    enabled = true

An unknown key or a value of the wrong kind is ``invalid_config`` naming the file, the table and
the key.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from tsunagu.core.i18n import N_
from tsunagu.marketplaces.registry import BadSetting, Marketplace, MarketplaceSettings
from tsunagu.points.rules import MAX_RATE

#: the marketplaces whose programme runs when the config file does not say
ENABLED_BY_DEFAULT = frozenset({"JP"})


@dataclass(frozen=True)
class PointsConfig:
    #: None: enabled in :data:`ENABLED_BY_DEFAULT` only
    enabled: bool | None = None
    #: a store's rate (percent) until its seller sets one
    default_rate: int = 1
    #: hours from the shipment's confirmation until its points are available
    settling_hours: int = 24
    #: item categories points cannot pay for (``ebook`` is digital content that they can)
    excluded_categories: tuple[str, ...] = (
        "gift_card",
        "amazon_coins",
        "fresh_grocery",
        "digital_content",
    )
    #: the lowest effective rate (percent) that carries the "2% or more" badge
    badge_rate: int = 2
    #: seconds a repeated redemption waits for the first one with its key before 409
    idempotency_wait_seconds: float = 2.0
    #: seconds after which a redemption still in flight is taken to have died
    idempotency_lease_seconds: int = 60


DEFAULT = PointsConfig()


def _rate(raw: object) -> bool:
    return isinstance(raw, int) and not isinstance(raw, bool) and 0 <= raw <= MAX_RATE


def _value(key: str, raw: object, current: object, source: Path) -> object:
    if key == "enabled":
        if not isinstance(raw, bool):
            raise BadSetting(N_("expected true or false"))
        return raw
    if key in ("default_rate", "badge_rate"):
        if not _rate(raw):
            raise BadSetting(N_("expected a whole percentage from 0 to 50"))
        return raw
    if key == "excluded_categories":
        if not isinstance(raw, list) or not all(isinstance(c, str) and c for c in raw):
            raise BadSetting(N_("expected a list of category names"))
        return tuple(c.strip().lower() for c in raw)
    if key == "idempotency_wait_seconds":
        if not isinstance(raw, int | float) or isinstance(raw, bool) or not 0 <= raw <= 30:
            raise BadSetting(N_("expected a number of seconds from 0 to 30"))
        return float(raw)
    if not isinstance(raw, int) or isinstance(raw, bool) or raw < 0:
        raise BadSetting(N_("expected a whole number ≥ 0"))
    return raw


SETTINGS = MarketplaceSettings("points", DEFAULT, _value)
#: the points slice's section of the config file, for the composition root
SECTION = SETTINGS.section


def points_of(marketplace: Marketplace) -> PointsConfig:
    """This marketplace's points settings, with ``enabled`` resolved."""
    found = SETTINGS.of(marketplace)
    if found.enabled is None:
        return dataclasses.replace(found, enabled=marketplace.code in ENABLED_BY_DEFAULT)
    return found
