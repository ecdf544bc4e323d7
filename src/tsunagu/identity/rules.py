"""Pure identity rules: policies and their numbers, password and e-mail checks, back-off, session
lifetimes, TOTP steps, step-up and audit-text escaping. No I/O; the clock is passed in.

Every number is in ADR 0012 with its source in the reliability targets (AUTH-01 … AUTH-16).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tsunagu.core.i18n import N_
from tsunagu.identity.errors import InvalidEmail, PasswordRejected, ReauthRequired
from tsunagu.identity.sealing import SeedKey

# -- policies ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class HashParams:
    """Argon2id parameters (AUTH-02). ``memory_kib`` in KiB."""

    time_cost: int
    memory_kib: int
    parallelism: int
    hash_len: int = 32
    salt_len: int = 16


#: OWASP Password Storage Cheat Sheet, first choice: Argon2id m=19 MiB, t=2, p=1.
PRODUCTION_HASH = HashParams(time_cost=2, memory_kib=19456, parallelism=1)
#: Only for tests: argon2's smallest cost, so the suite stays fast. Never configure it in use.
CHEAP_HASH = HashParams(time_cost=1, memory_kib=8, parallelism=1, hash_len=16, salt_len=16)


@dataclass(frozen=True)
class ThrottlePolicy:
    """Failures allowed before back-off, the back-off curve and the hard stop.

    After ``n`` consecutive failures the next attempt waits
    ``min(base × 2^(n − free), cap)`` once ``n ≥ free``; at ``hard_stop`` failures nothing is
    verified any more until an explicit reset. ``forget_after`` clears the count when the last
    failure is that old (used for IP addresses, never for accounts: NIST counts *consecutive*
    failures).
    """

    free: int
    base: timedelta
    cap: timedelta
    hard_stop: int | None
    forget_after: timedelta | None = None


@dataclass(frozen=True)
class SessionPolicy:
    idle: timedelta = timedelta(minutes=30)
    absolute: timedelta = timedelta(hours=12)
    #: a session waiting for its second factor lives this long
    second_factor: timedelta = timedelta(minutes=5)


@dataclass(frozen=True)
class TotpPolicy:
    step_seconds: int = 30
    digits: int = 6
    #: steps accepted either side of now: 1 = {t−1, t, t+1}, a drift allowance (ADR 0012)
    window: int = 1
    issuer: str = "tsunagu"


@dataclass(frozen=True)
class IdentitySettings:
    hash: HashParams = PRODUCTION_HASH
    sessions: SessionPolicy = field(default_factory=SessionPolicy)
    totp: TotpPolicy = field(default_factory=TotpPolicy)
    #: per account (keyed by the normalised e-mail, so unknown addresses behave the same)
    account_throttle: ThrottlePolicy = ThrottlePolicy(
        free=5, base=timedelta(seconds=30), cap=timedelta(minutes=15), hard_stop=100
    )
    #: per client address: more room (offices share addresses), no hard stop, forgets after 1 h
    ip_throttle: ThrottlePolicy = ThrottlePolicy(
        free=20,
        base=timedelta(seconds=30),
        cap=timedelta(minutes=15),
        hard_stop=None,
        forget_after=timedelta(hours=1),
    )
    #: per second factor (TOTP and recovery codes): a delay from the first failure, doubling
    code_throttle: ThrottlePolicy = ThrottlePolicy(
        free=1, base=timedelta(seconds=1), cap=timedelta(minutes=15), hard_stop=100
    )
    recent_auth: timedelta = timedelta(minutes=5)
    #: the key that seals TOTP seeds at rest; None stores them in clear (``identity/sealing.py``)
    seed_key: SeedKey | None = None
    recovery_code_count: int = 10
    #: a password-reset token works this long, once (AUTH-08: at most 30 minutes)
    reset_lifetime: timedelta = timedelta(minutes=30)
    #: reset e-mails per account (keyed like sign-in): 3 at once, then one per back-off step;
    #: a refused request answers exactly like an accepted one (no enumeration)
    reset_throttle: ThrottlePolicy = ThrottlePolicy(
        free=3,
        base=timedelta(minutes=5),
        cap=timedelta(hours=1),
        hard_stop=None,
        forget_after=timedelta(hours=1),
    )
    #: an e-mail verification link works this long, once
    verification_lifetime: timedelta = timedelta(hours=24)
    #: an unlink confirmation code (8 digits, e-mailed) works this long, once
    unlink_code_lifetime: timedelta = timedelta(minutes=10)
    #: wrong unlink codes before the confirmation is dead
    unlink_code_attempts: int = 5
    #: a link waiting for the consent of an account without a second factor (AUTH-13 f)
    link_request_lifetime: timedelta = timedelta(hours=24)
    #: an API token lives at most this long; one asked for without an expiry gets it (AUTH-18)
    token_max_lifetime: timedelta = timedelta(days=365)


PRODUCTION = IdentitySettings()

# -- e-mail and passwords ---------------------------------------------------------------------

MIN_PASSWORD = 8
MAX_PASSWORD = 128
MAX_EMAIL = 254
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalise_email(raw: str) -> str:
    """NFKC, trimmed and case-folded: one address, one principal, however it is typed."""
    email = unicodedata.normalize("NFKC", raw).strip().casefold()
    if len(email) > MAX_EMAIL or not _EMAIL.match(email) or has_control(email):
        raise InvalidEmail()
    return email


def normalise_password(raw: str) -> str:
    """NFKC (NIST 800-63B §5.1.1.2): the same password typed on any keyboard is the same.

    No trimming, no case folding, no truncation (ASVS 6.2.8).
    """
    return unicodedata.normalize("NFKC", raw)


def password_problem(
    password: str, *, common: Collection[str], context: Iterable[str] = ()
) -> PasswordRejected | None:
    """Why ``password`` (already normalised) may not be set, or None (AUTH-01).

    Length counts code points: 8 to 128. No composition rules. The common list and the context
    words (the e-mail's local part, the display name, the product name) compare case-folded.
    """
    length = len(password)
    if length < MIN_PASSWORD:
        return PasswordRejected(
            "password_too_short",
            N_("The password must have at least {minimum} characters."),
            minimum=MIN_PASSWORD,
        )
    if length > MAX_PASSWORD:
        return PasswordRejected(
            "password_too_long",
            N_("The password may have at most {maximum} characters."),
            maximum=MAX_PASSWORD,
        )
    folded = password.casefold()
    if folded in common:
        return PasswordRejected(
            "password_too_common",
            N_("This password is too common. Choose one that is harder to guess."),
        )
    stripped = "".join(ch for ch in folded if ch.isalpha())
    for word in context:
        word = normalise_password(word).casefold()
        if len(word) >= 4 and (folded == word or stripped == word):
            return PasswordRejected(
                "password_context",
                N_("The password must not be your name, e-mail address or the product's name."),
            )
    return None


def context_words(email: str, display_name: str) -> list[str]:
    words = [email, email.split("@", 1)[0], display_name, "tsunagu"]
    words.extend(display_name.split())
    return words


# -- throttling -------------------------------------------------------------------------------


def backoff(policy: ThrottlePolicy, failures: int) -> timedelta:
    """The wait after ``failures`` consecutive failures (zero before ``policy.free``)."""
    if failures < policy.free:
        return timedelta(0)
    exponent = min(failures - policy.free, 30)
    wait: timedelta = policy.base * (1 << exponent)
    return min(wait, policy.cap)


def is_hard_stopped(policy: ThrottlePolicy, failures: int) -> bool:
    return policy.hard_stop is not None and failures >= policy.hard_stop


def retry_after_seconds(next_allowed: datetime, now: datetime) -> int:
    """Whole seconds to wait, at least 1 (a ``Retry-After`` of 0 invites a busy loop)."""
    return max(1, int((next_allowed - now).total_seconds() + 0.999))


# -- sessions ---------------------------------------------------------------------------------


def session_expiry(
    policy: SessionPolicy, *, started_at: datetime, last_seen_at: datetime, full: bool
) -> datetime:
    """When a session stops working: idle or absolute limit, whichever is first (AUTH-15)."""
    absolute = started_at + (policy.absolute if full else policy.second_factor)
    return min(absolute, last_seen_at + policy.idle)


def require_recent_auth(
    session_row: object, now: datetime, within: timedelta = timedelta(minutes=5)
) -> None:
    """Refuse a sensitive action unless the session fully re-authenticated ``within`` (AUTH-12).

    ``session_row`` is anything with ``last_authenticated_at`` (aware UTC) and ``stage``
    (``"full"`` once every factor was presented).
    """
    at = getattr(session_row, "last_authenticated_at", None)
    stage = getattr(session_row, "stage", None)
    if stage != "full" or at is None or not (now - within <= at <= now + timedelta(seconds=5)):
        raise ReauthRequired(int(within.total_seconds() // 60))


# -- TOTP -------------------------------------------------------------------------------------


def time_step(now: datetime, step_seconds: int) -> int:
    """RFC 6238 T with T0 = 0: whole steps since the Unix epoch, from the server clock."""
    return int(now.timestamp()) // step_seconds


def candidate_steps(now: datetime, policy: TotpPolicy) -> list[int]:
    """The steps a code may come from, nearest first: t, t−1, t+1 for a window of 1 (AUTH-04)."""
    t = time_step(now, policy.step_seconds)
    steps = [t]
    for delta in range(1, policy.window + 1):
        steps.extend((t - delta, t + delta))
    return steps


def normalise_code(raw: str) -> str:
    """Codes as typed: spaces and dashes dropped, NFKC (full-width digits from a Japanese IME)."""
    text = unicodedata.normalize("NFKC", raw)
    return "".join(ch for ch in text if not ch.isspace() and ch != "-").casefold()


# -- audit text -------------------------------------------------------------------------------

_LINE_BREAKING = {"\u2028", "\u2029", "\u0085"}


def has_control(text: str) -> bool:
    return any(unicodedata.category(ch) == "Cc" or ch in _LINE_BREAKING for ch in text)


def escape_control(text: str) -> str:
    """Make a value safe for one log line (PRIV-05, ASVS 16.4.1).

    CR, LF, every other control character and the Unicode line and paragraph separators become
    visible ``\\uXXXX`` escapes, and a backslash is doubled so an escape cannot be faked: the
    result never starts a new line in any viewer, and decoding it is unambiguous.
    """
    out = []
    for ch in text:
        if ch == "\\":
            out.append("\\\\")
        elif unicodedata.category(ch) == "Cc" or ch in _LINE_BREAKING:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return "".join(out)


#: detail keys that must never reach the audit log: the values would be secrets
FORBIDDEN_AUDIT_KEYS = frozenset(
    {"password", "code", "secret", "token", "recovery_code", "totp", "otp", "hash"}
)


# -- API tokens -------------------------------------------------------------------------------

#: every API token starts with this, so secret scanners and people recognise one
TOKEN_PREFIX = "tsu_"  # noqa: S105 (a label, not a secret)
TOKEN_SCOPES = ("read", "write")
#: what each token scope allows; a token never allows ``manage`` (ADR 0013)
_SCOPE_ACTIONS = {"read": frozenset({"read"}), "write": frozenset({"read", "write"})}


def token_allows(scope: str, resources: Collection[str], resource: str, action: str) -> bool:
    """Whether a token of ``scope`` over ``resources`` covers ``action`` on ``resource``.

    Only the token's own limits: the slice that owns the resource also checks that the token's
    principal still has the access (a token never outlives a revoked role).
    """
    return resource in resources and action in _SCOPE_ACTIONS.get(scope, frozenset())
