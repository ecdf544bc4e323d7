"""The stored output of a fixed series of imports, compared with a golden copy.

Making the import cheaper (issue 13, ADR 0023) must not change what it stores: the same events
(bodies and hashes), the same projection rows, the same personal data under the same subjects and
links, the same dirty days for the health rollups and the same reports. The series covers the US
and JP sample reports (All Orders, a newer overlapping download, Unshipped, Feedback), events with
message texts and a violation, and a generated All Orders file stored in several chunks; then it
imports two of the files again, which must store nothing and change nothing.

The golden copy is ``tests/data/golden/imports.json``. It was written by the import as it stood
before issue 13 changed it. After a deliberate change of what is stored, write it again with
``TSUNAGU_WRITE_GOLDEN=1`` and review the diff.
"""

from __future__ import annotations

import json
import os
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from benchmarks.import_orders import generate
from sqlalchemy import select, text

from tests.conftest import Db
from tsunagu.connectors.amazon.service import import_file
from tsunagu.core.db import Base, read_instant, unit_of_work
from tsunagu.events import ingest
from tsunagu.orders.models import Message, Order, OrderCase, OrderItem
from tsunagu.personal import service as personal
from tsunagu.sellers.service import create_seller
from tsunagu.violations.models import Violation

DATA = Path(__file__).resolve().parent.parent / "data"
GOLDEN = DATA / "golden" / "imports.json"
SELLER = "sel_golden"
SECRET = "5a" * 32
NOW = datetime.fromisoformat("2026-11-25T12:00:00+00:00")


def _prepare(db: Db) -> None:
    with unit_of_work(db.factory) as session:
        create_seller(
            session,
            name="Golden",
            marketplaces=["JP", "US"],
            registry=db.registry,
            now=NOW,
            seller_id=SELLER,
        )
        session.execute(
            text("INSERT INTO installation_secrets (name, value) VALUES ('pseudonym_key', :v)"),
            {"v": SECRET},
        )


def _amazon(db: Db, kind: str, path: Path, marketplace: str, **options: Any) -> dict[str, Any]:
    result = import_file(
        db.factory,
        kind,
        path,
        seller_id=SELLER,
        marketplace=db.registry.require(marketplace),
        registry=db.registry,
        now=NOW,
        **options,
    )
    return result.as_dict("en")


def _events() -> list[dict[str, Any]]:
    """API-style events: a JP order with messages (their texts are personal data), a violation."""

    def event(event_id: str, type_: str, at: str, **fields: Any) -> dict[str, Any]:
        return {
            "event_id": event_id,
            "type": type_,
            "seller": SELLER,
            "marketplace": "JP",
            "at": at,
            **fields,
        }

    return [
        event(
            "g-placed",
            "order_placed",
            "2026-10-03T01:00:00Z",
            order_id="250-0000001-0000001",
            channel="MFN",
            currency="JPY",
            items=[{"sku": "TEA-1", "quantity": 2, "price": 3960}],
            latest_ship_date="2026-10-05T15:00:00+09:00",
        ),
        event(
            "g-m1",
            "message_received",
            "2026-10-03T02:00:00Z",
            message_id="msg-1",
            order_id="250-0000001-0000001",
            customer_id="cust-golden-1",
            subject="Gift wrap?",
            body="Please wrap it. My phone is 090-0000-1111",
        ),
        event(
            "g-m2",
            "message_received",
            "2026-10-04T02:00:00Z",
            message_id="msg-2",
            order_id="250-0000001-0000001",
            customer_id="cust-golden-1",
            body="Any news?",
        ),
        event("g-m3", "message_received", "2026-10-04T03:00:00Z", message_id="msg-3", body="Hi"),
        event("g-a1", "message_answered", "2026-10-03T05:00:00Z", message_id="msg-1"),
        event(
            "g-v1",
            "violation_opened",
            "2026-10-06T00:00:00Z",
            violation_id="v-golden",
            severity="low",
            policy="receivedIntellectualPropertyComplaints",
        ),
    ]


def _run_events(db: Db, events: list[dict[str, Any]]) -> dict[str, Any]:
    report = ingest.run(
        db.factory,
        lambda: enumerate(events, start=1),
        registry=db.registry,
        now=NOW,
        source_label="golden",
        chunk_size=4,
    )
    return report.as_dict("en")


def _plain(value: object) -> object:
    if isinstance(value, datetime):
        instant = read_instant(value)
        assert instant is not None
        return instant.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def _rows(db: Db, model: type[Base], key: tuple[str, ...]) -> dict[str, Any]:
    """A projection table read through its model: column names once, then rows in key order."""
    names = [column.name for column in model.__table__.columns]
    with db.session() as session:
        found = session.execute(select(model)).scalars().all()
        rows = [[_plain(getattr(row, name)) for name in names] for row in found]
    at = [names.index(name) for name in key]
    return {"columns": names, "rows": sorted(rows, key=lambda r: [r[i] for i in at])}


