"""Customers SQL."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from tsunagu.core.ids import new_id
from tsunagu.customers.models import Customer


def by_external(session: Session, marketplace: str, external_id: str) -> Customer | None:
    return session.scalars(
        select(Customer).where(
            Customer.marketplace == marketplace, Customer.external_id == external_id
        )
    ).one_or_none()


def ensure(session: Session, marketplace: str, external_id: str, now: datetime) -> Customer:
    """The customer, created when new (a concurrent creation of the same one is not an error)."""
    found = by_external(session, marketplace, external_id)
    if found is not None:
        return found
    dialect = session.get_bind().dialect.name
    module: Any = postgresql if dialect == "postgresql" else sqlite
    session.execute(
        module.insert(Customer)
        .values(
            id=new_id("cus"),
            marketplace=marketplace,
            external_id=external_id,
            locale=None,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["marketplace", "external_id"])
    )
    created = by_external(session, marketplace, external_id)
    assert created is not None
    return created
