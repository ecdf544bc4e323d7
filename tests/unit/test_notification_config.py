"""``[notifications]`` of the config file: the allowlist and the delivery limits, every mistake
an ``invalid_config`` naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from tsunagu.core.errors import TsunaguError
from tsunagu.marketplaces.registry import load_registry
from tsunagu.notifications.config import DEFAULT, notifications_of


def _load(tmp_path: Path, text: str):
    path = tmp_path / "tsunagu.toml"
    path.write_text(text, "utf-8")
    return notifications_of(load_registry(path))


def test_without_a_table_nothing_is_allowed(tmp_path: Path):
    assert notifications_of(load_registry(None)) == DEFAULT
    assert DEFAULT.allowed_hosts.entries == ()
    assert _load(tmp_path, "") == DEFAULT


def test_the_table_sets_the_allowlist_and_limits(tmp_path: Path):
    config = _load(
        tmp_path,
        '[notifications]\nallowed_hosts = ["hooks.example.com", "http://127.0.0.1:8765", '
        '"10.0.0.0/8"]\nmax_attempts = 3\nfirst_retry_seconds = 30\n',
    )
    assert [e.text for e in config.allowed_hosts.entries] == [
        "hooks.example.com",
        "http://127.0.0.1:8765",
        "10.0.0.0/8",
    ]
    assert (config.max_attempts, config.first_retry_seconds) == (3, 30)
    assert config.timeout_seconds == DEFAULT.timeout_seconds


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('allowed_hosts = "hooks.example.com"', "allowed_hosts"),
        ('allowed_hosts = ["https://hooks.example.com/path"]', "allowed_hosts"),
        ("allowed_hosts = [1]", "allowed_hosts"),
        ("max_attempts = 0", "max_attempts"),
        ("timeout_seconds = true", "timeout_seconds"),
        ("max_response_bytes = 10", "max_response_bytes"),
        ("follow_redirects = true", "follow_redirects"),
        ("[notifications.marketplace.JP]\nmax_attempts = 2", "marketplace"),
    ],
)
def test_mistakes_are_invalid_config_naming_the_key(tmp_path: Path, text: str, key: str):
    with pytest.raises(TsunaguError) as caught:
        _load(tmp_path, f"[notifications]\n{text}\n")
    assert caught.value.code == "invalid_config"
    assert caught.value.details["key"] == key
