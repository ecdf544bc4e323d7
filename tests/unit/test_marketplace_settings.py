"""A slice's section of the config file (``MarketplaceSettings``): the defaults, then the
section's table, then the marketplace's; an unknown key or a refused value is ``invalid_config``
naming the file, the table and the key. Exercised through the enforcement and settlement
sections, which are built on it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tsunagu.core.errors import UsageError
from tsunagu.enforcement.config import SECTION as ENFORCEMENT
from tsunagu.enforcement.config import enforcement_of
from tsunagu.marketplaces.registry import load_registry
from tsunagu.settlement.config import settlement_of


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tsunagu.toml"
    path.write_text(text, "utf-8")
    return path


def test_the_section_then_the_marketplace_override_the_defaults(tmp_path: Path):
    registry = load_registry(
        write(
            tmp_path,
            '[enforcement]\nsustained_days = 10\nrelated_accounts = "flag"\n'
            "[enforcement.marketplace.US]\nsustained_days = 14\n"
            "[settlement.referral_fee_rates]\ngrocery = 0.08\n",
        )
    )
    jp, us = enforcement_of(registry.require("JP")), enforcement_of(registry.require("US"))
    assert (jp.sustained_days, us.sustained_days) == (10, 14)
    assert jp.related_accounts == us.related_accounts == "flag"
    assert jp.grace_hours == us.grace_hours == 72  # untouched: the default
    rates = settlement_of(registry.require("JP")).referral_fee_rates
    assert rates == {"default": 0.10, "grocery": 0.08}  # laid over, not replaced


@pytest.mark.parametrize(
    ("text", "table", "key"),
    [
        ("[enforcement]\nsustain_days = 7\n", "enforcement", "sustain_days"),
        ('[enforcement]\nrelated_accounts = "maybe"\n', "enforcement", "related_accounts"),
        ("[enforcement.marketplace.JP]\ngrace_hours = -1\n", "enforcement.marketplace.JP",
         "grace_hours"),
        ('[enforcement]\nat_risk_metrics = ["SPEED"]\n', "enforcement", "at_risk_metrics"),
    ],
)  # fmt: skip
def test_a_mistake_names_the_file_the_table_and_the_key(
    tmp_path: Path, text: str, table: str, key: str
):
    path = write(tmp_path, text)
    with pytest.raises(UsageError) as raised:
        ENFORCEMENT.check(load_registry(path))
    error = raised.value
    assert error.code == "invalid_config"
    assert error.details == {"table": table, "key": key}
    assert str(path) in str(error)
