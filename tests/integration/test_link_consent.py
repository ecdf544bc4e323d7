"""Linking never puts an account under somebody else's authenticator without its owner's own
second factor or mailbox (issue 11, item 2; AUTH-13 f and g; ADR 0014), on SQLite and PostgreSQL.

The attack as reported: knowing (or having just reset) the victim's password, an attacker with
2FA linked the victim's account to their own; the victim's sign-in then asked for the attacker's
code, a password reset did not help, and the attacker kept reading the victim's sellers. Here the
attacker plays every move they have, and the owner uses the ways out: declining, a password reset
that ends everything that reached the account through the link, and cutting the link from the
reset, which works even when signing in does not.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from tests.conftest import Db
from tests.integration.test_access import make_seller
from tests.integration.test_identity import NOW, PASSWORD, S, sign_in, tx
from tests.integration.test_links import (
    ADMIN,
    JP,
    US,
    accept,
    auth,
    code_at,
    consent_code,
    enrol,
    entries,
    link,
    link_and_consent,
    link_rows,
    login,
    outbox,
    person,
    second_factor,
    step_up,
)
from tsunagu.access import service as access
from tsunagu.identity import link_requests, links, repo, reset, service
from tsunagu.identity.errors import (
    InvalidCode,
    LinkRequestForAnotherAccount,
    LinkRequestInvalid,
    LinkRequestStale,
    ReauthRequired,
    SessionInvalid,
)
from tsunagu.identity.models import ApiToken, AuthSession

VICTIM = "victim@example.jp"
ATTACKER = "attacker@example.net"
RESET_CODE = re.compile(r"once\): (\S+)")


def owner_of(db: Db, principal: str, name: str) -> str:
    seller = make_seller(db, name)
    tx(
        db,
        lambda s: access.grant_role(
            s, principal_id=principal, seller_id=seller, role="owner", now=NOW, actor=ADMIN
        ),
    )
    return seller


def reset_password(db: Db, email: str, when: Any, *, cut_links: bool = False) -> reset.ResetDone:
    """The owner's mailbox path: ask for a reset, read the code, set a new password."""
    tx(db, lambda s: reset.request_reset(s, email=email, now=when, settings=S))
    found = RESET_CODE.search(outbox(db, "password_reset", email)[0].body)
    assert found is not None
    code = found.group(1)
    return tx(
        db,
        lambda s: access.complete_reset(
            s,
            token=code,
            new_password="a-brand-new-teapot",
            now=when,
            settings=S,
            cut_links=cut_links,
        ),
    )


def reads(db: Db, principal: str) -> set[str]:
    return set(tx(db, lambda s: access.roles_of(s, principal)).memberships)


def token_for(db: Db, principal: str, seller: str, when: Any) -> str:
    return tx(
        db,
        lambda s: (
            access.create_seller_token(
                s,
                principal_id=principal,
                name="sync",
                scope="read",
                seller_ids=[seller],
                now=when,
                expires_at=None,
                actor=principal,
            ).info.id
        ),
    )


def hostile_link(db: Db) -> tuple[str, str, str, str, str]:
    """The state the old code let an attacker reach, made the only way it still can be: with
    the victim's mailbox (phished once). The attacker's authenticator protects both accounts.
    Returns (victim, attacker, attacker's secret, attacker's session, victim's seller)."""
    victim, attacker = person(db, VICTIM), person(db, ATTACKER)
    seller = owner_of(db, victim, "Victim Tea")
    secret, _ = enrol(db, login(db, ATTACKER, NOW), NOW)
    later = NOW + timedelta(minutes=1)
    session = login(db, ATTACKER, later, code_at(secret, later))
    done = link_and_consent(db, session, VICTIM, later)
    assert done.ok, done
    assert not done.pending, done
    assert tx(db, lambda s: links.factor_holder(s, victim)) == attacker
    return victim, attacker, secret, session, seller


# -- the attacker's moves ---------------------------------------------------------------------


