"""Migrations are the only way the schema changes, and they work on both databases."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from tests.conftest import Db
from tsunagu.core.db import alembic_config, current_revision, head_revision, upgrade
from tsunagu.models import metadata


def test_database_is_at_head(db: Db):
    assert current_revision(db.engine) == head_revision()


def test_models_and_migrations_agree(db: Db):
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_downgrade_to_base_and_up_again(db: Db):
    cfg = alembic_config(db.engine)
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
    with db.engine.connect() as conn:
        assert set(inspect(conn).get_table_names()) <= {"alembic_version"}
    upgrade(db.engine)
    with db.engine.connect() as conn:
        assert "events" in inspect(conn).get_table_names()
    assert current_revision(db.engine) == head_revision()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(sqlite_db: Db):
    with sqlite_db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
