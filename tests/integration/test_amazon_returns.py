"""``import amazon-returns``: the Returns report into return requests, resolutions and A-to-z
claims, and the figures they feed (return dissatisfaction rate, ODR claims).

Sample files and their expected contents: tests/data/amazon/README.md §12. Outcome mapping and
dates: ADR 0031.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from tests.conftest import Db
from tests.integration.test_amazon_import import NOW, errors, make_seller, query
from tests.integration.test_amazon_import import run_import as run
from tsunagu.health.service import store_health


def cases(db: Db, seller: str) -> list[tuple[Any, ...]]:
    return query(
        db,
        "SELECT order_id, kind, case_id, outcome FROM order_cases WHERE seller_id = :s "
        "ORDER BY order_id, kind, case_id",
        s=seller,
    )


def state(db: Db, seller: str) -> tuple[object, ...]:
    events = query(
        db,
        "SELECT event_id, body_hash FROM events WHERE seller_id = :s ORDER BY event_id",
        s=seller,
    )
    return (events, cases(db, seller))


def health(db: Db, seller: str, mp: str, day: date) -> Any:
    with db.session() as session:
        return store_health(
            session, seller_id=seller, marketplace=db.registry.require(mp), day=day, now=NOW
        )


def test_us_returns_feed_the_return_dissatisfaction_rate(db: Db) -> None:
    """Worked example (README §12): four requests in the 60 days to 2026-10-20; the one still
    pending after 48 h and the one rejected although in policy are negative → 2 / 4."""
    seller = make_seller(db)
    run(db, "orders", "all-orders-us.txt", seller)
    before = health(db, seller, "US", date(2026, 10, 20)).metrics["return_dissatisfaction_rate"]
    assert (before.numerator, before.denominator) == (0, 0)

    result = run(db, "returns", "returns-us.txt", seller)

    assert errors(result) == []
    # 4 requests, 3 resolutions (the pending one has none), 1 claim
    assert (result.report.stored, result.report.rejected) == (8, 0)
    assert result.stats["returns"] == 4
    assert result.stats["claims"] == 1
    assert cases(db, seller) == [
        ("112-4830291-5520147", "return", "D7xQk2LwRRMA", "authorized"),
        ("113-9064427-7786105", "return", "DgT6v1NcRRMA", "rejected_invalid"),
        ("114-0587213-7730916", "claim", "amzn-return:DkP4n8TqRRMA", None),
        ("114-0587213-7730916", "return", "DkP4n8TqRRMA", "refunded"),
        ("114-6650192-0318874", "return", "DbW2s9JmRRMA", None),
    ]
    rdr = health(db, seller, "US", date(2026, 10, 20)).metrics["return_dissatisfaction_rate"]
    assert (rdr.numerator, rdr.denominator) == (2, 4)
    assert rdr.ids == ("DbW2s9JmRRMA", "DgT6v1NcRRMA")
    assert rdr.components["lateResponse"] == 1
    assert rdr.components["invalidRejection"] == 1
    assert rdr.status == "BAD"


def test_a_to_z_flag_counts_as_an_open_claim_in_the_order_defect_rate(db: Db) -> None:
    """The flagged return of 114-0587213-7730916 is an undecided claim: 1 of the 8 MFN orders
    placed in the ODR window (60 days ending 2026-11-06) is defective."""
    seller = make_seller(db)
    run(db, "orders", "all-orders-us.txt", seller)
    run(db, "returns", "returns-us.txt", seller)
    odr = health(db, seller, "US", date(2026, 11, 20)).metrics["order_defect_rate_mfn"]
    assert (odr.numerator, odr.denominator) == (1, 8)
    assert odr.components["claims"] == 1
    assert odr.ids == ("114-0587213-7730916",)


def test_jp_cp932_returns(db: Db) -> None:
    seller = make_seller(db)
    run(db, "orders", "all-orders-jp-cp932.txt", seller, "JP")
    result = run(db, "returns", "returns-jp-cp932.txt", seller, "JP")
    assert result.stats["encoding"] == "cp932"
    assert errors(result) == []
    assert result.report.stored == 6
    # dates are JP days: 2026/10/08 is midnight in Tokyo
    (at,) = query(
        db,
        "SELECT at FROM events WHERE event_id = :e",
        e="amzn:250-2817764-0935512:return:Dj8mQ3xvRRMA",
    )[0]
    assert str(at).startswith("2026-10-07 15:00:00")
    rdr = health(db, seller, "JP", date(2026, 10, 20)).metrics["return_dissatisfaction_rate"]
    assert (rdr.numerator, rdr.denominator) == (1, 3)
    assert rdr.ids == ("Dq2Hn6WzRRMA",)


def test_bad_rows_are_reported_with_line_field_and_code(db: Db) -> None:
    seller = make_seller(db)
    run(db, "orders", "all-orders-us.txt", seller)
    result = run(db, "returns", "returns-us-bad.txt", seller)
    assert errors(result) == [
        (3, "order id", "invalid_order_id"),
        (4, "return request date", "invalid_date"),
        (5, "return request status", "unknown_return_status"),
        (6, "currency code", "currency_mismatch"),
        (7, "a-to-z claim", "invalid_boolean"),
        (8, "amazon rma id", "missing_value"),
    ]
    assert result.report.stored == 2  # line 2: the request and its authorisation


def test_reimport_and_shuffled_columns_are_all_duplicates(db: Db) -> None:
    """Idempotent (IMP-02): the same file again, or the same rows with the columns in another
    order and unknown columns added, store nothing new."""
    seller = make_seller(db)
    run(db, "orders", "all-orders-us.txt", seller)
    first = run(db, "returns", "returns-us.txt", seller)
    after_first = state(db, seller)
    again = run(db, "returns", "returns-us.txt", seller)
    shuffled = run(db, "returns", "returns-us-shuffled.txt", seller)
    for result in (again, shuffled):
        assert result.report.stored == 0
        assert result.report.duplicates == first.report.stored
        assert result.report.rejected == 0
    assert state(db, seller) == after_first


def test_returns_before_their_orders_end_in_the_same_state(db: Db) -> None:
    """Returns imported before the All Orders report wait for their orders (issue 16 item 2):
    the end state equals the one reached the other way round."""
    one = make_seller(db)
    run(db, "orders", "all-orders-us.txt", one)
    run(db, "returns", "returns-us.txt", one)

    other = make_seller(db)
    early = run(db, "returns", "returns-us.txt", other)
    assert early.report.rejected == 0
    run(db, "orders", "all-orders-us.txt", other)

    def normalised(seller: str) -> tuple[object, ...]:
        # the bodies name the seller, so the hashes differ between the two: compare the rest
        events = query(
            db,
            "SELECT event_id, type, at FROM events WHERE seller_id = :s ORDER BY event_id",
            s=seller,
        )
        return (events, cases(db, seller))

    assert normalised(other) == normalised(one)
    rdr = health(db, other, "US", date(2026, 10, 20)).metrics["return_dissatisfaction_rate"]
    assert (rdr.numerator, rdr.denominator) == (2, 4)
