"""Telling an Amazon file's kind and marketplace from the file alone (issue 16 item 3), on the
hand-made samples of tests/data/amazon (their README lists what each holds)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tsunagu.connectors.amazon import detect
from tsunagu.connectors.amazon.tsv import parse_report, read_report
from tsunagu.core.errors import UsageError
from tsunagu.events import auto
from tsunagu.marketplaces.registry import load_registry

DATA = Path(__file__).resolve().parent.parent / "data" / "amazon"
REGISTRY = load_registry(None)


def facts(name: str) -> detect.FileFacts:
    path = DATA / name
    if path.suffix == ".json":
        return detect.facts_of_json(name, path.read_bytes(), REGISTRY)
    return detect.facts_of_report(name, read_report(path, ()), REGISTRY)


def facts_of_text(text: str) -> detect.FileFacts:
    return detect.facts_of_report("f.txt", parse_report(text, "utf-8", ()), REGISTRY)


@pytest.mark.parametrize(
    ("name", "kind", "rows", "candidates"),
    [
        ("all-orders-jp-cp932.txt", "orders", 10, {"JP"}),
        ("all-orders-jp-utf8.txt", "orders", 10, {"JP"}),
        ("all-orders-us.txt", "orders", 16, {"US"}),
        ("all-orders-us-newer.txt", "orders", 19, {"US"}),
        ("unshipped-jp.txt", "unshipped", 4, None),
        ("unshipped-us.txt", "unshipped", 7, None),
        ("feedback-jp.txt", "feedback", 4, None),
        ("feedback-us.txt", "feedback", 5, None),
        ("settlement_v2_jp.txt", "settlement", 20, {"JP"}),
        ("settlement_v2_us.txt", "settlement", 28, {"US"}),
        ("returns-us.txt", "returns", 5, {"US"}),
        ("returns-jp-cp932.txt", "returns", 3, {"JP"}),
        ("shipconfirm-us.txt", "shipconfirm", 10, None),
        ("afn-shipments-us.txt", "afn-shipments", 5, {"US"}),
        ("afn-shipments-jp-cp932.txt", "afn-shipments", 2, {"JP"}),
        ("v2-health-jp.json", "health", None, {"JP"}),
        ("v2-health-us-only.json", "health", None, {"US"}),
        ("v2-health-two-markets.json", "health", None, {"JP", "US"}),
    ],
)
def test_each_sample_is_told_by_its_header_and_its_own_columns(
    name: str, kind: str, rows: int | None, candidates: set[str] | None
):
    found = facts(name)
    assert found.kind == kind
    assert found.rows == rows
    assert found.candidates == (frozenset(candidates) if candidates is not None else None)


def test_the_order_ids_a_file_names_are_read_from_its_own_order_column():
    # feedback-jp.txt: four rows, four orders (README §feedback-jp)
    assert facts("feedback-jp.txt").order_ids == {
        "250-2817764-0935512",
        "503-4471902-6628345",
        "250-9106235-4471608",
        "249-0857312-5583046",
    }
    # all-orders-jp: 10 rows, 8 orders
    assert len(facts("all-orders-jp-utf8.txt").order_ids) == 8


def test_the_sales_channel_names_the_marketplace_before_the_currency():
    found = facts_of_text(
        "amazon-order-id\tpurchase-date\torder-status\tfulfillment-channel\tsku\tquantity\t"
        "item-price\tsales-channel\tcurrency\n"
        "503-1234567-1234567\t2026-10-01T00:00:00Z\tShipped\tMerchant\tA\t1\t10\tAmazon.com\tJPY\n"
    )
    assert (found.candidates, found.named_by) == (frozenset({"US"}), "sales_channel")


def test_a_currency_names_the_marketplace_when_nothing_else_does():
    found = facts_of_text(
        "Order ID\tReturn request date\tAmazon RMA ID\tCurrency code\tDate\tRating\n"
        "503-1234567-1234567\t2026-10-01\tR1\tJPY\t2026/10/01\t1\n"
    )
    # feedback's required columns are there; whatever the kind, JPY means JP
    assert (found.candidates, found.named_by) == (frozenset({"JP"}), "currency")


def test_non_amazon_rows_name_no_marketplace_and_two_channels_are_mixed():
    base = (
        "amazon-order-id\tpurchase-date\torder-status\tfulfillment-channel\tsku\tquantity\t"
        "item-price\tsales-channel\n"
    )
    row = "503-1234567-123456{n}\t2026-10-01T00:00:00Z\tShipped\tMerchant\tA\t1\t10\t{ch}\n"
    one = facts_of_text(
        base + row.format(n=1, ch="Amazon.co.jp") + row.format(n=2, ch="Non-Amazon")
    )
    assert (one.candidates, one.mixed) == (frozenset({"JP"}), False)
    two = facts_of_text(
        base + row.format(n=1, ch="Amazon.co.jp") + row.format(n=2, ch="Amazon.com")
    )
    assert (two.candidates, two.mixed) == (frozenset({"JP", "US"}), True)
    unknown = facts_of_text(base + row.format(n=1, ch="Amazon.de"))
    assert (unknown.candidates, unknown.unknown) == (frozenset(), ("Amazon.de",))


def test_a_translated_feedback_header_is_still_feedback():
    found = facts_of_text(
        "日付\t評価\tコメント\t注文番号\n2026/10/08\t2\t遅い\t250-2817764-0935512\n"
    )
    assert found.kind == "feedback"
    assert found.order_ids == {"250-2817764-0935512"}


def test_the_best_match_wins_when_several_kinds_fit():
    # a feedback-like file that also has every unshipped column: the kind that knows more wins
    spec_a = detect.KindSpec("a", ("x", "y"), frozenset(), {}, 0)
    spec_b = detect.KindSpec("b", ("x",), frozenset({"y", "z"}), {}, 0)
    match = detect.detect_kind(["X", "y", "z"], [spec_a, spec_b])
    assert match is not None
    assert match.kind == "b"
    # a tie goes to the kind that requires more
    match = detect.detect_kind(["x", "y"], [spec_b, spec_a])
    assert match is not None
    assert match.kind == "a"


def test_a_file_of_no_known_kind_is_one_error_naming_the_file():
    with pytest.raises(UsageError) as caught:
        facts_of_text("foo\tbar\n1\t2\n")
    assert caught.value.code == "unknown_file_kind"
    assert caught.value.details["file"] == "f.txt"
    assert "f.txt" in caught.value.message("en")


def test_a_header_close_to_a_kind_names_the_missing_column():
    with pytest.raises(UsageError) as caught:
        facts("all-orders-missing-column.txt")
    assert caught.value.code == "unknown_file_kind"
    assert caught.value.details["closest_kind"] == "orders"
    assert caught.value.details["missing_columns"] == ["purchase-date"]


def test_json_that_is_not_the_health_report_is_an_unknown_kind():
    with pytest.raises(UsageError) as caught:
        detect.facts_of_json("x.json", b'{"orders": []}', REGISTRY)
    assert caught.value.code == "unknown_file_kind"
    with pytest.raises(UsageError):
        facts("v2-health-truncated.json")
    assert detect.looks_like_json(b"\xef\xbb\xbf  {")
    assert not detect.looks_like_json(b"a\tb")


def test_dependency_order_puts_orders_first_and_the_health_report_last():
    ranks = {kind: detect.rank_of(kind) for kind in ("orders", "unshipped", "feedback", "health")}
    assert ranks["orders"] < ranks["unshipped"] < ranks["health"]
    assert ranks["orders"] < ranks["feedback"] < ranks["health"]
    assert detect.rank_of("settlement") < ranks["health"]


def test_a_shipping_confirmation_with_template_lines_above_its_header_is_found():
    # shipconfirm-jp-cp932.txt: a TemplateType line and a line of Japanese labels come first
    with pytest.raises(UsageError):
        facts("shipconfirm-jp-cp932.txt")  # its first line fits no kind
    found = auto.inspect_file(auto.Upload(DATA / "shipconfirm-jp-cp932.txt", "sc.txt"), REGISTRY)
    assert (found.kind, found.candidates) == ("shipconfirm", None)
    assert found.order_ids  # read from the real header's order-id column


def test_returns_name_their_marketplace_by_their_currency_code():
    found = facts("returns-jp-cp932.txt")
    assert (found.candidates, found.named_by) == (frozenset({"JP"}), "currency")
