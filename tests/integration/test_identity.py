"""The identity core on SQLite and PostgreSQL: sign-in, throttling, sessions, TOTP, recovery
codes and the audit log. Cheap Argon2 parameters (production ones are asserted in the unit
tests); the clock is passed in, nothing sleeps. Each test names the target it proves."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from tests.conftest import Db
from tsunagu.core.db import unit_of_work
from tsunagu.identity import audit, factors, service
from tsunagu.identity.audit import Client
from tsunagu.identity.errors import (
    InvalidCode,
    InvalidCredentials,
    PasswordRejected,
    ReauthRequired,
    SessionInvalid,
    SessionNotFound,
    SignInLocked,
    TooManyAttempts,
)
from tsunagu.identity.factors import totp_code
from tsunagu.identity.models import AuthSession, Principal, RecoveryCode, TotpFactor
from tsunagu.identity.rules import CHEAP_HASH, HashParams, IdentitySettings, time_step
from tsunagu.identity.sealing import SeedKey

NOW = datetime(2026, 11, 25, 12, 0, 10, tzinfo=UTC)
S = IdentitySettings(hash=CHEAP_HASH, seed_key=SeedKey(raw=b"k" * 32))
PASSWORD = "violet harbour kite"
T = TypeVar("T")


def tx(db: Db, fn: Callable[[Any], T]) -> T:
    with unit_of_work(db.factory) as session:
        return fn(session)


def make_user(db: Db, email: str = "hanako@example.jp", password: str = PASSWORD) -> str:
    return tx(
        db,
        lambda s: (
            service.create_principal(
                s, email=email, display_name="Hanako", password=password, now=NOW, settings=S
            ).id
        ),
    )


def sign_in(db: Db, email: str, password: str, now: datetime, ip: str | None = None):
    return tx(
        db,
        lambda s: service.sign_in(
            s, email=email, password=password, now=now, settings=S, client=Client(ip=ip)
        ),
    )


def resolve(db: Db, token: str, now: datetime) -> AuthSession:
    return tx(db, lambda s: service.resolve(s, token=token, now=now, settings=S))


def enrol(db: Db, email: str = "hanako@example.jp") -> tuple[str, str, list[str]]:
    """Create, sign in, enrol TOTP; returns (principal id, secret, recovery codes)."""
    make_user(db, email)
    result = sign_in(db, email, PASSWORD, NOW)
    assert result.ok
    assert result.token
    token = result.token

    def begin(s: Any):
        auth = service.resolve(s, token=token, now=NOW, settings=S)
        return factors.begin_totp(s, auth=auth, now=NOW, settings=S)

    enrolment = tx(db, begin)
    code = totp_code(enrolment.secret, time_step(NOW, 30) - 1, S.totp)

    def confirm(s: Any):
        auth = service.resolve(s, token=token, now=NOW, settings=S)
        return factors.confirm_totp(s, auth=auth, code=code, now=NOW, settings=S)

    confirmed = tx(db, confirm)
    assert confirmed.ok, confirmed.failure
    assert result.principal_id
    return result.principal_id, enrolment.secret, confirmed.recovery_codes


def verify(db: Db, principal_id: str, code: str, now: datetime) -> service.Outcome:
    return tx(
        db,
        lambda s: factors.verify_totp(s, principal_id=principal_id, code=code, now=now, settings=S),
    )


def in_parallel(count: int, fn: Callable[[], T]) -> list[T]:
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = fn()
        except Exception as exc:  # surfaced by the assertions below
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return results


# -- passwords and sign-in --------------------------------------------------------------------


def test_auth01_change_needs_current_password_and_checks_the_list(db: Db):
    """AUTH-01: change requires the current password; a common password is refused at change."""
    make_user(db)
    token = sign_in(db, "hanako@example.jp", PASSWORD, NOW).token
    assert token

    def change(current: str, new: str):
        def run(s: Any):
            auth = service.resolve(s, token=token, now=NOW, settings=S)
            return service.change_password(
                s, auth=auth, current_password=current, new_password=new, now=NOW, settings=S
            )

        return tx(db, run)

    assert isinstance(change("wrong password", "new sapphire lantern").failure, InvalidCredentials)
    with pytest.raises(PasswordRejected) as caught:
        change(PASSWORD, "iloveyou")
    assert caught.value.code == "password_too_common"
    assert change(PASSWORD, "new sapphire lantern").ok
    assert sign_in(db, "hanako@example.jp", "new sapphire lantern", NOW).ok
    with pytest.raises(PasswordRejected):
        make_user(db, "taro@example.jp", "password123")


def test_auth02_rehash_on_sign_in_when_parameters_change(db: Db):
    """AUTH-02: a hash made with old parameters is replaced at the next successful sign-in."""
    pid = make_user(db)
    stronger = IdentitySettings(hash=HashParams(time_cost=2, memory_kib=16, parallelism=1))
    result = tx(
        db,
        lambda s: service.sign_in(
            s, email="hanako@example.jp", password=PASSWORD, now=NOW, settings=stronger
        ),
    )
    assert result.ok
    stored = tx(db, lambda s: s.get(Principal, pid).password_hash)
    assert stored.startswith("$argon2id$v=19$m=16,t=2,p=1$")


def test_auth06_backoff_from_the_fifth_failure_and_reset_on_success(db: Db):
    """AUTH-06: failures 1–4 answer at once; from the 5th a growing Retry-After; during the wait
    even the right password is not verified; after it the right password works and resets."""
    make_user(db)
    now, waits = NOW, []
    for attempt in range(7):
        result = sign_in(db, "hanako@example.jp", "wrong guess!", now, ip="198.51.100.7")
        assert isinstance(result.failure, InvalidCredentials)
        waits.append(result.failure.retry_after)
        if result.failure.retry_after and attempt < 6:
            now += timedelta(seconds=result.failure.retry_after)
    assert waits == [None, None, None, None, 30, 60, 120]
    blocked = sign_in(db, "hanako@example.jp", PASSWORD, now)
    assert isinstance(blocked.failure, TooManyAttempts)
    assert blocked.failure.retry_after == 120
    ok = sign_in(db, "hanako@example.jp", PASSWORD, now + timedelta(seconds=120))
    assert ok.ok
    again = sign_in(db, "hanako@example.jp", "wrong guess!", now + timedelta(seconds=121))
    assert isinstance(again.failure, InvalidCredentials)
    assert again.failure.retry_after is None


def test_auth06_hard_stop_at_100_consecutive_failures(db: Db):
    """AUTH-06: at most 100 consecutive failures reach the verifier; then nothing is verified,
    however long one waits, until the account is unlocked (e.g. by a password reset)."""
    make_user(db)
    now, verified = NOW, 0
    for _ in range(105):
        result = sign_in(db, "hanako@example.jp", "wrong guess!", now)
        if isinstance(result.failure, InvalidCredentials):
            verified += 1
        now += timedelta(minutes=16)
    assert verified == 99  # the 100th failure answers with the lock itself
    late = sign_in(db, "hanako@example.jp", PASSWORD, now + timedelta(days=3))
    assert isinstance(late.failure, SignInLocked)
    tx(db, lambda s: service.unlock_sign_in(s, email="hanako@example.jp", now=now, actor="op"))
    assert sign_in(db, "hanako@example.jp", PASSWORD, now + timedelta(days=3)).ok


def test_auth06_per_ip_limit_across_accounts(db: Db):
    """AUTH-06: one address spraying many accounts is slowed down; other addresses are not."""
    make_user(db)
    for i in range(20):
        result = sign_in(db, f"user{i}@example.jp", "wrong guess!", NOW, ip="203.0.113.9")
        assert isinstance(result.failure, InvalidCredentials)
    blocked = sign_in(db, "hanako@example.jp", PASSWORD, NOW, ip="203.0.113.9")
    assert isinstance(blocked.failure, TooManyAttempts)
    assert sign_in(db, "hanako@example.jp", PASSWORD, NOW, ip="192.0.2.1").ok


def test_auth06_concurrent_guesses_do_not_share_a_free_slot(db: Db):
    """AUTH-06 under concurrency: 8 parallel wrong passwords at the same instant; the count is
    taken before verifying, so exactly 5 reach the verifier and 3 are told to wait."""
    make_user(db)
    results = in_parallel(8, lambda: sign_in(db, "hanako@example.jp", "wrong guess!", NOW))
    kinds = sorted(type(r.failure).__name__ for r in results)
    assert kinds == ["InvalidCredentials"] * 5 + ["TooManyAttempts"] * 3


def test_auth07_unknown_and_known_accounts_answer_alike(db: Db):
    """AUTH-07: an unknown e-mail, a wrong password and a disabled account give the same code,
    status, message and back-off; the dummy hash is verified so the work done is the same."""
    pid = make_user(db)
    make_user(db, "jiro@example.jp")
    tx(db, lambda s: service.disable_principal(s, principal_id=pid, now=NOW, actor="op"))
    envelopes: dict[str, list[Any]] = {}
    for email in ("nobody@example.jp", "jiro@example.jp", "hanako@example.jp"):
        now = NOW
        for _ in range(6):
            result = sign_in(db, email, "wrong guess!" if "jiro" in email else PASSWORD, now)
            assert result.failure is not None
            envelopes.setdefault(email, []).append(
                (result.failure.status, result.failure.envelope("en"))
            )
            now += timedelta(minutes=1)
    first, *others = envelopes.values()
    assert all(other == first for other in others)
    assert first[0][1]["error"]["code"] == "invalid_credentials"


# -- sessions ---------------------------------------------------------------------------------


def test_auth14_tokens_are_random_stored_hashed_and_die_on_sign_out(db: Db):
    """AUTH-14: ≥ 128-bit tokens, only their hash stored; sign-out kills the token server-side."""
    make_user(db)
    result = sign_in(db, "hanako@example.jp", PASSWORD, NOW)
    assert result.token
    assert len(result.token) >= 43
    rows = tx(db, lambda s: list(s.scalars(select(AuthSession))))
    assert [r.token_hash for r in rows] == [service.hash_token(result.token)]
    assert result.token not in str([vars(r) for r in rows])
    tx(db, lambda s: service.sign_out(s, token=result.token, now=NOW))
    with pytest.raises(SessionInvalid):
        resolve(db, result.token, NOW)


def test_auth14_rotation_on_second_factor_and_step_up(db: Db):
    """AUTH-14: a new id after the TOTP step and after step-up; each old id is dead."""
    pid, secret, _ = enrol(db)
    first = sign_in(db, "hanako@example.jp", PASSWORD, NOW + timedelta(minutes=1))
    assert first.stage == "second_factor"
    assert first.token
    later = NOW + timedelta(minutes=1)
    code = totp_code(secret, time_step(later, 30), S.totp)
    second = tx(
        db,
        lambda s: service.complete_second_factor(
            s, token=first.token, code=code, now=later, settings=S
        ),
    )
    assert second.ok
    assert second.token
    assert second.session_id != first.session_id
    with pytest.raises(SessionInvalid):
        resolve(db, first.token, later)
    assert resolve(db, second.token, later).stage == "full"
    step = later + timedelta(minutes=10)
    third = tx(
        db,
        lambda s: service.step_up(
            s,
            token=second.token,
            password=PASSWORD,
            now=step,
            settings=S,
            code=totp_code(secret, time_step(step, 30), S.totp),
        ),
    )
    assert third.ok
    assert third.token
    assert third.session_id not in (first.session_id, second.session_id)
    with pytest.raises(SessionInvalid):
        resolve(db, second.token, step)
    assert resolve(db, third.token, step).last_authenticated_at == step
    assert pid == third.principal_id


def test_auth14_disabling_a_principal_kills_every_session(db: Db):
    pid = make_user(db)
    tokens = [sign_in(db, "hanako@example.jp", PASSWORD, NOW).token for _ in range(3)]
    tx(db, lambda s: service.disable_principal(s, principal_id=pid, now=NOW, actor="op"))
    for token in tokens:
        assert token
        with pytest.raises(SessionInvalid):
            resolve(db, token, NOW)


def test_auth15_idle_and_absolute_limits(db: Db):
    """AUTH-15: used every 29 min the session lives until 12 h after sign-in, not a second more;
    left alone for 30 min it ends."""
    make_user(db)
    token = sign_in(db, "hanako@example.jp", PASSWORD, NOW).token
    assert token
    now = NOW
    while now + timedelta(minutes=29) < NOW + timedelta(hours=12):
        now += timedelta(minutes=29)
        resolve(db, token, now)
    with pytest.raises(SessionInvalid):
        resolve(db, token, NOW + timedelta(hours=12))
    idle = sign_in(db, "hanako@example.jp", PASSWORD, NOW).token
    assert idle
    resolve(db, idle, NOW + timedelta(minutes=29, seconds=59))
    with pytest.raises(SessionInvalid):
        resolve(db, idle, NOW + timedelta(minutes=59, seconds=59))


def test_list_and_revoke_own_sessions_only(db: Db):
    """AUTH-14/15: a principal lists its live sessions and ends one; another's id is not found."""
    make_user(db)
    make_user(db, "jiro@example.jp")
    mine = [sign_in(db, "hanako@example.jp", PASSWORD, NOW) for _ in range(2)]
    theirs = sign_in(db, "jiro@example.jp", PASSWORD, NOW)
    me = resolve(db, mine[0].token or "", NOW)
    listed = tx(
        db, lambda s: service.list_sessions(s, principal_id=me.principal_id, now=NOW, settings=S)
    )
    assert {x.id for x in listed} == {m.session_id for m in mine}
    with pytest.raises(SessionNotFound):
        tx(
            db,
            lambda s: service.revoke_own_session(
                s, auth=me, session_id=theirs.session_id or "", now=NOW
            ),
        )
    tx(
        db,
        lambda s: service.revoke_own_session(
            s, auth=me, session_id=mine[1].session_id or "", now=NOW
        ),
    )
    with pytest.raises(SessionInvalid):
        resolve(db, mine[1].token or "", NOW)
    assert resolve(db, theirs.token or "", NOW)


