"""Loading the demo dataset into a database through the normal import path."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import orjson
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, sessionmaker

from tsunagu.access.service import grant_role, roles_of, set_operator
from tsunagu.core.db import unit_of_work
from tsunagu.core.errors import UsageError
from tsunagu.core.i18n import N_
from tsunagu.demo.generate import DemoDataset, DemoSeller
from tsunagu.events import ingest
from tsunagu.identity.models import Principal
from tsunagu.identity.rules import PRODUCTION, IdentitySettings
from tsunagu.identity.service import create_principal
from tsunagu.marketplaces.registry import Registry
from tsunagu.orders.models import Order
from tsunagu.sellers.models import Seller
from tsunagu.sellers.service import create_seller
from tsunagu.violations.models import Violation

#: The demo's sign-in: the owner of every demo seller. Published in the README and printed by
#: ``tsunagu demo run``, so only ever for a demo database served on this machine.
DEMO_EMAIL = "demo@tsunagu.test"
DEMO_PASSWORD = "kyoto-matcha-2026"  # noqa: S105 (the published demo sign-in)
DEMO_NAME = "Demo owner"


@dataclass
class LoadResult:
    sellers_created: int
    report: ingest.Report


def load(
    factory: sessionmaker[Session],
    dataset: DemoDataset,
    *,
    registry: Registry,
    now: datetime,
    chunk_size: int = 5000,
    progress: ingest.Progress | None = None,
) -> LoadResult:
    """Create the demo sellers that are missing, then import the events (idempotent)."""
    created = ensure_sellers(factory, dataset.sellers, registry=registry, now=now)
    events = dataset.events
    report = ingest.run(
        factory,
        lambda: enumerate(events, start=1),
        registry=registry,
        now=now,
        source_label="demo",
        chunk_size=chunk_size,
        progress=progress,
    )
    return LoadResult(created, report)


def ensure_sellers(
    factory: sessionmaker[Session],
    sellers: Sequence[DemoSeller],
    *,
    registry: Registry,
    now: datetime,
) -> int:
    """Create the sellers (with their demo ids) that do not exist yet; returns how many."""
    created = 0
    with unit_of_work(factory) as session:
        for seller in sellers:
            if session.get(Seller, seller.id) is None:
                create_seller(
                    session,
                    name=seller.name,
                    marketplaces=seller.marketplaces,
                    registry=registry,
                    now=now,
                    seller_id=seller.id,
                )
                created += 1
    return created


def ensure_demo_owner(
    factory: sessionmaker[Session],
    seller_ids: Sequence[str],
    *,
    now: datetime,
    settings: IdentitySettings = PRODUCTION,
    managed: Sequence[str] = (),
) -> str:
    """The demo user (created once, e-mail marked verified) owning every demo seller but those in
    ``managed``, which another demo principal owns and the demo user manages; its id.

    Sellers with one owner are *related accounts* (ADR 0024): a deactivation of one deactivates
    the others. ``managed`` keeps the demo's troubled seller apart from the other two, as an
    agency's client would be. The demo user is also a platform operator, so that both sides of
    an appeal can be tried from one sign-in."""
    with unit_of_work(factory) as session:
        principal = session.scalars(
            select(Principal).where(Principal.email == DEMO_EMAIL)
        ).one_or_none()
        if principal is None:
            principal = create_principal(
                session,
                email=DEMO_EMAIL,
                display_name=DEMO_NAME,
                password=DEMO_PASSWORD,
                now=now,
                settings=settings,
                actor="demo",
            )
        if getattr(principal, "email_verified_at", None) is None:
            principal.email_verified_at = now
        roles = roles_of(session, principal.id)
        for seller_id in seller_ids:
            held = roles.memberships.get(seller_id)
            if seller_id in managed and held is None:
                owner = _own_owner(session, seller_id, now=now, settings=settings)
                for who, role in ((owner, "owner"), (principal.id, "manager")):
                    grant_role(
                        session,
                        principal_id=who,
                        seller_id=seller_id,
                        role=role,
                        now=now,
                        actor="demo",
                    )
            elif seller_id not in managed and held != "owner":
                grant_role(
                    session,
                    principal_id=principal.id,
                    seller_id=seller_id,
                    role="owner",
                    now=now,
                    actor="demo",
                )
        set_operator(session, principal_id=principal.id, operator=True, now=now, actor="demo")
        return principal.id


def _own_owner(
    session: Session, seller_id: str, *, now: datetime, settings: IdentitySettings
) -> str:
    """A principal that owns one demo seller and that nobody signs in as (random password)."""
    email = f"owner.{seller_id.lower().replace('_', '-')}@tsunagu.test"
    found = session.scalars(select(Principal).where(Principal.email == email)).one_or_none()
    if found is not None:
        return found.id
    created = create_principal(
        session,
        email=email,
        display_name=f"Owner of {seller_id}",
        password=secrets.token_urlsafe(24),
        now=now,
        settings=settings,
        actor="demo",
    )
    return created.id


def read_sellers(path: Path) -> list[DemoSeller]:
    """``sellers.json`` as written by ``tsunagu demo generate``."""
    try:
        raw = orjson.loads(path.read_bytes())
        return [
            DemoSeller(
                id=str(s["id"]),
                name=str(s["name"]),
                marketplaces=tuple(str(m) for m in s["marketplaces"]),
                profile=str(s.get("profile", "extra")),
                description=str(s.get("description", "")),
            )
            for s in raw
        ]
    except (OSError, orjson.JSONDecodeError, KeyError, TypeError) as exc:
        raise UsageError(
            N_("{path} is not a sellers.json written by tsunagu demo generate"),
            code="invalid_demo_folder",
            path=path,
        ) from exc


def summary(session: Session, dataset: DemoDataset) -> list[dict[str, object]]:
    """Per demo seller and store: orders, shipped, cancelled, open violations."""
    ids = [s.id for s in dataset.sellers]
    shipped = case((Order.status.in_(("shipped", "delivered")), 1), else_=0)
    cancelled = case((Order.status == "cancelled", 1), else_=0)
    counts = {
        (seller_id, mp): (int(n), int(s or 0), int(c or 0))
        for seller_id, mp, n, s, c in session.execute(
            select(
                Order.seller_id,
                Order.marketplace,
                func.count(),
                func.sum(shipped),
                func.sum(cancelled),
            )
            .where(Order.seller_id.in_(ids))
            .group_by(Order.seller_id, Order.marketplace)
        )
    }
    violations = {
        (seller_id, mp): int(n)
        for seller_id, mp, n in session.execute(
            select(Violation.seller_id, Violation.marketplace, func.count())
            .where(Violation.seller_id.in_(ids), Violation.resolved_at.is_(None))
            .group_by(Violation.seller_id, Violation.marketplace)
        )
    }
    rows: list[dict[str, object]] = []
    for seller in dataset.sellers:
        for marketplace in seller.marketplaces:
            n, s, c = counts.get((seller.id, marketplace), (0, 0, 0))
            rows.append(
                {
                    "seller_id": seller.id,
                    "name": seller.name,
                    "marketplace": marketplace,
                    "profile": seller.profile,
                    "description": seller.description,
                    "orders": n,
                    "shipped": s,
                    "cancelled": c,
                    "open_violations": violations.get((seller.id, marketplace), 0),
                }
            )
    return rows


def already_loaded(session: Session, dataset: DemoDataset) -> bool:
    ids = [s.id for s in dataset.sellers]
    found = session.execute(select(func.count()).select_from(Seller).where(Seller.id.in_(ids)))
    return int(found.scalar_one()) == len(ids)
