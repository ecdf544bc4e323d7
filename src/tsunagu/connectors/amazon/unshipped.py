"""``import amazon-unshipped``: ship-by promises from the Unshipped Orders report.

The All Orders report says nothing about when an order must ship, so late shipment cannot be
measured from it alone. The Unshipped Orders report
(``GET_FLAT_FILE_ACTIONABLE_ORDER_DATA_SHIPPING``) gives each open MFN order's ``promise-date``;
each order becomes one ``order_promise_set`` event whose id carries the promise itself
(``amzn:<order>:promise:<instant>``), so a corrected promise is a new event rather than a
conflict with the old one.

The report also holds the buyer's name, e-mail, phone and address; they go to the personal-data
store after the run. Orders must already be in the store (import the All Orders report first);
the pipeline rejects the others with ``unknown_order``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from tsunagu.connectors.amazon import common as c
from tsunagu.connectors.amazon.tsv import ReportFile, read_report
from tsunagu.core.i18n import N_
from tsunagu.core.timeutil import format_instant
from tsunagu.marketplaces.registry import Marketplace

REQUIRED = ("order-id", "purchase-date", "promise-date")

#: How a promise given as a window is written; the end of the window is the promise.
RANGE_SEPARATORS = (" - ", " to ")


@dataclass(slots=True)
class _Promise:
    first_line: int
    purchased: datetime
    latest_ship_date: datetime


def promise_date(text: str) -> datetime:
    """The latest ship date in ``text``: a single instant, or the end of ``A - B`` / ``A to B``."""
    for separator in RANGE_SEPARATORS:
        if separator in text:
            text = text.rsplit(separator, 1)[1].strip()
            break
    return c.instant_text(text, "promise-date")


def _parse(row: dict[str, str]) -> tuple[str, datetime, datetime]:
    """Order id, purchase and promise of one row; raises :class:`common.BadValue`."""
    order_id = c.order_id(row, "order-id")
    purchased = c.instant(row, "purchase-date")
    promise = promise_date(c.required(row, "promise-date"))
    return order_id, purchased, promise


def translate_unshipped(
    report: ReportFile, *, seller_id: str, marketplace: Marketplace
) -> c.Prepared:
    """Build one promise per order; pure (the pipeline checks that the orders exist)."""
    prepared = c.Prepared(seller_id, marketplace.code, "amazon-unshipped")
    items: list[tuple[int, object]] = []
    promises: dict[str, _Promise] = {}
    rejected: set[str] = set()
    other_channel = 0
    personal = c.personal_columns(report.columns)
    for line, row in report.rows:
        hostile = c.control_cells(row) if report.cell_controls else None
        if hostile:
            items.extend((line, bad.at(line)) for bad in hostile)
            if c.ORDER_ID.fullmatch(row.get("order-id", "")):
                rejected.add(row["order-id"])
            continue
        try:
            if c.sales_channel_ok(row, marketplace.sales_channel) is None:
                other_channel += 1  # a Non-Amazon (multi-channel) order: not this marketplace's
                continue
            order_id, purchased, promise = _parse(row)
        except c.BadValue as bad:
            items.append((line, bad.at(line)))
            if row.get("order-id"):
                rejected.add(row["order-id"])
            continue
        prepared.keep_personal(c.personal_row_of(order_id, row, personal))
        known = promises.get(order_id)
        if known is None:
            promises[order_id] = _Promise(line, purchased, promise)
        elif known.purchased != purchased:
            items.append(
                (
                    line,
                    c.BadValue(
                        "purchase-date",
                        "inconsistent_order_rows",
                        row["purchase-date"],
                        N_(
                            "{field} differs from line {first} of the same order; the order is skipped"
                        ),
                        first=known.first_line,
                    ).at(line),
                )
            )
            rejected.add(order_id)
        else:
            # rows of one order that disagree: the earliest promise is the one to keep
            known.latest_ship_date = min(known.latest_ship_date, promise)
    for order_id, p in promises.items():
        if order_id in rejected:
            continue
        event: dict[str, Any] = {
            "event_id": f"amzn:{order_id}:promise:{format_instant(p.latest_ship_date)}",
            "type": "order_promise_set",
            "seller": seller_id,
            "marketplace": marketplace.code,
            "at": format_instant(p.purchased),
            "order_id": order_id,
            "latest_ship_date": format_instant(p.latest_ship_date),
        }
        items.append((p.first_line, event))
    items.sort(key=lambda entry: entry[0])
    prepared.items = items
    prepared.stats = {
        "rows": len(report.rows),
        "orders": len(set(promises) | rejected),
        "other_channel": other_channel,
        "encoding": report.encoding,
    }
    return prepared


def prepare_unshipped(
    session: Session, path: Path, *, seller_id: str, marketplace: Marketplace
) -> c.Prepared:
    """Read and check an Unshipped Orders file; nothing is written (``session`` is unused but
    kept so that the three importers share one signature)."""
    del session
    return translate_unshipped(
        read_report(path, REQUIRED), seller_id=seller_id, marketplace=marketplace
    )
