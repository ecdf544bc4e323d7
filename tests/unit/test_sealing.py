"""TOTP seeds sealed at rest: AES-256-GCM with a key kept outside the database."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pyotp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tsunagu.identity.rules import IdentitySettings
from tsunagu.identity.sealing import (
    PREFIX,
    BadKey,
    SecretKeyRequired,
    SeedKey,
    SeedUnreadable,
    is_sealed,
    new_key_text,
    parse_key,
    seal,
    unseal,
)
from tsunagu.settings import load_settings

KEY = SeedKey(raw=bytes(range(32)))
OTHER = SeedKey(raw=bytes(range(1, 33)))


@given(st.sampled_from([pyotp.random_base32(32) for _ in range(8)]))
def test_a_sealed_seed_opens_to_itself_and_hides_it(seed: str):
    stored = seal(KEY, seed)
    assert stored.startswith(PREFIX)
    assert seed not in stored
    assert len(stored) <= 128  # the column's size
    assert unseal(KEY, stored) == seed


def test_each_seal_is_different_and_needs_the_same_key():
    seed = pyotp.random_base32(32)
    first, second = seal(KEY, seed), seal(KEY, seed)
    assert first != second  # a fresh nonce each time
    with pytest.raises(SeedUnreadable):
        unseal(OTHER, first)
    with pytest.raises(SeedUnreadable):
        unseal(None, first)


def test_a_changed_byte_is_refused():
    stored = seal(KEY, pyotp.random_base32(32))
    body = bytearray(base64.urlsafe_b64decode(stored[len(PREFIX) :] + "=="))
    body[-1] ^= 1
    tampered = PREFIX + base64.urlsafe_b64encode(bytes(body)).decode().rstrip("=")
    with pytest.raises(SeedUnreadable):
        unseal(KEY, tampered)


def test_seeds_from_before_sealing_read_as_they_are():
    seed = pyotp.random_base32(32)
    assert not is_sealed(seed)
    assert unseal(KEY, seed) == seed


def test_without_a_key_nothing_is_sealed_and_nothing_stored_in_clear():
    """Issue 11, item 12: no key means no seed is stored at all, never one in clear."""
    with pytest.raises(SecretKeyRequired):
        seal(None, pyotp.random_base32(32))


def test_keys_parse_from_base64url_only_at_32_bytes():
    text = new_key_text()
    assert len(parse_key(text)) == 32
    assert parse_key(text + "==") == parse_key(text)
    for bad in ("", "not base64 at all!", base64.urlsafe_b64encode(b"short").decode()):
        with pytest.raises(BadKey):
            parse_key(bad)


def test_the_key_file_is_made_once_and_private(tmp_path: Path):
    path = tmp_path / "tsunagu.db.key"
    first = SeedKey(path=path).key()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert SeedKey(path=path).key() == first  # read back, not replaced
    stored = seal(SeedKey(path=path), "JBSWY3DPEHPK3PXP")
    assert unseal(SeedKey(path=path), stored) == "JBSWY3DPEHPK3PXP"


def test_settings_find_the_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.delenv("TSUNAGU_SECRET_KEY", raising=False)
    monkeypatch.delenv("TSUNAGU_SECRET_KEY_FILE", raising=False)
    monkeypatch.setenv("TSUNAGU_DATABASE_URL", f"sqlite:///{tmp_path}/shop.db")
    assert load_settings().identity.seed_key == SeedKey(path=Path(f"{tmp_path}/shop.db.key"))
    monkeypatch.setenv("TSUNAGU_DATABASE_URL", "postgresql://postgres@127.0.0.1/x")
    assert load_settings().identity.seed_key is None
    monkeypatch.setenv("TSUNAGU_SECRET_KEY_FILE", str(tmp_path / "k"))
    assert load_settings().identity.seed_key == SeedKey(path=tmp_path / "k")
    text = new_key_text()
    monkeypatch.setenv("TSUNAGU_SECRET_KEY", text)
    assert load_settings().identity.seed_key == SeedKey(raw=parse_key(text))
    monkeypatch.setenv("TSUNAGU_SECRET_KEY", "too-short")
    with pytest.raises(SystemExit, match="TSUNAGU_SECRET_KEY"):
        load_settings()


def test_settings_give_a_sqlite_file_its_key_and_refuse_a_server_database_without_one(
    tmp_path: Path,
):
    """Issue 11, item 12: the application's settings always carry a key, or it does not start."""
    from tsunagu.settings import Settings, with_seed_key

    sqlite = with_seed_key(Settings(database_url=f"sqlite:///{tmp_path / 'x.db'}"))
    assert sqlite.identity.seed_key == SeedKey(path=tmp_path / "x.db.key")
    with pytest.raises(SecretKeyRequired):
        with_seed_key(Settings(database_url="postgresql://postgres@127.0.0.1/nowhere"))
    with pytest.raises(SecretKeyRequired):
        with_seed_key(Settings(database_url="sqlite://"))  # in memory: nowhere to keep a key
    given = Settings(database_url="postgresql://x@y/z", identity=IdentitySettings(seed_key=KEY))
    assert with_seed_key(given) is given


def _key_of(path: str) -> bytes:
    return SeedKey(path=Path(path)).key()


def test_processes_making_the_key_file_at_once_all_read_one_whole_key(tmp_path: Path):
    """Eight processes asking for a key file that does not exist yet: one key wins, every
    process reads it whole (none reads an empty file), and no temporary file is left behind."""
    import multiprocessing

    path = tmp_path / "tsunagu.key"
    with multiprocessing.get_context("spawn").Pool(8) as pool:
        keys = pool.map(_key_of, [str(path)] * 8)
    assert len(set(keys)) == 1
    assert keys[0] == SeedKey(path=path).key()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tsunagu.key"]
    assert path.stat().st_mode & 0o777 == 0o600
