"""Linked accounts, "linked, never merged" (ADR 0014), on SQLite and PostgreSQL: linking needs a
full sign-in to both accounts and verified addresses (AUTH-13 a, b), one link row however often
it is submitted (AUTH-13 e), one shared second factor (AUTH-13 f, AUTH-03 across the group),
step-up for link and unlink (AUTH-12), and unlinking that ends sessions and cross-seller tokens
(AUTH-13 d) while each side keeps working 2FA. The five account pre-hijacking attacks
(Sudhodanan & Paverd) each have a test. Cheap Argon2 parameters; the clock is passed in."""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select

from tests.conftest import Db
from tests.integration.test_access import make_seller
from tests.integration.test_identity import NOW, PASSWORD, S, in_parallel, sign_in, tx
from tsunagu.access import service as access
from tsunagu.access.rules import PrincipalRoles
from tsunagu.core.db import make_engine, make_sessionmaker, unit_of_work
from tsunagu.identity import (
    audit,
    factors,
    links,
    mail,
    repo,
    reset,
    sealing,
    service,
    verify,
)
from tsunagu.identity.errors import (
    AlreadyLinked,
    EmailTaken,
    EmailUnverified,
    InvalidCode,
    InvalidCredentials,
    LinkedElsewhere,
    LinkNotFound,
    LinkRequestInvalid,
    LinkRequestStale,
    ReauthRequired,
    SecondFactorRequired,
    SessionInvalid,
    TotpAlreadyEnrolled,
    TotpNotEnrolled,
    VerificationInvalid,
)
from tsunagu.identity.factors import totp_code
from tsunagu.identity.models import (
    ApiToken,
    AuthSession,
    EmailVerification,
    IdentityLink,
    LinkGroup,
    Principal,
    RecoveryCode,
    TotpFactor,
)
from tsunagu.identity.rules import time_step
from tsunagu.marketplaces.registry import load_registry
from tsunagu.sellers.service import create_seller

ADMIN = "local-owner"
JP = "jp-owner@example.jp"
US = "us-owner@example.com"
THIRD = "eu-owner@example.de"
UNLINK_CODE = re.compile(r"once\): (\d{8})")
VERIFY_CODE = re.compile(r"once\): (\S+)")


# -- helpers ----------------------------------------------------------------------------------


def person(db: Db, email: str, *, verified: bool = True) -> str:
    def make(s: Any) -> str:
        principal = service.create_principal(
            s,
            email=email,
            display_name=email.split("@")[0].replace("-", " ").title(),
            password=PASSWORD,
            now=NOW,
            settings=S,
        )
        if verified:
            verify.mark_verified(s, principal_id=principal.id, now=NOW, actor=ADMIN)
        return principal.id

    return tx(db, make)


def code_at(secret: str, when: datetime, offset: int = 0) -> str:
    return totp_code(secret, time_step(when, 30) + offset, S.totp)


def login(db: Db, email: str, when: datetime, code: str | None = None) -> str:
    """A full session: the password, then ``code`` when the sign-in asks for a second factor."""
    result = sign_in(db, email, PASSWORD, when)
    assert result.ok, result.failure
    assert result.token
    if result.stage == service.FULL:
        return result.token
    assert code is not None, "this sign-in needs a second factor"
    token = result.token
    done = tx(
        db,
        lambda s: service.complete_second_factor(s, token=token, code=code, now=when, settings=S),
    )
    assert done.ok, done.failure
    assert done.token
    return done.token


def second_factor(db: Db, email: str, code: str, when: datetime) -> service.SignIn:
    started = sign_in(db, email, PASSWORD, when)
    assert started.stage == service.SECOND_FACTOR
    assert started.token
    token = started.token
    return tx(
        db,
        lambda s: service.complete_second_factor(s, token=token, code=code, now=when, settings=S),
    )


def auth(s: Any, token: str, when: datetime) -> AuthSession:
    return service.resolve(s, token=token, now=when, settings=S)


def enrol(db: Db, token: str, when: datetime) -> tuple[str, list[str]]:
    enrolment = tx(
        db, lambda s: factors.begin_totp(s, auth=auth(s, token, when), now=when, settings=S)
    )
    confirmed = tx(
        db,
        lambda s: factors.confirm_totp(
            s, auth=auth(s, token, when), code=code_at(enrolment.secret, when), now=when, settings=S
        ),
    )
    assert confirmed.ok, confirmed.failure
    return enrolment.secret, confirmed.recovery_codes


def link(
    db: Db,
    token: str,
    email: str,
    when: datetime,
    code: str | None = None,
    password: str = PASSWORD,
) -> links.Linked:
    return tx(
        db,
        lambda s: links.link_with(
            s,
            auth=auth(s, token, when),
            email=email,
            password=password,
            code=code,
            now=when,
            settings=S,
        ),
    )


def begin_unlink(db: Db, token: str, target: str, when: datetime) -> None:
    tx(
        db,
        lambda s: links.begin_unlink(
            s, auth=auth(s, token, when), principal_id=target, now=when, settings=S
        ),
    )


def confirm_unlink(db: Db, token: str, code: str, when: datetime) -> links.Unlinked:
    return tx(
        db,
        lambda s: access.unlink(s, auth=auth(s, token, when), code=code, now=when, settings=S),
    )


def step_up(db: Db, token: str, when: datetime, code: str | None = None) -> str:
    result = tx(
        db,
        lambda s: service.step_up(
            s, token=token, password=PASSWORD, code=code, now=when, settings=S
        ),
    )
    assert result.ok, result.failure
    assert result.token
    return result.token


def outbox(db: Db, kind: str, to: str | None = None) -> list[Any]:
    return [m for m in tx(db, lambda s: mail.list_outbox(s, to=to)) if m.kind == kind]


def unlink_code(db: Db, email: str) -> str:
    found = UNLINK_CODE.search(outbox(db, "unlink_code", email)[0].body)
    assert found is not None
    return found.group(1)


def link_rows(db: Db) -> int:
    return tx(db, lambda s: s.scalar(select(func.count()).select_from(IdentityLink)))


def group_ids(db: Db) -> int:
    return tx(db, lambda s: s.scalar(select(func.count()).select_from(LinkGroup)))


def entries(db: Db, action: str, outcome: str | None = None) -> list[Any]:
    return tx(db, lambda s: audit.list_entries(s, action=action, outcome=outcome, limit=1000))


LINK_CODE = re.compile(r"Confirmation code: (\S+)")


def consent_code(db: Db, email: str) -> str:
    """The code of the newest link confirmation sent to ``email``."""
    found = LINK_CODE.search(outbox(db, "link_request", email)[0].body)
    assert found is not None
    return found.group(1)


def email_of(db: Db, principal_id: str) -> str:
    return tx(db, lambda s: s.get(Principal, principal_id).email)


def accept(db: Db, token: str, email: str, when: datetime, code: str | None = None) -> links.Linked:
    """``email``'s owner, signed in with ``token``, accepts the confirmation sent to it."""
    consent = code or consent_code(db, email)
    return tx(
        db,
        lambda s: links.accept_link(
            s, auth=auth(s, token, when), token=consent, now=when, settings=S
        ),
    )


def link_and_consent(
    db: Db,
    token: str,
    email: str,
    when: datetime,
    code: str | None = None,
    sessions: dict[str, str] | None = None,
) -> links.Linked:
    """Link; then every account the link waits for accepts its message, signed in as itself
    (with the session given for its address, or a fresh password sign-in)."""
    result = link(db, token, email, when, code=code)
    waiting = list(result.waiting_for) if result.ok and result.pending else []
    for principal_id in waiting:
        address = email_of(db, principal_id)
        own = (sessions or {}).get(address) or login(db, address, when)
        result = accept(db, own, address, when)
        assert result.ok, result.failure
    return result


