"""``import amazon-orders``: the All Orders report as seller events.

Amazon's All Orders report (``GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL``) has one row per
order item and is downloaded again and again over overlapping windows. Each order becomes

* ``order_placed`` (``amzn:<order>:placed``), built only from columns that never change between
  downloads — purchase date, channel, SKUs, quantities, item prices and tax — so a later download
  rebuilds the very same event; and it is built only for orders this store has never seen, so even
  a later download that blanks the amounts of a cancelled line cannot conflict with it;
* one event per later status: ``order_shipped`` (``amzn:<order>:shipped``) and ``order_cancelled``
  (``amzn:<order>:cancelled``). The file has no ship or cancel time, so both are dated at the
  purchase and the shipment says ``ship_time_known: false``; the cancellation says ``by: unknown``.

The file has no promise dates, carrier or tracking: those fields are left out, never guessed.
Pending orders (amounts still blank) produce nothing yet: a later download brings them. The
``ship-*`` columns are personal data and go to the personal-data store after the run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from tsunagu.connectors.amazon import common as c
from tsunagu.connectors.amazon.tsv import ReportFile, read_report
from tsunagu.core.i18n import N_
from tsunagu.core.timeutil import format_instant
from tsunagu.events import repo
from tsunagu.events.rules import from_canonical
from tsunagu.marketplaces.registry import Marketplace

REQUIRED = (
    "amazon-order-id",
    "purchase-date",
    "order-status",
    "fulfillment-channel",
    "sku",
    "quantity",
    "item-price",
)

#: order-status (lower case) → what it means for the events: pending | placed | shipped | cancelled
STATUSES: Mapping[str, str] = {
    "pending": "pending",
    "unshipped": "placed",
    "partiallyshipped": "placed",
    "shipping": "placed",
    "shipped": "shipped",
    "shipped - delivered to buyer": "shipped",
    "cancelled": "cancelled",
}
#: fulfillment-channel (lower case) → tsunagu channel. Files say Merchant/Amazon, the docs MFN/AFN.
CHANNELS: Mapping[str, str] = {"merchant": "MFN", "mfn": "MFN", "amazon": "AFN", "afn": "AFN"}

KnownOrders = Callable[[Sequence[str]], set[str]]
T = TypeVar("T")


@dataclass(slots=True)
class _Row:
    """One good item row; ``item`` is None for pending rows (their amounts are blank)."""

    line: int
    purchased: datetime
    status: str
    channel: str
    item: dict[str, Any] | None
    amounts_known: bool
    is_business: bool
    ship_service: str


@dataclass(slots=True)
class _Order:
    order_id: str
    first_line: int
    rows: list[_Row] = field(default_factory=list)
    rejected: bool = False


class _Cells:
    """Runs the value parsers over one row and collects every bad value instead of stopping."""

    def __init__(self) -> None:
        self.errors: list[c.BadValue] = []

    def take(self, parse: Callable[..., T], *args: Any) -> T | None:
        try:
            return parse(*args)
        except c.BadValue as bad:
            self.errors.append(bad)
            return None


def _status(row: Mapping[str, str]) -> str:
    value = c.required(row, "order-status")
    status = STATUSES.get(value.lower())
    if status is None:
        raise c.BadValue(
            "order-status", "unknown_order_status", value, N_("unknown {field} {value}")
        )
    return status


def _channel(row: Mapping[str, str]) -> str:
    value = c.required(row, "fulfillment-channel")
    channel = CHANNELS.get(value.lower())
    if channel is None:
        raise c.BadValue(
            "fulfillment-channel",
            "unknown_fulfillment_channel",
            value,
            N_("unknown {field} {value}; expected Merchant or Amazon"),
        )
    return channel


def _item(
    row: Mapping[str, str], status: str, currency: str, cells: _Cells
) -> tuple[dict[str, Any] | None, bool]:
    """The item of a row and whether its price was given.

    A blank price is accepted only on a cancelled order or item (Amazon blanks them there) and
    then counts as 0 with ``amounts_known: false``; elsewhere it is a ``missing_value``.
    """
    sku = cells.take(c.required, row, "sku")
    if sku is not None:
        sku = cells.take(c.identifier, row, "sku")
    quantity = cells.take(c.quantity, row, "quantity")
    cancelled = status == "cancelled" or row.get("item-status", "").lower() == "cancelled"
    price: int | None = 0
    known = bool(row.get("item-price"))
    if known:
        price = cells.take(c.amount, row, "item-price", currency)
    elif not cancelled:
        cells.take(c.required, row, "item-price")  # records missing_value
        price = None
    tax = cells.take(c.amount, row, "item-tax", currency) if row.get("item-tax") else None
    if sku is None or quantity is None or price is None:
        return None, known
    item: dict[str, Any] = {"sku": sku, "quantity": quantity, "price": price}
    if tax is not None:
        item["tax"] = tax
    return item, known


def _quick_row(line: int, row: Mapping[str, str], mp: Marketplace) -> _Row | None:
    """The row when every value is plainly good, else None (then :func:`_parse_row` finds out why).

    Nearly every row of a real file is good, and for those this does the same checks as the
    detailed path below without collecting errors cell by cell: a row it accepts gives exactly
    the row the detailed path would. Anything unusual is left to that path, so errors are still
    reported the one way.
    """
    status = STATUSES.get(row.get("order-status", "").lower())
    channel = CHANNELS.get(row.get("fulfillment-channel", "").lower())
    currency = row.get("currency", "")
    business = row.get("is-business-order", "").lower()
    ship_service = row.get("ship-service-level", "")
    if (
        status is None
        or channel is None
        or (currency and currency.upper() != mp.currency)
        or business not in ("", "false", "true")
        or len(ship_service) > c.MAX_TEXT
    ):
        return None
    try:
        purchased = c.instant(row, "purchase-date")
        item: dict[str, Any] | None = None
        known = True
        if status != "pending":
            sku = row.get("sku", "")
            quantity = row.get("quantity", "")
            if (
                not sku
                or len(sku) > c.MAX_TEXT
                or not sku.isprintable()
                or not quantity.isdecimal()
                or len(quantity) > 9
                or int(quantity) > c.MAX_QUANTITY
            ):
                return None
            known = bool(row.get("item-price"))
            if known:
                price = c.amount(row, "item-price", mp.currency)
            elif status == "cancelled" or row.get("item-status", "").lower() == "cancelled":
                price = 0
            else:
                return None
            item = {"sku": sku, "quantity": int(quantity), "price": price}
            if row.get("item-tax"):
                item["tax"] = c.amount(row, "item-tax", mp.currency)
    except c.BadValue:
        return None
    return _Row(line, purchased, status, channel, item, known, business == "true", ship_service)


def _parse_row(line: int, row: Mapping[str, str], mp: Marketplace) -> _Row | list[c.BadValue]:
    quick = _quick_row(line, row, mp)
    if quick is not None:
        return quick
    cells = _Cells()
    purchased = cells.take(c.instant, row, "purchase-date")
    status = cells.take(_status, row)
    channel = cells.take(_channel, row)
    cells.take(c.currency_ok, row, mp.currency)
    is_business = cells.take(c.flag, row, "is-business-order")
    ship_service = cells.take(c.short_text, row, "ship-service-level")
    item, known = None, True
    if status is not None and status != "pending":
        item, known = _item(row, status, mp.currency, cells)
    if cells.errors:
        return cells.errors
    assert purchased is not None
    assert status is not None
    assert channel is not None
    return _Row(
        line, purchased, status, channel, item, known, bool(is_business), ship_service or ""
    )


def _inconsistency(first: _Row, row: _Row, raw: Mapping[str, str]) -> c.BadValue | None:
    """Rows of one order must agree on what describes the order, not the item."""
    for column, a, b in (
        ("purchase-date", first.purchased, row.purchased),
        ("fulfillment-channel", first.channel, row.channel),
        ("order-status", first.status, row.status),
    ):
        if a != b:
            return c.BadValue(
                column,
                "inconsistent_order_rows",
                raw.get(column, ""),
                N_("{field} differs from line {first} of the same order; the order is skipped"),
                first=first.line,
            )
    return None


def _group(
    report: ReportFile, mp: Marketplace, items: list[tuple[int, object]], prepared: c.Prepared
) -> tuple[dict[str, _Order], int]:
    """Pass over the rows: errors go to ``items``, good rows to their order (any position)."""
    orders: dict[str, _Order] = {}
    other_channel = 0
    personal = c.personal_columns(report.columns)
    for line, row in report.rows:
        hostile = c.control_cells(row) if report.cell_controls else None
        if hostile:
            items.extend((line, bad.at(line)) for bad in hostile)
            named = row.get("amazon-order-id", "")
            if c.ORDER_ID.fullmatch(named):  # the order's other rows must not stand alone
                orders.setdefault(named, _Order(named, line)).rejected = True
            continue
        order_id = row.get("amazon-order-id", "")
        if row.get("sales-channel") != mp.sales_channel or not c.ORDER_ID.fullmatch(order_id):
            try:  # the common case above, spelled out; here every check with its error
                if c.sales_channel_ok(row, mp.sales_channel) is None:
                    other_channel += 1
                    continue
                order_id = c.order_id(row, "amazon-order-id")
            except c.BadValue as bad:
                items.append((line, bad.at(line)))
                continue
        order = orders.get(order_id)
        if order is None:
            order = orders[order_id] = _Order(order_id, line)
        prepared.keep_personal(c.personal_row_of(order_id, row, personal))
        parsed = _parse_row(line, row, mp)
        if isinstance(parsed, list):
            items.extend((line, bad.at(line)) for bad in parsed)
            order.rejected = True
            continue
        clash = _inconsistency(order.rows[0], parsed, row) if order.rows else None
        if clash is not None:
            items.append((line, clash.at(line)))
            order.rejected = True
            continue
        order.rows.append(parsed)
    return orders, other_channel


def _events(order: _Order, seller_id: str, mp: Marketplace, known: bool) -> list[dict[str, Any]]:
    first = order.rows[0]
    at = format_instant(first.purchased)
    order_id = order.order_id
    events: list[dict[str, Any]] = []
    if not known:
        rows = order.rows
        items = [r.item for r in rows if r.item is not None]
        if len(items) > 1:  # sorted so that the body does not depend on where rows sit
            items.sort(key=_item_order)
        placed: dict[str, Any] = {
            "event_id": f"amzn:{order_id}:placed",
            "type": "order_placed",
            "seller": seller_id,
            "marketplace": mp.code,
            "at": at,
            "order_id": order_id,
            "channel": first.channel,
            "currency": mp.currency,
            "items": items,
            "is_business": first.is_business,
        }
        service = first.ship_service
        amounts_known = first.amounts_known
        for r in rows[1:]:  # an order of one item row (most) skips this
            placed["is_business"] = placed["is_business"] or r.is_business
            service = service or r.ship_service
            amounts_known = amounts_known and r.amounts_known
        if service:
            placed["ship_service"] = service
        if not amounts_known:
            placed["amounts_known"] = False
        events.append(placed)
    if first.status == "shipped":
        events.append(
            {
                "event_id": f"amzn:{order_id}:shipped",
                "type": "order_shipped",
                "seller": seller_id,
                "marketplace": mp.code,
                "at": at,
                "order_id": order_id,
                "ship_time_known": False,
            }
        )
    elif first.status == "cancelled":
        events.append(
            {
                "event_id": f"amzn:{order_id}:cancelled",
                "type": "order_cancelled",
                "seller": seller_id,
                "marketplace": mp.code,
                "at": at,
                "order_id": order_id,
                "by": "unknown",
            }
        )
    return events


def _item_order(item: Mapping[str, Any]) -> tuple[Any, ...]:
    return (item["sku"], item["quantity"], item["price"])


def translate_orders(
    report: ReportFile, *, seller_id: str, marketplace: Marketplace, known_orders: KnownOrders
) -> c.Prepared:
    """Build the events of a decoded report. Pure apart from ``known_orders`` (the store lookup).

    ``known_orders`` gets the ids of the file's orders and returns those already placed in the
    store; they get no new ``order_placed``.
    """
    prepared = c.Prepared(seller_id, marketplace.code, "amazon-orders")
    items: list[tuple[int, object]] = []
    orders, other_channel = _group(report, marketplace, items, prepared)
    usable = [o for o in orders.values() if not o.rejected and o.rows]
    pending = [o for o in usable if o.rows[0].status == "pending"]
    placing = [o for o in usable if o.rows[0].status != "pending"]
    known = known_orders([o.order_id for o in placing]) if placing else set()
    for order in placing:
        at = order.rows[0].purchased
        for event in _events(order, seller_id, marketplace, order.order_id in known):
            # built canonical field by field; tests check validate() agrees on every one
            items.append((order.first_line, from_canonical(event, at=at)))
    items.sort(key=lambda entry: entry[0])
    prepared.items = items
    prepared.stats = {
        "rows": len(report.rows),
        "orders": len(orders),
        "pending": len(pending),
        "known_orders": len(known),
        "other_channel": other_channel,
        "encoding": report.encoding,
    }
    return prepared


def prepare_orders(
    session: Session, path: Path, *, seller_id: str, marketplace: Marketplace
) -> c.Prepared:
    """Read and check an All Orders file; nothing is written."""
    report = read_report(path, REQUIRED)

    def known(order_ids: Sequence[str]) -> set[str]:
        placed = repo.existing_hashes(session, seller_id, [f"amzn:{o}:placed" for o in order_ids])
        stored = repo.existing_orders(session, seller_id, marketplace.code, order_ids)
        return {o for o in order_ids if f"amzn:{o}:placed" in placed} | stored

    return translate_orders(
        report, seller_id=seller_id, marketplace=marketplace, known_orders=known
    )
