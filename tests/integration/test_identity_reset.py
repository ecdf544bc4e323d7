"""Password reset by one-time token on SQLite and PostgreSQL (issue 6 point 5, AUTH-08; audit
PRIV-05). Messages go to the default outbox sender; cheap Argon2 parameters; the clock is passed
in."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.conftest import Db
from tests.integration.test_identity import NOW, PASSWORD, S, enrol, make_user, resolve, sign_in, tx
from tsunagu.access import service as access
from tsunagu.identity import audit, mail, repo, reset, service, verify
from tsunagu.identity.errors import (
    PasswordRejected,
    ResetTokenInvalid,
    SecondFactorRequired,
    SessionInvalid,
)
from tsunagu.identity.mail import Mail
from tsunagu.identity.models import (
    AuthThrottle,
    EmailVerification,
    OutboxMessage,
    PasswordReset,
    Principal,
)

EMAIL = "hanako@example.jp"
NEW = "lantern over the bay"
CODE = re.compile(r"Reset code \(valid for (\d+) minutes, once\): (\S+)")


def request(db: Db, email: str = EMAIL, now: datetime = NOW, settings: Any = S) -> None:
    assert tx(db, lambda s: reset.request_reset(s, email=email, now=now, settings=settings)) is None


def outbox(db: Db) -> list[Any]:
    return tx(db, lambda s: mail.list_outbox(s))


def last_code(db: Db) -> str:
    message = next(m for m in outbox(db) if m.kind == "password_reset")
    found = CODE.search(message.body)
    assert found is not None, message.body
    return found.group(2)


def complete(db: Db, token: str, password: str = NEW, now: datetime = NOW) -> Any:
    """As every entry point finishes a reset: the access slice's wrapper (tokens and notices)."""
    return tx(
        db,
        lambda s: access.complete_reset(s, token=token, new_password=password, now=now, settings=S),
    )


def test_auth08_token_is_long_hashed_single_use_and_no_auto_login(db: Db):
    """AUTH-08: ≥ 128 bits, only the hash stored, a second use fails, no session is created."""
    principal = make_user(db)
    request(db)
    token = last_code(db)
    assert len(token) >= 43  # 32 random bytes
    row = tx(db, lambda s: s.scalars(select(PasswordReset)).one())
    assert row.token_hash == reset.hash_reset_token(token)
    assert token not in row.token_hash
    assert row.expires_at == NOW + timedelta(minutes=30)
    # an issued token changes nothing about the account
    assert sign_in(db, EMAIL, PASSWORD, NOW).ok

    assert complete(db, token, now=NOW + timedelta(minutes=1)).ok
    again = complete(db, token, password="another long phrase", now=NOW + timedelta(minutes=2))
    assert isinstance(again.failure, ResetTokenInvalid)
    assert again.failure.code == "reset_token_invalid"
    assert not sign_in(db, EMAIL, PASSWORD, NOW + timedelta(minutes=3)).ok
    fresh = sign_in(db, EMAIL, NEW, NOW + timedelta(minutes=10))
    assert fresh.ok
    assert fresh.principal_id == principal
    kinds = [m.kind for m in outbox(db)]
    assert kinds == ["password_changed", "password_reset"]  # the owner is told


def test_auth08_token_expires_after_the_configured_lifetime(db: Db):
    make_user(db)
    short = replace(S, reset_lifetime=timedelta(minutes=10))
    request(db, settings=short)
    token = last_code(db)
    assert CODE.search(outbox(db)[0].body).group(1) == "10"  # type: ignore[union-attr]
    late = complete(db, token, now=NOW + timedelta(minutes=10))
    assert isinstance(late.failure, ResetTokenInvalid)
    assert sign_in(db, EMAIL, PASSWORD, NOW + timedelta(minutes=11)).ok