def linked_pair(db: Db, when: datetime = NOW) -> tuple[str, str, str]:
    """JP and US linked (no 2FA: both accepted by e-mail); returns (jp id, us id, JP's session
    token)."""
    jp, us = person(db, JP), person(db, US)
    token = login(db, JP, when)
    done = link_and_consent(db, token, US, when, sessions={JP: token})
    assert done.ok, done
    assert not done.pending, done
    return jp, us, token


# -- linking ----------------------------------------------------------------------------------


def test_auth13a_link_needs_the_other_accounts_password_and_second_factor(db: Db):
    """AUTH-13 a: the other account signs in fully inside the flow: a wrong password is the
    sign-in's own answer (and counts as a failed sign-in), a missing or wrong TOTP code is
    ``invalid_code``; with both, the principals are one group and both are notified (AUTH-11)."""
    jp, us = person(db, JP), person(db, US)
    us_token = login(db, US, NOW)
    secret, _ = enrol(db, us_token, NOW)
    later = NOW + timedelta(seconds=60)
    token = login(db, JP, later)

    wrong = link(db, token, US, later, code=code_at(secret, later), password="not the password")
    assert isinstance(wrong.failure, InvalidCredentials)
    unknown = link(db, token, "nobody@example.jp", later)
    assert isinstance(unknown.failure, InvalidCredentials)
    assert unknown.failure.message("en") == wrong.failure.message("en")  # no enumeration
    missing = link(db, token, US, later)
    assert isinstance(missing.failure, InvalidCode)
    off_by_one = f"{(int(code_at(secret, later)) + 1) % 10**6:06d}"
    bad = link(db, token, US, later + timedelta(seconds=1), code=off_by_one)
    assert isinstance(bad.failure, InvalidCode)
    assert link_rows(db) == 0
    assert [e.details["reason"] for e in entries(db, "account_linked", "failure")] == [
        "credentials",
        "credentials",
        "second_factor",
        "second_factor",
    ]
    assert entries(db, "authn_login_fail")  # the wrong password counted like a sign-in's

    waits = link(db, token, US, later + timedelta(seconds=5), code=code_at(secret, later))
    assert waits.ok, waits.failure
    # JP has no second factor of its own: it must agree from its mailbox, signed in (AUTH-13 f)
    assert waits.pending
    assert waits.waiting_for == [jp]
    assert link_rows(db) == 0
    done = accept(db, token, JP, later + timedelta(seconds=5))
    assert done.ok, done.failure
    assert not done.pending
    assert done.principal_id == us
    assert done.replaced_factor is False
    assert tx(db, lambda s: links.linked_ids(s, jp)) == sorted([jp, us])
    assert tx(db, lambda s: links.linked_ids(s, us)) == sorted([jp, us])
    # JP had no 2FA and US had: the group is protected by US's factor (AUTH-13 f)
    assert tx(db, lambda s: links.factor_holder(s, jp)) == us
    assert sign_in(db, JP, PASSWORD, later + timedelta(minutes=1)).stage == service.SECOND_FACTOR
    notices = outbox(db, "account_linked")
    assert sorted(m.to_address for m in notices) == sorted([JP, US])
    assert all(secret not in m.body and PASSWORD not in m.body for m in notices)
    success = entries(db, "account_linked", "success")
    assert [(e.actor, e.target) for e in success] == [(jp, us)]
    assert tx(db, lambda s: links.list_linked(s, principal_id=jp))[0].holds_factor is True


def test_auth13a_a_recovery_code_of_the_other_account_is_a_second_factor_too(db: Db):
    """AUTH-13 a / AUTH-09: the other account's recovery code proves it like at sign-in, once."""
    person(db, JP)
    us = person(db, US)
    _, codes = enrol(db, login(db, US, NOW), NOW)
    token = login(db, JP, NOW)
    assert link(db, token, US, NOW, code=codes[0]).ok
    assert tx(db, lambda s: factors.factor_status(s, us)).recovery_codes_left == 9
    person(db, THIRD)
    again = link(db, login(db, THIRD, NOW), US, NOW, code=codes[0])
    assert isinstance(again.failure, InvalidCode)


def test_auth12_link_needs_a_recent_full_authentication(db: Db):
    """AUTH-12: a session that last authenticated more than 5 minutes ago cannot link; after
    step-up it can."""
    person(db, JP)
    person(db, US)
    token = login(db, JP, NOW)
    late = NOW + timedelta(minutes=5, seconds=1)
    with pytest.raises(ReauthRequired):
        link(db, token, US, late)
    fresh = step_up(db, token, late)
    assert link(db, fresh, US, late).ok


def test_auth13b_unverified_addresses_are_never_linked(db: Db):
    """AUTH-13 b: the other's address unverified → ``email_unverified`` (after its credentials,
    so the answer reveals nothing to a stranger); the caller's own unverified → the same."""
    person(db, JP)
    person(db, US, verified=False)
    token = login(db, JP, NOW)
    refused = link(db, token, US, NOW)
    assert isinstance(refused.failure, EmailUnverified)
    assert refused.failure.status == 403
    stranger = link(db, token, US, NOW, password="guessing")
    assert isinstance(stranger.failure, InvalidCredentials)

    person(db, THIRD, verified=False)
    third = login(db, THIRD, NOW)
    assert isinstance(link(db, third, JP, NOW).failure, EmailUnverified)
    assert link_rows(db) == 0
    reasons = [e.details["reason"] for e in entries(db, "account_linked", "failure")]
    assert reasons == ["other_unverified", "credentials", "caller_unverified"]


def test_auth13b_an_email_match_alone_never_links(db: Db):
    """AUTH-13 b: knowing (or sharing a domain with, or typing differently) the other address
    links nothing; only its password (and 2FA) does. Addresses are one per principal however
    they are typed, so a look-alike registration is refused outright."""
    person(db, JP)
    person(db, US)
    token = login(db, JP, NOW)
    for attempt in ("", "x", PASSWORD.upper()):
        assert isinstance(link(db, token, US, NOW, password=attempt).failure, InvalidCredentials)
    assert isinstance(
        link(db, token, "US-Owner@Example.com ", NOW, password="").failure, InvalidCredentials
    )
    assert link_rows(db) == 0
    with pytest.raises(EmailTaken):
        person(db, "ＵＳ-owner@EXAMPLE.com")
    assert link(db, token, "US-Owner@Example.com ", NOW).ok  # the same address, proven


def test_auth13e_a_double_submit_leaves_one_row(db: Db):
    """AUTH-13 e: linking again, linking to oneself, and linking the other way round answer
    ``already_linked`` and add nothing: the primary key on the principal keeps one row each."""
    jp, us, token = linked_pair(db)
    again = link(db, token, US, NOW)
    assert isinstance(again.failure, AlreadyLinked)
    assert again.failure.status == 409
    assert again.principal_id == us
    assert isinstance(link(db, token, JP, NOW).failure, AlreadyLinked)
    back = login(db, US, NOW)
    assert isinstance(link(db, back, JP, NOW).failure, AlreadyLinked)
    assert link_rows(db) == 2
    assert group_ids(db) == 1
    assert len(entries(db, "account_linked", "success")) == 1
    assert tx(db, lambda s: links.linked_ids(s, jp)) == sorted([jp, us])


@pytest.mark.parametrize("parallel", [2, 4])
def test_auth13e_concurrent_double_submits_link_once(db: Db, parallel: int):
    """AUTH-13 e under concurrency: of N identical submits exactly one links; the others answer
    ``already_linked``; one row per principal, one group. Both accounts have 2FA, so the link is
    made at once; each submit proves the other account with a recovery code of its own."""
    person(db, JP)
    person(db, US)
    jp_secret, _ = enrol(db, login(db, JP, NOW), NOW)
    _, us_codes = enrol(db, login(db, US, NOW), NOW)
    later = NOW + timedelta(minutes=1)
    token = login(db, JP, later, code_at(jp_secret, later))
    codes = iter(us_codes)

    def submit() -> links.Linked:
        code = next(codes)
        with unit_of_work(db.factory) as s:
            return links.link_with(
                s,
                auth=auth(s, token, later),
                email=US,
                password=PASSWORD,
                code=code,
                now=later,
                settings=S,
            )

    results = in_parallel(parallel, submit)
    assert [r.ok for r in results].count(True) == 1, results
    assert all(r.ok or isinstance(r.failure, AlreadyLinked) for r in results), results
    assert not any(r.pending for r in results)
    assert link_rows(db) == 2
    assert group_ids(db) == 1


