"""``import amazon-feedback``: the seller feedback report as ``feedback_posted`` events.

``GET_SELLER_FEEDBACK_DATA`` lists negative and neutral feedback with the columns ``Date, Rating,
Comments, Your Response, Order ID, Rater Email``. The date has no time and is written the local
way (``2026/10/08`` in JP files, ``10/9/26`` in US ones), so the event is dated at midnight of that
day in the marketplace's time zone: the order-defect window counts days as the marketplace does.

The id ``amzn:<order>:feedback:<date>:<rating>`` only uses what never changes in a later download;
the comment, the seller's answer and the rater's e-mail are personal data and go to the
personal-data store after the run. Orders must already be in the store (``unknown_order``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from tsunagu.connectors.amazon import common as c
from tsunagu.connectors.amazon.tsv import ReportFile, read_report
from tsunagu.core.i18n import N_
from tsunagu.core.timeutil import format_instant
from tsunagu.marketplaces.registry import Marketplace

REQUIRED = ("date", "rating", "order id")

#: Header names of a report downloaded with Seller Central set to Japanese. [inferred] These
#: spellings are a guess at the translated header, not verified against a real download; the
#: English header is what the SP-API documents and what the sample files use.
JA_ALIASES: Mapping[str, str] = {
    "日付": "date",
    "評価": "rating",
    "コメント": "comments",
    "回答": "your response",
    "注文番号": "order id",
    "評価者のメールアドレス": "rater email",
}

#: Date formats tried in turn, per marketplace; ``%m``/``%d`` also accept unpadded numbers, and
#: the two-digit year comes first so that ``10/9/26`` is 2026, never year 26.
DATE_FORMATS: Mapping[str, tuple[str, ...]] = {
    "JP": ("%Y/%m/%d", "%Y-%m-%d"),
    "US": ("%m/%d/%y", "%m/%d/%Y", "%Y-%m-%d"),
}
#: Marketplaces configured later get the unambiguous forms only, never a day/month guess.
DEFAULT_FORMATS = ("%Y-%m-%d", "%Y/%m/%d")


def feedback_date(text: str, marketplace: str) -> date:
    for fmt in DATE_FORMATS.get(marketplace, DEFAULT_FORMATS):
        try:
            day = datetime.strptime(text, fmt).date()  # a calendar day: no zone needed
        except ValueError:
            continue
        if day.year >= c.MIN_YEAR:
            return day
    raise c.BadValue("date", "invalid_date", text, N_("{field} is not a date: {value}"))


def _rating(row: Mapping[str, str]) -> int:
    text = c.required(row, "rating")
    if not (len(text) == 1 and text in "12345"):
        raise c.BadValue("rating", "invalid_rating", text, N_("{field} must be 1 to 5"))
    return int(text)


def _event(row: Mapping[str, str], seller_id: str, mp: Marketplace) -> dict[str, Any]:
    order_id = c.order_id(row, "order id")
    day = feedback_date(c.required(row, "date"), mp.code)
    rating = _rating(row)
    midnight = datetime(day.year, day.month, day.day, tzinfo=mp.tz)
    return {
        "event_id": f"amzn:{order_id}:feedback:{day.isoformat()}:{rating}",
        "type": "feedback_posted",
        "seller": seller_id,
        "marketplace": mp.code,
        "at": format_instant(midnight),
        "order_id": order_id,
        "rating": rating,
    }


def _personal(row: Mapping[str, str], order_id: str) -> c.PersonalRow | None:
    email = row.get("rater email", "").lower()
    kind, key = ("buyer", email) if email else ("order", order_id)
    values = (
        ("buyer_email", row.get("rater email", "")),
        (f"feedback:{order_id}:comment", row.get("comments", "")),
        (f"feedback:{order_id}:response", row.get("your response", "")),
    )
    given = tuple((name, value) for name, value in values if value)
    return c.PersonalRow(order_id, kind, key, given) if given else None


def translate_feedback(
    report: ReportFile, *, seller_id: str, marketplace: Marketplace
) -> c.Prepared:
    """One ``feedback_posted`` per row; pure (the pipeline checks that the orders exist)."""
    prepared = c.Prepared(seller_id, marketplace.code, "amazon-feedback")
    for line, row in report.rows:
        hostile = c.control_cells(row) if report.cell_controls else None
        if hostile:
            prepared.items.extend((line, bad.at(line)) for bad in hostile)
            continue
        try:
            event = _event(row, seller_id, marketplace)
        except c.BadValue as bad:
            prepared.items.append((line, bad.at(line)))
            continue
        prepared.items.append((line, event))
        prepared.keep_personal(_personal(row, event["order_id"]))
    prepared.stats = {"rows": len(report.rows), "encoding": report.encoding}
    return prepared


def prepare_feedback(
    session: Session, path: Path, *, seller_id: str, marketplace: Marketplace
) -> c.Prepared:
    """Read and check a feedback file; nothing is written (``session`` keeps the shared
    signature)."""
    del session
    report = read_report(path, REQUIRED, JA_ALIASES)
    return translate_feedback(report, seller_id=seller_id, marketplace=marketplace)
