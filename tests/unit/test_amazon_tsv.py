"""Reading Amazon flat files, and turning their rows into events, without a database."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tsunagu.connectors.amazon.feedback import JA_ALIASES, feedback_date, translate_feedback
from tsunagu.connectors.amazon.orders import REQUIRED as ORDER_COLUMNS
from tsunagu.connectors.amazon.orders import translate_orders
from tsunagu.connectors.amazon.tsv import ReportFile, parse_report, read_report
from tsunagu.connectors.amazon.unshipped import promise_date, translate_unshipped
from tsunagu.core.errors import UsageError
from tsunagu.events.ingest import RowError
from tsunagu.events.rules import Candidate, validate
from tsunagu.marketplaces.registry import load_registry

DATA = Path(__file__).resolve().parent.parent / "data" / "amazon"
REGISTRY = load_registry(None)
US = REGISTRY.require("US")
JP = REGISTRY.require("JP")

HEADER = (DATA / "all-orders-us.txt").read_text(encoding="utf-8").split("\n", 1)[0].split("\t")
GOOD_ROW = dict(
    zip(
        HEADER,
        (
            "112-4830291-5520147",
            "",
            "2026-10-01T08:14:52-07:00",
            "2026-10-02T11:30:07-07:00",
            "Shipped",
            "Merchant",
            "Amazon.com",
            "",
            "",
            "Standard",
            "Uji Matcha 100g",
            "MATCHA-UJI-100G",
            "B0DJ4T7QKM",
            "Shipped",
            "1",
            "USD",
            "19.99",
            "2.07",
            "4.99",
            "0.52",
            "",
            "",
            "",
            "",
            "Seattle",
            "WA",
            "98101-2118",
            "US",
            "",
            "false",
            "",
            "",
            "false",
        ),
        strict=True,
    )
)


FILE_ERRORS = {
    "empty_file",
    "not_tab_separated",
    "missing_column",
    "unreadable_file",
    "duplicate_column",
    "invalid_value",
}


def write(tmp_path: Path, data: bytes, name: str = "report.txt") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def orders_file(*rows: dict[str, str]) -> ReportFile:
    lines = ["\t".join(HEADER)] + ["\t".join(row.get(c, "") for c in HEADER) for row in rows]
    return parse_report("\n".join(lines) + "\n", "utf-8", ORDER_COLUMNS)


def translate(report: ReportFile, known: set[str] | None = None) -> list[tuple[int, object]]:
    prepared = translate_orders(
        report, seller_id="sel_1", marketplace=US, known_orders=lambda ids: set(known or ())
    )
    return prepared.items


def codes(items: list[tuple[int, object]]) -> list[tuple[int, str, str]]:
    return [(line, e.field, e.code) for line, e in items if isinstance(e, RowError)]


# -- the reader ---------------------------------------------------------------------------------


def test_sample_files_are_decoded_with_the_right_encoding() -> None:
    cp932 = read_report(DATA / "all-orders-jp-cp932.txt", ORDER_COLUMNS)
    bom = read_report(DATA / "all-orders-jp-utf8.txt", ORDER_COLUMNS)
    plain = read_report(DATA / "all-orders-us.txt", ORDER_COLUMNS)
    assert (cp932.encoding, bom.encoding, plain.encoding) == ("cp932", "utf-8-sig", "utf-8")
    assert cp932.rows == bom.rows
    assert cp932.columns[0] == "amazon-order-id"  # no BOM left in the first name
    names = {line: row["product-name"] for line, row in cp932.rows}
    assert "髙" in names[4]
    assert "髙" in names[10]
    assert "～" in names[3]  # U+FF5E FULLWIDTH TILDE ...
    assert "〜" not in names[3]  # ... not U+301C WAVE DASH
    assert cp932.rows[0][1]["ship-postal-code"] == "150-0002"


def test_crlf_padding_blank_lines_and_physical_line_numbers(tmp_path: Path) -> None:
    text = " Order-ID \tB\tC\r\n\r\nx1\t2\r\nx2\t3\t4\t5\r\n\t\t\r\nx3\r\n"
    report = read_report(write(tmp_path, text.encode()), ["order-id", "c"])
    assert report.columns == ["order-id", "b", "c"]
    assert report.rows == [
        (3, {"order-id": "x1", "b": "2", "c": ""}),
        (4, {"order-id": "x2", "b": "3", "c": "4"}),
        (6, {"order-id": "x3", "b": "", "c": ""}),
    ]


def test_quotes_are_kept_as_written() -> None:
    report = read_report(DATA / "all-orders-us.txt", ORDER_COLUMNS)
    names = {line: row["product-name"] for line, row in report.rows}
    assert names[4] == 'Imabari Cotton Face Towel 13" x 33", Set of 2'


def test_header_aliases_map_japanese_names(tmp_path: Path) -> None:
    text = (
        "日付\t評価\tコメント\t回答\t注文番号\t評価者のメールアドレス\n"
        "2026/10/08\t2\tx\t\t250-1\ta@example.com\n"
    )
    path = write(tmp_path, text.encode())
    report = read_report(path, ["date", "rating", "order id"], JA_ALIASES)
    assert report.rows[0][1]["order id"] == "250-1"
    assert report.rows[0][1]["rater email"] == "a@example.com"


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "empty_file"),
        (b"\n \n\t\n", "empty_file"),
        (b"amazon-order-id,purchase-date\n1,2\n", "not_tab_separated"),
        (b"\x80\x81\xff\xfe", "unreadable_file"),
        (b"\xef\xbb\xbfa\tb\xff\n", "unreadable_file"),
    ],
)
def test_file_level_problems(tmp_path: Path, data: bytes, code: str) -> None:
    with pytest.raises(UsageError) as caught:
        read_report(write(tmp_path, data), ["amazon-order-id", "purchase-date"])
    assert caught.value.code == code


def test_missing_and_unreadable_paths(tmp_path: Path) -> None:
    for path in (tmp_path / "nope.txt", tmp_path):
        with pytest.raises(UsageError) as caught:
            read_report(path, ["a"])
        assert caught.value.code == "unreadable_file"


def test_missing_column_is_named() -> None:
    with pytest.raises(UsageError) as caught:
        read_report(DATA / "all-orders-missing-column.txt", ORDER_COLUMNS)
    assert caught.value.code == "missing_column"
    assert caught.value.details["columns"] == ["purchase-date"]
    assert "purchase-date" in caught.value.message("en")


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    payload=st.one_of(
        st.binary(max_size=400),
        st.tuples(
            st.text(max_size=200),
            st.sampled_from(["utf-8", "utf-8-sig", "cp932"]),
        ).map(lambda t: t[0].encode(t[1], errors="replace")),
    )
)
def test_any_bytes_give_rows_or_a_usage_error(tmp_path: Path, payload: bytes) -> None:
    """IMP-07: whatever the bytes, the reader either reads them or raises UsageError."""
    path = write(tmp_path, payload, "fuzz.txt")
    outcome: ReportFile | UsageError
    try:
        outcome = read_report(path, ["a", "b"])
    except UsageError as exc:
        outcome = exc
    if isinstance(outcome, UsageError):
        assert outcome.code in FILE_ERRORS
    else:
        assert all(line >= 2 for line, _ in outcome.rows)


# -- All Orders rows ----------------------------------------------------------------------------

_CELL = st.text(alphabet=st.characters(blacklist_characters="\t\n"), max_size=24)
_PLAUSIBLE = {
    "amazon-order-id": ["111-1", "", "x" * 70],
    "purchase-date": ["2026-10-01T08:14:52-07:00", "2026-10-01", "0001-01-01T00:00:00+14:00"],
    "order-status": [
        "Shipped",
        "Pending",
        "Cancelled",
        "Unshipped",
        "shipped - delivered to buyer",
    ],
    "fulfillment-channel": ["Merchant", "Amazon", "AFN", "mfn"],
    "sales-channel": ["Amazon.com", "", "Non-Amazon", "Amazon.co.jp"],
    "quantity": ["1", "0", "２", "-1", "9" * 30],
    "currency": ["USD", "usd", "", "JPY"],
    "item-price": ["19.99", "", "１９.９９", "1e999999999", "-1.00", "NaN", "1,980"],
    "item-tax": ["2.07", "", "0.00", "12.345"],
    "item-status": ["Shipped", "Cancelled", ""],
    "is-business-order": ["true", "FALSE", "", "yes"],
    "sku": ["MATCHA-UJI-100G", "", "s" * 120],
}


@st.composite
def order_rows(draw: st.DrawFn) -> dict[str, str]:
    row = dict(GOOD_ROW)
    for column in HEADER:
        choices = _PLAUSIBLE.get(column)
        # mostly valid rows with one or two odd cells, so that both outcomes are exercised
        if choices is not None and draw(st.integers(0, 3)) == 0:
            row[column] = draw(st.sampled_from(choices))
        elif draw(st.integers(0, 15)) == 0:
            row[column] = draw(_CELL)
    return row


@settings(max_examples=400)
@given(rows=st.lists(order_rows(), min_size=1, max_size=3), known=st.booleans())
def test_any_cells_give_events_or_row_errors(rows: list[dict[str, str]], known: bool) -> None:
    """IMP-07: arbitrary cell values (full-width digits, huge numbers, odd dates, stray quotes)
    become either a valid event or a row error with a line; never another exception."""
    report = orders_file(*rows)
    order_ids = {row["amazon-order-id"] for _, row in report.rows}
    for line, item in translate(report, order_ids if known else set()):
        assert 2 <= line <= len(rows) + 1
        if isinstance(item, RowError):
            assert item.code
            assert item.field
            continue
        # connectors build canonical events themselves: validate() must agree, body for body
        event = event_of(item)
        assert event is not None
        checked = validate(event, REGISTRY)
        assert isinstance(checked, Candidate), checked
        if isinstance(item, Candidate):
            assert checked.body == item.body


def event_of(item: object) -> dict[str, Any] | None:
    """The event object of a pipeline item (connectors yield canonical Candidates or dicts)."""
    if isinstance(item, Candidate):
        assert item.data is not None
        return dict(item.data)
    return item if isinstance(item, dict) else None


def test_full_width_digits_are_numbers() -> None:
    items = translate(orders_file({**GOOD_ROW, "quantity": "２", "item-price": "１９.９９"}))
    placed = event_of(items[0][1])
    assert placed is not None
    assert placed["items"] == [{"sku": "MATCHA-UJI-100G", "quantity": 2, "price": 1999, "tax": 207}]


def test_rows_of_one_order_that_disagree_reject_the_order() -> None:
    later = {**GOOD_ROW, "fulfillment-channel": "Amazon", "sku": "OTHER"}
    items = translate(orders_file(GOOD_ROW, later))
    assert codes(items) == [(3, "fulfillment-channel", "inconsistent_order_rows")]
    assert len(items) == 1  # no event for the order
    error = items[0][1]
    assert isinstance(error, RowError)
    assert error.value == "Amazon"
    assert "line 2" in error.to_dict("en")["message"]


def test_unshipped_rows_keep_the_earliest_promise_of_an_order() -> None:
    header = "order-id\tpurchase-date\tpromise-date\tbuyer-email\n"
    text = header + (
        "111-0000000-0000001\t2026-10-01T00:00:00Z\t2026-10-05T00:00:00Z\tA@Example.com\n"
        "111-0000000-0000001\t2026-10-01T00:00:00Z\t2026-10-04T00:00:00Z\ta@example.com\n"
        "111-0000000-0000002\t2026-10-01T00:00:00Z\tsoon\t\n"
    )
    prepared = translate_unshipped(
        parse_report(text, "utf-8", ["order-id", "purchase-date", "promise-date"]),
        seller_id="s",
        marketplace=US,
    )
    assert codes(prepared.items) == [(4, "promise-date", "invalid_date")]
    (line, event), _error = prepared.items
    assert line == 2
    assert isinstance(event, dict)
    assert event["event_id"] == "amzn:111-0000000-0000001:promise:2026-10-04T00:00:00Z"
    assert event["latest_ship_date"] == "2026-10-04T00:00:00Z"
    # one subject for both rows: the e-mail is compared in lower case
    assert {(r.kind, r.key) for r in prepared.personal_rows} == {("buyer", "a@example.com")}


def test_known_orders_get_status_events_only() -> None:
    items = translate(orders_file(GOOD_ROW), known={"112-4830291-5520147"})
    assert [event["event_id"] for _, e in items if (event := event_of(e)) is not None] == [
        "amzn:112-4830291-5520147:shipped"
    ]


def test_non_amazon_rows_are_skipped_and_counted() -> None:
    prepared = translate_orders(
        orders_file(
            {**GOOD_ROW, "sales-channel": "Non-Amazon"},
            {**GOOD_ROW, "amazon-order-id": "112-0000000-0000002"},
        ),
        seller_id="s",
        marketplace=US,
        known_orders=lambda ids: set(),
    )
    assert prepared.stats["other_channel"] == 1
    assert prepared.stats["orders"] == 1


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"fulfillment-channel": "Drone"}, ("fulfillment-channel", "unknown_fulfillment_channel")),
        ({"currency": "JPY"}, ("currency", "currency_mismatch")),
        ({"item-price": ""}, ("item-price", "missing_value")),
        ({"is-business-order": "maybe"}, ("is-business-order", "invalid_boolean")),
        ({"amazon-order-id": ""}, ("amazon-order-id", "missing_value")),
    ],
)
def test_bad_values_are_row_errors(change: dict[str, str], expected: tuple[str, str]) -> None:
    assert codes(translate(orders_file({**GOOD_ROW, **change}))) == [(2, *expected)]


def test_a_cancelled_item_may_have_a_blank_price() -> None:
    row = {**GOOD_ROW, "item-status": "Cancelled", "item-price": "", "item-tax": ""}
    row["quantity"] = "0"
    placed = event_of(translate(orders_file(row))[0][1])
    assert placed is not None
    assert placed["amounts_known"] is False
    assert placed["items"] == [{"sku": "MATCHA-UJI-100G", "quantity": 0, "price": 0}]


# -- Unshipped and feedback values --------------------------------------------------------------


def test_promise_windows_use_their_end() -> None:
    end = "2026-10-08T23:59:59-07:00"
    for text in (end, f"2026-10-06T00:00:00-07:00 - {end}", f"2026-10-06T00:00:00-07:00 to {end}"):
        assert promise_date(text).isoformat() == "2026-10-09T06:59:59+00:00"


@pytest.mark.parametrize(
    ("text", "marketplace", "expected"),
    [
        ("2026/10/08", "JP", "2026-10-08"),
        ("2026/1/8", "JP", "2026-01-08"),
        ("2026-10-08", "JP", "2026-10-08"),
        ("10/9/26", "US", "2026-10-09"),
        ("10/09/2026", "US", "2026-10-09"),
        ("2026-10-09", "US", "2026-10-09"),
    ],
)
def test_feedback_dates_as_amazon_writes_them(text: str, marketplace: str, expected: str) -> None:
    assert feedback_date(text, marketplace).isoformat() == expected


def test_feedback_rows_with_bad_values() -> None:
    text = (
        "Date\tRating\tComments\tYour Response\tOrder ID\tRater Email\n"
        "13/45/26\t2\tx\t\t111-0000000-0000001\ta@example.com\n"
        "10/9/26\t6\tx\t\t111-0000000-0000002\ta@example.com\n"
        "10/9/26\t2\tx\t\t\ta@example.com\n"
    )
    report = parse_report(text, "utf-8", ["date", "rating", "order id"])
    prepared = translate_feedback(report, seller_id="s", marketplace=US)
    assert codes(prepared.items) == [
        (2, "date", "invalid_date"),
        (3, "rating", "invalid_rating"),
        (4, "order id", "missing_value"),
    ]
    assert prepared.personal_rows == []


def test_lone_surrogates_in_text_become_replacement_marks_not_crashes() -> None:
    """Found by the IMP-07 property test: a surrogate in a cell made the event unstorable."""
    items = translate(orders_file({**GOOD_ROW, "sku": "MATCHA-\ud800"}))
    placed = event_of(items[0][1])
    assert placed is not None
    assert placed["items"][0]["sku"] == "MATCHA-?"


# -- hostile text (API-10) and order ids (IMP-04) -----------------------------------------------

FEEDBACK_HEADER = "Date\tRating\tComments\tYour Response\tOrder ID\tRater Email\n"
UNSHIPPED_HEADER = "order-id\tpurchase-date\tpromise-date\tbuyer-name\n"


def row_errors(items: list[tuple[int, object]]) -> list[tuple[int, str, str, object]]:
    return [(line, e.field, e.code, e.value) for line, e in items if isinstance(e, RowError)]


@pytest.mark.parametrize("hostile", ["\x00", "\x1b[2J", "\x9b", "\x7f", "\r"])
def test_api_10_a_control_character_in_any_cell_is_a_row_error_naming_the_column(
    hostile: str,
) -> None:
    """API-10 / IMP-04: a NUL (which PostgreSQL refuses), an ESC or another control character in
    a cell, read or not, is ``invalid_value`` with the line, the column and the value; the
    order is skipped, the other rows are not, and a personal column's value stays masked."""
    orders = translate(
        orders_file(
            {**GOOD_ROW, "sku": f"MAT{hostile}CHA"},
            {**GOOD_ROW, "product-name": f"T{hostile}ea", "amazon-order-id": "112-0000000-0000002"},
            {
                **GOOD_ROW,
                "ship-city": f"Sea{hostile}ttle",
                "amazon-order-id": "112-0000000-0000003",
            },
            {**GOOD_ROW, "amazon-order-id": "112-0000000-0000004"},
        )
    )
    assert row_errors(orders) == [
        (2, "sku", "invalid_value", f"MAT{hostile}CHA"),
        (3, "product-name", "invalid_value", f"T{hostile}ea"),
        (4, "ship-city", "invalid_value", "***"),
    ]
    stored = [event_of(item) for _, item in orders if not isinstance(item, RowError)]
    assert {e["order_id"] for e in stored if e is not None} == {"112-0000000-0000004"}

    unshipped = translate_unshipped(
        parse_report(
            UNSHIPPED_HEADER
            + f"111-0000000-0000001\t2026-10-01T00:00:00Z\t2026-10-0{hostile}5T00:00:00Z\tA\n"
            + f"111-0000000-0000002\t2026-10-01T00:00:00Z\t2026-10-05T00:00:00Z\tA{hostile}B\n",
            "utf-8",
            ["order-id", "purchase-date", "promise-date"],
        ),
        seller_id="s",
        marketplace=US,
    )
    assert row_errors(unshipped.items) == [
        (2, "promise-date", "invalid_value", f"2026-10-0{hostile}5T00:00:00Z"),
        (3, "buyer-name", "invalid_value", "***"),
    ]
    assert unshipped.personal_rows == []

    feedback = translate_feedback(
        parse_report(
            FEEDBACK_HEADER + f"10/9/26\t2\tLa{hostile}te\t\t111-0000000-0000001\ta@example.com\n",
            "utf-8",
            ["date", "rating", "order id"],
        ),
        seller_id="s",
        marketplace=US,
    )
    assert row_errors(feedback.items) == [(2, "comments", "invalid_value", f"La{hostile}te")]
    assert feedback.personal_rows == []


