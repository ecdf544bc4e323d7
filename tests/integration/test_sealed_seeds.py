"""The database never holds a TOTP seed in clear once the installation has a key, and seeds
stored before sealing keep working and are sealed on their next use."""

from __future__ import annotations

from datetime import timedelta

import pyotp
from sqlalchemy import select, update

from tests.conftest import Db
from tests.integration.test_identity import NOW, tx
from tests.integration.test_links import JP, code_at, enrol, login, person, second_factor
from tsunagu.identity import sealing
from tsunagu.identity.models import TotpFactor


def stored_seeds(db: Db) -> list[str]:
    return list(tx(db, lambda s: s.scalars(select(TotpFactor.secret)).all()))


def test_seeds_are_sealed_in_the_database_and_still_verify(db: Db):
    person(db, JP)
    token = login(db, JP, NOW)
    secret, _ = enrol(db, token, NOW)
    [stored] = stored_seeds(db)
    assert sealing.is_sealed(stored)
    assert secret not in stored
    later = NOW + timedelta(minutes=1)
    assert second_factor(db, JP, code_at(secret, later), later).ok


def test_a_seed_from_before_sealing_verifies_and_is_then_sealed(db: Db):
    person(db, JP)
    token = login(db, JP, NOW)
    enrol(db, token, NOW)
    legacy = pyotp.random_base32(32)
    tx(db, lambda s: s.execute(update(TotpFactor).values(secret=legacy)))
    assert stored_seeds(db) == [legacy]
    later = NOW + timedelta(minutes=1)
    assert second_factor(db, JP, code_at(legacy, later), later).ok
    [stored] = stored_seeds(db)
    assert sealing.is_sealed(stored)
    assert legacy not in stored
    again = later + timedelta(minutes=1)
    assert second_factor(db, JP, code_at(legacy, again), again).ok