def test_a_principal_in_another_group_cannot_join_and_a_third_joins_the_callers(db: Db):
    """One group per principal: an account linked elsewhere answers ``linked_elsewhere``; an
    unlinked third account joins the caller's group."""
    jp, us, token = linked_pair(db)
    other_a, other_b = person(db, "a@example.org"), person(db, "b@example.org")
    assert link_and_consent(db, login(db, "a@example.org", NOW), "b@example.org", NOW).ok
    elsewhere = link(db, token, "a@example.org", NOW)
    assert isinstance(elsewhere.failure, LinkedElsewhere)
    third = person(db, THIRD)
    joined = link_and_consent(db, token, THIRD, NOW, sessions={JP: token})
    assert joined.ok
    assert not joined.pending
    assert tx(db, lambda s: links.linked_ids(s, us)) == sorted([jp, us, third])
    assert tx(db, lambda s: links.linked_ids(s, other_a)) == sorted([other_a, other_b])
    assert [a.principal_id for a in tx(db, lambda s: links.list_linked(s, principal_id=jp))] == [
        third,
        us,
    ]


def test_auth13f_when_both_had_2fa_the_callers_factor_wins_and_the_others_is_set_aside(db: Db):
    """AUTH-13 f: both proved their own second factor in the flow, so the link is made at once.
    The group keeps one factor, the caller's; the other's seed and recovery codes are set aside
    (``replaced_factor``): kept, but its old authenticator entry opens nothing while linked."""
    person(db, JP)
    us = person(db, US)
    jp_secret, _ = enrol(db, login(db, JP, NOW), NOW)
    us_secret, us_codes = enrol(db, login(db, US, NOW), NOW)
    later = NOW + timedelta(minutes=1)
    token = login(db, JP, later, code_at(jp_secret, later))
    done = link(db, token, US, later, code=code_at(us_secret, later))
    assert done.ok
    assert not done.pending
    assert done.replaced_factor is True
    set_aside = tx(db, lambda s: repo.totp_factor(s, us))
    assert set_aside is not None
    assert sealing.unseal(S.seed_key, set_aside.secret) == us_secret
    when = later + timedelta(minutes=1)
    assert isinstance(second_factor(db, US, code_at(us_secret, when), when).failure, InvalidCode)
    assert isinstance(
        second_factor(db, US, us_codes[0], when + timedelta(seconds=2)).failure, InvalidCode
    )
    assert second_factor(db, US, code_at(jp_secret, when), when + timedelta(seconds=10)).ok
    assert entries(db, "account_linked", "success")[0].details["replaced_factor"] is True


def test_auth13f_linking_ends_the_sessions_opened_without_the_groups_factor(db: Db):
    """AUTH-13 f: US had no 2FA, JP had; US agreed from its mailbox, signed in. Its other
    sessions were opened with a password only and would now reach JP's data, so they end; the
    session that accepted and the linking session stay."""
    jp = person(db, JP)
    us = person(db, US)
    jp_secret, _ = enrol(db, login(db, JP, NOW), NOW)
    us_session = login(db, US, NOW)
    later = NOW + timedelta(minutes=1)
    token = login(db, JP, later, code_at(jp_secret, later))
    waits = link(db, token, US, later)
    assert waits.pending
    assert waits.waiting_for == [us]
    accepting = login(db, US, later)
    assert accept(db, accepting, US, later).ok
    with pytest.raises(SessionInvalid):
        tx(db, lambda s: auth(s, us_session, later))
    assert tx(db, lambda s: auth(s, token, later)).principal_id == jp
    assert tx(db, lambda s: auth(s, accepting, later)).principal_id == us
    revoked = tx(
        db,
        lambda s: s.scalars(
            select(AuthSession).where(
                AuthSession.principal_id == us, AuthSession.revoked_at.is_not(None)
            )
        ).all(),
    )
    assert {r.revoked_reason for r in revoked} == {"linked"}


# -- one factor for the group -----------------------------------------------------------------


def test_auth13f_enrolment_through_one_member_protects_the_others_sign_in(db: Db):
    """AUTH-13 f: TOTP enrolled through JP (after linking) protects US's sign-in; the status
    page of US shows it as shared with JP."""
    jp, us, token = linked_pair(db)
    secret, _ = enrol(db, token, NOW)
    assert tx(db, lambda s: links.factor_holder(s, us)) == jp
    later = NOW + timedelta(minutes=1)
    started = sign_in(db, US, PASSWORD, later)
    assert started.stage == service.SECOND_FACTOR
    assert started.token
    with pytest.raises(SecondFactorRequired):
        tx(db, lambda s: auth(s, started.token or "", later))
    assert second_factor(db, US, code_at(secret, later), later).ok
    status = tx(db, lambda s: factors.factor_status(s, us))
    assert status.enrolled is True
    assert status.recovery_codes_left == 10
    assert status.shared_with == [jp]
    assert tx(db, lambda s: repo.totp_factor(s, us)) is None  # one factor row: the holder's


def test_auth03_a_totp_step_used_through_one_member_is_refused_through_another(db: Db):
    """AUTH-03 across the group: the code accepted for JP's sign-in is a replay for US's, and
    so is any code of an earlier step; the replay is logged as ``authn_token_reuse``."""
    jp, us, token = linked_pair(db)
    secret, _ = enrol(db, token, NOW)
    later = NOW + timedelta(minutes=2)
    code = code_at(secret, later)
    assert second_factor(db, JP, code, later).ok
    replay = second_factor(db, US, code, later + timedelta(seconds=1))
    assert isinstance(replay.failure, InvalidCode)
    older = second_factor(db, US, code_at(secret, later, -1), later + timedelta(seconds=2))
    assert isinstance(older.failure, InvalidCode)
    reuse = entries(db, "authn_token_reuse")
    assert [e.actor for e in reuse] == [us, us]
    assert reuse[0].details == {"factor_holder": jp}
    assert second_factor(db, US, code_at(secret, later, 1), later + timedelta(seconds=10)).ok


def test_auth03_parallel_sign_ins_of_two_members_accept_one_code_once(db: Db):
    """AUTH-03 under concurrency, across the group: JP and US present the same code at once."""
    _, _, token = linked_pair(db)
    secret, _ = enrol(db, token, NOW)
    later = NOW + timedelta(minutes=2)
    code = code_at(secret, later)
    starts = {email: sign_in(db, email, PASSWORD, later).token for email in (JP, US)}
    order = iter([JP, US])

    def present() -> bool:
        email = next(order)
        with unit_of_work(db.factory) as s:
            return service.complete_second_factor(
                s, token=starts[email] or "", code=code, now=later, settings=S
            ).ok

    assert sorted(in_parallel(2, present)) == [False, True]


def test_auth09_a_recovery_code_used_through_one_member_is_gone_for_the_others(db: Db):
    """AUTH-09 across the group: the group has one set of recovery codes; one used through JP
    cannot be used through US, and the failure counter is shared."""
    _, us, token = linked_pair(db)
    _, codes = enrol(db, token, NOW)
    later = NOW + timedelta(minutes=1)
    assert second_factor(db, JP, codes[3], later).ok
    assert isinstance(
        second_factor(db, US, codes[3], later + timedelta(seconds=1)).failure, InvalidCode
    )
    assert second_factor(db, US, codes[4], later + timedelta(seconds=5)).ok
    assert tx(db, lambda s: factors.factor_status(s, us)).recovery_codes_left == 8
    used = entries(db, "authn_recovery_code_used")
    assert [e.details["remaining"] for e in used] == [9, 8]