@pytest.mark.parametrize(
    "order_id",
    [
        "\x1b[2J112-4830291-5520147",
        "../../../etc/passwd",
        "112-4830291-552014",
        "1124830291-5520147",
        "１１２-４８３０２９１-５５２０１４７",  # full-width digits
        "D01-4830291-5520147",
        "112-4830291-5520147/..",
    ],
    ids=["esc", "traversal", "short", "no-dash", "full-width", "letter", "suffix"],
)
def test_imp_04_an_amazon_order_id_must_have_the_3_7_7_digit_shape(order_id: str) -> None:
    """API-10 / IMP-04: anything but ``503-1234567-1234567``'s shape is ``invalid_order_id``
    with its line, field and value, in each of the three reports; no event is built."""
    orders = translate(orders_file({**GOOD_ROW, "amazon-order-id": order_id}))
    unshipped = translate_unshipped(
        parse_report(
            UNSHIPPED_HEADER + f"{order_id}\t2026-10-01T00:00:00Z\t2026-10-05T00:00:00Z\tA\n",
            "utf-8",
            ["order-id", "purchase-date", "promise-date"],
        ),
        seller_id="s",
        marketplace=US,
    )
    feedback = translate_feedback(
        parse_report(
            FEEDBACK_HEADER + f"10/9/26\t2\tLate\t\t{order_id}\ta@example.com\n",
            "utf-8",
            ["date", "rating", "order id"],
        ),
        seller_id="s",
        marketplace=US,
    )
    code = "invalid_value" if "\x1b" in order_id else "invalid_order_id"
    assert row_errors(orders) == [(2, "amazon-order-id", code, order_id)]
    assert row_errors(unshipped.items) == [(2, "order-id", code, order_id)]
    assert row_errors(feedback.items) == [(2, "order id", code, order_id)]
    if code == "invalid_order_id":
        message = orders[0][1]
        assert isinstance(message, RowError)
        assert "503-1234567-1234567" in message.to_dict("en")["message"]


