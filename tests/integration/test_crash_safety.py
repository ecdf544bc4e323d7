"""IMP-01: an import killed with SIGKILL at any point, then re-run, ends as one clean run does.

A 10,000-row All Orders file is imported by the real ``tsunagu`` process with small chunks (many
commits). Twenty times per database the process is killed at a random moment, the partial state is
checked for consistency, the import is run again to the end, and a signature of every table it
writes (events, orders, items, personal data) must equal that of a clean run.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from benchmarks.import_orders import generate
from sqlalchemy import text

from tests.conftest import Db
from tests.factories import NOW
from tsunagu.core.db import unit_of_work
from tsunagu.sellers.service import create_seller

ROWS = 10_000
KILLS = 20
SELLER = "sel_crash_test"
SECRET = "00" * 32

SIGNED = {
    "events": "SELECT seller_id, event_id, type, body_hash FROM events ORDER BY 1, 2",
    "orders": "SELECT * FROM orders ORDER BY 1, 2, 3",
    "order_items": "SELECT * FROM order_items ORDER BY 1, 2, 3, 4",
    "personal_records": "SELECT subject_id, about, fields FROM personal_records ORDER BY 1, 2",
    "personal_links": "SELECT * FROM personal_links ORDER BY 1, 2, 3, 4",
}


def signature(db: Db) -> dict[str, tuple[int, str]]:
    result = {}
    with db.engine.connect() as conn:
        for table, sql in SIGNED.items():
            rows = [repr(_plain(table, tuple(r))) for r in conn.execute(text(sql))]
            result[table] = (len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest())
    return result


def _plain(table: str, row: tuple[Any, ...]) -> tuple[Any, ...]:
    """A personal record's JSON object as sorted pairs: the same values, however spelled."""
    if table != "personal_records":
        return row
    return (*row[:2], sorted(json.loads(row[2]).items()))


def prepare(db: Db) -> None:
    """An empty store with the seller and a fixed pseudonym key (so runs are comparable)."""
    tables = (
        "events, orders, order_items, order_cases, messages, violations, "
        "personal_records, personal_links, import_runs, installation_secrets, stores, "
        "sellers"
    )
    with db.engine.begin() as conn:
        if db.kind == "pg":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            conn.execute(text(f"TRUNCATE {tables} CASCADE"))
        else:
            # SQLite has no TRUNCATE; the append-only triggers are dropped for the reset only
            conn.execute(text("DROP TRIGGER IF EXISTS events_no_delete"))
            for table in tables.split(", "):
                conn.execute(text(f"DELETE FROM {table}"))
            conn.execute(
                text(
                    "CREATE TRIGGER events_no_delete BEFORE DELETE ON events "
                    "BEGIN SELECT RAISE(ABORT, 'events are append-only'); END"
                )
            )
    with unit_of_work(db.factory) as session:
        create_seller(
            session,
            name="Crash test",
            marketplaces=["US"],
            registry=db.registry,
            now=NOW,
            seller_id=SELLER,
        )
        session.execute(
            text("INSERT INTO installation_secrets (name, value) VALUES ('pseudonym_key', :v)"),
            {"v": SECRET},
        )


def command(path: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "tsunagu.cli",
        "import",
        "amazon-orders",
        str(path),
        "--seller",
        SELLER,
        "--marketplace",
        "US",
        "--json",
    ]


def partial_state_is_consistent(db: Db) -> tuple[int, bool]:
    """Between chunks every stored order has its projection row and vice versa."""
    with db.engine.connect() as conn:
        events = conn.execute(text("SELECT count(*) FROM events")).scalar_one()
        placed = conn.execute(
            text("SELECT count(*) FROM events WHERE type = 'order_placed'")
        ).scalar_one()
        orders = conn.execute(text("SELECT count(*) FROM orders")).scalar_one()
    return int(events), placed == orders


def stored_events(db: Db) -> int:
    """Count events without taking the write lock (the importer must not be slowed or blocked)."""
    if db.kind == "sqlite":
        path = db.url.removeprefix("sqlite:///")
        with sqlite3.connect(path, timeout=30) as raw:
            return int(raw.execute("SELECT count(*) FROM events").fetchone()[0])
    with db.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM events")).scalar_one())


def wait_for_stored(db: Db, target: int, proc: subprocess.Popen[bytes], limit: float) -> None:
    deadline = time.perf_counter() + limit
    while proc.poll() is None and time.perf_counter() < deadline:
        if stored_events(db) >= target:
            return
        time.sleep(0.01)


def crash_and_rerun(db: Db, path: Path, env: dict[str, str], reset: Callable[[], None]) -> None:
    reset()
    started = time.perf_counter()
    clean = subprocess.run(command(path), env=env, capture_output=True, text=True, check=False)
    duration = time.perf_counter() - started
    assert clean.returncode == 0, clean.stderr
    expected = signature(db)
    assert expected["events"][0] > ROWS  # placed + status events
    rng = random.Random(20261125)
    mid_import = 0
    for _ in range(KILLS):
        reset()
        proc = subprocess.Popen(
            command(path), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        if rng.random() < 0.25:
            time.sleep(rng.uniform(0.0, duration))  # anywhere: start-up, checking, writing
        else:
            wait_for_stored(db, rng.randrange(1, expected["events"][0]), proc, duration * 3)
            time.sleep(rng.uniform(0.0, 0.05))  # and then somewhere inside the next chunk
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        stored, consistent = partial_state_is_consistent(db)
        assert consistent
        if 0 < stored < expected["events"][0]:
            mid_import += 1
        rerun = subprocess.run(command(path), env=env, capture_output=True, text=True, check=False)
        assert rerun.returncode == 0, rerun.stderr
        assert signature(db) == expected
    # the kills must really have landed inside the import, not only before or after it
    assert mid_import >= KILLS // 4, f"only {mid_import} kills interrupted a running import"


@pytest.fixture(scope="module")
def orders_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("crash")
    (path,) = generate(folder, ROWS, 1, seed=3)
    return path


def _env(db: Db) -> dict[str, str]:
    return {**os.environ, "TSUNAGU_DATABASE_URL": db.url, "TSUNAGU_IMPORT_CHUNK_SIZE": "400"}


@pytest.mark.slow
@pytest.mark.xdist_group("crash")
def test_killed_import_reruns_to_the_clean_state(db: Db, orders_file: Path):
    crash_and_rerun(db, orders_file, _env(db), lambda: prepare(db))
