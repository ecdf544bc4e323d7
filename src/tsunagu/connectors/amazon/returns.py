"""``import amazon-returns``: the Returns report as return and A-to-z claim events.

The flat-file Returns report by return date (``GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE``) has
one row per returned item. **Documented** columns (SP-API "Returns reports attributes"): ``Order
ID, Order date, Return request date, Return request status, Amazon RMA ID, Merchant RMA ID, Label
type, Label cost, Currency code, Return carrier, Tracking ID, Label to be paid by, A-to-Z Claim, Is
prime, ASIN, Merchant SKU, Item Name, Return quantity, Return Reason, In policy, Return type,
Resolution, Invoice number, Return delivery date, Order Amount, Order quantity, SafeT …, Refunded
Amount``. Headers are matched case-insensitively; ``Seller RMA ID`` (Seller Central's spelling)
and the XML report's snake-case names (``order_id``, ``amazon_rma_id`` …) are accepted as well
(**inferred**: seen in downloads and parsers, not in the attribute list). Dates come as
``10-Jul-2025`` in real downloads; ``2025-07-10``, ``2025/07/10``, ``07/10/2025`` and full ISO
times are accepted too. A date without a time is midnight in the marketplace's zone.

Each return request (one Amazon RMA id, however many item rows) becomes

* ``return_requested`` ``amzn:<order>:return:<RMA>`` at the request date;
* ``return_resolved`` ``amzn:<order>:return:<RMA>:<outcome>`` when the status says Amazon or the
  seller acted on it. The outcome is in the id because it changes between downloads (approved
  today, refunded next week): each state is its own event, and the fold keeps the latest
  (ADR 0031);
* ``claim_filed`` ``amzn:<order>:claim:amzn-return:<RMA>`` (claim id ``amzn-return:<RMA>``) when the
  A-to-Z Claim flag is set. The file gives no claim date or outcome: the claim is dated at the
  request and stays undecided, so it counts in the order defect rate as Amazon counts an open claim.

Statuses and resolutions are **inferred** (Amazon publishes no list): see :func:`outcome` and ADR
0031. The report holds no buyer names, addresses or e-mails, so nothing goes to the personal store.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from tsunagu.connectors.amazon import common as c
from tsunagu.connectors.amazon.tsv import ReportFile, read_report
from tsunagu.core.i18n import N_
from tsunagu.core.timeutil import format_instant
from tsunagu.marketplaces.registry import Marketplace

ORDER_ID = "order id"
REQUEST_DATE = "return request date"
STATUS = "return request status"
RMA = "amazon rma id"
CLAIM = "a-to-z claim"
IN_POLICY = "in policy"
RESOLUTION = "resolution"
REFUNDED = "refunded amount"
CURRENCY = "currency code"

REQUIRED = (ORDER_ID, REQUEST_DATE, STATUS, RMA)

#: Other spellings of the header names → the documented ones (compared lower case).
ALIASES: Mapping[str, str] = {
    "seller rma id": "merchant rma id",
    "a-to-z guarantee claim": CLAIM,
    "order_id": ORDER_ID,
    "order-id": ORDER_ID,
    "order_date": "order date",
    "return_request_date": REQUEST_DATE,
    "return_request_status": STATUS,
    "amazon_rma_id": RMA,
    "a_to_z_claim": CLAIM,
    "in_policy": IN_POLICY,
    "refund_amount": REFUNDED,
    "currency_code": CURRENCY,
}

#: Day formats tried in turn after a full ISO time; ``%b`` is the English month abbreviation.
DATE_FORMATS = ("%d-%b-%Y", "%Y-%m-%d", "%Y/%m/%d", "%m/%d/%Y", "%d-%b-%y")

#: Return request status (lower case, blanks, ``-`` and ``_`` removed) → what it says.
#: ``open``: nobody has acted yet; ``approved``: authorised (by the seller or automatically);
#: ``closed``: finished (refunded, cancelled by the buyer, or closed after 50 days);
#: ``rejected``: the seller refused the return.
STATUSES: Mapping[str, str] = {
    "pending": "open",
    "pendingauthorization": "open",
    "pendingapproval": "open",
    "requested": "open",
    "open": "open",
    "approved": "approved",
    "authorized": "approved",
    "authorised": "approved",
    "autoauthorized": "approved",
    "pendingrefund": "approved",
    "closed": "closed",
    "completed": "closed",
    "complete": "closed",
    "refunded": "closed",
    "rejected": "rejected",
    "denied": "rejected",
    "declined": "rejected",
}

#: When one request has rows that end differently, the strongest outcome wins.
RANK = {"authorized": 1, "rejected_valid": 2, "refunded": 3, "rejected_invalid": 4}

_YES = ("y", "yes", "true", "1")
_NO = ("", "n", "no", "false", "0")


def _key(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch not in " -_")


def request_time(text: str, column: str, mp: Marketplace) -> datetime:
    """A full ISO time as given (no offset: the marketplace's zone), or a day at local midnight."""
    for fmt in DATE_FORMATS:
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
    return c.instant_text(text, column)


def yes_no(row: Mapping[str, str], column: str) -> bool:
    value = row.get(column, "").lower()
    if value in _YES:
        return True
    if value in _NO:
        return False
    raise c.BadValue(column, "invalid_boolean", row[column], N_("{field} must be Y or N"))


def _amount_refunded(row: Mapping[str, str]) -> bool:
    """``Refunded Amount`` holds more than zero (only looked at, never stored: refunds come from
    the settlement report)."""
    amount = row.get(REFUNDED, "").replace(",", "")
    try:
        return float(amount) > 0 if amount else False
    except ValueError:
        return False


def outcome(row: Mapping[str, str]) -> str | None:
    """The row's RETURN_OUTCOMES value, or None while the request is open (ADR 0031):

    * approved / authorised / pending refund → ``authorized``, or ``refunded`` once
      ``Refunded Amount`` is above zero (``Resolution`` alone is the planned remedy: Amazon's
      approved rows already say ``StandardRefund``);
    * closed or completed → ``refunded`` when the resolution names a refund or an amount was
      refunded, else ``authorized`` (the file does not say who closed it: the buyer may have
      cancelled, so it is not held against the seller);
    * rejected → ``rejected_invalid`` when the return was ``In policy`` (Amazon requires in-policy
      returns to be accepted), else ``rejected_valid``.
    """
    raw = c.required(row, STATUS)
    state = STATUSES.get(_key(raw))
    if state is None:
        raise c.BadValue(STATUS, "unknown_return_status", raw, N_("unknown {field} {value}"))
    if state == "open":
        return None
    if state == "approved":
        return "refunded" if _amount_refunded(row) else "authorized"
    if state == "closed":
        refund = "refund" in row.get(RESOLUTION, "").lower() or _amount_refunded(row)
        return "refunded" if refund else "authorized"
    return "rejected_invalid" if yes_no(row, IN_POLICY) else "rejected_valid"


@dataclass(slots=True)
class _Request:
    order_id: str
    first_line: int
    requested: datetime
    outcome: str | None
    claim: bool


def _currency(row: Mapping[str, str], expected: str) -> None:
    value = row.get(CURRENCY, "")
    if value and value.upper() != expected:
        raise c.BadValue(
            CURRENCY,
            "currency_mismatch",
            value,
            N_("{field} is {value}, but this marketplace trades in {expected}"),
            expected=expected,
        )


def _parse(row: Mapping[str, str], mp: Marketplace) -> tuple[str, str, datetime, str | None, bool]:
    order_id = c.order_id(row, ORDER_ID)
    c.required(row, RMA)
    rma = c.identifier(row, RMA)
    requested = request_time(c.required(row, REQUEST_DATE), REQUEST_DATE, mp)
    _currency(row, mp.currency)
    claim = yes_no(row, CLAIM)
    return order_id, rma, requested, outcome(row), claim


def _base(kind: str, event_id: str, r: _Request, seller_id: str, mp: Marketplace) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "type": kind,
        "seller": seller_id,
        "marketplace": mp.code,
        "at": format_instant(r.requested),
        "order_id": r.order_id,
    }