def test_auth08_a_newer_request_supersedes_the_older_token(db: Db):
    make_user(db)
    request(db)
    first = last_code(db)
    request(db, now=NOW + timedelta(seconds=1))
    second = last_code(db)
    assert first != second
    assert isinstance(complete(db, first).failure, ResetTokenInvalid)
    assert complete(db, second).ok


def test_auth08_no_enumeration_unknown_and_disabled_accounts_answer_alike(db: Db):
    """AUTH-08/AUTH-07: the caller gets the same (nothing) for every address; only real active
    accounts get mail; unknown or malformed addresses leave no token."""
    principal = make_user(db)
    request(db, "nobody@example.jp")
    request(db, "not an address")
    assert outbox(db) == []
    tx(db, lambda s: setattr(s.get(Principal, principal), "status", "disabled"))
    request(db)
    assert outbox(db) == []
    assert tx(db, lambda s: s.scalar(select(func.count()).select_from(PasswordReset))) == 0
    log = tx(db, lambda s: audit.list_entries(s, action="authn_password_reset_request"))
    assert [e.outcome for e in log] == ["failure"] * 3
    assert all("nobody" not in e.model_dump_json() for e in log)


def test_reset_requests_are_throttled_per_account_silently(db: Db):
    make_user(db)
    for i in range(5):
        request(db, now=NOW + timedelta(seconds=i))
    assert len(outbox(db)) == 3  # three at once, then the back-off (same answer to the caller)
    denied = tx(db, lambda s: audit.list_entries(s, action="excess_rate_limit_exceeded"))
    assert [e.details["scope"] for e in denied] == ["password_reset", "password_reset"]
    request(db, now=NOW + timedelta(hours=2))
    assert len(outbox(db)) == 4


def test_auth08_reset_kills_every_session_of_the_account(db: Db):
    """AUTH-08 (pre-hijacking fix): every session of the account ends, none is created."""
    make_user(db)
    phone = sign_in(db, EMAIL, PASSWORD, NOW)
    laptop = sign_in(db, EMAIL, PASSWORD, NOW)
    other = make_user(db, "taro@example.jp")
    theirs = sign_in(db, "taro@example.jp", PASSWORD, NOW)
    assert other
    assert phone.token
    assert laptop.token
    assert theirs.token
    request(db)
    assert complete(db, last_code(db), now=NOW + timedelta(minutes=1)).ok
    for token in (phone.token, laptop.token):
        with pytest.raises(SessionInvalid):
            resolve(db, token, NOW + timedelta(minutes=2))
    assert resolve(db, theirs.token, NOW + timedelta(minutes=2)).principal_id == other
    entry = tx(db, lambda s: audit.list_entries(s, action="authn_password_reset"))[0]
    assert entry.details == {
        "sessions_ended": 2,
        "linked_sessions_ended": 0,
        "links_cut": False,
        "email_verified": True,
    }


def test_finishing_a_reset_verifies_the_address(db: Db):
    """ADR 0014: the reset code arrived at the address and was used, so the address is verified
    (and stays verified at the time of the first proof); pending verification codes end."""
    principal = make_user(db)
    assert tx(db, lambda s: s.get(Principal, principal).email_verified_at) is None
    tx(db, lambda s: verify.request_verification(s, principal_id=principal, now=NOW))
    request(db)
    assert complete(db, last_code(db), now=NOW + timedelta(minutes=1)).ok
    assert tx(db, lambda s: s.get(Principal, principal).email_verified_at) == NOW + timedelta(
        minutes=1
    )
    pending = tx(db, lambda s: s.scalars(select(EmailVerification)).one())
    assert pending.used_at == NOW + timedelta(minutes=1)
    request(db, now=NOW + timedelta(hours=2))
    assert complete(db, last_code(db), now=NOW + timedelta(hours=2, minutes=1)).ok
    assert tx(db, lambda s: s.get(Principal, principal).email_verified_at) == NOW + timedelta(
        minutes=1
    )