def test_every_order_id_of_the_sample_files_is_accepted() -> None:
    """IMP-04: the real-shaped ids of every sample report pass the 3-7-7 check."""
    for name in DATA.glob("all-orders-*.txt"):
        if "missing-column" in name.name:
            continue
        report = read_report(name, ORDER_COLUMNS)
        errors = {e.code for _, e in translate(report) if isinstance(e, RowError)}
        assert "invalid_order_id" not in errors, name
    for name, kind in (("unshipped-us.txt", "unshipped"), ("feedback-us.txt", "feedback")):
        path = DATA / name
        if kind == "unshipped":
            items = translate_unshipped(
                read_report(path, ["order-id", "purchase-date", "promise-date"]),
                seller_id="s",
                marketplace=US,
            ).items
        else:
            items = translate_feedback(
                read_report(path, ["date", "rating", "order id"], JA_ALIASES),
                seller_id="s",
                marketplace=US,
            ).items
        assert row_errors(items) == [], name


@pytest.mark.parametrize(
    "header",
    [
        "amazon-order-id\tsku\tpurchase-date\tsku\n",
        "amazon-order-id\tSKU\tpurchase-date\t sku \n",
    ],
)
def test_a_repeated_column_is_a_file_error_naming_it(tmp_path: Path, header: str) -> None:
    """Item 11a: a column given twice is ``duplicate_column`` (which one was meant is a guess),
    no longer the first one silently winning."""
    path = write(tmp_path, (header + "112-4830291-5520147\tA\t2026-10-01\tB\n").encode())
    with pytest.raises(UsageError) as caught:
        read_report(path, ["amazon-order-id", "purchase-date"])
    assert caught.value.code == "duplicate_column"
    assert caught.value.details["columns"] == ["sku"]
    assert "sku" in caught.value.message("en")


