"""Pure identity rules: password policy, hash parameters, back-off, TOTP steps, session limits,
step-up and audit escaping. Each test names the target it proves (reliability-targets §1, §5)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from tsunagu.identity.errors import InvalidEmail, ReauthRequired
from tsunagu.identity.factors import totp_code
from tsunagu.identity.passwords import Hasher, common_passwords
from tsunagu.identity.rules import (
    CHEAP_HASH,
    PRODUCTION,
    PRODUCTION_HASH,
    SessionPolicy,
    TotpPolicy,
    backoff,
    candidate_steps,
    escape_control,
    is_hard_stopped,
    normalise_code,
    normalise_email,
    normalise_password,
    password_problem,
    require_recent_auth,
    session_expiry,
    time_step,
)

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
COMMON = common_passwords()


def problem(password: str, *context: str) -> str | None:
    found = password_problem(normalise_password(password), common=COMMON, context=context)
    return None if found is None else found.code


# -- AUTH-01 / AUTH-02 -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "expected"),
    [
        ("q7#Lm2x", "password_too_short"),  # 7
        ("q7#Lm2xZ", None),  # 8
        ("k" * 31 + "Z" * 33, None),  # 64
        ("k9" * 64, None),  # 128
        ("k9" * 64 + "x", "password_too_long"),  # 129
        ("        🍣🍣", None),  # spaces and emoji only: no composition rules
        ("ｑ７＃Ｌｍ２ｘ", "password_too_short"),  # NFKC before counting
    ],
)
def test_auth01_length_and_no_composition_rules(password: str, expected: str | None):
    """AUTH-01: 7 rejected, 8 and 64 and 128 accepted, 129 rejected; anything printable goes."""
    assert problem(password) == expected


def test_auth01_bundled_common_list_is_large_and_rejects_breached_passwords():
    """AUTH-01: the list ships in the package (≥ 10,000 entries) and is checked case-folded and
    NFKC-normalised, so full-width or capitalised variants are caught too."""
    assert len(COMMON) >= 10_000
    for password in ("password", "123456789", "Password1", "ｐａｓｓｗｏｒｄ", "QWERTYUIOP"):
        assert problem(password) == "password_too_common", password


def test_auth01_context_words_are_rejected():
    """AUTH-01 (ASVS 6.2.11): the user's own name or e-mail, or the product name, is refused."""
    assert problem("Tsunagu!!", "tsunagu") == "password_context"
    assert problem("hanako.yamada@example.jp", "hanako.yamada@example.jp") == "password_context"
    assert problem("yamadahanako2026", "yamadahanako") == "password_context"
    assert problem("violet-harbour-kite", "yamadahanako") is None


def test_auth01_no_truncation():
    """AUTH-01: two passwords that differ only after the 72nd character do not verify as one."""
    hasher = Hasher(CHEAP_HASH)
    stored = hasher.hash("a" * 72 + "X")
    assert hasher.verify(stored, "a" * 72 + "X")
    assert not hasher.verify(stored, "a" * 72 + "Y")


def test_auth02_production_argon2id_parameters_and_unique_salts():
    """AUTH-02: Argon2id, m ≥ 19456 KiB, t ≥ 2, p = 1 (OWASP), a unique salt per hash.
    The only test that pays for production parameters."""
    assert PRODUCTION.hash is PRODUCTION_HASH
    assert PRODUCTION_HASH.memory_kib >= 19456
    assert PRODUCTION_HASH.time_cost >= 2
    assert PRODUCTION_HASH.parallelism == 1
    assert PRODUCTION_HASH.salt_len >= 16
    hasher = Hasher(PRODUCTION_HASH)
    first, second = hasher.hash("correct horse"), hasher.hash("correct horse")
    assert first.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert first.split("$")[4] != second.split("$")[4]  # the salts
    assert hasher.verify(first, "correct horse")
    assert not hasher.needs_rehash(first)
    assert hasher.needs_rehash(Hasher(CHEAP_HASH).hash("correct horse"))


def test_email_is_normalised_and_validated():
    assert normalise_email("  Hanako@Example.JP ") == "hanako@example.jp"
    assert normalise_email("ｈａｎａｋｏ@example.jp") == "hanako@example.jp"
    for bad in ("no-at-sign", "a@b", "evil\r\n@example.jp", "a b@example.jp", "x" * 250 + "@e.jp"):
        with pytest.raises(InvalidEmail):
            normalise_email(bad)


# -- AUTH-05 / AUTH-06 --------------------------------------------------------------------------


def test_auth06_account_backoff_starts_within_five_failures_and_hard_stops_at_100():
    """AUTH-06: no wait for the first 4 failures, 30 s after the 5th, doubling, capped at 15 min;
    the hard stop is at 100 consecutive failures."""
    policy = PRODUCTION.account_throttle
    assert [backoff(policy, n).total_seconds() for n in range(1, 10)] == [
        0, 0, 0, 0, 30, 60, 120, 240, 480,
    ]  # fmt: skip
    assert backoff(policy, 10) == timedelta(minutes=15)
    assert backoff(policy, 99) == timedelta(minutes=15)
    assert not is_hard_stopped(policy, 99)
    assert is_hard_stopped(policy, 100)
    # at most 100 per hour (ASVS 4 2.2.1): the waits after the first 100 failures exceed an hour
    total = sum((backoff(policy, n) for n in range(1, 100)), timedelta())
    assert total > timedelta(hours=1)


