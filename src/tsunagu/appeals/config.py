"""Appeal settings per marketplace: how long each part of a plan must be, how large evidence may
be, how long a seller has to answer a request for information.

The TOML config file overrides the defaults, first for every marketplace, then per marketplace::

    [appeals]
    min_part_chars = 50              # root cause, actions taken, preventive measures
    max_attachment_bytes = 10485760  # one evidence file (10 MB)
    info_request_days = 17           # to answer a request for information

    [appeals.marketplace.JP]
    min_part_chars = 80

An unknown key or a value that is not a whole number ≥ 1 is ``invalid_config``, naming the file,
the table and the key.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from tsunagu.appeals.drafts import Templates, load_templates
from tsunagu.appeals.plan import MIN_PART_CHARS
from tsunagu.core.i18n import N_
from tsunagu.marketplaces.registry import (
    BadSetting,
    Marketplace,
    MarketplaceSettings,
    Registry,
    SettingsSection,
)


@dataclass(frozen=True)
class AppealsConfig:
    min_part_chars: int = MIN_PART_CHARS
    max_attachment_bytes: int = 10 * 1024 * 1024
    info_request_days: int = 17
    #: a TOML file laid over the shipped draft templates (``appeals/data/templates.toml``):
    #: a relative path is read from the config file's folder; None: the shipped ones only
    templates: Path | None = None


DEFAULT = AppealsConfig()


def _value(key: str, raw: object, current: object, source: Path) -> object:
    if key == "templates":
        if not isinstance(raw, str) or not raw.strip():
            raise BadSetting(N_("expected the path of a TOML file"))
        path = Path(raw)
        return path if path.is_absolute() else source.parent / path
    if not isinstance(raw, int) or isinstance(raw, bool) or raw < 1:
        raise BadSetting(N_("expected a whole number ≥ 1"))
    return raw


SETTINGS = MarketplaceSettings("appeals", DEFAULT, _value)


def appeals_of(marketplace: Marketplace) -> AppealsConfig:
    """The defaults, then ``[appeals]``, then ``[appeals.marketplace.<CODE>]``."""
    return SETTINGS.of(marketplace)


def _check(registry: Registry) -> None:
    for marketplace in registry.marketplaces:
        found = appeals_of(marketplace)
        if found.templates is not None:
            templates_at(found.templates)  # a bad file is refused at start, naming it


@cache
def templates_at(path: Path) -> Templates:
    """The draft templates with the file of ``[appeals] templates`` laid over them (read once)."""
    return load_templates(path)


#: the appeals slice's section of the config file, for the composition root
SECTION = SettingsSection(name="appeals", check=_check)
