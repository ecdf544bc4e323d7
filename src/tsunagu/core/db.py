"""Database plumbing shared by every slice.

SQLite is the embedded default: WAL journal, foreign keys on, and ``BEGIN IMMEDIATE`` for every
transaction so that two writers queue on the lock instead of failing with ``SQLITE_BUSY`` when a
read snapshot cannot be upgraded. PostgreSQL is used as is. The schema changes only through the
Alembic migrations in ``tsunagu/migrations``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, MetaData, create_engine, event, inspect
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC in Python; ``timestamptz`` on PostgreSQL, naive UTC text on SQLite."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def raw_instant(value: datetime | None, dialect_name: str) -> object:
    """The DBAPI value for a UTC column, for bulk paths that bypass SQLAlchemy's type system."""
    if value is None:
        return None
    if dialect_name == "sqlite":
        if value.tzinfo is not UTC:
            value = value.astimezone(UTC)
        return _sqlite_text(value)
    return value


#: UTC instant -> its SQLite text; see :func:`_sqlite_text`.
_SQLITE_TEXTS: dict[datetime, str] = {}
_SQLITE_TEXTS_MAX = 16384


def _sqlite_text(value: datetime) -> str:
    """Exactly SQLAlchemy's SQLite storage format, so stored and bound values compare equal.

    Memoised because formatting costs about a microsecond and an import writes the same instant
    several times (the event's ``at``, the order's purchase, last-event and ship times). Only UTC
    values reach this point, and equal UTC datetimes are the same instant, so a remembered text is
    always the right one. A plain dict of datetimes and strings, emptied when full: unlike
    ``functools.lru_cache`` it adds no objects for the garbage collector to scan.
    """
    text = _SQLITE_TEXTS.get(value)
    if text is None:
        if len(_SQLITE_TEXTS) >= _SQLITE_TEXTS_MAX:
            _SQLITE_TEXTS.clear()
        text = value.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
        _SQLITE_TEXTS[value] = text
    return text


def read_instant(value: object) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # Take transaction control from pysqlite so that BEGIN IMMEDIATE below is the only BEGIN.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA cache_size=-65536")  # 64 MiB: imports touch many index pages
    cur.execute("PRAGMA temp_store=MEMORY")
    with contextlib.suppress(Exception):  # in-memory databases cannot use WAL; that is fine
        cur.execute("PRAGMA journal_mode=WAL")
    cur.close()


def _sqlite_begin(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def _sqlite_begin_deferred(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN")


def make_engine(url: str, *, read_only: bool = False) -> Engine:
    """An engine for ``url``; ``read_only`` engines never take SQLite's write lock.

    Readers under WAL see a consistent snapshot without blocking the writer, so API reads and
    listings use a read-only engine and keep working while an import writes.
    """
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_deferred if read_only else _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """The entry point's transaction: commit on success, roll back on any exception."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def placeholders(dialect_name: str, count: int) -> str:
    mark = "?" if dialect_name == "sqlite" else "%s"
    return ", ".join([mark] * count)


def bulk_insert(
    session: Session,
    table: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    conflict: Sequence[str] | None = None,
    update: Sequence[str] | None = None,
) -> None:
    """Insert many rows through the driver's ``executemany``.

    The hot path of imports: it skips SQLAlchemy's per-value type processing, so callers pass
    values already in driver form (see :func:`raw_instant`). ``conflict`` adds ``ON CONFLICT``;
    with ``update`` the listed columns take the new values, otherwise the row is left alone.
    """
    if not rows:
        return
    conn = session.connection()
    dialect = conn.dialect.name
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders(dialect, len(columns))})"
    )
    if conflict:
        target = ", ".join(conflict)
        if update:
            sets = ", ".join(f"{c} = excluded.{c}" for c in update)
            sql += f" ON CONFLICT ({target}) DO UPDATE SET {sets}"
        else:
            sql += f" ON CONFLICT ({target}) DO NOTHING"
    conn.exec_driver_sql(sql, list(rows))


# -- migrations -------------------------------------------------------------------------------

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(engine: Engine) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option(
        "sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%")
    )
    return cfg


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    cfg = alembic_config(create_engine("sqlite://"))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        row = conn.exec_driver_sql("SELECT version_num FROM alembic_version").first()
        return str(row[0]) if row else None


def upgrade(engine: Engine, revision: str = "head") -> None:
    from alembic import command

    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def ensure_schema(engine: Engine) -> bool:
    """Upgrade to head when behind; returns True when migrations ran."""
    if current_revision(engine) == head_revision():
        return False
    upgrade(engine)
    return True
