"""Health settings from the TOML config file: defaults, overrides, per-marketplace, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from tsunagu.core.errors import UsageError
from tsunagu.health.config import DEFAULT, health_of
from tsunagu.health.metrics import Window
from tsunagu.slices import load_registry


def config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / f"tsunagu-{abs(hash(text))}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_without_a_file_every_marketplace_has_the_issues_defaults():
    jp = load_registry(None).require("JP")
    assert health_of(jp) == DEFAULT
    assert health_of(jp).metrics.odr_window == Window(60, 14)
    assert health_of(jp).ahr.severity_points == {"low": 2, "medium": 4, "high": 8}
    assert health_of(jp).alerts.alert_odr == 0.0075


def test_common_settings_then_per_marketplace_overrides(tmp_path: Path):
    path = config(
        tmp_path,
        """
[health]
odr_target = 0.02
late_shipment_long_window = [20, 1]
alert_valid_tracking = 0.97

[health.severity_points]
high = 10

[health.marketplace.JP]
profile = "metrics"
odr_target = 0.005
""",
    )
    registry = load_registry(path)
    jp, us = health_of(registry.require("JP")), health_of(registry.require("US"))
    assert (jp.ahr.profile, us.ahr.profile) == ("metrics", "amazon")
    assert (jp.metrics.odr_target, us.metrics.odr_target) == (0.005, 0.02)
    assert (
        jp.metrics.late_shipment_long_window
        == us.metrics.late_shipment_long_window
        == Window(20, 1)
    )
    assert us.ahr.severity_points == {"low": 2, "medium": 4, "high": 10}
    assert us.alerts.alert_valid_tracking == 0.97
    assert us.metrics.cancel_target == DEFAULT.metrics.cancel_target


@pytest.mark.parametrize(
    ("text", "table", "key"),
    [
        ("[health]\nodr_targte = 0.01\n", "health", "odr_targte"),
        ("[health]\nodr_window = [60]\n", "health", "odr_window"),
        ("[health]\nodr_window = [0, 14]\n", "health", "odr_window"),
        ("[health]\nodr_target = 5\n", "health", "odr_target"),
        ('[health]\nprofile = "strict"\n', "health", "profile"),
        ("[health]\nbase = -1\n", "health", "base"),
        ("[health]\nbase = true\n", "health", "base"),
        ("[health.severity_points]\nsevere = 3\n", "health", "severity_points"),
        ('[health.marketplace.JP]\nalert_odr = "high"\n', "health.marketplace.JP", "alert_odr"),
        ('[health]\nevent_feed_is_complete = "no"\n', "health", "event_feed_is_complete"),
        ("[health]\nsnapshot_max_age_days = -3\n", "health", "snapshot_max_age_days"),
    ],
)
def test_a_bad_setting_names_the_table_and_the_key(tmp_path: Path, text: str, table: str, key: str):
    with pytest.raises(UsageError) as caught:
        load_registry(config(tmp_path, text))
    error = caught.value
    assert error.code == "invalid_config"
    assert error.details == {"table": table, "key": key}
    assert f"[{table}] {key}:" in str(error)


def test_an_unknown_marketplace_table_is_an_error(tmp_path: Path):
    with pytest.raises(UsageError) as caught:
        load_registry(config(tmp_path, "[health.marketplace.XX]\nodr_target = 0.01\n"))
    assert caught.value.code == "invalid_config"
    assert "XX" in str(caught.value)


def test_the_coverage_judgement_calls_are_configuration(tmp_path: Path):
    """ADR 0033: whether a store's own event feed counts as every source, and how old an Amazon
    report may be to stand in for a missing one."""
    path = config(
        tmp_path,
        "[health]\nsnapshot_max_age_days = 7\n\n"
        "[health.marketplace.US]\nevent_feed_is_complete = false\n",
    )
    registry = load_registry(path)
    jp, us = health_of(registry.require("JP")), health_of(registry.require("US"))
    assert DEFAULT.coverage.event_feed_is_complete is True
    assert (jp.coverage.event_feed_is_complete, us.coverage.event_feed_is_complete) == (
        True,
        False,
    )
    assert jp.coverage.snapshot_max_age_days == us.coverage.snapshot_max_age_days == 7
