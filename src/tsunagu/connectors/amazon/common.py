"""What the three Amazon file importers share: the prepared import and the value parsers.

An importer *prepares* a file (reads it, checks every value, builds the events) inside a read-only
session; :mod:`tsunagu.events.ingest` then stores the events. Personal data found in the file is
kept aside in :class:`Prepared` and written only after the run, and only for orders that exist by
then, so a rejected or dry-run import leaves no personal data behind and no event ever holds any.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from operator import itemgetter
from typing import NamedTuple

from sqlalchemy.orm import Session

from tsunagu.core.i18n import N_
from tsunagu.core.money import AmountError, parse_amount
from tsunagu.core.text import any_control_character, control_character, is_printable
from tsunagu.core.timeutil import InstantError, parse_instant
from tsunagu.events import repo
from tsunagu.events.ingest import Item, RowError
from tsunagu.personal import service as personal

#: Shown instead of the value in errors about columns that hold personal data.
MASK = "***"
#: An Amazon order id: three, seven and seven ASCII digits (``503-1234567-1234567``). Nothing
#: else is one: such a value never reaches an event, a terminal or a URL.
ORDER_ID = re.compile(r"[0-9]{3}-[0-9]{7}-[0-9]{7}")
#: Longest SKU (and other short text) the projection tables hold (``String(100)``).
MAX_TEXT = 100
#: Bounds that keep a typo from overflowing a 64-bit column; real values are far smaller.
MAX_QUANTITY = 1_000_000
MAX_AMOUNT = 10**13
#: Amazon did not exist before this; earlier years also break the canonical timestamp form.
MIN_YEAR = 1990

#: Report column → personal-data field. Values of these columns never enter an event.
PERSONAL_COLUMNS: Mapping[str, str] = {
    "buyer-email": "buyer_email",
    "buyer-name": "buyer_name",
    "buyer-phone-number": "buyer_phone_number",
    "recipient-name": "recipient_name",
    "ship-address-1": "ship_address_1",
    "ship-address-2": "ship_address_2",
    "ship-address-3": "ship_address_3",
    "ship-city": "ship_city",
    "ship-state": "ship_state",
    "ship-postal-code": "ship_postal_code",
    "ship-country": "ship_country",
}


class BadValue(Exception):
    """One bad cell; the importer turns it into a :class:`RowError` for its line."""

    def __init__(self, column: str, code: str, value: object, message: str, **params: object):
        super().__init__(code)
        self.column = column
        self.code = code
        self.value = MASK if column in PERSONAL_COLUMNS else value
        self.message = message
        self.params = params

    def at(self, line: int) -> RowError:
        return RowError(line, self.column, self.code, self.value, self.message, self.params)


class PersonalRow(NamedTuple):
    """The personal values of one report row, held until the import has run.

    The subject is named by ``(kind, key)``: ``("buyer", e-mail)`` when the file gives an e-mail,
    otherwise ``("order", order id)``. The pseudonym is computed at write time because computing it
    may create the installation's key, which is a write. A named tuple, one per report row: it is
    built about three times faster than a frozen dataclass.
    """

    order_id: str
    kind: str
    key: str
    #: ``(field, value)`` pairs, values not empty
    values: tuple[tuple[str, str], ...]


@dataclass
class Prepared:
    """A checked file: its items for the pipeline, counts for the user, personal data for later."""

    seller_id: str
    marketplace: str
    label: str
    items: list[Item] = field(default_factory=list)
    stats: dict[str, int | str] = field(default_factory=dict)
    personal_rows: list[PersonalRow] = field(default_factory=list)

    def source(self) -> Iterable[Item]:
        """The pipeline's source: re-iterable, in line order (the events are built already)."""
        return iter(self.items)

    def keep_personal(self, row: PersonalRow | None) -> None:
        if row is not None:
            self.personal_rows.append(row)

    def write_personal(self, session: Session, now: datetime) -> int:
        """Store the personal rows of orders that exist now or whose events are stored (rows
        waiting for their order, ADR 0030); returns the number of values. A row whose events
        were all refused leaves nothing behind.

        One record per subject (ADR 0023): a field given twice for one subject keeps its last
        value in file order.
        """
        order_ids = sorted({r.order_id for r in self.personal_rows})
        if not order_ids:
            return 0
        existing = repo.existing_orders(session, self.seller_id, self.marketplace, order_ids)
        existing |= repo.orders_with_events(session, self.seller_id, self.marketplace, order_ids)
        wanted = [r for r in self.personal_rows if r.order_id in existing]
        keys = list(dict.fromkeys((r.kind, r.key) for r in wanted))
        names = personal.pseudonyms(
            session, self.seller_id, [(self.marketplace, kind, key) for kind, key in keys]
        )
        subject_of = dict(zip(keys, names, strict=True))
        values: dict[str, dict[str, str]] = {}
        pairs: set[tuple[str, str]] = set()
        for r in wanted:
            subject = subject_of[(r.kind, r.key)]
            fields = values.get(subject)
            if fields is None:
                values[subject] = dict(r.values)
            else:
                fields.update(r.values)
            pairs.add((r.order_id, subject))
        count = personal.record(
            session, seller_id=self.seller_id, values=values, source=self.label, now=now
        )
        personal.link(
            session, seller_id=self.seller_id, marketplace=self.marketplace, pairs=sorted(pairs)
        )
        return count