def test_auth12_disabling_through_one_member_needs_step_up_and_disables_for_all(db: Db):
    """AUTH-12: US switching 2FA off needs a full re-authentication within 5 minutes (its
    password and the group's code); then JP's sign-in no longer asks for a code either."""
    jp, _, token = linked_pair(db)
    secret, _ = enrol(db, token, NOW)
    t1 = NOW + timedelta(minutes=1)
    us_token = login(db, US, t1, code_at(secret, t1))
    t2 = t1 + timedelta(minutes=6)
    with pytest.raises(ReauthRequired):
        tx(db, lambda s: factors.disable_totp(s, auth=auth(s, us_token, t2), now=t2, settings=S))
    fresh = step_up(db, us_token, t2, code_at(secret, t2))
    tx(db, lambda s: factors.disable_totp(s, auth=auth(s, fresh, t2), now=t2, settings=S))
    assert sign_in(db, JP, PASSWORD, t2).stage == service.FULL
    assert tx(db, lambda s: factors.factor_status(s, jp)).enrolled is False
    with pytest.raises(TotpNotEnrolled):
        tx(db, lambda s: factors.disable_totp(s, auth=auth(s, token, NOW), now=NOW, settings=S))
    assert tx(db, lambda s: s.scalar(select(func.count()).select_from(RecoveryCode))) == 0


def test_roles_of_is_the_union_of_the_groups_memberships(db: Db):
    """Per seller the strongest role of any active member; operator if one is. A disabled
    member's roles are not reachable through the link."""
    jp_seller, us_seller = make_seller(db, "Kyoto Tea Works"), make_seller(db, "Kyoto Tea US")
    jp, us, _ = linked_pair(db)
    for principal, seller, role in (
        (jp, jp_seller, "owner"),
        (us, jp_seller, "viewer"),
        (us, us_seller, "manager"),
    ):
        tx(
            db,
            lambda s, p=principal, r=role, x=seller: access.grant_role(
                s, principal_id=p, seller_id=x, role=r, now=NOW, actor=ADMIN
            ),
        )
    expected = PrincipalRoles(memberships={jp_seller: "owner", us_seller: "manager"})
    assert tx(db, lambda s: access.roles_of(s, jp)) == expected
    assert tx(db, lambda s: access.roles_of(s, us)) == expected
    assert tx(db, lambda s: access.own_roles(s, us)).memberships == {
        jp_seller: "viewer",
        us_seller: "manager",
    }
    tx(db, lambda s: access.set_operator(s, principal_id=us, operator=True, now=NOW, actor=ADMIN))
    assert tx(db, lambda s: access.roles_of(s, jp)).operator is True
    tx(db, lambda s: service.disable_principal(s, principal_id=us, now=NOW, actor=ADMIN))
    assert tx(db, lambda s: access.roles_of(s, jp)) == PrincipalRoles(
        memberships={jp_seller: "owner"}
    )


# -- unlinking --------------------------------------------------------------------------------


def test_auth13d_unlink_needs_step_up_and_the_emailed_code_and_ends_what_the_link_gave(db: Db):
    """AUTH-12 + AUTH-13 d: unlinking needs a re-authentication within 5 minutes at both steps
    and the 8-digit code from the caller's mailbox (5 wrong codes kill it). Then every other
    session of both accounts and the token US made for JP's seller through the link end; each
    side keeps working 2FA: JP its factor and codes, US a copy of the factor (same app entry) and
    10 new recovery codes, shown once."""
    jp_seller, us_seller = make_seller(db, "Kyoto Tea Works"), make_seller(db, "Kyoto Tea US")
    jp, us, token = linked_pair(db)
    tx(
        db,
        lambda s: access.grant_role(
            s, principal_id=jp, seller_id=jp_seller, role="owner", now=NOW, actor=ADMIN
        ),
    )
    tx(
        db,
        lambda s: access.grant_role(
            s, principal_id=us, seller_id=us_seller, role="owner", now=NOW, actor=ADMIN
        ),
    )
    secret, jp_codes = enrol(db, token, NOW)
    t1 = NOW + timedelta(minutes=1)
    us_session = login(db, US, t1, code_at(secret, t1))
    jp_phone = login(db, JP, t1 + timedelta(seconds=30), code_at(secret, t1, 1))

    def seller_token(seller: str) -> str:
        return tx(
            db,
            lambda s: (
                access.create_seller_token(
                    s,
                    principal_id=us,
                    name="sync",
                    scope="read",
                    seller_ids=[seller],
                    now=t1,
                    expires_at=None,
                    actor=us,
                ).info.id
            ),
        )

    through_link, own = seller_token(jp_seller), seller_token(us_seller)

    t2 = NOW + timedelta(minutes=7)
    with pytest.raises(ReauthRequired):
        begin_unlink(db, token, us, t2)
    token = step_up(db, token, t2, code_at(secret, t2))
    with pytest.raises(LinkNotFound):
        begin_unlink(db, token, person(db, THIRD), t2)
    begin_unlink(db, token, us, t2)
    code = unlink_code(db, JP)
    assert outbox(db, "unlink_code", US) == []  # the code goes to the caller's own mailbox
    with pytest.raises(ReauthRequired):
        confirm_unlink(db, token, code, t2 + timedelta(minutes=6))
    wrong = f"{(int(code) + 1) % 10**8:08d}"
    for i in range(5):
        refused = confirm_unlink(db, token, wrong, t2 + timedelta(seconds=i))
        assert isinstance(refused.failure, InvalidCode)
    dead = confirm_unlink(db, token, code, t2 + timedelta(seconds=10))
    assert isinstance(dead.failure, InvalidCode)  # five wrong codes killed it
    assert link_rows(db) == 2

    t3 = t2 + timedelta(minutes=1)
    begin_unlink(db, token, us, t3)
    fresh_code = unlink_code(db, JP)
    result = confirm_unlink(db, token, fresh_code, t3)
    assert result.ok, result.failure
    assert result.detached == us
    assert result.former_members == sorted([jp, us])
    assert list(result.recovery_codes) == [us]
    assert len(result.recovery_codes[us]) == 10
    assert all(re.fullmatch(r"[0-9a-z]{5}-[0-9a-z]{5}", c) for c in result.recovery_codes[us])
    assert result.revoked_tokens == [through_link]
    again = confirm_unlink(db, token, fresh_code, t3)
    assert isinstance(again.failure, InvalidCode)  # single use

    assert link_rows(db) == 0
    assert group_ids(db) == 0
    for dead_session in (us_session, jp_phone):
        with pytest.raises(SessionInvalid):
            tx(db, lambda s, d=dead_session: auth(s, d, t3))
    assert tx(db, lambda s: auth(s, token, t3)).principal_id == jp  # the caller's own survives
    reasons = tx(
        db,
        lambda s: s.scalars(
            select(AuthSession.revoked_reason).where(AuthSession.revoked_at == t3)
        ).all(),
    )
    assert set(reasons) == {"unlinked"}
    assert (
        len(reasons) == 3
    )  # US's two (its sign-in and the one that accepted the link), JP's phone
    revoked = tx(db, lambda s: {t.id: t.revoked_at for t in s.scalars(select(ApiToken))})
    assert revoked[through_link] == t3
    assert revoked[own] is None
    assert tx(db, lambda s: access.roles_of(s, us)).memberships == {us_seller: "owner"}

    # each side keeps 2FA: the same authenticator entry, separate rows from now on
    t4 = t3 + timedelta(minutes=1)
    assert second_factor(db, US, code_at(secret, t4), t4).ok
    assert second_factor(db, JP, code_at(secret, t4, 1), t4 + timedelta(seconds=1)).ok
    assert second_factor(db, US, result.recovery_codes[us][0], t4 + timedelta(seconds=2)).ok
    stolen = second_factor(db, US, jp_codes[0], t4 + timedelta(seconds=5))
    assert isinstance(stolen.failure, InvalidCode)  # JP's codes stay JP's
    assert second_factor(db, JP, jp_codes[0], t4 + timedelta(seconds=8)).ok
    us_factor = tx(db, lambda s: repo.totp_factor(s, us))
    assert us_factor is not None
    assert sealing.unseal(S.seed_key, us_factor.secret) == secret  # the same app entry

    unlinked = entries(db, "account_unlinked", "success")
    assert [(e.actor, e.target, e.details["factor_copied_to"]) for e in unlinked] == [(jp, us, us)]
    failures = [e.details["reason"] for e in entries(db, "account_unlinked", "failure")]
    assert failures == ["wrong_code"] * 5 + ["too_many_attempts", "no_pending"]
    assert sorted(m.to_address for m in outbox(db, "account_unlinked")) == sorted([JP, US])
    assert fresh_code not in str(entries(db, "account_unlinked"))


