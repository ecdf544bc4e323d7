"""Security notices (AUTH-11, AUTH-09): every change to how an account signs in is announced by
e-mail to that account and to each account linked with it, and no notice carries a code."""

from __future__ import annotations

import re
from datetime import timedelta

from tests.conftest import Db
from tests.integration.test_identity import NOW, PASSWORD, S, tx
from tests.integration.test_links import (
    JP,
    US,
    auth,
    code_at,
    enrol,
    linked_pair,
    login,
    outbox,
    person,
    second_factor,
)
from tsunagu.access import service as access
from tsunagu.identity import factors, mail, reset, service

KINDS = (
    "mfa_enabled",
    "mfa_disabled",
    "recovery_codes_generated",
    "recovery_code_used",
    "password_changed",
)


def notices(db: Db) -> list[tuple[str, str]]:
    """(kind, recipient) of every notice in the outbox, oldest first."""
    found = [m for m in tx(db, lambda s: mail.list_outbox(s, limit=1000)) if m.kind in KINDS]
    return [(m.kind, m.to_address) for m in reversed(found)]


def test_auth11_each_factor_change_is_announced_to_every_linked_account(db: Db):
    """AUTH-11: 2FA on, recovery codes replaced, a recovery code used (AUTH-09), 2FA off and a
    password change each send one notice to JP and one to the linked US account."""
    _, _, token = linked_pair(db)
    secret, codes = enrol(db, token, NOW)
    later = NOW + timedelta(minutes=1)
    new_codes = tx(
        db,
        lambda s: factors.regenerate_recovery_codes(
            s, auth=auth(s, token, later), now=later, settings=S
        ),
    )
    used = second_factor(
        db, US, new_codes[0], later + timedelta(seconds=10)
    )  # through the linked account
    assert used.ok, used.failure
    again = login(db, JP, later + timedelta(minutes=1), code_at(secret, later, 1))
    tx(
        db,
        lambda s: service.change_password(
            s,
            auth=auth(s, again, later + timedelta(minutes=1)),
            current_password=PASSWORD,
            new_password="a quieter harbour at dawn",
            now=later + timedelta(minutes=1),
            settings=S,
        ),
    )
    step = later + timedelta(minutes=2)
    stepped = tx(
        db,
        lambda s: service.step_up(
            s,
            token=again,
            password="a quieter harbour at dawn",
            code=code_at(secret, step, 1),
            now=step,
            settings=S,
        ),
    )
    assert stepped.ok, stepped.failure
    fresh_token = stepped.token or ""
    tx(db, lambda s: factors.disable_totp(s, auth=auth(s, fresh_token, step), now=step, settings=S))

    expected = []
    for kind in (
        "mfa_enabled",
        "recovery_codes_generated",
        "recovery_code_used",
        "password_changed",
        "mfa_disabled",
    ):
        expected += sorted([(kind, JP), (kind, US)], key=lambda pair: pair[1])
    assert sorted(notices(db)) == sorted(expected)
    bodies = "\n".join(m.body for m in tx(db, lambda s: mail.list_outbox(s, limit=1000)))
    for secret_value in (secret, PASSWORD, *codes, *new_codes):
        assert secret_value not in bodies
    used_body = next(m.body for m in outbox(db, "recovery_code_used", JP))
    assert "9 unused codes" in used_body
    assert US in used_body


def test_auth11_an_unlinked_account_hears_only_about_itself(db: Db):
    """Without a link a change is announced to its own account only; a reset tells the account
    through its own message, never twice."""
    person(db, JP)
    person(db, US)
    token = login(db, JP, NOW)
    enrol(db, token, NOW)
    tx(db, lambda s: reset.request_reset(s, email=JP, now=NOW, settings=S))
    body = outbox(db, "password_reset", JP)[0].body
    found = re.search(r"once\): (\S+)", body)
    assert found is not None, body
    assert notices(db) == [("mfa_enabled", JP)]
    done = tx(
        db,
        lambda s: access.complete_reset(
            s, token=found.group(1), new_password="a quieter harbour at dawn", now=NOW, settings=S
        ),
    )
    assert done.ok, done.failure
    assert notices(db) == [("mfa_enabled", JP), ("password_changed", JP)]
