"""Two imports of overlapping files at the same time, in two real OS processes (IMP-04).

Each process checks its whole file first (pass 1) and only then stores (pass 2). A barrier between
the two passes makes both checks finish before either stores, the race that once let both
processes report every event as stored and keep one of two different bodies of an event without a
word. The barrier hangs on the import's own progress callback; nothing of the import is replaced.
"""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.conftest import Db
from tests.factories import at, event, make_seller, placed
from tsunagu.core.clock import utcnow
from tsunagu.events.models import Event
from tsunagu.orders.models import Order

AMAZON = Path(__file__).resolve().parent.parent / "data" / "amazon"
SPAWN = multiprocessing.get_context("spawn")
WAIT = 120  # seconds a process waits for the other at the barrier before the test fails


def _import_in_child(
    url: str, kind: str, path: str, seller: str, chunk_size: int, items: int, barrier: Any
) -> dict[str, Any]:
    """In a fresh process: import ``path`` as the CLI and the API do, waiting at the barrier
    once the whole file is checked."""
    from tsunagu.connectors.amazon.service import import_file
    from tsunagu.core.db import make_engine, make_sessionmaker
    from tsunagu.events import ingest
    from tsunagu.events.jsonl import jsonl_source
    from tsunagu.marketplaces.registry import load_registry

    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    read_factory = (
        make_sessionmaker(make_engine(url, read_only=True))
        if engine.dialect.name == "sqlite"
        else factory
    )
    registry = load_registry(None)
    checked = 0

    def progress(stage: str, count: int) -> None:
        nonlocal checked
        if stage == "check":
            checked += count
            if checked == items:
                barrier.wait(WAIT)

    if kind == "events":
        report = ingest.run(
            factory,
            jsonl_source(Path(path)),
            registry=registry,
            now=utcnow(),
            source_label="file",
            chunk_size=chunk_size,
            progress=progress,
            read_factory=read_factory,
        ).as_dict("en")
    else:
        report = import_file(
            factory,
            "orders",
            Path(path),
            seller_id=seller,
            marketplace=registry.require("US"),
            registry=registry,
            now=utcnow(),
            chunk_size=chunk_size,
            progress=progress,
            read_factory=read_factory,
        ).as_dict("en")
    engine.dispose()
    return report


def _child(queue: Any, number: int, *args: Any) -> None:
    try:
        queue.put((number, _import_in_child(*args)))
    except BaseException as exc:
        queue.put((number, repr(exc)))
        raise


def _both_at_once(db: Db, kind: str, files: list[Path], seller: str, chunk: int, items: int):
    """Run one import per file, each in its own process, both past the barrier together."""
    barrier = SPAWN.Barrier(len(files))
    queue = SPAWN.Queue()
    processes = [
        SPAWN.Process(
            target=_child, args=(queue, n, db.url, kind, str(f), seller, chunk, items, barrier)
        )
        for n, f in enumerate(files)
    ]
    for p in processes:
        p.start()
    results = dict(queue.get(timeout=3 * WAIT) for _ in processes)
    for p in processes:
        p.join(timeout=WAIT)
        assert p.exitcode == 0, results
    return [results[n] for n in range(len(files))]  # in the order of ``files``


def _adds_up(report: dict[str, Any]) -> None:
    assert report["read"] == report["stored"] + report["duplicates"] + report["rejected"]
    assert report["rejected"] == len(report["errors"])


def _write(path: Path, events: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    return path


def _orders(seller: str, first: int, last: int, tracking: dict[int, str]) -> list[dict[str, Any]]:
    """Orders ``first``..``last``, each placed and shipped (two events)."""
    events = []
    for i in range(first, last + 1):
        order = f"503-{i:07d}"
        events.append(placed(seller, order, when=at(-5), event_id=f"placed-{i}"))
        events.append(
            event(
                "order_shipped",
                seller,
                order_id=order,
                tracking_id=tracking.get(i, f"T{i}"),
                when=at(-4),
                event_id=f"shipped-{i}",
            )
        )
    return events


@pytest.mark.parametrize("chunk", [1, 40], ids=["chunks-of-1", "one-chunk"])
def test_imp_04_overlapping_imports_at_once_count_each_event_once(
    db: Db, tmp_path: Path, chunk: int
):
    """IMP-04 (counts add up: read = stored + duplicates + rejected): two processes import
    overlapping files at the same time; together they store each distinct event once, count the
    rest as duplicates, and the one whose body of ``shipped-15`` lost reports ``event_conflict``."""
    seller = make_seller(db)
    first = _write(tmp_path / "a.jsonl", _orders(seller, 1, 20, {15: "FROM-A"}))
    second = _write(tmp_path / "b.jsonl", _orders(seller, 11, 30, {15: "FROM-B"}))
    reports = _both_at_once(db, "events", [first, second], seller, chunk, items=40)

    for report in reports:
        _adds_up(report)
        assert report["read"] == 40
    assert sum(r["stored"] for r in reports) == 60  # orders 1..30, placed and shipped
    assert sum(r["duplicates"] for r in reports) == 19  # the overlap, 11..20, but one event
    [conflict] = [e for r in reports for e in r["errors"]]
    assert (conflict["code"], conflict["value"]) == ("event_conflict", "shipped-15")
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Event)) == 60
        stored = session.scalar(select(Event.body).where(Event.event_id == "shipped-15"))
        order = session.get(Order, (seller, "JP", "503-0000015"))
        assert order is not None
        # the projection follows the body that is stored, not the one that lost
        assert order.tracking_id == json.loads(str(stored))["tracking_id"]
        loser = next(r for r in reports if r["rejected"])
        assert order.tracking_id != ("FROM-A" if loser is reports[0] else "FROM-B")
        assert session.scalar(select(func.count()).select_from(Order)) == 30