def test_auth13f_knowing_the_victims_password_links_nothing_and_changes_no_sign_in(db: Db):
    """AUTH-13 f: with the victim's password (and a step-up of their own), the attacker gets a
    request that waits for the victim's mailbox. Nothing is linked, the victim still signs in
    with the password alone, the attacker reaches none of the victim's sellers, and the message
    in the victim's mailbox says what was asked and what to do."""
    victim, attacker = person(db, VICTIM), person(db, ATTACKER)
    seller = owner_of(db, victim, "Victim Tea")
    secret, _ = enrol(db, login(db, ATTACKER, NOW), NOW)
    later = NOW + timedelta(minutes=1)
    session = login(db, ATTACKER, later, code_at(secret, later))

    waits = link(db, session, VICTIM, later)
    assert waits.ok
    assert waits.pending
    assert waits.waiting_for == [victim]
    assert link_rows(db) == 0
    assert sign_in(db, VICTIM, PASSWORD, later).stage == service.FULL
    assert seller not in reads(db, attacker)
    [message] = outbox(db, "link_request", VICTIM)
    assert ATTACKER in message.body
    assert "authenticator app of " + ATTACKER in message.body  # what accepting would change
    assert outbox(db, "link_request", ATTACKER) == []  # the attacker's side proved its factor

    # the code is only in the victim's mailbox; guesses and the attacker's own session get nowhere
    guessed = accept(db, session, VICTIM, later, code="not-the-code")
    assert isinstance(guessed.failure, LinkRequestInvalid)
    as_victim = login(db, VICTIM, later)  # the attacker knows the password
    guessed = accept(db, as_victim, VICTIM, later, code="not-the-code-either")
    assert isinstance(guessed.failure, LinkRequestInvalid)
    leaked = accept(db, session, VICTIM, later)  # even holding the code, not as the attacker
    assert isinstance(leaked.failure, LinkRequestForAnotherAccount)
    assert link_rows(db) == 0
    assert sign_in(db, VICTIM, PASSWORD, later).stage == service.FULL


def test_auth13f_signed_in_as_the_victim_the_attacker_cannot_link_it_to_their_account(db: Db):
    """The same attack from the other side: signed in *as* the victim (password only), the
    attacker links the victim's account to their own, proving their own with their code. The
    victim's side has no second factor, so the victim's mailbox must agree: nothing changes."""
    victim, attacker = person(db, VICTIM), person(db, ATTACKER)
    seller = owner_of(db, victim, "Victim Tea")
    secret, _ = enrol(db, login(db, ATTACKER, NOW), NOW)
    later = NOW + timedelta(minutes=1)
    as_victim = login(db, VICTIM, later)
    waits = link(db, as_victim, ATTACKER, later, code=code_at(secret, later))
    assert waits.ok
    assert waits.pending
    assert waits.waiting_for == [victim]
    assert link_rows(db) == 0
    assert sign_in(db, VICTIM, PASSWORD, later).stage == service.FULL
    assert seller not in reads(db, attacker)


def test_the_owner_declines_and_the_request_is_dead(db: Db):
    """Declining needs only the code (it leaves everything as it is); the asker is told, and the
    code is worth nothing afterwards."""
    victim = person(db, VICTIM)
    person(db, ATTACKER)
    session = login(db, ATTACKER, NOW)
    assert link(db, session, VICTIM, NOW).pending
    code = consent_code(db, VICTIM)
    declined = tx(db, lambda s: links.decline_link(s, token=code, now=NOW))
    assert declined.ok
    [told] = outbox(db, "link_declined", ATTACKER)
    assert VICTIM in told.body
    late = accept(db, login(db, VICTIM, NOW), VICTIM, NOW, code=code)
    assert isinstance(late.failure, LinkRequestInvalid)
    again = tx(db, lambda s: links.decline_link(s, token=code, now=NOW))
    assert isinstance(again.failure, LinkRequestInvalid)
    assert link_rows(db) == 0
    assert [e.actor for e in entries(db, "account_link_declined", "success")] == [victim]