# -- TOTP -------------------------------------------------------------------------------------


def test_totp_enrolment_gives_local_svg_and_needs_a_confirmation_code(db: Db):
    """AUTH-12 too: enrolment 6 minutes after sign-in is refused until step-up."""
    make_user(db)
    token = sign_in(db, "hanako@example.jp", PASSWORD, NOW).token or ""

    def begin(at: datetime):
        return lambda s: factors.begin_totp(
            s, auth=service.resolve(s, token=token, now=at, settings=S), now=at, settings=S
        )

    with pytest.raises(ReauthRequired):
        tx(db, begin(NOW + timedelta(minutes=6)))
    enrolment = tx(db, begin(NOW))
    assert enrolment.uri.startswith("otpauth://totp/tsunagu:hanako%40example.jp?secret=")
    assert enrolment.svg.startswith("<svg")
    assert "</svg>" in enrolment.svg
    assert len(enrolment.secret) == 32  # 160 bits

    def confirm(code: str, at: datetime):
        return lambda s: factors.confirm_totp(
            s,
            auth=service.resolve(s, token=token, now=NOW, settings=S),
            code=code,
            now=at,
            settings=S,
        )

    assert isinstance(tx(db, confirm("000000", NOW)).failure, InvalidCode)
    later = NOW + timedelta(seconds=2)
    good = totp_code(enrolment.secret, time_step(later, 30), S.totp)
    confirmed = tx(db, confirm(good, later))
    assert confirmed.ok
    assert len(confirmed.recovery_codes) == 10
    assert sign_in(db, "hanako@example.jp", PASSWORD, later).stage == "second_factor"