def test_auth13d_when_the_factor_holder_leaves_a_three_member_group_the_rest_get_the_copy(db: Db):
    """The holder detaching itself keeps its factor and codes; the two that stay stay linked,
    protected by a copy held by one of them, with new recovery codes."""
    jp, us, token = linked_pair(db)
    third = person(db, THIRD)
    assert link_and_consent(db, token, THIRD, NOW, sessions={JP: token}).ok
    secret, _ = enrol(db, token, NOW)
    assert tx(db, lambda s: links.factor_holder(s, us)) == jp
    begin_unlink(db, token, jp, NOW)
    result = confirm_unlink(db, token, unlink_code(db, JP), NOW)
    assert result.ok
    stays = sorted([us, third])
    assert list(result.recovery_codes) == [stays[0]]
    assert tx(db, lambda s: links.linked_ids(s, jp)) == [jp]
    assert tx(db, lambda s: links.linked_ids(s, us)) == stays
    assert tx(db, lambda s: links.factor_holder(s, third)) == stays[0]
    later = NOW + timedelta(minutes=1)
    assert second_factor(db, THIRD, code_at(secret, later), later).ok
    assert second_factor(db, JP, code_at(secret, later), later + timedelta(seconds=1)).ok


def test_unlinking_another_member_or_an_unknown_principal(db: Db):
    """A member may detach another member of its group; a principal outside the group, or the
    caller when it is not linked, is ``link_not_found`` (404)."""
    jp, us, token = linked_pair(db)
    outsider = person(db, THIRD)
    with pytest.raises(LinkNotFound) as caught:
        begin_unlink(db, token, outsider, NOW)
    assert caught.value.status == 404
    with pytest.raises(LinkNotFound):
        begin_unlink(db, login(db, THIRD, NOW), outsider, NOW)
    us_token = login(db, US, NOW)
    begin_unlink(db, us_token, us, NOW)
    assert confirm_unlink(db, us_token, unlink_code(db, US), NOW).ok
    assert tx(db, lambda s: links.linked_ids(s, jp)) == [jp]
    no_pending = confirm_unlink(db, us_token, "12345678", NOW)
    assert isinstance(no_pending.failure, InvalidCode)


def test_an_unlink_code_expires_and_a_newer_one_supersedes_it(db: Db):
    """Unlink codes work for 10 minutes; asking again makes the earlier code worthless."""
    _, us, token = linked_pair(db)
    begin_unlink(db, token, us, NOW)
    first = unlink_code(db, JP)
    late = NOW + timedelta(minutes=10)
    fresh = step_up(db, token, late)
    assert isinstance(confirm_unlink(db, fresh, first, late).failure, InvalidCode)
    begin_unlink(db, fresh, us, late)
    second = unlink_code(db, JP)
    begin_unlink(db, fresh, us, late + timedelta(seconds=1))
    third = unlink_code(db, JP)
    if second != third:
        assert isinstance(confirm_unlink(db, fresh, second, late).failure, InvalidCode)
    assert confirm_unlink(db, fresh, third, late + timedelta(seconds=2)).ok


# -- e-mail verification ----------------------------------------------------------------------


def test_verification_link_is_single_use_hashed_and_expires(db: Db):
    """The 256-bit code arrives by e-mail, is stored as SHA-256, works once within 24 hours and
    sets ``email_verified_at``; a newer request supersedes it."""
    principal = person(db, JP, verified=False)
    tx(
        db,
        lambda s: verify.request_verification(
            s, principal_id=principal, now=NOW, settings=S, link_base="https://t.example/verify"
        ),
    )
    message = outbox(db, "email_verification", JP)[0]
    found = VERIFY_CODE.search(message.body)
    assert found is not None
    token = found.group(1)
    assert f"https://t.example/verify?token={token}" in message.body
    row = tx(db, lambda s: s.scalars(select(EmailVerification)).one())
    assert row.token_hash == verify.hash_secret(token)
    assert row.expires_at == NOW + timedelta(hours=24)

    late = tx(
        db, lambda s: verify.confirm_verification(s, token=token, now=NOW + timedelta(hours=24))
    )
    assert isinstance(late.failure, VerificationInvalid)
    assert late.failure.code == "verification_invalid"
    assert tx(
        db, lambda s: verify.confirm_verification(s, token=token, now=NOW + timedelta(hours=1))
    ).ok
    assert tx(db, lambda s: s.get(Principal, principal).email_verified_at) == NOW + timedelta(
        hours=1
    )
    used = tx(
        db, lambda s: verify.confirm_verification(s, token=token, now=NOW + timedelta(hours=1))
    )
    assert isinstance(used.failure, VerificationInvalid)

    other = person(db, US, verified=False)
    tx(db, lambda s: verify.request_verification(s, principal_id=other, now=NOW, settings=S))
    old = VERIFY_CODE.search(outbox(db, "email_verification", US)[0].body)
    tx(
        db,
        lambda s: verify.request_verification(
            s, principal_id=other, now=NOW + timedelta(seconds=1), settings=S
        ),
    )
    assert old is not None
    assert isinstance(
        tx(db, lambda s: verify.confirm_verification(s, token=old.group(1), now=NOW)).failure,
        VerificationInvalid,
    )
    reasons = [e.details["reason"] for e in entries(db, "authn_email_verification_fail")]
    assert reasons == ["expired", "used", "used"]


def test_an_administrator_marks_an_address_verified_and_it_is_audited(db: Db):
    principal = person(db, JP, verified=False)
    assert (
        tx(db, lambda s: verify.mark_verified(s, principal_id=principal, now=NOW, actor=ADMIN))
        is True
    )
    assert (
        tx(db, lambda s: verify.mark_verified(s, principal_id=principal, now=NOW, actor=ADMIN))
        is False
    )
    entry = entries(db, "authn_email_verified")
    assert [(e.actor, e.target, e.details) for e in entry] == [
        (ADMIN, principal, {"via": "administrator"})
    ]


# -- the five pre-hijacking attacks (Sudhodanan & Paverd, USENIX Security 2022) ----------------


def _attacker_precreates_the_victims_account(db: Db) -> tuple[str, str]:
    """The attacker registers the victim's address (not verifiable by the attacker) with a
    password of the attacker's, and has an account of their own. Returns (victim-address
    account, attacker's own account) ids."""
    precreated = person(db, JP, verified=False)
    attacker = person(db, "attacker@example.net")
    return precreated, attacker