def test_auth08_reset_never_bypasses_two_factor(db: Db):
    """AUTH-08 / ASVS 5 6.4.3: after a reset the next sign-in still waits for the TOTP code."""
    principal_id, _, _ = enrol(db)
    request(db)
    assert complete(db, last_code(db), now=NOW + timedelta(minutes=1)).ok
    again = sign_in(db, EMAIL, NEW, NOW + timedelta(minutes=2))
    assert again.ok
    assert again.principal_id == principal_id
    assert again.stage == "second_factor"
    assert again.token
    with pytest.raises(SecondFactorRequired):
        resolve(db, again.token, NOW + timedelta(minutes=2))


def test_policy_is_checked_before_the_token_is_spent(db: Db):
    make_user(db)
    request(db)
    token = last_code(db)
    with pytest.raises(PasswordRejected) as weak:
        complete(db, token, password="password")
    assert weak.value.code == "password_too_common"
    with pytest.raises(PasswordRejected):
        complete(db, token, password="short")
    assert complete(db, token).ok


def test_unknown_token_is_refused_and_audited_without_the_token(db: Db):
    make_user(db)
    failed = complete(db, "made-up-token-value-that-is-long-enough-000000")
    assert isinstance(failed.failure, ResetTokenInvalid)
    log = tx(db, lambda s: audit.list_entries(s, action="authn_password_reset_fail"))
    assert [(e.actor, e.details["reason"]) for e in log] == [("anonymous", "unknown")]


def test_auth06_reset_clears_the_hard_stop(db: Db):
    """AUTH-06: a locked-out owner recovers through the reset (no permanent lockout)."""
    make_user(db)
    tx(
        db,
        lambda s: s.merge(
            AuthThrottle(
                key=service.account_key(EMAIL),
                failures=S.account_throttle.hard_stop,
                last_failure_at=NOW,
                next_allowed_at=None,
            )
        ),
    )
    locked = sign_in(db, EMAIL, PASSWORD, NOW)
    assert locked.failure is not None
    assert locked.failure.code == "sign_in_locked"
    request(db)
    assert complete(db, last_code(db)).ok
    assert sign_in(db, EMAIL, NEW, NOW + timedelta(minutes=1)).ok
    row = tx(db, lambda s: repo.throttle_row(s, service.account_key(EMAIL)))
    assert row is not None
    assert row.failures == 0


def test_priv05_reset_journey_is_audited_and_no_secret_in_the_log(db: Db):
    """PRIV-05 / AUTH-16: request, completion and failures each leave an entry; the reset code
    and the passwords never appear in the log."""
    make_user(db)
    request(db)
    token = last_code(db)
    assert complete(db, token).ok
    complete(db, token)
    log = tx(db, lambda s: audit.list_entries(s, limit=1000))
    actions = [e.action for e in log]
    for action in (
        "authn_password_reset_request",
        "authn_password_reset",
        "authn_password_reset_fail",
    ):
        assert action in actions
    text = "\n".join(tx(db, lambda s: list(audit.export_jsonl(s))))
    for secret in (token, NEW, PASSWORD):
        assert secret not in text


class RecordingSender:
    def __init__(self) -> None:
        self.sent: list[Mail] = []

    def send(self, session: Any, mail: Mail, now: datetime) -> None:
        self.sent.append(mail)


def test_the_sender_is_pluggable_and_messages_can_be_japanese(db: Db):
    make_user(db)
    sender = RecordingSender()
    tx(
        db,
        lambda s: reset.request_reset(
            s,
            email=EMAIL,
            now=NOW,
            settings=S,
            sender=sender,
            lang="ja",
            link_base="https://tsunagu.example/reset",
        ),
    )
    assert tx(db, lambda s: s.scalar(select(func.count()).select_from(OutboxMessage))) == 0
    [message] = sender.sent
    assert message.to == EMAIL
    assert message.kind == "password_reset"
    assert "https://tsunagu.example/reset?token=" in message.body
    assert message.subject != reset.RESET_SUBJECT  # translated