def _events(rma: str, r: _Request, seller_id: str, mp: Marketplace) -> list[dict[str, Any]]:
    prefix = f"amzn:{r.order_id}"
    requested = _base("return_requested", f"{prefix}:return:{rma}", r, seller_id, mp)
    requested["return_id"] = rma
    events = [requested]
    if r.outcome is not None:
        resolved = _base("return_resolved", f"{prefix}:return:{rma}:{r.outcome}", r, seller_id, mp)
        resolved["return_id"] = rma
        resolved["outcome"] = r.outcome
        # the report has no resolution time: dated at the request (ADR 0031)
        resolved["resolved_time_known"] = False
        events.append(resolved)
    if r.claim:
        claim_id = f"amzn-return:{rma}"
        claim = _base("claim_filed", f"{prefix}:claim:{claim_id}", r, seller_id, mp)
        claim["claim_id"] = claim_id
        events.append(claim)
    return events


def translate_returns(
    report: ReportFile, *, seller_id: str, marketplace: Marketplace
) -> c.Prepared:
    """One request per Amazon RMA id; pure (the pipeline checks that the orders exist)."""
    prepared = c.Prepared(seller_id, marketplace.code, "amazon-returns")
    items: list[tuple[int, object]] = []
    requests: dict[str, _Request] = {}
    rejected: set[str] = set()  # RMA ids with a bad row: the whole request is skipped
    for line, row in report.rows:
        hostile = c.control_cells(row) if report.cell_controls else None
        if hostile:
            items.extend((line, bad.at(line)) for bad in hostile)
            rejected.add(row.get(RMA, ""))
            continue
        try:
            order_id, rma, requested, result, claim = _parse(row, marketplace)
        except c.BadValue as bad:
            items.append((line, bad.at(line)))
            rejected.add(row.get(RMA, ""))
            continue
        request = requests.get(rma)
        if request is None:
            requests[rma] = _Request(order_id, line, requested, result, claim)
            continue
        if request.order_id != order_id or request.requested != requested:
            column = ORDER_ID if request.order_id != order_id else REQUEST_DATE
            items.append(
                (
                    line,
                    c.BadValue(
                        column,
                        "inconsistent_order_rows",
                        row.get(column, ""),
                        N_(
                            "{field} differs from line {first} of the same return; the return is skipped"
                        ),
                        first=request.first_line,
                    ).at(line),
                )
            )
            rejected.add(rma)
            continue
        request.claim = request.claim or claim
        if result is not None and (request.outcome is None or RANK[result] > RANK[request.outcome]):
            request.outcome = result
    claims = 0
    for rma, request in requests.items():
        if rma in rejected:
            continue
        claims += request.claim
        events = _events(rma, request, seller_id, marketplace)
        items.extend((request.first_line, event) for event in events)
    items.sort(key=lambda entry: entry[0])
    prepared.items = items
    prepared.stats = {
        "rows": len(report.rows),
        "returns": len(set(requests) | (rejected - {""})),
        "claims": claims,
        "encoding": report.encoding,
    }
    return prepared


def prepare_returns(
    session: Session, path: Path, *, seller_id: str, marketplace: Marketplace
) -> c.Prepared:
    """Read and check a Returns report; nothing is written (``session`` keeps the shared
    signature)."""
    del session
    report = read_report(path, REQUIRED, ALIASES)
    return translate_returns(report, seller_id=seller_id, marketplace=marketplace)