def test_auth05_code_delay_from_the_first_failure_doubling():
    """AUTH-05: a delay after the first wrong code, doubling; hard stop below 100; with these
    waits far fewer than 10^6 guesses fit into a code's 90-second window."""
    policy = PRODUCTION.code_throttle
    assert [backoff(policy, n).total_seconds() for n in range(1, 6)] == [1, 2, 4, 8, 16]
    assert policy.hard_stop is not None
    assert policy.hard_stop <= 100
    elapsed, guesses = timedelta(), 0
    while elapsed < timedelta(seconds=90):
        guesses += 1
        elapsed += backoff(policy, guesses)
    assert guesses < 10


# -- AUTH-04 ------------------------------------------------------------------------------------

RFC_SECRET = base64.b32encode(b"12345678901234567890").decode()


@pytest.mark.parametrize(
    ("unix", "expected"),
    [
        (59, "94287082"),
        (1111111109, "07081804"),
        (1111111111, "14050471"),
        (1234567890, "89005924"),
        (2000000000, "69279037"),
        (20000000000, "65353130"),
    ],
)
def test_auth04_rfc6238_appendix_b_vectors(unix: int, expected: str):
    """AUTH-04: the RFC 6238 SHA-1 test vectors pass bit-exactly (8 digits, X = 30, T0 = 0)."""
    policy = TotpPolicy(digits=8)
    step = time_step(datetime.fromtimestamp(unix, UTC), policy.step_seconds)
    assert totp_code(RFC_SECRET, step, policy) == expected


def test_auth04_window_is_previous_current_next_step():
    """AUTH-04: candidates are exactly t, t−1, t+1 of the server clock with a 30 s step."""
    policy = PRODUCTION.totp
    assert policy.step_seconds == 30
    t = time_step(NOW, 30)
    assert sorted(candidate_steps(NOW, policy)) == [t - 1, t, t + 1]
    assert time_step(NOW + timedelta(seconds=29), 30) == t
    assert time_step(NOW + timedelta(seconds=30), 30) == t + 1


def test_codes_typed_with_spaces_dashes_or_fullwidth_digits():
    assert normalise_code(" 123 456 ") == "123456"
    assert normalise_code("１２３４５６") == "123456"
    assert normalise_code("ABCDE-FGH23") == "abcdefgh23"


# -- AUTH-12 / AUTH-15 ---------------------------------------------------------------------------


def test_auth15_idle_30_minutes_absolute_12_hours():
    """AUTH-15: a session ends 30 min after its last use or 12 h after sign-in, whichever first."""
    policy = SessionPolicy()
    start = NOW
    assert session_expiry(
        policy, started_at=start, last_seen_at=start, full=True
    ) == start + timedelta(minutes=30)
    late = start + timedelta(hours=11, minutes=50)
    assert session_expiry(
        policy, started_at=start, last_seen_at=late, full=True
    ) == start + timedelta(hours=12)
    # waiting for the second factor: 5 minutes at most
    assert session_expiry(
        policy, started_at=start, last_seen_at=start, full=False
    ) == start + timedelta(minutes=5)


def test_auth12_require_recent_auth_within_five_minutes():
    """AUTH-12: allowed 4:59 after a full authentication, refused at 5:01 with ``reauth_required``;
    a session still waiting for its second factor never counts."""
    row = SimpleNamespace(stage="full", last_authenticated_at=NOW)
    require_recent_auth(row, NOW + timedelta(minutes=4, seconds=59))
    with pytest.raises(ReauthRequired) as caught:
        require_recent_auth(row, NOW + timedelta(minutes=5, seconds=1))
    assert caught.value.code == "reauth_required"
    assert caught.value.status == 401
    with pytest.raises(ReauthRequired):
        require_recent_auth(SimpleNamespace(stage="second_factor", last_authenticated_at=NOW), NOW)


# -- PRIV-05 -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "evil",
    [
        "bob\r\n2026-11-25T12:00:00Z admin authn_login_success",
        "bob\n",
        "bob\u2028forged",
        "bob\x1b[2Jcleared",
        "bob\x00nul",
        "bob\u0085nel",
    ],
)
def test_priv05_control_characters_cannot_start_a_line(evil: str):
    """PRIV-05: CR, LF, NEL, U+2028 and every other control character become visible escapes."""
    escaped = escape_control(evil)
    assert escaped.startswith("bob")
    assert all(ch not in escaped for ch in "\r\n\x00\x1b\u2028\u0085")
    assert len(escaped.splitlines()) == 1


def test_priv05_escaping_is_unambiguous():
    """A typed backslash-u sequence cannot pass for an escaped newline."""
    assert escape_control("a\nb") != escape_control("a\\u000ab")
    assert escape_control("a\\u000ab") == "a\\\\u000ab"