@dataclass(frozen=True)
class PersonalColumns:
    """Which of :data:`PERSONAL_COLUMNS` one file has: looked up once, read from every row."""

    names: tuple[str, ...]
    values: Callable[[Mapping[str, str]], tuple[str, ...]]
    has_email: bool


def personal_columns(columns: Iterable[str]) -> PersonalColumns:
    header = set(columns)
    found = [(column, name) for column, name in PERSONAL_COLUMNS.items() if column in header]
    getter = itemgetter(*(column for column, _ in found)) if found else None

    def values(row: Mapping[str, str]) -> tuple[str, ...]:
        if getter is None:
            return ()
        got = getter(row)
        return got if len(found) > 1 else (got,)

    return PersonalColumns(tuple(name for _, name in found), values, "buyer-email" in header)


def personal_row_of(
    order_id: str, row: Mapping[str, str], columns: PersonalColumns
) -> PersonalRow | None:
    """The personal values of one report row, tied to the buyer's e-mail when there is one."""
    values = columns.values(row)
    if all(values):
        pairs = tuple(zip(columns.names, values, strict=True))
    else:
        pairs = tuple(
            [(name, value) for name, value in zip(columns.names, values, strict=True) if value]
        )
    if not pairs:
        return None
    email = row["buyer-email"].strip().lower() if columns.has_email else ""
    kind, key = ("buyer", email) if email else ("order", order_id)
    return PersonalRow(order_id, kind, key, pairs)


# -- value parsers: return the value or raise BadValue ----------------------------------------


def required(row: Mapping[str, str], column: str) -> str:
    value = row.get(column, "")
    if not value:
        raise BadValue(column, "missing_value", value, N_("{field} must not be empty"))
    return value


def control_cells(row: Mapping[str, str]) -> list[BadValue]:
    """API-10: one ``invalid_value`` per cell holding a control character (NUL, ESC …), in column
    order. Every cell counts, read or not: such a file is damaged or hostile, and a cell cannot
    hold a tab or a line break of its own (they separate cells and rows)."""
    if not any_control_character(row.values()):
        return []
    return [
        BadValue(column, "invalid_value", value, N_("{field} holds a control character"))
        for column, value in row.items()
        if control_character(value) is not None
    ]