@pytest.mark.parametrize(
    ("offset", "accepted"), [(-2, False), (-1, True), (0, True), (1, True), (2, False)]
)
def test_auth04_window_accepts_minus_one_to_plus_one(db: Db, offset: int, accepted: bool):
    """AUTH-04: codes of steps t−1, t, t+1 are accepted; t±2 are not (30 s step)."""
    pid, secret, _ = enrol(db)
    now = NOW + timedelta(minutes=3)
    code = totp_code(secret, time_step(now, 30) + offset, S.totp)
    assert verify(db, pid, code, now).ok is accepted


def test_auth03_replay_is_refused_and_older_steps_too(db: Db):
    """AUTH-03 (a)+(c): a code verifies once; after step t is accepted, t−1 is refused even
    inside the window; the replay is logged as ``authn_token_reuse``."""
    pid, secret, _ = enrol(db)
    now = NOW + timedelta(minutes=3)
    t = time_step(now, 30)
    assert verify(db, pid, totp_code(secret, t, S.totp), now).ok
    replay = verify(db, pid, totp_code(secret, t, S.totp), now + timedelta(seconds=5))
    assert isinstance(replay.failure, InvalidCode)
    older = verify(db, pid, totp_code(secret, t - 1, S.totp), now + timedelta(seconds=10))
    assert isinstance(older.failure, InvalidCode)
    reuse = tx(db, lambda s: audit.list_entries(s, action="authn_token_reuse"))
    assert len(reuse) == 2
    assert reuse[0].actor == pid


