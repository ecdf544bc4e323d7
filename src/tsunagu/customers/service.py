"""Customers: find or create the buyer account of a marketplace. Never commits."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from tsunagu.core.errors import NotFound
from tsunagu.core.i18n import N_
from tsunagu.core.text import is_printable
from tsunagu.customers import repo
from tsunagu.customers.models import Customer


def ensure_customer(
    session: Session, *, marketplace: str, external_id: str, now: datetime
) -> Customer:
    """The buyer account for an order's ``customer_id`` in ``marketplace``, created when new."""
    return repo.ensure(session, marketplace, external_id, now)


def find_customer(session: Session, *, marketplace: str, external_id: str) -> Customer | None:
    """The customer, or None; an id with a control character is no customer's (and is never
    sent to the database: PostgreSQL refuses NUL in text)."""
    if not is_printable(external_id):
        return None
    return repo.by_external(session, marketplace, external_id)


def require_customer(session: Session, *, marketplace: str, external_id: str) -> Customer:
    """The customer, or 404 ``customer_not_found``."""
    found = find_customer(session, marketplace=marketplace, external_id=external_id)
    if found is None:
        raise NotFound(
            N_("No customer {customer} in {marketplace}"),
            code="customer_not_found",
            customer=external_id,
            marketplace=marketplace,
            details={"customer": external_id, "marketplace": marketplace},
        )
    return found