def test_accepting_needs_a_recent_sign_in_and_works_once_before_it_expires(db: Db):
    """AUTH-12: accepting is linking, so it needs a step-up within 5 minutes; the code works
    for 24 hours (IdentitySettings.link_request_lifetime) and once."""
    person(db, JP)
    us = person(db, US)
    token = login(db, JP, NOW)
    assert link(db, token, US, NOW).pending
    us_session = login(db, US, NOW)
    stale_session = NOW + timedelta(minutes=6)
    with pytest.raises(ReauthRequired):
        accept(db, us_session, US, stale_session)
    fresh = step_up(db, us_session, stale_session)
    first = accept(db, fresh, US, stale_session)
    assert first.ok
    assert first.pending
    again = accept(db, fresh, US, stale_session)  # accepting twice changes nothing
    assert again.ok
    assert again.pending
    code = consent_code(db, JP)
    expired = NOW + S.link_request_lifetime
    late = accept(db, login(db, JP, expired), JP, expired, code=code)
    assert isinstance(late.failure, LinkRequestInvalid)
    assert link_rows(db) == 0
    assert tx(db, lambda s: links.linked_ids(s, us)) == [us]


def test_a_request_made_stale_by_another_link_is_not_made(db: Db):
    """The agreements were for two unlinked accounts; US meanwhile joined another group. Then the
    last acceptance makes nothing: ``link_request_stale``."""
    jp, us = person(db, JP), person(db, US)
    third = person(db, "third@example.de")
    token = login(db, JP, NOW)
    assert link(db, token, US, NOW).pending
    first_code, us_code = consent_code(db, JP), consent_code(db, US)
    assert link_and_consent(db, login(db, "third@example.de", NOW), US, NOW).ok
    assert accept(db, token, JP, NOW, code=first_code).pending
    stale = accept(db, login(db, US, NOW), US, NOW, code=us_code)
    assert isinstance(stale.failure, LinkRequestStale)
    assert stale.failure.status == 409
    assert tx(db, lambda s: links.linked_ids(s, jp)) == [jp]
    assert tx(db, lambda s: links.linked_ids(s, us)) == sorted([us, third])


def test_a_newer_request_for_the_same_accounts_supersedes_the_older(db: Db):
    person(db, JP)
    person(db, US)
    token = login(db, JP, NOW)
    assert link(db, token, US, NOW).pending
    old = consent_code(db, US)
    assert link(db, token, US, NOW + timedelta(seconds=1)).pending
    refused = accept(db, login(db, US, NOW), US, NOW + timedelta(seconds=2), code=old)
    assert isinstance(refused.failure, LinkRequestInvalid)
    waiting = tx(
        db,
        lambda s: link_requests.waiting(
            s, principal_id=s.scalars(select(AuthSession.principal_id)).first(), now=NOW
        ),
    )
    assert len(waiting) == 1


# -- the owner's ways out ---------------------------------------------------------------------


def test_auth13g_a_reset_ends_everything_that_reached_the_account_through_the_link(db: Db):
    """AUTH-13 g: the victim resets the password. Every session of the victim and of the
    attacker's account ends, every token of the victim and the attacker's token for the victim's
    seller are revoked (the attacker's token for their own seller stays), and both are told."""
    victim, attacker, _secret, session, seller = hostile_link(db)
    own_seller = owner_of(db, attacker, "Attacker Goods")
    later = NOW + timedelta(minutes=2)
    reaching = token_for(db, attacker, seller, later)
    own = token_for(db, attacker, own_seller, later)
    victims_token = token_for(db, victim, seller, later)

    done = reset_password(db, VICTIM, later)
    assert done.ok, done.failure
    assert done.linked_sessions_ended >= 1
    assert sorted(done.revoked_tokens) == sorted([victims_token, reaching])
    with pytest.raises(SessionInvalid):
        tx(db, lambda s: auth(s, session, later))
    revoked = tx(db, lambda s: {t.id: t.revoked_at for t in s.scalars(select(ApiToken))})
    assert revoked[reaching] == later
    assert revoked[victims_token] == later
    assert revoked[own] is None
    [to_victim] = outbox(db, "password_changed", VICTIM)
    assert ATTACKER in to_victim.body  # the linked account is named
    assert "cut" in to_victim.body  # and how to cut the link is said
    [to_attacker] = outbox(db, "password_reset_linked", ATTACKER)
    assert VICTIM in to_attacker.body