def order_id(row: Mapping[str, str], column: str) -> str:
    """An Amazon order id (:data:`ORDER_ID`), else ``invalid_order_id``."""
    value = required(row, column)
    if not ORDER_ID.fullmatch(value):
        raise BadValue(
            column,
            "invalid_order_id",
            value,
            N_("{field} is not an Amazon order id like 503-1234567-1234567: {value}"),
        )
    return value


def identifier(row: Mapping[str, str], column: str) -> str:
    """Short text that names something (a SKU): printable characters only (API-10)."""
    value = short_text(row, column)
    if not is_printable(value):
        raise BadValue(
            column,
            "invalid_value",
            value,
            N_("{field} must hold printable characters only: {value}"),
        )
    return value


def short_text(row: Mapping[str, str], column: str) -> str:
    value = row.get(column, "")
    if len(value) > MAX_TEXT:
        raise BadValue(
            column,
            "value_too_long",
            value,
            N_("{field} is longer than {max} characters"),
            max=MAX_TEXT,
        )
    return value


def instant(row: Mapping[str, str], column: str) -> datetime:
    """An ISO-8601 time; no offset means UTC, as in Amazon's JP reports (times in GMT)."""
    return instant_text(required(row, column), column)


def instant_text(text: str, column: str) -> datetime:
    try:
        value = parse_instant(text, assume_utc=True)
    except (InstantError, OverflowError) as exc:  # OverflowError: e.g. year 1 with an offset
        raise BadValue(
            column, "invalid_date", text, N_("{field} is not a date and time: {value}")
        ) from exc
    if value.year < MIN_YEAR:
        raise BadValue(column, "invalid_date", text, N_("{field} is not a date and time: {value}"))
    return value


def amount(row: Mapping[str, str], column: str, currency: str) -> int:
    """Minor units; a negative or over-precise amount (``12.345`` USD) is an error, not rounded."""
    text = row.get(column, "")
    # Exponents are refused up front: "1e999999999" would make a billion-digit integer.
    if len(text) > 30 or "e" in text.lower():
        raise BadValue(column, "invalid_amount", text, N_("{field} is not an amount: {value}"))
    try:
        value = parse_amount(text, currency)
    except AmountError as exc:
        raise BadValue(
            column,
            "invalid_amount",
            text,
            N_("{field} is not an amount in {currency}: {value}"),
            currency=currency,
        ) from exc
    if value < 0 or value > MAX_AMOUNT:
        raise BadValue(
            column,
            "invalid_amount",
            text,
            N_("{field} is out of range: {value}"),
        )
    return value


def quantity(row: Mapping[str, str], column: str) -> int:
    text = required(row, column)
    if not text.isdecimal() or len(text) > 9 or int(text) > MAX_QUANTITY:
        raise BadValue(
            column, "invalid_quantity", text, N_("{field} must be a whole number of at least 0")
        )
    return int(text)


def sales_channel_ok(row: Mapping[str, str], expected: str) -> bool | None:
    """True when the row belongs to the marketplace, None for ``Non-Amazon`` (multi-channel
    fulfilment: not a sale on this marketplace), else raise ``sales_channel_mismatch``."""
    value = row.get("sales-channel", "")
    if not value or value.lower() == expected.lower():
        return True
    if value.lower() == "non-amazon":
        return None
    raise BadValue(
        "sales-channel",
        "sales_channel_mismatch",
        value,
        N_("{field} is {value}, but this import is for {expected}; check --marketplace"),
        expected=expected,
    )


def currency_ok(row: Mapping[str, str], expected: str) -> None:
    value = row.get("currency", "")
    if value and value.upper() != expected:
        raise BadValue(
            "currency",
            "currency_mismatch",
            value,
            N_("{field} is {value}, but this marketplace trades in {expected}"),
            expected=expected,
        )


def flag(row: Mapping[str, str], column: str) -> bool:
    value = row.get(column, "").lower()
    if value in ("", "false"):
        return False
    if value == "true":
        return True
    raise BadValue(column, "invalid_boolean", row[column], N_("{field} must be true or false"))