@pytest.mark.parametrize("parallel", [2, 20])
def test_auth03_parallel_logins_accept_a_code_once(db: Db, parallel: int):
    """AUTH-03 (b): 2 and 20 concurrent verifications of one fresh code, each on its own
    connection and transaction: exactly one succeeds, on SQLite and on PostgreSQL."""
    pid, secret, _ = enrol(db)
    now = NOW + timedelta(minutes=3)
    code = totp_code(secret, time_step(now, 30), S.totp)
    results = in_parallel(parallel, lambda: verify(db, pid, code, now))
    assert all(isinstance(r, service.Outcome) for r in results), results
    assert sum(r.ok for r in results) == 1
    step = tx(db, lambda s: s.scalars(select(TotpFactor.last_used_step)).one())
    assert step == time_step(now, 30)


def test_auth05_wrong_codes_impose_a_doubling_delay(db: Db):
    """AUTH-05: after one wrong code the next is refused for 1 s (even the right one), then 2 s…"""
    pid, secret, _ = enrol(db)
    now = NOW + timedelta(minutes=3)
    first = verify(db, pid, "000000", now)
    assert isinstance(first.failure, InvalidCode)
    assert first.failure.retry_after == 1
    right = totp_code(secret, time_step(now, 30), S.totp)
    assert isinstance(verify(db, pid, right, now).failure, TooManyAttempts)
    second = verify(db, pid, "000001", now + timedelta(seconds=1))
    assert isinstance(second.failure, InvalidCode)
    assert second.failure.retry_after == 2
    assert verify(db, pid, right, now + timedelta(seconds=3)).ok


