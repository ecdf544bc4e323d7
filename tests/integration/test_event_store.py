"""The event store on SQLite and PostgreSQL: idempotency, modes, references, append-only."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tests.conftest import Db
from tests.factories import NOW, at, event, make_seller, placed
from tsunagu.events import ingest


def run(db: Db, events: list[Any], **kwargs: Any) -> ingest.Report:
    kwargs.setdefault("chunk_size", 3)
    return ingest.run(
        db.factory,
        lambda: enumerate(events, start=1),
        registry=db.registry,
        now=NOW,
        source_label="test",
        **kwargs,
    )


def signature(db: Db) -> dict[str, list[tuple[Any, ...]]]:
    """Everything an import writes, in a stable order (what a clean run must reproduce)."""
    tables = {
        "events": "SELECT seller_id, event_id, body_hash FROM events ORDER BY 1, 2",
        "orders": "SELECT * FROM orders ORDER BY seller_id, marketplace, order_id",
        "items": "SELECT * FROM order_items ORDER BY 1, 2, 3, 4",
        "cases": "SELECT * FROM order_cases ORDER BY 1, 2, 3, 4",
        "messages": "SELECT * FROM messages ORDER BY 1, 2, 3",
        "violations": "SELECT * FROM violations ORDER BY 1, 2, 3",
    }
    with db.engine.connect() as conn:
        return {name: [tuple(r) for r in conn.execute(text(sql))] for name, sql in tables.items()}


def test_reimporting_the_same_events_changes_nothing(db: Db):
    seller = make_seller(db)
    events = [
        placed(seller, "503-1", event_id="p1"),
        event("order_shipped", seller, order_id="503-1", tracking_id="T1", event_id="s1"),
    ]
    first = run(db, events)
    assert (first.read, first.stored, first.duplicates, first.rejected) == (2, 2, 0, 0)
    before = signature(db)
    again = run(db, events)
    assert (again.stored, again.duplicates, again.rejected) == (0, 2, 0)
    assert signature(db) == before


def test_same_id_with_a_different_body_is_an_event_conflict(db: Db):
    seller = make_seller(db)
    run(db, [placed(seller, "503-1", event_id="p1", price=1000)])
    report = run(db, [placed(seller, "503-1", event_id="p1", price=2000)])
    assert report.rejected == 1
    assert [(e.line, e.field, e.code, e.value) for e in report.errors] == [
        (1, "event_id", "event_conflict", "p1")
    ]


def test_conflict_inside_one_file_names_the_later_line(db: Db):
    seller = make_seller(db)
    report = run(
        db,
        [
            placed(seller, "503-1", event_id="p1", price=1000),
            placed(seller, "503-1", event_id="p1", price=1000),
            placed(seller, "503-1", event_id="p1", price=9999),
        ],
    )
    assert (report.stored, report.duplicates, report.rejected) == (1, 1, 1)
    assert report.errors[0].line == 3


def test_feedback_before_its_order_in_the_same_batch_is_fine(db: Db):
    seller = make_seller(db)
    report = run(
        db,
        [
            event("feedback_posted", seller, order_id="503-1", rating=1, when=at(-1)),
            placed(seller, "503-1", when=at(-5)),
        ],
    )
    assert report.rejected == 0
    with db.session() as s:
        rating = s.execute(text("SELECT feedback_rating FROM orders")).scalar_one()
    assert rating == 1


@pytest.mark.parametrize(
    ("make", "field", "code"),
    [
        (
            lambda seller: event("order_delivered", "sel_nobody", order_id="x"),
            "seller",
            "unknown_seller",
        ),
        (
            lambda seller: event("order_delivered", seller, marketplace="XX", order_id="x"),
            "marketplace",
            "unknown_marketplace",
        ),
    ],
)
def test_references_to_unknown_things_are_rejected_with_a_clear_code(
    db: Db, make: Any, field: str, code: str
):
    seller = make_seller(db)
    report = run(db, [make(seller)])
    assert [(e.field, e.code) for e in report.errors] == [(field, code)]
    assert signature(db)["events"] == []


def test_store_must_exist_in_that_marketplace(db: Db):
    seller = make_seller(db, marketplaces=("JP",))
    report = run(db, [placed(seller, "112-1", marketplace="US")])
    assert [(e.field, e.code) for e in report.errors] == [
        ("marketplace", "marketplace_not_enabled")
    ]


def test_partial_mode_stores_good_lines_strict_stores_nothing_dry_run_writes_nothing(db: Db):
    seller = make_seller(db)
    batch = [placed(seller, "503-1"), {"type": "order_placed"}, placed(seller, "503-2")]
    dry = run(db, batch, dry_run=True)
    assert signature(db)["events"] == []
    strict = run(db, batch, strict=True)
    assert (strict.stored, strict.rejected) == (0, 1)
    assert signature(db)["events"] == []
    partial = run(db, batch)
    assert (partial.stored, partial.rejected) == (2, 1)
    assert len(signature(db)["events"]) == 2
    # the dry run predicted exactly what the real run did (IMP-05)
    assert dry.as_dict() == partial.as_dict()


def test_rejected_line_reports_line_field_code_value_and_counts_add_up(db: Db):
    """IMP-04: every bad row has line, field, code and value; read = stored + dup + rejected."""
    seller = make_seller(db)
    bad = placed(seller, "503-9")
    bad["items"][0]["price"] = "1980"
    report = run(db, [placed(seller, "503-1"), bad, placed(seller, "503-1")])
    assert report.read == report.stored + report.duplicates + report.rejected
    (error,) = report.errors
    assert (error.line, error.field, error.code, error.value) == (
        2,
        "items[0].price",
        "invalid_type",
        "1980",
    )


def test_events_table_is_append_only(db: Db):
    seller = make_seller(db)
    run(db, [placed(seller, "503-1")])
    statements = ["UPDATE events SET type = 'x'", "DELETE FROM events"]
    if db.kind == "pg":
        statements.append("TRUNCATE events")
    for statement in statements:
        with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as conn:
            conn.execute(text(statement))
    assert len(signature(db)["events"]) == 1


def test_message_text_goes_to_personal_store_not_the_log(db: Db):
    seller = make_seller(db)
    run(
        db,
        [
            placed(seller, "503-1"),
            event(
                "message_received",
                seller,
                message_id="m1",
                order_id="503-1",
                body="My phone is 090-1111-2222",
            ),
        ],
    )
    with db.engine.connect() as conn:
        bodies = " ".join(r[0] for r in conn.execute(text("SELECT body FROM events")))
        personal = [
            value
            for (fields,) in conn.execute(text("SELECT fields FROM personal_records"))
            for value in json.loads(fields).values()
        ]
        message = conn.execute(text("SELECT order_id FROM messages")).scalar_one()
    assert "090-1111-2222" not in bodies
    assert personal == ["My phone is 090-1111-2222"]
    assert message == "503-1"


def _story(seller: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for n in range(6):
        oid = f"503-{n}"
        events.append(placed(seller, oid, when=at(-20 + n), event_id=f"p{n}"))
        events.append(
            event(
                "order_shipped",
                seller,
                order_id=oid,
                when=at(-19 + n),
                tracking_id=f"T{n}",
                event_id=f"s{n}",
            )
        )
        if n % 2:
            events.append(
                event(
                    "feedback_posted",
                    seller,
                    order_id=oid,
                    rating=n % 5 + 1,
                    when=at(-10 + n),
                    event_id=f"f{n}",
                )
            )
        if n % 3 == 0:
            events.append(
                event(
                    "claim_filed",
                    seller,
                    order_id=oid,
                    claim_id=f"c{n}",
                    when=at(-9 + n),
                    event_id=f"c{n}",
                )
            )
    events.append(
        event(
            "violation_opened",
            seller,
            violation_id="v1",
            severity="low",
            policy="receivedIntellectualPropertyComplaints",
            event_id="v1",
        )
    )
    events.append(event("message_received", seller, message_id="m1", event_id="m1"))
    events.append(event("message_answered", seller, message_id="m1", when=at(-9), event_id="m1a"))
    return events


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 10**6), chunk=st.integers(1, 7), pieces=st.integers(1, 4))
def test_projection_is_the_same_however_events_are_split_and_ordered(
    sqlite_db: Db, seed: int, chunk: int, pieces: int
):
    db = sqlite_db
    with db.engine.begin() as conn:
        for table in ("orders", "order_items", "order_cases", "messages", "violations"):
            conn.execute(text(f"DELETE FROM {table}"))
    seller = make_seller(db, name=f"s{seed}")
    events = _story(seller)
    shuffled = events[:]
    random.Random(seed).shuffle(shuffled)
    # the first batch must carry the orders; the rest arrive in any order and batching
    size = max(1, len(shuffled) // pieces)
    batches = [shuffled[i : i + size] for i in range(0, len(shuffled), size)]
    batches[0] = [e for e in events if e["type"] == "order_placed"] + batches[0]
    for batch in batches:
        report = run(db, batch, chunk_size=chunk)
        assert report.rejected == 0
    got = signature(db)
    # a clean single import of the same events into a fresh seller gives the same rows
    other = make_seller(db, name=f"clean{seed}")
    run(db, [{**e, "seller": other} for e in events], chunk_size=1000)
    clean = signature(db)

    def rows_of(sig: dict[str, list[tuple[Any, ...]]], seller_id: str, table: str) -> list[Any]:
        return [r[1:] for r in sig[table] if r[0] == seller_id]

    for table in ("orders", "items", "cases", "messages", "violations"):
        assert rows_of(got, seller, table) == rows_of(clean, other, table), table


def _with_length(seller: str, field: str, size: int) -> list[dict[str, Any]]:
    text_value = "x" * size
    if field == "order_id":
        return [placed(seller, text_value)]
    if field == "sku":
        e = placed(seller, "503-1")
        e["items"][0]["sku"] = text_value
        return [e]
    if field == "tracking_id":
        return [
            placed(seller, "503-1"),
            event("order_shipped", seller, order_id="503-1", tracking_id=text_value),
        ]
    if field == "message_id":
        return [event("message_received", seller, message_id=text_value)]
    if field == "violation_id":
        return [
            event(
                "violation_opened",
                seller,
                violation_id=text_value,
                severity="low",
                policy="listingPolicyViolations",
            )
        ]
    assert field == "asin"
    return [
        event(
            "violation_opened",
            seller,
            violation_id="v",
            severity="low",
            policy="listingPolicyViolations",
            asin=text_value,
        )
    ]


@pytest.mark.parametrize(
    ("field", "limit"),
    [
        ("order_id", 64),
        ("sku", 100),
        ("tracking_id", 100),
        ("message_id", 100),
        ("violation_id", 100),
        ("asin", 20),
    ],
)
def test_text_fields_fit_their_columns(db: Db, field: str, limit: int):
    """A value the contract accepts always fits the database; one character more is refused."""
    seller = make_seller(db)
    fits = run(db, _with_length(seller, field, limit))
    assert fits.rejected == 0
    too_long = run(db, _with_length(make_seller(db, name="other"), field, limit + 1))
    assert [(e.code, e.field.split(".")[-1]) for e in too_long.errors][-1] == (
        "invalid_value",
        field,
    )


def test_checking_a_file_does_not_take_the_write_lock(sqlite_db: Db):
    """Pass 1 reads through a read-only engine: another writer holding SQLite's lock (an import
    chunk, an API write) does not stop it, and it does not stop them."""
    from tsunagu.core.db import make_engine, make_sessionmaker

    seller = make_seller(sqlite_db)
    readers = make_sessionmaker(make_engine(sqlite_db.url, read_only=True))
    writer = sqlite_db.engine.connect()  # BEGIN IMMEDIATE on first statement
    try:
        writer.exec_driver_sql("UPDATE sellers SET name = 'busy'")
        report = run(sqlite_db, [placed(seller, "503-1")], dry_run=True, read_factory=readers)
    finally:
        writer.rollback()
        writer.close()
    assert (report.stored, report.rejected) == (1, 0)


def test_pseudonyms_are_stable_keyed_and_grouped_by_seller(db: Db):
    from tsunagu.personal.service import pseudonym

    with db.session() as s:
        a1 = pseudonym(s, "sel_a", "JP", "buyer", "jane@example.com")
        a2 = pseudonym(s, "sel_a", "JP", "buyer", "ken@example.com")
        b1 = pseudonym(s, "sel_b", "JP", "buyer", "jane@example.com")
        again = pseudonym(s, "sel_a", "JP", "buyer", "jane@example.com")
        s.commit()
    assert a1 == again
    assert len({a1, a2, b1}) == 3
    assert a1[:13] == a2[:13] != b1[:13]  # "subj_" + the seller's part
    assert "jane" not in a1
