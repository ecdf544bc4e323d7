"""Loading the demo dataset into a database through the normal import path."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tsunagu.core.db import unit_of_work
from tsunagu.demo.generate import DemoDataset
from tsunagu.events import ingest
from tsunagu.marketplaces.registry import Registry
from tsunagu.orders.models import Order, Violation
from tsunagu.sellers.models import Seller
from tsunagu.sellers.service import create_seller


@dataclass
class LoadResult:
    sellers_created: int
    report: ingest.Report


def load(
    factory: sessionmaker[Session], dataset: DemoDataset, *, registry: Registry, now: datetime,
    chunk_size: int = 5000, progress: ingest.Progress | None = None,
) -> LoadResult:
    """Create the demo sellers that are missing, then import the events (idempotent)."""
    created = 0
    with unit_of_work(factory) as session:
        for seller in dataset.sellers:
            if session.get(Seller, seller.id) is None:
                create_seller(session, name=seller.name, marketplaces=seller.marketplaces,
                              registry=registry, now=now, seller_id=seller.id)
                created += 1
    events = dataset.events
    report = ingest.run(
        factory, lambda: enumerate(events, start=1), registry=registry, now=now,
        source_label="demo", chunk_size=chunk_size, progress=progress,
    )
    return LoadResult(created, report)


def summary(session: Session, dataset: DemoDataset) -> list[dict[str, object]]:
    """Per demo seller and store: orders, shipped, cancelled, open violations."""
    rows = []
    for seller in dataset.sellers:
        for marketplace in seller.marketplaces:
            def count(*conds: object) -> int:
                stmt = select(func.count()).select_from(Order).where(
                    Order.seller_id == seller.id, Order.marketplace == marketplace, *conds  # type: ignore[arg-type]
                )
                return int(session.execute(stmt).scalar_one())

            open_violations = session.execute(
                select(func.count()).select_from(Violation).where(
                    Violation.seller_id == seller.id, Violation.marketplace == marketplace,
                    Violation.resolved_at.is_(None),
                )
            ).scalar_one()
            rows.append({
                "seller_id": seller.id, "name": seller.name, "marketplace": marketplace,
                "profile": seller.profile, "description": seller.description,
                "orders": count(),
                "shipped": count(Order.status.in_(("shipped", "delivered"))),
                "cancelled": count(Order.status == "cancelled"),
                "open_violations": int(open_violations),
            })
    return rows


def already_loaded(session: Session, dataset: DemoDataset) -> bool:
    ids = [s.id for s in dataset.sellers]
    found = session.execute(select(func.count()).select_from(Seller).where(Seller.id.in_(ids)))
    return int(found.scalar_one()) == len(ids)