def test_imp_04_one_amazon_file_imported_twice_at_once_is_stored_once(db: Db, tmp_path: Path):
    """IMP-04: the same All Orders file uploaded twice at the same moment: one process stores
    each event, the other counts it as a duplicate, and the totals equal one import's."""
    from tsunagu.connectors.amazon.service import import_file

    seller = make_seller(db, marketplaces=("US",))
    path = AMAZON / "all-orders-us.txt"
    dry = import_file(
        db.factory,
        "orders",
        path,
        seller_id=seller,
        marketplace=db.registry.require("US"),
        registry=db.registry,
        now=utcnow(),
        dry_run=True,
    ).as_dict("en")
    assert dry["stored"] > 0
    reports = _both_at_once(db, "amazon", [path, path], seller, 1, items=dry["read"])

    for report in reports:
        _adds_up(report)
    assert sum(r["stored"] for r in reports) == dry["stored"]
    assert sum(r["duplicates"] for r in reports) == dry["stored"] + 2 * dry["duplicates"]
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Event)) == dry["stored"]


def _import(db: Db, path: Path, **options: Any) -> dict[str, Any]:
    from tsunagu.core.db import make_engine, make_sessionmaker
    from tsunagu.events import ingest
    from tsunagu.events.jsonl import jsonl_source

    read_engine = make_engine(db.url, read_only=True) if db.kind == "sqlite" else db.engine
    try:
        return ingest.run(
            db.factory,
            jsonl_source(path),
            registry=db.registry,
            now=utcnow(),
            source_label="file",
            read_factory=make_sessionmaker(read_engine),
            **options,
        ).as_dict("en")
    finally:
        if read_engine is not db.engine:
            read_engine.dispose()


@pytest.mark.parametrize("strict", [False, True], ids=["partial", "strict"])
def test_imp_04_a_body_stored_by_another_import_after_the_check_is_an_event_conflict(
    db: Db, tmp_path: Path, strict: bool
):
    """IMP-04: an import whose check found ``shipped-15`` new, while another import then stored
    it with another body, reports ``event_conflict`` for it (and for its copy later in the file)
    instead of counting it stored; a strict import stores nothing of that chunk."""
    seller = make_seller(db)
    other = _write(tmp_path / "other.jsonl", _orders(seller, 1, 20, {15: "FROM-OTHER"}))
    mine = _orders(seller, 11, 30, {15: "MINE"})
    copy = next(e for e in mine if e["event_id"] == "shipped-15")
    path = _write(tmp_path / "mine.jsonl", [*mine, copy])  # 41 lines; the last a same-body copy
    checked = 0

    def progress(stage: str, count: int) -> None:
        nonlocal checked
        checked += count if stage == "check" else 0
        if stage == "check" and checked == 41:  # between the check and the store
            assert _import(db, other)["stored"] == 40

    # chunks of 40: the check looks up the 40 new events before the progress call of line 41,
    # so the other import stores them after the check, not before its last lookup
    report = _import(db, path, strict=strict, chunk_size=40, progress=progress)

    assert [(e["line"], e["code"]) for e in report["errors"]] == [
        (10, "event_conflict"),
        (41, "event_conflict"),
    ]
    assert (report["read"], report["duplicates"], report["rejected"]) == (41, 19, 2)
    assert report["stored"] == (0 if strict else 20)
    if not strict:
        _adds_up(report)
    with db.session() as session:
        events = session.scalar(select(func.count()).select_from(Event))
        assert events == (40 if strict else 60)
        order = session.get(Order, (seller, "JP", "503-0000015"))
        assert order is not None
        assert order.tracking_id == "FROM-OTHER"
