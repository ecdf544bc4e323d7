"""``import amazon-settlement``: Amazon's settlement report (``GET_V2_SETTLEMENT_REPORT_DATA_
FLAT_FILE_V2``) posted to the store's settlement ledger, its refunds, A-to-z claims and lost
chargebacks turned into events.

The file is tab-separated with one header line. Its first data row is the settlement's summary
(``settlement-id``, ``settlement-start-date``, ``settlement-end-date``, ``deposit-date``,
``total-amount``, ``currency``); every other row is one amount (``transaction-type`` Order,
Refund, Chargeback Refund, A-to-z Guarantee Refund, …; ``amount-type`` ItemPrice, ItemFees,
Promotion, …; ``amount-description`` Principal, Tax, Commission, …; ``amount``; ``posted-date``
and/or ``posted-date-time``; ``order-id``, ``adjustment-id``, ``sku`` …). Columns are found by
name; unknown ones are ignored.

Each amount row becomes one ledger entry keyed ``stl:<settlement id>:<row digest>:<n>``: the
digest covers what identifies the row (type, order, adjustment, item, amount kind, time and
amount), ``n`` counts identical rows, so a re-import (even of the file re-downloaded) posts
nothing. The rows must add up to ``total-amount``, else the import is refused
(``settlement_total_mismatch``) before anything is written.

Refund rows become ``refund_issued``, A-to-z guarantee rows ``claim_filed`` + ``claim_decided``
(``granted_seller_funded``), chargeback rows ``chargeback_filed`` + ``chargeback_decided``
(``seller_lost``), one per order and adjustment, with ids built from the settlement id, the order
and the adjustment (ADR 0025). They go through the normal event pipeline with the source
``amazon-settlement``; an event about an order the store does not know is rejected
(``unknown_order``, line and column named) while its money is still posted: import the orders
and then the settlement file again to add the events.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from tsunagu.connectors.amazon import common as c
from tsunagu.connectors.amazon.tsv import ReportFile, read_report
from tsunagu.core.errors import InvalidInput
from tsunagu.core.i18n import N_
from tsunagu.core.money import Money
from tsunagu.core.text import is_printable
from tsunagu.core.timeutil import format_instant
from tsunagu.events.ingest import RowError
from tsunagu.marketplaces.registry import Marketplace
from tsunagu.settlement import rules
from tsunagu.settlement import service as settlement

REQUIRED = ("settlement-id", "total-amount", "transaction-type", "amount-type", "amount")
#: the label of the events this report creates (``events.source``)
SOURCE = rules.REPORT_EVENT_SOURCE

#: date-and-time forms seen in settlement files, after a trailing ``UTC`` is removed
_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S", "%d.%m.%Y %H:%M:%S")
#: day-only forms per marketplace (the day is read in the marketplace's time zone)
_DAY_FORMATS: Mapping[str, tuple[str, ...]] = {
    "JP": ("%Y/%m/%d", "%Y-%m-%d"),
    "US": ("%Y-%m-%d", "%m/%d/%Y", "%m/%d/%y"),
}
_DEFAULT_DAYS = ("%Y-%m-%d", "%Y/%m/%d")


def settlement_time(text: str, column: str, mp: Marketplace) -> datetime:
    """An instant from a settlement date cell: ``2026-11-01 07:00:00 UTC``,
    ``2026/11/01 07:00:00 UTC``, ISO-8601, or a day alone (midnight in the marketplace's zone)."""
    raw = text.strip()
    body = raw[:-3].strip() if raw.upper().endswith("UTC") else raw
    for fmt in _TIME_FORMATS:
        try:
            return datetime.strptime(body, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    for fmt in _DAY_FORMATS.get(mp.code, _DEFAULT_DAYS):
        try:
            day = datetime.strptime(body, fmt).date()
        except ValueError:
            continue
        if day.year >= c.MIN_YEAR:
            return _midnight(day, mp)
    if "T" in body:
        return c.instant_text(body, column)
    raise c.BadValue(column, "invalid_date", text, N_("{field} is not a date and time: {value}"))


def _midnight(day: date, mp: Marketplace) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=mp.tz).astimezone(UTC)


def signed_amount(row: Mapping[str, str], column: str, currency: str) -> int:
    """Minor units, negative amounts allowed (fees, refunds); never rounded."""
    text = row.get(column, "")
    if not text:
        raise c.BadValue(column, "missing_value", text, N_("{field} must not be empty"))
    negative = text.startswith("-")
    try:
        value = c.amount({column: text[1:] if negative else text}, column, currency)
    except c.BadValue as bad:
        raise c.BadValue(column, bad.code, text, bad.message, **bad.params) from bad
    return -value if negative else value


def _optional_time(row: Mapping[str, str], column: str, mp: Marketplace) -> datetime | None:
    value = row.get(column, "")
    return settlement_time(value, column, mp) if value else None


@dataclass(frozen=True)
class _Amount:
    line: int
    row: settlement.ReportRow
    transaction: str
    amount_type: str
    adjustment: str
    sku: str


@dataclass
class SettlementPrepared(c.Prepared):
    """A checked settlement file: its events for the pipeline, and its ledger rows, posted in
    the transaction of the last events (the pipeline's ``finish`` step, which the Amazon import
    calls :meth:`write_personal`: a settlement report holds no personal data)."""

    market: Marketplace | None = None
    summary: settlement.ReportSummary | None = None
    rows: list[settlement.ReportRow] = field(default_factory=list)

    def write_personal(self, session: Session, now: datetime) -> int:
        assert self.market is not None
        assert self.summary is not None
        self.stats["posted"] = settlement.post_report(
            session,
            seller_id=self.seller_id,
            marketplace=self.market,
            summary=self.summary,
            rows=self.rows,
            now=now,
        )
        return 0


def _row_key(settlement_id: str, row: Mapping[str, str], seen: dict[str, int]) -> str:
    parts = (
        "transaction-type",
        "order-id",
        "adjustment-id",
        "shipment-id",
        "order-item-code",
        "merchant-adjustment-item-id",
        "sku",
        "amount-type",
        "amount-description",
        "posted-date-time",
        "posted-date",
        "amount",
    )
    digest = hashlib.sha256("\t".join(row.get(p, "") for p in parts).encode()).hexdigest()[:24]
    n = seen.get(digest, 0)
    seen[digest] = n + 1
    return f"stl:{settlement_id}:{digest}:{n}"


def _summary_row(report: ReportFile) -> tuple[int, dict[str, str]]:
    for line, row in report.rows:
        if row.get("total-amount", ""):
            return line, row
    raise InvalidInput(
        N_("The settlement report has no summary row (a row with total-amount)"),
        code="no_settlement_summary",
        details={"column": "total-amount"},
    )


def _summary(
    report: ReportFile, mp: Marketplace, sha256: str
) -> tuple[int, settlement.ReportSummary]:
    line, row = _summary_row(report)
    currency = row.get("currency", "") or mp.currency
    try:
        c.currency_ok({"currency": currency}, mp.currency)
        settlement_id = c.identifier(row, "settlement-id")
        if not settlement_id:
            raise c.BadValue("settlement-id", "missing_value", "", N_("{field} must not be empty"))
        total = signed_amount(row, "total-amount", mp.currency)
        start = _optional_time(row, "settlement-start-date", mp)
        end = _optional_time(row, "settlement-end-date", mp)
        deposit = _optional_time(row, "deposit-date", mp)
    except c.BadValue as bad:
        error = bad.at(line)
        raise InvalidInput(
            N_("The settlement summary (line {line}) cannot be read: {reason}"),
            code=bad.code,
            line=line,
            reason=error.to_dict("en")["message"],
            details={"line": line, "field": bad.column, "value": bad.value},
        ) from bad
    return line, settlement.ReportSummary(
        settlement_id=settlement_id,
        period_start=start,
        period_end=end,
        deposit_date=deposit,
        currency=mp.currency,
        total=total,
        rows=0,
        sha256=sha256,
    )


def _amount_row(
    line: int,
    row: Mapping[str, str],
    summary: settlement.ReportSummary,
    mp: Marketplace,
    seen: dict[str, int],
) -> _Amount:
    if row.get("currency") and row["currency"].upper() != mp.currency:
        c.currency_ok(row, mp.currency)
    transaction = c.required(row, "transaction-type")
    amount_type = row.get("amount-type", "")
    amount = signed_amount(row, "amount", mp.currency)
    column = "posted-date-time" if row.get("posted-date-time") else "posted-date"
    posted = row.get(column, "")
    at = (
        settlement_time(posted, column, mp)
        if posted
        else (summary.period_end or summary.deposit_date)
    )
    if at is None:
        raise c.BadValue(column, "missing_value", "", N_("{field} must not be empty"))
    order_id = row.get("order-id", "") or None
    if order_id is not None and (len(order_id) > 64 or not is_printable(order_id)):
        raise c.BadValue(
            "order-id",
            "invalid_value",
            order_id,
            N_("{field} must hold printable characters only: {value}"),
        )
    event = rules.transaction_event(transaction)
    if event is not None and order_id is not None:
        c.order_id(row, "order-id")
    adjustment = c.identifier(row, "adjustment-id") if row.get("adjustment-id") else ""
    sku = c.identifier(row, "sku") if row.get("sku") else ""
    kind = rules.report_kind(transaction, amount_type, row.get("amount-description", ""))
    return _Amount(
        line=line,
        row=settlement.ReportRow(
            key=_row_key(summary.settlement_id, row, seen),
            kind=kind,
            amount=amount,
            at=at,
            order_id=order_id,
            ref=f"{summary.settlement_id}:{line}",
        ),
        transaction=transaction,
        amount_type=amount_type.strip().lower(),
        adjustment=adjustment,
        sku=sku,
    )


def _events(
    amounts: list[_Amount], summary: settlement.ReportSummary, seller_id: str, mp: Marketplace
) -> list[tuple[int, dict[str, Any]]]:
    """One event (two for claims and chargebacks) per order and adjustment the report refunds,
    grants a claim on or loses a chargeback on."""
    groups: dict[tuple[str, str, str], list[_Amount]] = defaultdict(list)
    for a in amounts:
        event = rules.transaction_event(a.transaction)
        if event is None or a.row.order_id is None:
            continue
        groups[(event, a.row.order_id, a.adjustment or format_instant(a.row.at))].append(a)
    built: list[tuple[int, dict[str, Any]]] = []
    sid = summary.settlement_id
    for (event, order_id, adjustment), rows in groups.items():
        line = min(r.line for r in rows)
        at = format_instant(min(r.row.at for r in rows))
        common = {"seller": seller_id, "marketplace": mp.code, "at": at, "order_id": order_id}
        base = f"amzn-stl:{sid}:{order_id}:{event}:{adjustment}"
        if event == rules.REPORT_REFUND:
            refunded = -sum(r.row.amount for r in rows if r.amount_type == "itemprice")
            if refunded <= 0:
                continue
            body: dict[str, Any] = {
                **common,
                "event_id": base,
                "type": "refund_issued",
                "amount": refunded,
            }
            skus = {r.sku for r in rows if r.sku}
            if len(skus) == 1:
                body["sku"] = skus.pop()
            built.append((line, body))
            continue
        case_id = f"stl-{adjustment}" if adjustment and "T" not in adjustment else f"stl-{sid}"
        if event == rules.REPORT_CLAIM:
            built.append(
                (
                    line,
                    {
                        **common,
                        "event_id": f"{base}:filed",
                        "type": "claim_filed",
                        "claim_id": case_id,
                    },
                )
            )
            built.append(
                (
                    line,
                    {
                        **common,
                        "event_id": f"{base}:decided",
                        "type": "claim_decided",
                        "claim_id": case_id,
                        "outcome": "granted_seller_funded",
                    },
                )
            )
        else:
            built.append(
                (
                    line,
                    {
                        **common,
                        "event_id": f"{base}:filed",
                        "type": "chargeback_filed",
                        "chargeback_id": case_id,
                    },
                )
            )
            built.append(
                (
                    line,
                    {
                        **common,
                        "event_id": f"{base}:decided",
                        "type": "chargeback_decided",
                        "chargeback_id": case_id,
                        "outcome": "seller_lost",
                    },
                )
            )
    return built


def _mismatch(
    summary: settlement.ReportSummary, rows_total: int, errors: list[RowError]
) -> InvalidInput:
    return InvalidInput(
        N_(
            "Settlement {settlement_id} does not reconcile: its rows add up to {rows_total}, "
            "but the report's total-amount is {total}. Nothing was imported."
        ),
        code="settlement_total_mismatch",
        settlement_id=summary.settlement_id,
        rows_total=Money(rows_total, summary.currency).format(),
        total=Money(summary.total, summary.currency).format(),
        details={
            "settlement_id": summary.settlement_id,
            "currency": summary.currency,
            "total": summary.total,
            "rows_total": rows_total,
            "difference": rows_total - summary.total,
            "errors": [e.to_dict("en") for e in errors],
        },
    )


def translate_settlement(
    report: ReportFile, *, seller_id: str, marketplace: Marketplace, sha256: str
) -> SettlementPrepared:
    """Check every row, reconcile with the report's total and build the events; pure."""
    summary_line, summary = _summary(report, marketplace, sha256)
    prepared = SettlementPrepared(seller_id, marketplace.code, "amazon-settlement")
    prepared.market = marketplace
    amounts: list[_Amount] = []
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    data_rows = 0
    for line, row in report.rows:
        if line == summary_line:
            continue
        data_rows += 1
        hostile = c.control_cells(row) if report.cell_controls else None
        if hostile:
            errors.extend(bad.at(line) for bad in hostile)
            continue
        try:
            amounts.append(_amount_row(line, row, summary, marketplace, seen))
        except c.BadValue as bad:
            errors.append(bad.at(line))
    rows_total = sum(a.row.amount for a in amounts)
    if rows_total != summary.total:
        raise _mismatch(summary, rows_total, errors)
    prepared.summary = dataclasses.replace(summary, rows=data_rows)
    prepared.rows = [a.row for a in amounts]
    prepared.items.extend((e.line, e) for e in errors)
    events = _events(amounts, summary, seller_id, marketplace)
    prepared.items.extend(events)
    prepared.items.sort(key=lambda item: item[0])
    prepared.stats = {
        "rows": data_rows,
        "encoding": report.encoding,
        "settlement_id": summary.settlement_id,
        "currency": summary.currency,
        "total": summary.total,
        "entries": len(amounts),
        "events": len(events),
    }
    return prepared


def prepare_settlement(
    session: Session, path: Path, *, seller_id: str, marketplace: Marketplace
) -> SettlementPrepared:
    """Read, check and reconcile a settlement file; nothing is written. ``file.new_entries``
    counts the rows the ledger does not hold yet (what a dry run would post)."""
    report = read_report(path, REQUIRED)
    sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    prepared = translate_settlement(
        report, seller_id=seller_id, marketplace=marketplace, sha256=sha256
    )
    prepared.stats["new_entries"] = settlement.new_keys(
        session,
        seller_id=seller_id,
        marketplace=marketplace.code,
        keys=[r.key for r in prepared.rows],
    )
    return prepared