# -- recovery codes ---------------------------------------------------------------------------


def test_auth09_ten_single_use_codes_stored_hashed(db: Db):
    """AUTH-09: 10 codes, each works once, the 11th use fails; the database holds only hashes."""
    pid, _, codes = enrol(db)
    assert len(set(codes)) == 10
    stored = tx(db, lambda s: [r.code_hash for r in s.scalars(select(RecoveryCode))])
    assert len(stored) == 10
    assert all(h.startswith("$argon2id$") for h in stored)
    for code in codes:
        assert code.replace("-", "") not in " ".join(stored)
    now = NOW
    for code in codes:
        result = tx(
            db,
            lambda s, c=code, t=now: factors.use_recovery_code(
                s, principal_id=pid, code=c, now=t, settings=S
            ),
        )
        assert result.ok
        now += timedelta(seconds=1)
    eleventh = tx(
        db,
        lambda s: factors.use_recovery_code(
            s, principal_id=pid, code=codes[0], now=now, settings=S
        ),
    )
    assert isinstance(eleventh.failure, InvalidCode)


def test_auth09_regeneration_needs_step_up_and_kills_the_old_set(db: Db):
    """AUTH-09 + AUTH-12: regeneration is refused 6 min after authentication; afterwards the old
    codes fail and the new ones work."""
    pid, _, old = enrol(db)
    token = sign_in(db, "hanako@example.jp", PASSWORD, NOW).token  # second_factor stage
    assert token

    def regenerate(at: datetime, tok: str):
        return lambda s: factors.regenerate_recovery_codes(
            s,
            auth=service.resolve(s, token=tok, now=at, settings=S, second_factor_ok=True),
            now=at,
            settings=S,
        )

    with pytest.raises(ReauthRequired):  # password only: not a full authentication
        tx(db, regenerate(NOW, token))
    full = tx(
        db,
        lambda s: service.complete_second_factor(s, token=token, code=old[0], now=NOW, settings=S),
    )
    assert full.ok
    assert full.token
    with pytest.raises(ReauthRequired):
        tx(db, regenerate(NOW + timedelta(minutes=6), full.token))
    new = tx(db, regenerate(NOW + timedelta(minutes=4), full.token))
    later = NOW + timedelta(minutes=5)
    assert isinstance(
        tx(
            db,
            lambda s: factors.use_recovery_code(
                s, principal_id=pid, code=old[1], now=later, settings=S
            ),
        ).failure,
        InvalidCode,
    )
    assert tx(
        db,
        lambda s: factors.use_recovery_code(
            s, principal_id=pid, code=new[1], now=later + timedelta(seconds=2), settings=S
        ),
    ).ok


