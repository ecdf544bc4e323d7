"""The personal-data store, one record per subject (ADR 0006, ADR 0023), on both databases.

Migration 0012 regroups the rows written one per field into one per subject, and back; values,
the latest source and time survive the round trip. Erasing a subject removes every value of
theirs and nothing else (PRIV-03: events and order rows stay, linked to the pseudonym only).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from alembic import command
from sqlalchemy import text

from tests.conftest import Db
from tests.factories import NOW
from tsunagu.connectors.amazon.service import import_file
from tsunagu.core.db import alembic_config, current_revision, head_revision, unit_of_work
from tsunagu.personal import service as personal
from tsunagu.sellers.service import create_seller

DATA = Path(__file__).resolve().parent.parent / "data" / "amazon"
EARLY = datetime(2026, 10, 1, tzinfo=UTC)
LATE = EARLY + timedelta(days=3)

#: rows as revision 0011 stored them: (subject, field, value, source, updated_at)
BY_FIELD = [
    ("subj_a", "ship_city", "Kyoto", "amazon-orders", EARLY),
    ("subj_a", "ship_postal_code", "600-8001", "amazon-orders", EARLY),
    ("subj_a", "buyer_name", "Hanako Yamada", "amazon-unshipped", LATE),
    ("subj_a", "feedback:250-1:comment", "Fast: thanks", "amazon-feedback", EARLY),
    ("subj_a", "feedback:250-1:response", "Thank you!", "amazon-feedback", LATE),
    ("subj_b", "message:m:1:body", "Where is my parcel?", "message", EARLY),
    ("subj_b", "message:m:1:subject", "Parcel", "message", EARLY),
]


def _migrate(db: Db, direction: str, revision: str) -> None:
    cfg = alembic_config(db.engine)
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        getattr(command, direction)(cfg, revision)


def _by_field(db: Db) -> list[tuple[str, str, str, str, datetime]]:
    with db.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT subject_id, field, value, source, updated_at FROM personal_records "
                "ORDER BY subject_id, field"
            )
        )
        return [(s, f, v, src, _utc(at)) for s, f, v, src, at in rows]


def _utc(value: object) -> datetime:
    if isinstance(value, str):
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    assert isinstance(value, datetime)
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def test_migration_0012_groups_fields_by_subject_and_spreads_them_back(db: Db) -> None:
    _migrate(db, "downgrade", "0011")
    try:
        with db.engine.begin() as conn:
            for subject, field, value, source, at in BY_FIELD:
                conn.execute(
                    text(
                        "INSERT INTO personal_records "
                        "(subject_id, field, seller_id, value, source, updated_at) "
                        "VALUES (:s, :f, 'sel_x', :v, :src, :at)"
                    ),
                    {"s": subject, "f": field, "v": value, "src": source, "at": at},
                )
        _migrate(db, "upgrade", "head")
        with db.session() as session:
            assert personal.records_of(session, "subj_a") == {
                field: value for s, field, value, _, _ in BY_FIELD if s == "subj_a"
            }
            assert personal.records_of(session, "subj_b") == {
                "message:m:1:body": "Where is my parcel?",
                "message:m:1:subject": "Parcel",
            }
            grouped = session.execute(
                text(
                    "SELECT subject_id, about, source, updated_at FROM personal_records "
                    "ORDER BY subject_id, about"
                )
            ).all()
        assert [(s, about, src, _utc(at)) for s, about, src, at in grouped] == [
            ("subj_a", "", "amazon-unshipped", LATE),  # the latest field's source and time
            ("subj_a", "feedback:250-1", "amazon-feedback", LATE),
            ("subj_b", "message:m:1", "message", EARLY),
        ]
        _migrate(db, "downgrade", "0011")
        # one row per field again; a group's rows share its latest source and time
        assert [(s, f, v) for s, f, v, _, _ in _by_field(db)] == sorted(
            (s, f, v) for s, f, v, _, _ in BY_FIELD
        )
    finally:
        _migrate(db, "upgrade", "head")
    assert current_revision(db.engine) == head_revision()


def test_a_newer_value_replaces_a_field_and_the_other_fields_stay(db: Db) -> None:
    with unit_of_work(db.factory) as session:
        first = {"subj_c": {"ship_city": "Osaka", "ship_state": "Osaka-fu"}}
        personal.record(session, seller_id="sel_x", values=first, source="a", now=NOW)
    with unit_of_work(db.factory) as session:
        newer = {"subj_c": {"ship_city": "Kobe", "buyer_name": "Taro", "ship_country": ""}}
        assert personal.record(session, seller_id="sel_x", values=newer, source="b", now=NOW) == 2
    with db.session() as session:
        assert personal.records_of(session, "subj_c") == {
            "ship_city": "Kobe",
            "ship_state": "Osaka-fu",
            "buyer_name": "Taro",
        }


def test_erasing_a_buyer_removes_their_values_and_keeps_orders_and_events(db: Db) -> None:
    """PRIV-03 (the part that exists today): after erasure no personal value of the subject is
    left; events and order rows stay and reach the person only through the pseudonym."""
    with unit_of_work(db.factory) as session:
        seller = create_seller(
            session, name="Erasure", marketplaces=["US"], registry=db.registry, now=NOW
        ).id
    for kind, name in (("orders", "all-orders-us.txt"), ("unshipped", "unshipped-us.txt")):
        import_file(
            db.factory,
            kind,
            DATA / name,
            seller_id=seller,
            marketplace=db.registry.require("US"),
            registry=db.registry,
            now=NOW,
        )
    order = "112-9175530-2641908"  # Marcus Oyelaran's order (README §1 and §5)
    with db.session() as session:
        subjects = personal.subjects_of_order(session, seller, "US", order)
        values = {v for s in subjects for v in personal.records_of(session, s).values()}
        others = session.execute(text("SELECT count(*) FROM personal_records")).scalar_one()
    assert "m.oyelaran@example.org" in values
    before = _counts(db)
    with unit_of_work(db.factory) as session:
        erased = sum(personal.erase_subject(session, s) for s in subjects)
    assert erased >= len(values)
    with db.session() as session:
        assert all(personal.records_of(session, s) == {} for s in subjects)
        left = session.execute(text("SELECT count(*) FROM personal_records")).scalar_one()
        assert personal.subjects_of_order(session, seller, "US", order) == subjects
    assert 0 < left < others  # the other buyers keep theirs
    assert _counts(db) == before  # events, orders and items untouched
    with unit_of_work(db.factory) as session:
        assert sum(personal.erase_subject(session, s) for s in subjects) == 0  # twice: a no-op


def _counts(db: Db) -> tuple[int, ...]:
    with db.engine.connect() as conn:
        return tuple(
            int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
            for table in ("events", "orders", "order_items")
        )
