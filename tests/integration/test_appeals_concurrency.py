"""SH-02: two (here ten) reviewers deciding one appeal at the same instant make exactly one
decision; every other one is refused with 409 ``sequence_fail``. On both databases: SQLite
queues writers on its lock, PostgreSQL on the appeal's row (``FOR UPDATE``), and the row's
version and the unique (appeal, seq) of the transitions stand behind both."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select

from tests.conftest import Db
from tests.factories import make_seller
from tests.integration.test_appeals import (
    LATER,
    OPERATOR,
    complete_plan,
    create,
    deactivate,
    set_plan,
    submit,
)
from tsunagu.appeals import service
from tsunagu.appeals.models import AppealTransition
from tsunagu.appeals.rules import DECIDED
from tsunagu.core.db import unit_of_work
from tsunagu.core.errors import TsunaguError
from tsunagu.enforcement import service as enforcement

N = 10


def test_sh02_ten_reviewers_at_once_make_one_decision(db: Db):
    seller = make_seller(db, marketplaces=("US",))
    deactivate(db, seller)
    appeal = create(db, seller)
    set_plan(db, appeal.id, complete_plan(appeal.issues))
    submit(db, appeal.id)
    start = threading.Barrier(N)
    decisions = ["accept" if i % 2 == 0 else "reject" for i in range(N)]

    def decide(decision: str) -> str | TsunaguError:
        start.wait()
        try:
            with unit_of_work(db.factory) as session:
                service.decide(
                    session,
                    appeal_id=appeal.id,
                    decision=decision,
                    actor=OPERATOR,
                    now=LATER,
                    registry=db.registry,
                )
            return decision
        except TsunaguError as error:
            return error

    with ThreadPoolExecutor(N) as pool:
        results = list(pool.map(decide, decisions))
    assert all(r.status == 409 for r in results if isinstance(r, TsunaguError)), results
    outcomes = [r.code if isinstance(r, TsunaguError) else r for r in results]
    made = [o for o in outcomes if o in ("accept", "reject")]
    assert len(made) == 1, outcomes
    assert outcomes.count("sequence_fail") == N - 1
    with db.factory() as session:
        steps = session.scalars(
            select(AppealTransition)
            .where(AppealTransition.appeal_id == appeal.id)
            .order_by(AppealTransition.seq)
        ).all()
        store = enforcement.store_status(session, seller_id=seller, marketplace="US")
    assert [s.action for s in steps] == ["create", "submit", "review", made[0]]
    assert sum(s.to_status in DECIDED for s in steps) == 1
    assert store.status == ("NORMAL" if made[0] == "accept" else "DEACTIVATED")
