"""Writes of the violation projection."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from tsunagu.core.db import bulk_insert, raw_instant
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
