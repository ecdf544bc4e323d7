"""Shared fixtures: real databases, never in-memory fakes.

* SQLite: the schema is migrated once per test session into a template file; each test gets a
  copy (fast and fully isolated).
* PostgreSQL at ``TSUNAGU_TEST_PG_URL`` (default ``postgresql://postgres@127.0.0.1:5432/test``):
  each test run (each xdist worker) creates its own database, migrates it, empties the tables
  between tests and drops the database at the end. With ``CI=true`` an unreachable server fails
  the tests that need it; locally they are skipped with a loud reason.
"""

from __future__ import annotations

import os
import secrets
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import settings
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from tsunagu.core.db import make_engine, make_sessionmaker, upgrade
from tsunagu.marketplaces.registry import Registry, load_registry

PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


# Property tests judge results, never speed: a loaded CI machine must not fail them on time.
settings.register_profile("tsunagu", deadline=None)
settings.load_profile("tsunagu")


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@dataclass
class Db:
    kind: str
    url: str
    engine: Engine
    factory: sessionmaker[Session]
    registry: Registry

    def session(self) -> Session:
        return self.factory()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    with sqlite3.connect(path) as raw:  # fold the WAL into the file so one copy is complete
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


def _sqlite_db(template: Path, tmp_path: Path) -> Iterator[Db]:
    path = tmp_path / "tsunagu.db"
    shutil.copyfile(template, path)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    yield Db("sqlite", url, engine, make_sessionmaker(engine), load_registry(None))
    engine.dispose()


@pytest.fixture(scope="session")
def pg_database(worker_id: str) -> Iterator[str]:
    admin_url = os.environ.get("TSUNAGU_TEST_PG_URL", PG_DEFAULT)
    sa_admin = admin_url.replace("postgresql://", "postgresql+psycopg://", 1)
    admin = create_engine(sa_admin, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        admin.dispose()
        reason = f"PostgreSQL is not reachable at {admin_url}: {exc.__class__.__name__}: {exc}"
        if _in_ci():
            pytest.fail("CI=true requires PostgreSQL. " + reason, pytrace=False)
        pytest.skip("!!! SKIPPING PostgreSQL TESTS !!! " + reason)
    name = f"tsunagu_test_{worker_id}_{secrets.token_hex(4)}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    base, _, _ = admin_url.rpartition("/")
    url = f"{base}/{name}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _pg_db(url: str) -> Iterator[Db]:
    engine = make_engine(url)
    with engine.begin() as conn:
        # the event log refuses TRUNCATE; only the test reset, as superuser, skips the triggers
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        # every table of the schema but Alembic's: a new table needs no list to be reset
        tables = conn.execute(
            text(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
                " AND tablename <> 'alembic_version'"
            )
        ).scalars()
        conn.execute(text(f"TRUNCATE {', '.join(tables)} CASCADE"))
    yield Db("pg", url, engine, make_sessionmaker(engine), load_registry(None))
    engine.dispose()


@pytest.fixture
def sqlite_db(sqlite_template: Path, tmp_path: Path) -> Iterator[Db]:
    yield from _sqlite_db(sqlite_template, tmp_path)


@pytest.fixture
def pg_db(pg_database: str) -> Iterator[Db]:
    yield from _pg_db(pg_database)


@pytest.fixture(params=["sqlite", pytest.param("pg", marks=pytest.mark.pg)])
def db(request: pytest.FixtureRequest) -> Iterator[Db]:
    """The same test on the embedded SQLite file and on PostgreSQL."""
    if request.param == "sqlite":
        yield request.getfixturevalue("sqlite_db")
    else:
        yield request.getfixturevalue("pg_db")