def test_prehijack_classic_federated_merge_nothing_merges_by_address(db: Db):
    """Classic–federated merge: tsunagu has no federated sign-in, and nothing joins two accounts
    because their addresses match. The attacker's pre-created account can be linked by nobody:
    not by the attacker (unverified), not by the victim without its password."""
    precreated, _ = _attacker_precreates_the_victims_account(db)
    attacker_session = login(db, "attacker@example.net", NOW)
    refused = link(db, attacker_session, JP, NOW)
    assert isinstance(refused.failure, EmailUnverified)
    victim_us = person(db, US)
    victim_session = login(db, US, NOW)
    assert isinstance(link(db, victim_session, JP, NOW, password="").failure, InvalidCredentials)
    assert link_rows(db) == 0
    assert tx(db, lambda s: links.linked_ids(s, precreated)) == [precreated]
    assert tx(db, lambda s: links.linked_ids(s, victim_us)) == [victim_us]


def test_prehijack_unexpired_session_reset_ends_every_session(db: Db):
    """Unexpired session: the attacker keeps a session of the pre-created account alive while
    the victim takes the account over by a password reset. The reset ends every session and
    verifies the address for the victim; the attacker's session and password are dead."""
    precreated, _ = _attacker_precreates_the_victims_account(db)
    kept_alive = login(db, JP, NOW)
    tx(db, lambda s: reset.request_reset(s, email=JP, now=NOW, settings=S))
    found = re.search(r"once\): (\S+)", outbox(db, "password_reset", JP)[0].body)
    assert found is not None
    victims = "victim's own new passphrase"
    done = tx(
        db,
        lambda s: reset.complete_reset(
            s, token=found.group(1), new_password=victims, now=NOW, settings=S
        ),
    )
    assert done.ok
    with pytest.raises(SessionInvalid):
        tx(db, lambda s: auth(s, kept_alive, NOW))
    assert isinstance(sign_in(db, JP, PASSWORD, NOW).failure, InvalidCredentials)
    assert tx(db, lambda s: s.get(Principal, precreated).email_verified_at) == NOW


def test_prehijack_trojan_identifier_no_second_sign_in_can_be_planted(db: Db):
    """Trojan identifier: the attacker adds a sign-in of their own to the pre-created account
    before the victim claims it. In tsunagu the only other way into an account is a linked
    account, and an unverified account cannot be linked, from either side."""
    precreated, attacker = _attacker_precreates_the_victims_account(db)
    from_attacker = link(db, login(db, "attacker@example.net", NOW), JP, NOW)
    assert isinstance(from_attacker.failure, EmailUnverified)
    from_precreated = link(db, login(db, JP, NOW), "attacker@example.net", NOW)
    assert isinstance(from_precreated.failure, EmailUnverified)
    assert link_rows(db) == 0
    assert tx(db, lambda s: links.linked_ids(s, precreated)) == [precreated]
    assert tx(db, lambda s: links.linked_ids(s, attacker)) == [attacker]


def test_prehijack_unexpired_email_change_a_code_verifies_only_the_address_it_went_to(db: Db):
    """Unexpired e-mail change: tsunagu has no e-mail change yet. The defence it will rely on is
    here already: a verification code is bound to the address it was sent to, so once the
    account's address is different the pending code verifies nothing; and a reset withdraws
    pending codes."""
    principal = person(db, "attacker@example.net", verified=False)
    tx(db, lambda s: verify.request_verification(s, principal_id=principal, now=NOW, settings=S))
    found = VERIFY_CODE.search(outbox(db, "email_verification", "attacker@example.net")[0].body)
    assert found is not None

    def change_address(s: Any) -> None:  # what a future e-mail change would do
        s.get(Principal, principal).email = "victim@example.jp"

    tx(db, change_address)
    refused = tx(db, lambda s: verify.confirm_verification(s, token=found.group(1), now=NOW))
    assert isinstance(refused.failure, VerificationInvalid)
    assert tx(db, lambda s: s.get(Principal, principal).email_verified_at) is None
    assert entries(db, "authn_email_verification_fail")[0].details == {"reason": "address_changed"}


def test_prehijack_non_verifying_identity_provider_only_the_mailbox_verifies(db: Db):
    """Non-verifying IdP: tsunagu trusts no identity provider's word for an address. Creating an
    account never verifies it; the code goes to the address itself, so whoever registered it
    without owning the mailbox never sees it, and the account stays unlinkable."""
    precreated, attacker = _attacker_precreates_the_victims_account(db)
    assert tx(db, lambda s: s.get(Principal, precreated).email_verified_at) is None
    tx(db, lambda s: verify.request_verification(s, principal_id=precreated, now=NOW, settings=S))
    messages = outbox(db, "email_verification")
    assert [m.to_address for m in messages] == [JP]
    guessed = tx(db, lambda s: verify.confirm_verification(s, token="not-the-code", now=NOW))
    assert isinstance(guessed.failure, VerificationInvalid)
    assert isinstance(
        link(db, login(db, "attacker@example.net", NOW), JP, NOW).failure, EmailUnverified
    )
    assert tx(db, lambda s: links.linked_ids(s, attacker)) == [attacker]


def test_an_unfinished_enrolment_of_the_other_account_is_dropped_when_it_joins(db: Db):
    """A seed never confirmed protects nothing: it is not set aside but deleted when the account
    joins a group, so only the holder's factor (and set-aside confirmed ones) remain."""
    person(db, JP)
    us = person(db, US)
    token = login(db, US, NOW)
    tx(
        db, lambda s: factors.begin_totp(s, auth=auth(s, token, NOW), now=NOW, settings=S)
    )  # never confirmed
    assert tx(db, lambda s: s.scalars(select(TotpFactor.principal_id)).all()) == [us]
    assert link_and_consent(db, login(db, JP, NOW), US, NOW).ok
    assert tx(db, lambda s: s.scalars(select(TotpFactor.principal_id)).all()) == []


# -- API-08: link, consent, unlink, reset, enrol and disable as a state machine ---------------

PEOPLE = [f"p{i}@example.jp" for i in range(4)]
ROLE_OR_NONE = st.sampled_from([None, "owner", "manager", "viewer"])
_STRENGTH = {"owner": 3, "manager": 2, "viewer": 1}
NEW_PASSWORD = "a-fresh-kettle-lid"


@dataclass
class Waiting:
    """A link request as the model sees it."""

    caller: int
    other: int
    #: the caller's group identity when it asked (None: not linked)
    group_then: int | None
    #: each approver's code, read from its message right after the link asked
    codes: dict[int, str]
    waiting: set[int]
    #: the other proved its own second factor when it was asked
    other_proved: bool
    expires: datetime