def _stored(db: Db) -> dict[str, Any]:
    """Everything the imports wrote, in forms that do not depend on the database or schema."""
    with db.session() as session:
        events = [
            [event_id, type_, mp, order_id, ref, _plain(read_instant(at)), body, digest, source]
            for event_id, type_, mp, order_id, ref, at, body, digest, source in session.execute(
                text(
                    "SELECT event_id, type, marketplace, order_id, ref_id, at, body, body_hash, "
                    "source FROM events ORDER BY event_id"
                )
            )
        ]
        subjects = sorted(
            r[0] for r in session.execute(text("SELECT DISTINCT subject_id FROM personal_records"))
        )
        records = {subject: personal.records_of(session, subject) for subject in subjects}
        links = sorted(
            [mp, order_id, subject]
            for mp, order_id, subject in session.execute(
                text("SELECT marketplace, order_id, subject_id FROM personal_links")
            )
        )
        marks = sorted(
            [mp, minute]
            for mp, minute in session.execute(
                text("SELECT DISTINCT marketplace, at_minute FROM health_dirty_marks")
            )
        )
    return {
        "events": events,
        "orders": _rows(db, Order, ("marketplace", "order_id")),
        "order_items": _rows(db, OrderItem, ("marketplace", "order_id", "line_no")),
        "order_cases": _rows(db, OrderCase, ("marketplace", "order_id", "kind", "case_id")),
        "messages": _rows(db, Message, ("marketplace", "message_id")),
        "violations": _rows(db, Violation, ("marketplace", "violation_id")),
        "personal_records": records,
        "personal_links": links,
        "dirty_minutes": marks,
    }


def _series(db: Db, tmp_path: Path) -> dict[str, Any]:
    amazon = DATA / "amazon"
    generated = generate(tmp_path / "generated", 300, 1, 7)[0]
    reports: dict[str, Any] = {}
    reports["orders-us"] = _amazon(db, "orders", amazon / "all-orders-us.txt", "US")
    reports["orders-us-newer"] = _amazon(db, "orders", amazon / "all-orders-us-newer.txt", "US")
    reports["unshipped-us"] = _amazon(db, "unshipped", amazon / "unshipped-us.txt", "US")
    reports["feedback-us"] = _amazon(db, "feedback", amazon / "feedback-us.txt", "US")
    reports["orders-jp"] = _amazon(db, "orders", amazon / "all-orders-jp-utf8.txt", "JP")
    reports["unshipped-jp"] = _amazon(db, "unshipped", amazon / "unshipped-jp.txt", "JP")
    reports["feedback-jp"] = _amazon(db, "feedback", amazon / "feedback-jp.txt", "JP")
    reports["events"] = _run_events(db, _events())
    reports["generated"] = _amazon(db, "orders", generated, "US", chunk_size=100)
    stored = _stored(db)
    # an old file imported again stores nothing and changes nothing
    reports["orders-us-again"] = _amazon(db, "orders", amazon / "all-orders-us.txt", "US")
    reports["generated-again"] = _amazon(db, "orders", generated, "US", chunk_size=100)
    assert _stored(db) == stored
    return {"reports": reports, "stored": stored}


def _one_row_a_line(found: dict[str, Any]) -> str:
    """JSON that diffs well: every event, row, subject and report on a line of its own."""
    lines = ["{"]
    for p, part in enumerate(sorted(found)):
        lines.append(f"{json.dumps(part)}: {{")
        names = sorted(found[part])
        for n, name in enumerate(names):
            value = found[part][name]
            if isinstance(value, dict) and "rows" in value:
                head = json.dumps(value["columns"])
                body = [json.dumps(row, sort_keys=True) for row in value["rows"]]
                inner = f'{{"columns": {head}, "rows": [\n' + ",\n".join(body) + "]}"
            elif isinstance(value, dict):
                body = [
                    f"{json.dumps(k)}: {json.dumps(v, sort_keys=True)}"
                    for k, v in sorted(value.items())
                ]
                inner = "{\n" + ",\n".join(body) + "}"
            else:
                inner = "[\n" + ",\n".join(json.dumps(v, sort_keys=True) for v in value) + "]"
            lines.append(f"{json.dumps(name)}: {inner}" + ("," if n < len(names) - 1 else ""))
        lines.append("}" + ("," if p < len(found) - 1 else ""))
    lines.append("}")
    return "\n".join(lines) + "\n"


def test_imports_store_exactly_the_golden_output(db: Db, tmp_path: Path) -> None:
    _prepare(db)
    found = json.loads(json.dumps(_series(db, tmp_path), sort_keys=True))
    if os.environ.get("TSUNAGU_WRITE_GOLDEN") == "1":
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(_one_row_a_line(found), encoding="utf-8")
        pytest.skip(f"wrote {GOLDEN}")
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    for part in ("reports", "stored"):
        for name in sorted(set(golden[part]) | set(found[part])):
            assert found[part].get(name) == golden[part].get(name), f"{part}.{name} differs"
