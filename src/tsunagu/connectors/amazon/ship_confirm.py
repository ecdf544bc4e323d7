"""``import amazon-shipconfirm``: the seller's shipping confirmation file as shipments.

This is the file a seller uploads to confirm shipments in bulk (Seller Central help "Shipping
confirmation template", G641 / 201576520). **Documented** columns: ``order-id`` (required),
``order-item-id``, ``quantity``, ``ship-date`` (required, ``yyyy-mm-dd``), ``carrier-code``
(Amazon's list, or ``Other``), ``carrier-name`` (only with ``Other``), ``tracking-number``,
``ship-method``. The help also says that ``NULL`` in ``tracking-number`` removes an uploaded one.
**Inferred** from files sellers' tools write: the template starts with a line
``TemplateType=OrderFulfillment<TAB>Version=…`` and, in JP, a line of Japanese labels
(注文番号 …) before the English names; later columns (``cod-collection-method``,
``transparency_code`` …) are ignored; a ``ship-date`` with a time is also accepted (no offset: the
marketplace's zone). Lines above the header are skipped; a file with only the Japanese labels is
read through :data:`JA_ALIASES`.

Each package — an order and its tracking number — becomes one ``order_shipped``
``amzn:<order>:shipconfirm:<tracking>`` (``…:shipconfirm:-`` without a tracking number) at the
ship date, with ``carrier`` (the carrier code, or the carrier name for ``Other``), ``tracking_id``
(``""`` when none was given: Amazon counts that as invalid tracking) and ``service`` (the ship
method). A date without a time is midnight in the marketplace's zone, so a shipment on the last
ship-by day counts as on time. Rows of one package that disagree on the date are an error.

An order shipped in several packages has several events; the fold keeps the first known ship time
and the last tracking id, and the metrics count orders, not events, so nothing is counted twice
(an All Orders import's ``amzn:<order>:shipped`` has no time and gives way to this one's). A
tracking number is not a carrier scan: valid tracking still needs one (ADR 0031).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from tsunagu.connectors.amazon import common as c
from tsunagu.connectors.amazon import tsv
from tsunagu.core.i18n import N_
from tsunagu.core.text import SNIFF_BYTES, require_text
from tsunagu.core.timeutil import format_instant
from tsunagu.marketplaces.registry import Marketplace

REQUIRED = ("order-id", "ship-date", "carrier-code", "tracking-number")

#: The Japanese label line of the JP template → the English names. **Inferred** from files JP
#: sellers' tools write; used only when the file has no English header line.
JA_ALIASES: Mapping[str, str] = {
    "注文番号": "order-id",
    "注文商品番号": "order-item-id",
    "出荷数": "quantity",
    "出荷日": "ship-date",
    "配送業者コード": "carrier-code",
    "配送業者名": "carrier-name",
    "お問い合わせ伝票番号": "tracking-number",
    "配送方法": "ship-method",
    "代金引換": "cod-collection-method",
}

#: How far down the header may sit (template lines come first).
HEADER_SEARCH_LINES = 10
#: ``tracking-number`` values that mean "no tracking number".
NO_TRACKING = ("", "null")
DAY_FORMATS = ("%Y-%m-%d", "%Y/%m/%d")


def header_index(lines: list[str]) -> int | None:
    """The index of the header line among the first non-blank lines: the first naming
    ``order-id``, else the first naming 注文番号; None when neither is there. Other kinds'
    detection can call this too: the header of this file is not always its first line."""
    candidates: list[int] = []
    for index, line in enumerate(lines):
        if line.strip():
            candidates.append(index)
        if len(candidates) >= HEADER_SEARCH_LINES:
            break
    for wanted in ("order-id", "注文番号"):
        for index in candidates:
            names = [
                cell.replace("\ufeff", "").strip().lower() for cell in lines[index].split("\t")
            ]
            if wanted in names:
                return index
    return None


def without_preamble(text: str) -> str:
    """The text with the lines above the header blanked, so line numbers stay physical."""
    lines = text.split("\n")
    at = header_index(lines)
    if not at:
        return text
    return "\n" * at + "\n".join(lines[at:])


def read_confirmation(path: Path) -> tsv.ReportFile:
    """Like :func:`tsv.read_report`, after skipping the template lines above the header."""
    data = tsv._read_bytes(path)
    require_text(data[:SNIFF_BYTES], str(path), nul_is_binary=False)
    text, encoding = tsv._decode(data, path)
    return tsv.parse_report(without_preamble(text), encoding, REQUIRED, JA_ALIASES, path=path)


def ship_time(text: str, mp: Marketplace) -> datetime:
    """A day at local midnight, or a time (no offset: the marketplace's zone)."""
    for fmt in DAY_FORMATS:
        try:
            day = datetime.strptime(text, fmt)
        except ValueError:
            continue
        if day.year >= c.MIN_YEAR:
            return day.replace(tzinfo=mp.tz).astimezone(UTC)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        parsed = None
    if parsed is not None and parsed.tzinfo is None and parsed.year >= c.MIN_YEAR:
        return parsed.replace(tzinfo=mp.tz).astimezone(UTC)
    return c.instant_text(text, "ship-date")


def carrier_of(row: Mapping[str, str]) -> str:
    """The carrier code; for ``Other`` (or no code) the carrier name, if any."""
    code = c.short_text(row, "carrier-code")
    name = c.short_text(row, "carrier-name")
    if code.lower() == "other" or not code:
        return name or code
    return code


@dataclass(slots=True)
class _Package:
    order_id: str
    first_line: int
    shipped: datetime
    carrier: str
    service: str


def _parse(row: Mapping[str, str], mp: Marketplace) -> tuple[str, str, _Package]:
    order_id = c.order_id(row, "order-id")
    shipped = ship_time(c.required(row, "ship-date"), mp)
    tracking = c.identifier(row, "tracking-number")
    if tracking.lower() in NO_TRACKING:
        tracking = ""
    if row.get("quantity"):
        c.quantity(row, "quantity")
    carrier = carrier_of(row)
    service = c.short_text(row, "ship-method")
    return order_id, tracking, _Package(order_id, 0, shipped, carrier, service)


def _event(tracking: str, p: _Package, seller_id: str, mp: Marketplace) -> dict[str, Any]:
    event: dict[str, Any] = {
        "event_id": f"amzn:{p.order_id}:shipconfirm:{tracking or '-'}",
        "type": "order_shipped",
        "seller": seller_id,
        "marketplace": mp.code,
        "at": format_instant(p.shipped),
        "order_id": p.order_id,
        "tracking_id": tracking,
        "ship_time_known": True,
    }
    if p.carrier:
        event["carrier"] = p.carrier
    if p.service:
        event["service"] = p.service
    return event


def translate_shipconfirm(
    report: tsv.ReportFile, *, seller_id: str, marketplace: Marketplace
) -> c.Prepared:
    """One shipment per order and tracking number; pure (the pipeline checks the orders)."""
    prepared = c.Prepared(seller_id, marketplace.code, "amazon-shipconfirm")
    items: list[tuple[int, object]] = []
    packages: dict[tuple[str, str], _Package] = {}
    rejected: set[tuple[str, str]] = set()
    for line, row in report.rows:
        hostile = c.control_cells(row) if report.cell_controls else None
        if hostile:
            items.extend((line, bad.at(line)) for bad in hostile)
            rejected.add((row.get("order-id", ""), row.get("tracking-number", "")))
            continue
        try:
            order_id, tracking, package = _parse(row, marketplace)
        except c.BadValue as bad:
            items.append((line, bad.at(line)))
            rejected.add((row.get("order-id", ""), row.get("tracking-number", "")))
            continue
        key = (order_id, tracking)
        known = packages.get(key)
        if known is None:
            package.first_line = line
            packages[key] = package
        elif known.shipped != package.shipped:
            items.append(
                (
                    line,
                    c.BadValue(
                        "ship-date",
                        "inconsistent_order_rows",
                        row.get("ship-date", ""),
                        N_(
                            "{field} differs from line {first} of the same package; the package is skipped"
                        ),
                        first=known.first_line,
                    ).at(line),
                )
            )
            rejected.add(key)
        else:  # another item of the package: a carrier or method it names fills a blank
            known.carrier = known.carrier or package.carrier
            known.service = known.service or package.service
    for key, package in packages.items():
        if key in rejected:
            continue
        items.append((package.first_line, _event(key[1], package, seller_id, marketplace)))
    items.sort(key=lambda entry: entry[0])
    prepared.items = items
    prepared.stats = {
        "rows": len(report.rows),
        "orders": len({order_id for order_id, _ in packages}),
        "packages": len(packages),
        "without_tracking": sum(1 for _, tracking in packages if not tracking),
        "encoding": report.encoding,
    }
    return prepared


def prepare_shipconfirm(
    session: Session, path: Path, *, seller_id: str, marketplace: Marketplace
) -> c.Prepared:
    """Read and check a shipping confirmation file; nothing is written (``session`` keeps the
    shared signature)."""
    del session
    return translate_shipconfirm(
        read_confirmation(path), seller_id=seller_id, marketplace=marketplace
    )
