"""Settlement rules and the settlement report's cells (pure; ADR 0025)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tsunagu.connectors.amazon import common as c
from tsunagu.connectors.amazon.settlement import settlement_time, signed_amount
from tsunagu.marketplaces.registry import load_registry
from tsunagu.settlement import rules

REGISTRY = load_registry(None)
JP, US = REGISTRY.require("JP"), REGISTRY.require("US")
T0 = datetime(2026, 10, 1, tzinfo=UTC)


@given(
    st.lists(
        st.tuples(st.integers(0, 10**9), st.integers(0, 10**7), st.sampled_from(["a", "b", None])),
        max_size=8,
    )
)
def test_order_money_is_whole_minor_units_led_08(lines):
    money = rules.order_money(
        [rules.Line(p, t, cat) for p, t, cat in lines],
        rates={"default": 0.1, "a": 0.08},
        withhold_tax=True,
    )
    assert all(isinstance(v, int) for v in (money.sale, money.fee, money.tax_withheld))
    assert money.sale == sum(p + t for p, t, _ in lines)
    assert 0 <= money.fee <= sum(p for p, _, _ in lines) // 10 + len(lines)


def test_referral_fee_per_category_rounded_half_up():
    money = rules.order_money(
        [rules.Line(1005, 0, "Grocery"), rules.Line(1000, 80, None)],
        rates={"default": 0.10, "grocery": 0.08},
        withhold_tax=False,
    )
    assert (money.sale, money.fee, money.tax_withheld) == (2085, 180, 0)  # 80.4 + 100 → 180


@given(st.integers(1, 10**9), st.integers(1, 10**9), st.integers(1, 10**9))
def test_fee_refund_never_exceeds_the_fee(fee, sale, refunded):
    back = rules.fee_refund(fee_posted=fee, sale=sale, refunded=refunded, admin_rate=0.2)
    assert 0 <= back <= fee


def test_claim_takes_what_was_not_refunded():
    assert rules.unrefunded(10000, 2500) == 7500
    assert rules.unrefunded(10000, 12000) == 0


@pytest.mark.parametrize(
    ("tx", "amount_type", "description", "kind"),
    [
        ("Order", "ItemPrice", "Principal", "sale"),
        ("Order", "ItemFees", "Commission", "marketplace_fee"),
        ("Order", "ItemWithheldTax", "MarketplaceFacilitatorTax-Principal", "tax_withheld"),
        ("Order", "Promotion", "Shipping", "promotion"),
        ("Refund", "ItemPrice", "Principal", "refund"),
        ("Refund", "ItemFees", "RefundCommission", "fee_refund"),
        ("A-to-z Guarantee Refund", "ItemPrice", "Principal", "claim"),
        ("Chargeback Refund", "ItemPrice", "Principal", "chargeback"),
        ("Adjustment", "FBA Inventory Reimbursement", "Lost:Warehouse", "adjustment"),
        ("other-transaction", "other-transaction", "Subscription Fee", "report_other"),
    ],
)
def test_report_kinds(tx, amount_type, description, kind):
    assert rules.report_kind(tx, amount_type, description) == kind


def test_disbursement_dates_count_from_the_first_entry():
    assert rules.last_due(T0, 14, T0 + timedelta(days=13)) is None
    assert rules.last_due(T0, 14, T0 + timedelta(days=30)) == T0 + timedelta(days=28)
    assert rules.next_due(T0, 14, T0) == T0 + timedelta(days=14)
    assert rules.next_due(T0, 14, T0 + timedelta(days=28)) == T0 + timedelta(days=42)
    assert rules.payout(-5) == 0


@pytest.mark.parametrize(
    ("text", "mp", "expected"),
    [
        ("2026-11-03 18:22:05 UTC", US, datetime(2026, 11, 3, 18, 22, 5, tzinfo=UTC)),
        ("2026/11/03 03:10:00 UTC", JP, datetime(2026, 11, 3, 3, 10, tzinfo=UTC)),
        ("03.11.2026 03:10:00 UTC", JP, datetime(2026, 11, 3, 3, 10, tzinfo=UTC)),
        ("2026/11/03", JP, datetime(2026, 11, 2, 15, 0, tzinfo=UTC)),  # midnight in Tokyo
        ("11/03/2026", US, datetime(2026, 11, 3, 8, 0, tzinfo=UTC)),  # midnight in Los Angeles
        ("2026-11-03T12:00:00+09:00", JP, datetime(2026, 11, 3, 3, 0, tzinfo=UTC)),
    ],
)
def test_settlement_dates(text, mp, expected):
    assert settlement_time(text, "posted-date", mp) == expected


def test_bad_date_names_the_column():
    with pytest.raises(c.BadValue) as caught:
        settlement_time("yesterday", "posted-date", US)
    assert (caught.value.column, caught.value.code) == ("posted-date", "invalid_date")


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("-39.99", "USD", -3999),
        ("24.00", "USD", 2400),
        ("-4900", "JPY", -4900),
        ("1,980", "JPY", 1980),
    ],
)
def test_signed_amounts(text, currency, minor):
    assert signed_amount({"amount": text}, "amount", currency) == minor


@pytest.mark.parametrize("text", ["-1.999", "abc", "", "--1"])
def test_bad_amounts_are_row_errors(text):
    with pytest.raises(c.BadValue) as caught:
        signed_amount({"amount": text}, "amount", "USD")
    assert caught.value.column == "amount"
    assert caught.value.value == text