# -- audit log --------------------------------------------------------------------------------


def test_priv05_audit_log_is_append_only_in_the_database(db: Db):
    """PRIV-05: the database itself refuses UPDATE and DELETE on the audit log."""
    tx(db, lambda s: audit.append(s, action="authn_login_fail", outcome="failure", now=NOW))
    for statement in ("UPDATE audit_log SET outcome = 'success'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError), unit_of_work(db.factory) as session:
            session.execute(text(statement))
    entries = tx(db, lambda s: audit.list_entries(s))
    assert [(e.action, e.outcome) for e in entries] == [("authn_login_fail", "failure")]


def test_priv05_crlf_cannot_forge_entries_and_times_are_utc(db: Db):
    """PRIV-05: an attacker-chosen user agent and e-mail with CR/LF stay inside one entry; the
    JSON-lines export has exactly one line per entry; times are aware UTC."""
    evil = "curl\r\n2026-11-25T12:00:00Z admin authn_login_success success"
    sign_in(db, "x\r\n@example.jp", "wrong guess!", NOW, ip="192.0.2.1\n")
    tx(
        db,
        lambda s: audit.append(
            s,
            action="authn_login_fail",
            outcome="failure",
            now=NOW,
            client=Client(user_agent=evil, request_id="r\n1"),
        ),
    )
    lines = tx(db, lambda s: list(audit.export_jsonl(s)))
    assert len(lines) == 2
    assert all("\n" not in line and "\r" not in line for line in lines)
    entries = tx(db, lambda s: audit.list_entries(s))
    assert entries[1].user_agent
    assert "\r" not in entries[1].user_agent
    assert "\\u000d" in entries[1].user_agent
    assert entries[0].ip == "192.0.2.1\\u000a"
    assert all(e.at.utcoffset() == timedelta(0) for e in entries)
    with pytest.raises(ValueError, match="password"):
        tx(
            db,
            lambda s: audit.append(
                s, action="x", outcome="success", now=NOW, details={"password": "p"}
            ),
        )


def test_auth16_every_step_logged_and_no_secret_in_the_log(db: Db):
    """AUTH-16 + PRIV-05: a whole journey leaves one event per step, with filters working, and no
    password, TOTP seed or code, recovery code or session token anywhere in the export."""
    pid, secret, codes = enrol(db)
    bad = sign_in(db, "hanako@example.jp", "wrong guess!", NOW, ip="192.0.2.4")
    first = sign_in(db, "hanako@example.jp", PASSWORD, NOW + timedelta(minutes=1), ip="192.0.2.4")
    later = NOW + timedelta(minutes=1)
    code = totp_code(secret, time_step(later, 30), S.totp)
    done = tx(
        db,
        lambda s: service.complete_second_factor(
            s, token=first.token or "", code=code, now=later, settings=S
        ),
    )
    assert bad.failure
    assert done.ok
    export = "\n".join(tx(db, lambda s: list(audit.export_jsonl(s))))
    for value in (
        PASSWORD,
        secret,
        code,
        first.token,
        done.token,
        *codes,
        *(c.replace("-", "") for c in codes),
    ):
        assert value
        assert value not in export
    actions = [e.action for e in tx(db, lambda s: audit.list_entries(s, actor=pid))]
    created = tx(db, lambda s: audit.list_entries(s, target=pid, action="user_created"))
    assert [e.actor for e in created] == ["system"]
    for expected in (
        "authn_login_success",
        "authn_login_fail",
        "authn_mfa_enabled",
        "authn_mfa_success",
        "session_rotated",
    ):
        assert expected in actions
    fails = tx(db, lambda s: audit.list_entries(s, outcome="failure", since=NOW))
    assert [(e.action, e.ip) for e in fails] == [("authn_login_fail", "192.0.2.4")]
