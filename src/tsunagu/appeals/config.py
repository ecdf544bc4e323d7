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

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from tsunagu.appeals.drafts import Templates, load_templates
from tsunagu.appeals.plan import MIN_PART_CHARS
from tsunagu.core.errors import UsageError
from tsunagu.core.i18n import N_
from tsunagu.marketplaces.registry import ConfigFile, Marketplace, Registry, SettingsSection


@dataclass(frozen=True)
class AppealsConfig:
    min_part_chars: int = MIN_PART_CHARS
    max_attachment_bytes: int = 10 * 1024 * 1024
    info_request_days: int = 17
    #: a TOML file laid over the shipped draft templates (``appeals/data/templates.toml``):
    #: a relative path is read from the config file's folder; None: the shipped ones only
    templates: Path | None = None


DEFAULT = AppealsConfig()
_KEYS = frozenset(f.name for f in dataclasses.fields(AppealsConfig))


def appeals_of(marketplace: Marketplace) -> AppealsConfig:
    """The defaults, then ``[appeals]``, then ``[appeals.marketplace.<CODE>]``."""
    return _configured(marketplace.config, marketplace.code)


@cache
def _configured(file: ConfigFile, code: str) -> AppealsConfig:
    if file.path is None:
        return DEFAULT
    common, per = file.section("appeals")
    base = _apply(DEFAULT, common, source=file.path, where="appeals")
    return _apply(base, per.get(code, {}), source=file.path, where=f"appeals.marketplace.{code}")


def _apply(
    base: AppealsConfig, table: Mapping[str, object], *, source: Path, where: str
) -> AppealsConfig:
    changes: dict[str, Any] = {}
    for key, raw in table.items():
        if key not in _KEYS:
            raise _invalid(source, where, key, N_("unknown key"))
        if key == "templates":
            if not isinstance(raw, str) or not raw.strip():
                raise _invalid(source, where, key, N_("expected the path of a TOML file"))
            path = Path(raw)
            changes[key] = path if path.is_absolute() else source.parent / path
            continue
        if not isinstance(raw, int) or isinstance(raw, bool) or raw < 1:
            raise _invalid(source, where, key, N_("expected a whole number ≥ 1"))
        changes[key] = raw
    return dataclasses.replace(base, **changes)


def _invalid(source: Path, where: str, key: str, reason: str) -> UsageError:
    return UsageError(
        N_("{path}: [{table}] {key}: {reason}"),
        code="invalid_config",
        path=source,
        table=where,
        key=key,
        reason=reason,
        details={"table": where, "key": key},
    )


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
