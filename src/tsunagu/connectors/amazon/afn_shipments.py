"""``import amazon-afn-shipments``: the Amazon Fulfilled Shipments report as AFN shipments.

``GET_AMAZON_FULFILLED_SHIPMENTS_DATA_GENERAL`` (FBA reports; tab-delimited, one row per shipped
item) holds, per the SP-API report documentation and real JP downloads: ``amazon-order-id,
merchant-order-id, shipment-id, shipment-item-id, amazon-order-item-id, merchant-order-item-id,
purchase-date, payments-date, shipment-date, reporting-date, buyer-email, buyer-name,
buyer-phone-number, sku, product-name, quantity-shipped, currency, item-price, item-tax,
shipping-price, shipping-tax, gift-wrap-price, gift-wrap-tax, ship-service-level, recipient-name,
ship-address-1..3, ship-city, ship-state, ship-postal-code, ship-country, ship-phone-number,
bill-address-1..3, bill-city, bill-state, bill-postal-code, bill-country, item-promotion-discount,
ship-promotion-discount, carrier, tracking-number, estimated-arrival-date, fulfillment-center-id,
fulfillment-channel, sales-channel`` (JP files add ``points-granted``). The column names are
**documented** (report type and description in the SP-API FBA reports page; the full header as
found in real downloads); times carry an offset (``2017-06-05T19:58:19+09:00``).

Each Amazon shipment of an order becomes one ``order_shipped`` ``amzn:<order>:afn:<shipment-id>``
at ``shipment-date`` with ``carrier``, ``tracking_id`` and ``service`` (``ship-service-level``).
The shipment id is Amazon's and never changes between downloads. Rows of one shipment (its items)
must agree on the date. ``sales-channel`` and ``currency`` must match the marketplace;
``Non-Amazon`` rows (multi-channel fulfilment) are no sale here and are counted as
``other_channel``. AFN orders are outside the valid-tracking and on-time-delivery metrics
(Amazon ships them), so these events give AFN orders their real ship time and tracking, nothing
more. The buyer's and recipient's name, e-mail, phone and address go to the personal-data store;
``ship-phone-number`` and the ``bill-*`` columns are read by nothing and stored nowhere.
"""

from __future__ import annotations

from collections.abc import Mapping
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

REQUIRED = ("amazon-order-id", "shipment-id", "shipment-date", "tracking-number")


@dataclass(slots=True)
class _Shipment:
    order_id: str
    first_line: int
    shipped: datetime
    carrier: str
    tracking: str
    service: str


def _parse(row: Mapping[str, str], mp: Marketplace) -> tuple[str, _Shipment] | None:
    """The shipment id and shipment of one row; None for a Non-Amazon row."""
    if c.sales_channel_ok(row, mp.sales_channel) is None:
        return None
    c.currency_ok(row, mp.currency)
    order_id = c.order_id(row, "amazon-order-id")
    c.required(row, "shipment-id")
    shipment_id = c.identifier(row, "shipment-id")
    shipped = c.instant(row, "shipment-date")
    tracking = c.identifier(row, "tracking-number")
    carrier = c.short_text(row, "carrier")
    service = c.short_text(row, "ship-service-level")
    return shipment_id, _Shipment(order_id, 0, shipped, carrier, tracking, service)


def _event(shipment_id: str, s: _Shipment, seller_id: str, mp: Marketplace) -> dict[str, Any]:
    event: dict[str, Any] = {
        "event_id": f"amzn:{s.order_id}:afn:{shipment_id}",
        "type": "order_shipped",
        "seller": seller_id,
        "marketplace": mp.code,
        "at": format_instant(s.shipped),
        "order_id": s.order_id,
        "ship_time_known": True,
    }
    if s.tracking:  # a blank cell says nothing about tracking
        event["tracking_id"] = s.tracking
    if s.carrier:
        event["carrier"] = s.carrier
    if s.service:
        event["service"] = s.service
    return event


def translate_afn_shipments(
    report: ReportFile, *, seller_id: str, marketplace: Marketplace
) -> c.Prepared:
    """One ``order_shipped`` per Amazon shipment; pure (the pipeline checks the orders)."""
    prepared = c.Prepared(seller_id, marketplace.code, "amazon-afn-shipments")
    items: list[tuple[int, object]] = []
    shipments: dict[str, _Shipment] = {}
    rejected: set[str] = set()
    other_channel = 0
    personal = c.personal_columns(report.columns)
    for line, row in report.rows:
        hostile = c.control_cells(row) if report.cell_controls else None
        if hostile:
            items.extend((line, bad.at(line)) for bad in hostile)
            rejected.add(row.get("shipment-id", ""))
            continue
        try:
            parsed = _parse(row, marketplace)
        except c.BadValue as bad:
            items.append((line, bad.at(line)))
            rejected.add(row.get("shipment-id", ""))
            continue
        if parsed is None:
            other_channel += 1
            continue
        shipment_id, shipment = parsed
        prepared.keep_personal(c.personal_row_of(shipment.order_id, row, personal))
        known = shipments.get(shipment_id)
        if known is None:
            shipment.first_line = line
            shipments[shipment_id] = shipment
            continue
        clash = next(
            (
                column
                for column, a, b in (
                    ("amazon-order-id", known.order_id, shipment.order_id),
                    ("shipment-date", known.shipped, shipment.shipped),
                    ("tracking-number", known.tracking, shipment.tracking),
                )
                if a != b
            ),
            None,
        )
        if clash is not None:
            items.append(
                (
                    line,
                    c.BadValue(
                        clash,
                        "inconsistent_order_rows",
                        row.get(clash, ""),
                        N_(
                            "{field} differs from line {first} of the same shipment; the shipment is skipped"
                        ),
                        first=known.first_line,
                    ).at(line),
                )
            )
            rejected.add(shipment_id)
        else:
            known.carrier = known.carrier or shipment.carrier
            known.service = known.service or shipment.service
    for shipment_id, shipment in shipments.items():
        if shipment_id in rejected:
            continue
        items.append((shipment.first_line, _event(shipment_id, shipment, seller_id, marketplace)))
    items.sort(key=lambda entry: entry[0])
    prepared.items = items
    prepared.stats = {
        "rows": len(report.rows),
        "orders": len({s.order_id for s in shipments.values()}),
        "shipments": len(shipments),
        "other_channel": other_channel,
        "encoding": report.encoding,
    }
    return prepared


def prepare_afn_shipments(
    session: Session, path: Path, *, seller_id: str, marketplace: Marketplace
) -> c.Prepared:
    """Read and check an Amazon Fulfilled Shipments file; nothing is written (``session`` keeps
    the shared signature)."""
    del session
    return translate_afn_shipments(
        read_report(path, REQUIRED), seller_id=seller_id, marketplace=marketplace
    )