class LinkMachine(RuleBasedStateMachine):
    """Four verified principals, two sellers, random memberships. Rules link (with or without
    the other account's code), accept and decline waiting links, unlink, reset a password (and
    cut the links from it), enrol and disable 2FA — each through the public functions, with a
    fresh full session — against a model of the groups and of which authenticator seed protects
    whom. Invariants read the database:

    * each principal is in at most one group, every group has ≥ 2 members;
    * every member of a group is protected by the holder's factor, and a principal's sign-in
      asks for exactly the seed the model expects;
    * **consent (AUTH-13 f):** the seed that protects a principal is one it agreed to — its own
      enrolment (or one made through its group), or the group's when it proved its own second
      factor or accepted from its mailbox. Nobody else's authenticator is ever imposed;
    * ``roles_of`` is the union of the group's memberships.
    """

    template: Path

    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="links-machine-"))
        shutil.copyfile(self.template, self.dir / "t.db")
        self.engine = make_engine(f"sqlite:///{self.dir / 't.db'}")
        self.factory = make_sessionmaker(self.engine)
        self.now = NOW
        self.ids: list[str] = []
        self.passwords = [PASSWORD] * len(PEOPLE)
        self.sellers: list[str] = []
        self.grants: dict[tuple[int, int], str] = {}
        self.operators: set[int] = set()
        #: person index -> the set of indices of its group (only for linked people)
        self.group: dict[int, frozenset[int]] = {}
        #: group (as a frozenset) -> the index of its factor holder
        self.holder: dict[frozenset[int], int] = {}
        #: person index -> the seed of its own factor rows (in use, or set aside while linked)
        self.seed: dict[int, str] = {}
        #: person index -> every seed it agreed to be protected by
        self.consented: dict[int, set[str]] = {i: set() for i in range(len(PEOPLE))}
        #: person index -> the identity of its group (kept while members join, as in the database)
        self.gid: dict[int, int] = {}
        self.next_gid = 0
        self.requests: list[Waiting] = []

    def teardown(self) -> None:
        self.engine.dispose()
        shutil.rmtree(self.dir, ignore_errors=True)

    def tx(self, fn: Any) -> Any:
        with unit_of_work(self.factory) as s:
            return fn(s)

    def members(self, i: int) -> frozenset[int]:
        return self.group.get(i, frozenset({i}))

    def protector(self, i: int) -> int:
        return self.holder[self.group[i]] if i in self.group else i

    def effective(self, i: int) -> str | None:
        return self.seed.get(self.protector(i))

    def tick(self) -> None:
        # a new TOTP step for every rule, and past the longest back-off a refused code (a link
        # without the other's code) may leave on the factor (15 minutes)
        self.now += timedelta(minutes=16)

    def code_for(self, i: int) -> str:
        seed = self.effective(i)
        assert seed is not None
        return totp_code(seed, time_step(self.now, 30), S.totp)

    def session_for(self, i: int) -> str:
        started = self.tx(
            lambda s: service.sign_in(
                s, email=PEOPLE[i], password=self.passwords[i], now=self.now, settings=S
            )
        )
        assert started.ok, started.failure
        assert (started.stage == service.SECOND_FACTOR) == (self.effective(i) is not None)
        if started.stage == service.FULL:
            return str(started.token)
        code = self.code_for(i)
        done = self.tx(
            lambda s: service.complete_second_factor(
                s, token=started.token, code=code, now=self.now, settings=S
            )
        )
        assert done.ok, done.failure
        return str(done.token)

    def join(self, caller: int, other: int, consenting: set[int]) -> None:
        """The model of ``_join``: the caller side's holder if protected, else the other's. The
        other's own factor stays (set aside); ``consenting`` agreed to the group's factor."""
        before = self.members(caller)
        current = self.protector(caller)
        joined = before | {other}
        holder = other if (other in self.seed and current not in self.seed) else current
        self.holder.pop(before, None)
        gid = self.gid.get(caller)
        if gid is None:
            self.next_gid += 1
            gid = self.next_gid
        for i in joined:
            self.group[i] = joined
            self.gid[i] = gid
        self.holder[joined] = holder
        if holder in self.seed:
            for i in consenting:
                self.consented[i].add(self.seed[holder])

    def leave(self, i: int) -> None:
        self.group.pop(i, None)
        self.gid.pop(i, None)

    @initialize(
        roles=st.lists(ROLE_OR_NONE, min_size=8, max_size=8),
        operators=st.sets(st.integers(0, 3), max_size=2),
        enrolled=st.sets(st.integers(0, 3)),
    )
    def setup(self, roles: list[str | None], operators: set[int], enrolled: set[int]) -> None:
        def make(s: Any) -> None:
            registry = load_registry(None)
            for n in range(2):
                seller = create_seller(
                    s, name=f"Seller {n}", marketplaces=["JP"], registry=registry, now=NOW
                )
                self.sellers.append(seller.id)
            for email in PEOPLE:
                principal = service.create_principal(
                    s, email=email, display_name="Person", password=PASSWORD, now=NOW, settings=S
                )
                verify.mark_verified(s, principal_id=principal.id, now=NOW, actor=ADMIN)
                self.ids.append(principal.id)
            for k, role in enumerate(roles):
                i, n = divmod(k, 2)
                if role is not None:
                    access.grant_role(
                        s,
                        principal_id=self.ids[i],
                        seller_id=self.sellers[n],
                        role=role,
                        now=NOW,
                        actor=ADMIN,
                    )
                    self.grants[(i, n)] = role
            for i in operators:
                access.set_operator(
                    s, principal_id=self.ids[i], operator=True, now=NOW, actor=ADMIN
                )
            self.operators = set(operators)

        self.tx(make)
        for i in sorted(enrolled):  # some start with 2FA of their own, so links happen at once
            self.enrol(i)

    @rule(a=st.integers(0, 3), b=st.integers(0, 3), with_code=st.booleans())
    def link(self, a: int, b: int, with_code: bool) -> None:
        """``a`` links ``b`` knowing its password; ``with_code`` also its second factor (an
        attacker who only knows the password plays ``with_code=False``)."""
        self.tick()
        token = self.session_for(a)
        b_on = self.effective(b) is not None
        code = self.code_for(b) if (b_on and with_code and b not in self.members(a)) else None
        result = self.tx(
            lambda s: links.link_with(
                s,
                auth=service.resolve(s, token=token, now=self.now, settings=S),
                email=PEOPLE[b],
                password=self.passwords[b],
                code=code,
                now=self.now,
                settings=S,
            )
        )
        if b in self.members(a):
            assert isinstance(result.failure, AlreadyLinked), result
        elif b_on and code is None:
            assert isinstance(result.failure, InvalidCode), result
        elif b in self.group:
            assert isinstance(result.failure, LinkedElsewhere), result
        else:
            assert result.ok, result.failure
            waiting = set()
            if self.effective(a) is None:
                waiting |= set(self.members(a))
            if not b_on:
                waiting.add(b)
            assert result.pending == bool(waiting), result
            if not waiting:
                self.join(a, b, consenting={b})  # b proved its own second factor
                return
            assert {self.ids.index(p) for p in result.waiting_for} == waiting
            codes = {i: self.tx(lambda s, i=i: self._consent_code(s, i)) for i in waiting}
            self.requests = [r for r in self.requests if (r.caller, r.other) != (a, b)]
            self.requests.append(
                Waiting(
                    caller=a,
                    other=b,
                    group_then=self.gid.get(a),
                    codes=codes,
                    waiting=set(waiting),
                    other_proved=b_on,
                    expires=self.now + S.link_request_lifetime,
                )
            )

    @precondition(lambda self: bool(self.requests))
    @rule(data=st.data())
    def accept(self, data: st.DataObject) -> None:
        """The owner of one waiting account opens its message and accepts, signed in."""
        self.tick()
        index = data.draw(st.integers(0, len(self.requests) - 1))
        request = self.requests[index]
        a, b, waiting = request.caller, request.other, request.waiting
        approvers = set(request.codes)
        i = data.draw(st.sampled_from(sorted(waiting)))
        code = request.codes[i]
        token = self.session_for(i)
        result = self.tx(
            lambda s: links.accept_link(
                s,
                auth=service.resolve(s, token=token, now=self.now, settings=S),
                token=code,
                now=self.now,
                settings=S,
            )
        )
        if self.now >= request.expires:
            assert isinstance(result.failure, LinkRequestInvalid), result
            del self.requests[index]
            return
        waiting.discard(i)
        if waiting:
            assert result.ok, result
            assert result.pending, result
            return
        del self.requests[index]
        needed = set()
        if self.effective(a) is None:
            needed |= set(self.members(a))
        if self.effective(b) is None:
            needed.add(b)
        unchanged = self.gid.get(a) == request.group_then and b not in self.group
        if unchanged and needed <= approvers:
            assert result.ok, result
            assert not result.pending, result
            self.join(a, b, consenting=approvers | ({b} if request.other_proved else set()))
        else:
            assert isinstance(result.failure, LinkRequestStale), result

    @precondition(lambda self: bool(self.requests))
    @rule(data=st.data())
    def decline(self, data: st.DataObject) -> None:
        """The owner of an account asked to agree declines (no sign-in: the code is enough)."""
        self.tick()
        index = data.draw(st.integers(0, len(self.requests) - 1))
        request = self.requests.pop(index)
        i = data.draw(st.sampled_from(sorted(request.codes)))
        declined = self.tx(lambda s: links.decline_link(s, token=request.codes[i], now=self.now))
        if self.now >= request.expires:
            assert isinstance(declined.failure, LinkRequestInvalid), declined
        else:
            assert declined.ok, declined.failure

    def _consent_code(self, s: Any, i: int) -> str:
        """The code of the newest confirmation ``i`` got (read right after the link asked)."""
        messages = [
            m for m in mail.list_outbox(s, to=PEOPLE[i], limit=10_000) if m.kind == "link_request"
        ]
        found = LINK_CODE.search(messages[0].body)
        assert found is not None
        return found.group(1)

    @rule(a=st.integers(0, 3), member=st.integers(0, 3))
    def unlink(self, a: int, member: int) -> None:
        self.tick()
        token = self.session_for(a)

        def begin(s: Any) -> None:
            links.begin_unlink(
                s,
                auth=service.resolve(s, token=token, now=self.now, settings=S),
                principal_id=self.ids[member],
                now=self.now,
                settings=S,
            )

        if a not in self.group or member not in self.group[a]:
            with pytest.raises(LinkNotFound):
                self.tx(begin)
            return
        self.tx(begin)
        message = next(
            m
            for m in self.tx(lambda s: mail.list_outbox(s, to=PEOPLE[a]))
            if m.kind == "unlink_code"
        )
        found = UNLINK_CODE.search(message.body)
        assert found is not None
        result = self.tx(
            lambda s: access.unlink(
                s,
                auth=service.resolve(s, token=token, now=self.now, settings=S),
                code=found.group(1),
                now=self.now,
                settings=S,
            )
        )
        assert result.ok, result.failure
        assert result.detached == self.ids[member]
        group = self.group[a]
        gid = self.gid[a]
        holder = self.holder.pop(group)
        protected = holder in self.seed
        rest = group - {member}
        for i in group:
            self.leave(i)
        copied_to = None
        if protected:
            copied_to = member if member != holder else min(rest, key=lambda i: self.ids[i])
            self.seed[copied_to] = self.seed[holder]  # the same seed, own rows now
        if len(rest) >= 2:
            for i in rest:
                self.group[i] = rest
                self.gid[i] = gid
            self.holder[rest] = holder if holder != member else (copied_to or min(rest))
        if protected:
            assert [self.ids.index(p) for p in result.recovery_codes] == [copied_to]
        else:
            assert result.recovery_codes == {}

    @rule(a=st.integers(0, 3), cut=st.booleans())
    def reset(self, a: int, cut: bool) -> None:
        """The owner's mailbox path: a reset, and with ``cut`` the links cut from it. Each
        former member then signs in as before it was linked: its own factor, or none."""
        self.tick()
        self.now += timedelta(hours=1)  # past the reset e-mails' own limit (3 an hour)
        self.tx(lambda s: reset.request_reset(s, email=PEOPLE[a], now=self.now, settings=S))
        message = next(
            m
            for m in self.tx(lambda s: mail.list_outbox(s, to=PEOPLE[a]))
            if m.kind == "password_reset"
        )
        found = VERIFY_CODE.search(message.body)
        assert found is not None
        done = self.tx(
            lambda s: access.complete_reset(
                s,
                token=found.group(1),
                new_password=NEW_PASSWORD,
                now=self.now,
                settings=S,
                cut_links=cut,
            )
        )
        assert done.ok, done.failure
        self.passwords[a] = NEW_PASSWORD
        assert done.links_cut == (cut and a in self.group)
        if done.links_cut:
            group = self.group[a]
            del self.holder[group]
            for i in group:  # each signs in as before: its own (set-aside) factor, or none
                self.leave(i)

    @rule(a=st.integers(0, 3))
    def enrol(self, a: int) -> None:
        self.tick()
        token = self.session_for(a)

        def begin(s: Any) -> Any:
            return factors.begin_totp(
                s,
                auth=service.resolve(s, token=token, now=self.now, settings=S),
                now=self.now,
                settings=S,
            )

        if self.effective(a) is not None:
            with pytest.raises(TotpAlreadyEnrolled):
                self.tx(begin)
            return
        enrolment = self.tx(begin)
        code = totp_code(enrolment.secret, time_step(self.now, 30), S.totp)
        confirmed = self.tx(
            lambda s: factors.confirm_totp(
                s,
                auth=service.resolve(s, token=token, now=self.now, settings=S),
                code=code,
                now=self.now,
                settings=S,
            )
        )
        assert confirmed.ok, confirmed.failure
        self.seed[self.protector(a)] = enrolment.secret
        for i in self.members(a):  # an enrolment through the group protects all of it
            self.consented[i].add(enrolment.secret)

    @rule(a=st.integers(0, 3))
    def disable(self, a: int) -> None:
        self.tick()
        token = self.session_for(a)

        def off(s: Any) -> None:
            factors.disable_totp(
                s,
                auth=service.resolve(s, token=token, now=self.now, settings=S),
                now=self.now,
                settings=S,
            )

        if self.effective(a) is None:
            with pytest.raises(TotpNotEnrolled):
                self.tx(off)
            return
        self.tx(off)
        for i in self.members(a):  # off for the group, set-aside factors included
            self.seed.pop(i, None)

    @invariant()
    def groups_and_factors_agree_with_the_model(self) -> None:
        if not self.ids:
            return

        def check(s: Any) -> None:
            per_principal = s.execute(
                select(IdentityLink.principal_id, func.count()).group_by(IdentityLink.principal_id)
            ).all()
            assert all(count == 1 for _, count in per_principal)
            sizes = s.execute(
                select(IdentityLink.group_id, func.count()).group_by(IdentityLink.group_id)
            ).all()
            assert all(count >= 2 for _, count in sizes)
            assert s.scalar(select(func.count()).select_from(LinkGroup)) == len(sizes)
            for i, pid in enumerate(self.ids):
                group = sorted(self.ids[m] for m in self.members(i))
                assert links.linked_ids(s, pid) == group
                holder = links.factor_holder(s, pid)
                assert holder in group
                assert {links.factor_holder(s, self.ids[m]) for m in self.members(i)} == {holder}
                factor = repo.confirmed_factor(s, pid)
                seed = None if factor is None else sealing.unseal(S.seed_key, factor.secret)
                assert seed == self.effective(i), (i, seed, self.effective(i))
                assert factor is None or factor.principal_id == holder

        self.tx(check)

    @invariant()
    def nobody_is_protected_by_an_authenticator_it_did_not_agree_to(self) -> None:
        """AUTH-13 f, the attack of issue 11: the seed a principal's sign-in asks for is one it
        enrolled or agreed to with its own second factor or its mailbox."""
        for i in range(len(self.ids)):
            seed = self.effective(i)
            assert seed is None or seed in self.consented[i], (i, self.consented[i])

    @invariant()
    def roles_are_the_union_of_the_group(self) -> None:
        if not self.ids:
            return
        for i, pid in enumerate(self.ids):
            expected: dict[str, str] = {}
            for m in self.members(i):
                for n, seller in enumerate(self.sellers):
                    role = self.grants.get((m, n))
                    if role and _STRENGTH[role] > _STRENGTH.get(expected.get(seller, ""), 0):
                        expected[seller] = role
            operator = bool(self.operators & self.members(i))
            got = self.tx(lambda s, p=pid: access.roles_of(s, p))
            assert got == PrincipalRoles(memberships=expected, operator=operator)


def test_api08_link_consent_unlink_reset_enrol_disable_state_machine(sqlite_template: Path):
    """API-08 (link and unlink, consent by e-mail, the owner's reset-and-cut, the 2FA lifecycle
    across a group) on SQLite, sized for every run; the invariants are in :class:`LinkMachine`."""
    LinkMachine.template = sqlite_template
    run_state_machine_as_test(
        LinkMachine,
        settings=settings(
            max_examples=100,
            stateful_step_count=30,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
