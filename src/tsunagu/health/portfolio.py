"""Every store a caller reaches, side by side: the agency view of the home page.

One line per store (a seller without stores gets one line without a store): its rating and
band today, its account status from the enforcement slice and the metrics over their target.
Sorted here, not in the page, so the order is the same with or without JavaScript. Writes
nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tsunagu.core.errors import InvalidInput
from tsunagu.core.i18n import N_
from tsunagu.enforcement import service as enforcement
from tsunagu.health import coverage, incremental
from tsunagu.marketplaces.registry import Registry
from tsunagu.sellers.service import list_sellers

#: the columns the lines can be sorted by
SORTS = ("seller", "rating", "status", "missed")
DIRECTIONS = ("asc", "desc")
#: how many sellers one page lists at most (an operator reaches every seller)
MAX_SELLERS = 200

#: the account statuses from the best to the worst
STATUS_RANK = {"NORMAL": 0, "AT_RISK": 1, "UNDER_REVIEW": 2, "DEACTIVATED": 3}


@dataclass(frozen=True)
class StoreLine:
    """One store of the view. ``marketplace`` and the figures are ``None`` for a seller without
    stores. ``incomplete``: a deciding metric or the rating lacks a source of data no Amazon
    report stands in for (:mod:`tsunagu.health.coverage`); ``None`` without a store."""

    seller_id: str
    seller_name: str
    marketplace: str | None = None
    score: int | None = None
    band: str | None = None
    status: str | None = None
    #: the metrics over (or under) their target, as metric names
    missed: tuple[str, ...] = ()
    incomplete: bool | None = None


def check_sort(sort: str, direction: str) -> None:
    """``invalid_sort`` for a column or direction the view does not sort by."""
    if sort not in SORTS or direction not in DIRECTIONS:
        bad = sort if sort not in SORTS else direction
        raise InvalidInput(
            N_("Cannot sort by {value}; use one of {choices}"),
            code="invalid_sort",
            value=bad,
            choices=", ".join(SORTS if sort not in SORTS else DIRECTIONS),
            details={"field": "sort" if sort not in SORTS else "dir", "value": bad},
        )


_KEYS: dict[str, Callable[[StoreLine], Any]] = {
    "rating": lambda line: line.score,
    "status": lambda line: None if line.status is None else STATUS_RANK.get(line.status, 99),
    "missed": lambda line: None if line.marketplace is None else len(line.missed),
}


def sort_lines(lines: Collection[StoreLine], sort: str, direction: str) -> list[StoreLine]:
    """``lines`` by ``sort`` (seller name, rating, account status from normal to deactivated,
    number of missed metrics) in ``direction``; equal ones by seller name and store, and lines
    without the figure (a seller without stores) last either way."""
    check_sort(sort, direction)
    descending = direction == "desc"
    by_name = sorted(
        lines, key=lambda s: (s.seller_name.casefold(), s.seller_id, s.marketplace or "")
    )
    if sort == "seller":
        return list(reversed(by_name)) if descending else by_name
    key = _KEYS[sort]
    known = [s for s in by_name if key(s) is not None]
    unknown = [s for s in by_name if key(s) is None]
    # a stable sort: reverse=True keeps the name order among equal figures
    return sorted(known, key=key, reverse=descending) + unknown


def portfolio(
    session: Session,
    *,
    only: Collection[str] | None,
    registry: Registry,
    now: datetime,
    sort: str = "seller",
    direction: str = "asc",
) -> list[StoreLine]:
    """The stores of the sellers in ``only`` (``None``: every seller, up to
    :data:`MAX_SELLERS`), sorted."""
    check_sort(sort, direction)
    lines: list[StoreLine] = []
    sellers = list_sellers(session, limit=MAX_SELLERS, only=None if only is None else sorted(only))
    for seller in sellers:
        codes = sorted(st.marketplace for st in seller.stores)
        if not codes:
            lines.append(StoreLine(seller.id, seller.name))
        for code in codes:
            mp = registry.get(code)
            if mp is None:  # a store of a marketplace this installation no longer configures
                continue
            h = incremental.store_health_now(session, seller_id=seller.id, marketplace=mp, now=now)
            status = enforcement.store_status(session, seller_id=seller.id, marketplace=code)
            missed = tuple(m.name for m in h.metrics.values() if m.status == "BAD")
            lines.append(
                StoreLine(
                    seller_id=seller.id,
                    seller_name=seller.name,
                    marketplace=code,
                    score=h.rating.score,
                    band=h.rating.band,
                    status=status.status,
                    missed=missed,
                    incomplete=coverage.store_coverage(session, h, mp.tz).incomplete,
                )
            )
    return sort_lines(lines, sort, direction)