def test_blank_header_cells_from_trailing_tabs_are_no_repeated_columns(tmp_path: Path) -> None:
    path = write(tmp_path, b"order-id\tc\t\t\nx1\t2\t\t\n")
    assert read_report(path, ["order-id", "c"]).rows == [(2, {"order-id": "x1", "c": "2", "": ""})]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ("amazon-order-id\tpurchase-date\n1\t2\n".encode("utf-16"), "utf-16"),
        (b"\xfe\xff" + "amazon-order-id\tpurchase-date\n".encode("utf-16-be"), "utf-16"),
        ("amazon-order-id\tpurchase-date\n".encode("utf-32"), "utf-16"),
        ("amazon-order-id\tpurchase-date\n1\t2\n".encode("utf-16-le"), "binary"),
        (gzip.compress(b"amazon-order-id\tpurchase-date\n1\t2\n"), "compressed"),
    ],
    ids=["utf-16-bom", "utf-16-be-bom", "utf-32", "utf-16-no-bom", "gzip"],
)
def test_utf16_and_compressed_files_are_unreadable_not_misread(
    tmp_path: Path, data: bytes, reason: str
) -> None:
    """Item 11b: a UTF-16 file (Excel's "Unicode text") was decoded as CP932 garbage; now it is
    ``unreadable_file`` saying why, like a gzip file."""
    with pytest.raises(UsageError) as caught:
        read_report(write(tmp_path, data), ["amazon-order-id", "purchase-date"])
    assert caught.value.code == "unreadable_file"
    assert caught.value.details["reason"] == reason
    if reason == "utf-16":
        assert "UTF-16" in caught.value.message("en")


def test_api_10_a_control_character_in_the_header_is_a_file_error(tmp_path: Path) -> None:
    path = write(tmp_path, b"amazon-order-id\tpurchase-date\tnote\x1b[2J\n1\t2\t3\n")
    with pytest.raises(UsageError) as caught:
        read_report(path, ["amazon-order-id", "purchase-date"])
    assert caught.value.code == "invalid_value"
    assert caught.value.details["field"] == "column 3"
