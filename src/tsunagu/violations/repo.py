"""Writes and reads of the violation projection."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.core.db import bulk_insert, raw_instant
from tsunagu.violations.models import Violation
from tsunagu.violations.rules import ViolationState


def write_violations(
    session: Session, seller_id: str, marketplace: str, states: Sequence[ViolationState]
) -> None:
    d = session.get_bind().dialect.name
    cols = (
        "seller_id",
        "marketplace",
        "violation_id",
        "policy",
        "severity",
        "asin",
        "opened_at",
        "resolved_at",
        "how",
    )
    bulk_insert(
        session,
        "violations",
        cols,
        [
            (
                seller_id,
                marketplace,
                v.violation_id,
                v.policy,
                v.severity,
                v.asin,
                raw_instant(v.opened_at, d),
                raw_instant(v.resolved_at, d),
                v.how,
            )
            for v in states
        ],
        conflict=cols[:3],
        update=cols[3:],
    )


def store_violations(session: Session, seller_id: str, marketplace: str) -> list[Violation]:
    """Every violation of one store, as the projection holds it (oldest opening first; one
    without an opening, known only from its resolution, last)."""
    rows = session.execute(
        select(Violation)
        .where(Violation.seller_id == seller_id, Violation.marketplace == marketplace)
        .order_by(Violation.opened_at.is_(None), Violation.opened_at, Violation.violation_id)
    )
    return list(rows.scalars())
