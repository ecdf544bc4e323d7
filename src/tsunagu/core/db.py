"""Database plumbing shared by every slice.

SQLite is the embedded default: WAL journal, foreign keys on, and ``BEGIN IMMEDIATE`` for every
transaction so that two writers queue on the lock instead of failing with ``SQLITE_BUSY`` when a
read snapshot cannot be upgraded. PostgreSQL is used as is. The schema changes only through the
Alembic migrations in ``tsunagu/migrations``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import itemgetter
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import DateTime, MetaData, create_engine, event, inspect
from sqlalchemy.engine import URL, Connection, Dialect, Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from tsunagu.core.errors import TsunaguError
from tsunagu.core.i18n import N_

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


def make_engine(
    url: str, *, read_only: bool = False, existing: DatabaseFile | None = None
) -> Engine:
    """An engine for ``url``; ``read_only`` engines never take SQLite's write lock.

    Readers under WAL see a consistent snapshot without blocking the writer, so API reads and
    listings use a read-only engine and keep working while an import writes. With ``existing``
    (a server after start-up) the SQLite file is opened with ``mode=rw``, so a missing file is
    an error instead of a new empty database, and is checked to be the file opened at start.
    """
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        target: str | URL = url if existing is None else existing.uri(url)
        engine = create_engine(target, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_deferred if read_only else _sqlite_begin)
        if existing is not None:
            existing.guard(engine)
        return engine
    return create_engine(url, pool_pre_ping=True)


class DatabaseUnavailable(TsunaguError):
    """The database cannot be used: it does not answer, or its file is gone or replaced."""

    status = 503
    code = "database_unavailable"


def _identity(path: str) -> tuple[int, int] | None:
    try:
        found = os.stat(path)
    except OSError:
        return None
    return found.st_dev, found.st_ino


@dataclass
class DatabaseFile:
    """The SQLite file a server opened at start-up, and the check that it is still that file.

    A file deleted under a running server once left pooled connections answering from the
    unlinked inode (``/readyz`` said ready) while every new connection created an empty
    database beside it (requests answered 500). Now new connections refuse a missing file
    (``mode=rw``), and every checkout, failed statement and ``/readyz`` compares the path's
    (device, inode) with what was opened at start: gone or replaced is ``database_unavailable``
    (503) until an operator restores the file and restarts tsunagu.
    """

    path: str
    identity: tuple[int, int] | None = None

    @classmethod
    def of(cls, url: str) -> DatabaseFile | None:
        """The file of a SQLite URL; ``None`` for PostgreSQL and in-memory databases."""
        parsed = make_url(url)
        name = parsed.database
        if not parsed.drivername.startswith("sqlite") or not name or name == ":memory:":
            return None
        if name.startswith("file:") or parsed.query.get("mode") == "memory":
            return None  # already a SQLite URI: opened as written
        return cls(os.path.abspath(name))

    def opened(self) -> None:
        """Remember the file as it is now (after start-up created or migrated it)."""
        self.identity = _identity(self.path)

    def check(self) -> None:
        now = _identity(self.path)
        if now is None or self.identity is None:
            raise DatabaseUnavailable(
                N_("The database file is missing."), details={"reason": "missing"}
            )
        if now != self.identity:
            raise DatabaseUnavailable(
                N_("The database file was replaced while tsunagu was running; restart tsunagu."),
                details={"reason": "replaced"},
            )

    def uri(self, url: str) -> URL:
        """``url`` as a SQLite URI that opens the existing file read-write, never creating it."""
        parsed = make_url(url)
        query = {**parsed.query, "mode": "rw", "uri": "true"}
        return parsed.set(database=f"file:{quote(self.path)}", query=query)

    def guard(self, engine: Engine) -> None:
        def before_connect(*_: Any) -> None:
            self.check()

        def on_error(_context: Any) -> None:
            self.check()  # a vanished file explains the failure better than the driver does

        event.listen(engine, "do_connect", before_connect)
        event.listen(engine, "checkout", before_connect)
        event.listen(engine, "handle_error", on_error)


@dataclass
class ServedDatabase:
    """The engines of a running server and its readiness (``/readyz``).

    Start-up is the only time the server may create a SQLite file (first start; ``tsunagu db
    upgrade`` and ``demo`` create it too): afterwards a request never does.
    """

    engine: Engine
    read_engine: Engine
    file: DatabaseFile | None
    head: str

    @classmethod
    def start(cls, url: str, *, migrate: bool) -> ServedDatabase:
        file = DatabaseFile.of(url)
        engine = make_engine(url)
        if migrate:
            ensure_schema(engine)
        if file is None:
            read_engine = engine
            if engine.dialect.name == "sqlite":
                read_engine = make_engine(url, read_only=True)
            return cls(engine, read_engine, None, head_revision())
        with engine.connect():
            pass  # opening creates the file on a first start
        engine.dispose()
        file.opened()
        return cls(
            make_engine(url, existing=file),
            make_engine(url, read_only=True, existing=file),
            file,
            head_revision(),
        )

    def ready(self) -> str:
        """The schema revision when the database answers at the expected one; otherwise
        ``database_unavailable`` or ``schema_outdated`` (both 503)."""
        if self.file is not None:
            self.file.check()
        try:
            revision = current_revision(self.engine)
        except TsunaguError:
            raise
        except Exception as exc:
            raise DatabaseUnavailable(
                N_("The database does not answer."), details={"reason": "unreachable"}
            ) from exc
        if revision != self.head:
            raise TsunaguError(
                N_("Run `tsunagu db upgrade`."),
                code="schema_outdated",
                status=503,
                details={"revision": revision, "expected": self.head},
            )
        return revision


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
) -> int:
    """Insert many rows through the driver's ``executemany``; the number of rows written.

    The hot path of imports: it skips SQLAlchemy's per-value type processing, so callers pass
    values already in driver form (see :func:`raw_instant`). ``conflict`` adds ``ON CONFLICT``;
    with ``update`` the listed columns take the new values, otherwise the row is left alone.
    The count is the driver's ``rowcount``, which sqlite3 and psycopg both sum over the rows of
    an ``executemany``; a row left alone by ``DO NOTHING`` does not count.
    """
    if not rows:
        return 0
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
    return int(conn.exec_driver_sql(sql, list(rows)).rowcount)


def sparse_insert(
    session: Session,
    table: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    nullable: Sequence[str],
    conflict: Sequence[str] | None = None,
    update: Sequence[str] | None = None,
) -> int:
    """:func:`bulk_insert` that does not bind the ``None`` values of the ``nullable`` columns.

    Rows are grouped by which of those columns hold ``None``, and each group's statement leaves
    them out, so they take their default, NULL; on conflict the ``update`` columns take the new
    row's values, left-out ones NULL too (``excluded`` holds the defaults). Binding a ``None``
    costs SQLite's driver about a quarter of a microsecond, as much as a short row's own insert,
    and a new order's projection row has a dozen of them (ADR 0023).
    """
    if not rows:
        return 0
    at = [columns.index(name) for name in nullable]
    groups: dict[tuple[bool, ...], list[Sequence[object]]] = {}
    for row in rows:
        given = tuple([row[i] is not None for i in at])
        found = groups.get(given)
        if found is None:
            groups[given] = [row]
        else:
            found.append(row)
    written = 0
    for given, members in groups.items():
        left_out = {i for i, present in zip(at, given, strict=True) if not present}
        keep = [i for i in range(len(columns)) if i not in left_out]
        picked: Sequence[Sequence[object]] = members
        if left_out:
            pick = itemgetter(*keep)
            picked = [pick(row) if len(keep) > 1 else (pick(row),) for row in members]
        written += bulk_insert(
            session, table, [columns[i] for i in keep], picked, conflict=conflict, update=update
        )
    return written


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