def test_auth13g_the_locked_out_owner_cuts_the_link_from_the_reset(db: Db):
    """The victim cannot sign in (the attacker's code is asked for). The notices never tell them
    to sign in: they say to reset and cut. The reset's ``cut_links`` dissolves the group: the
    victim signs in with the password alone again, nobody reaches the victim's seller through a
    link any more, and every former member is told."""
    victim, attacker, secret, _session, seller = hostile_link(db)
    linked_notice = outbox(db, "account_linked", VICTIM)[0].body
    assert "reset" in linked_notice
    assert "cut" in linked_notice
    assert "works even if you cannot sign in" in linked_notice
    assert "sign in, unlink" not in linked_notice
    later = NOW + timedelta(minutes=2)
    assert sign_in(db, VICTIM, PASSWORD, later).stage == service.SECOND_FACTOR  # locked out

    done = reset_password(db, VICTIM, later, cut_links=True)
    assert done.ok
    assert done.links_cut
    assert tx(db, lambda s: links.linked_ids(s, victim)) == [victim]
    assert tx(db, lambda s: links.linked_ids(s, attacker)) == [attacker]
    after = sign_in(db, VICTIM, "a-brand-new-teapot", later + timedelta(seconds=1))
    assert after.stage == service.FULL  # no longer the attacker's authenticator
    assert seller not in reads(db, attacker)
    assert tx(db, lambda s: repo.totp_factor(s, victim)) is None  # no copy of the attacker's
    cut = outbox(db, "account_links_cut")
    assert sorted(m.to_address for m in cut) == sorted([VICTIM, ATTACKER])
    assert [e.actor for e in entries(db, "account_links_cut", "success")] == [victim]
    # the attacker keeps their own factor
    when = later + timedelta(minutes=1)
    assert second_factor(db, ATTACKER, code_at(secret, when), when).ok


def test_cutting_gives_each_account_back_its_own_second_factor(db: Db):
    """Both had 2FA: the other's factor was set aside, not deleted. Cutting the link (from a
    reset of either account) gives it back, so nobody loses a second factor by cutting."""
    person(db, JP)
    us = person(db, US)
    jp_secret, _ = enrol(db, login(db, JP, NOW), NOW)
    us_secret, us_codes = enrol(db, login(db, US, NOW), NOW)
    later = NOW + timedelta(minutes=1)
    token = login(db, JP, later, code_at(jp_secret, later))
    assert link(db, token, US, later, code=code_at(us_secret, later)).replaced_factor
    t2 = later + timedelta(minutes=1)
    assert isinstance(second_factor(db, US, code_at(us_secret, t2), t2).failure, InvalidCode)
    assert reset_password(db, US, t2, cut_links=True).links_cut
    t3 = t2 + timedelta(minutes=1)
    assert sign_in(db, US, "a-brand-new-teapot", t3).stage == service.SECOND_FACTOR
    started = sign_in(db, US, "a-brand-new-teapot", t3)
    done = tx(
        db,
        lambda s: service.complete_second_factor(
            s, token=started.token or "", code=code_at(us_secret, t3), now=t3, settings=S
        ),
    )
    assert done.ok
    assert tx(db, lambda s: len(repo.unused_recovery_codes(s, us))) == len(us_codes)
    assert second_factor(db, JP, code_at(jp_secret, t3), t3 + timedelta(seconds=5)).ok


def test_auth13g_sign_out_everywhere_ends_the_linked_accounts_sessions_and_reaching_tokens(
    db: Db,
):
    """ "Sign out everywhere" through the victim's account ends the attacker's sessions too (they
    reached the victim through the link) and revokes the attacker's token for the victim's
    seller; the victim's own session stays, and both are told."""
    victim, attacker, secret, session, seller = hostile_link(db)
    later = NOW + timedelta(minutes=2)
    reaching = token_for(db, attacker, seller, later)
    mine = login(db, VICTIM, later, code_at(secret, later))
    done = tx(
        db,
        lambda s: access.sign_out_everywhere(s, auth=auth(s, mine, later), now=later, settings=S),
    )
    assert done.revoked_tokens == [reaching]
    assert done.sessions_ended >= 1
    with pytest.raises(SessionInvalid):
        tx(db, lambda s: auth(s, session, later))
    assert tx(db, lambda s: auth(s, mine, later)).principal_id == victim
    told = outbox(db, "signed_out_everywhere")
    assert sorted(m.to_address for m in told) == sorted([VICTIM, ATTACKER])
    assert attacker in tx(db, lambda s: links.linked_ids(s, victim))  # the link itself stays
