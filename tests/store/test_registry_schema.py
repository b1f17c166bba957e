"""Opening the registry: URLs, migrations, SQLite pragmas."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from argon2 import PasswordHasher
from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.exc import IntegrityError

from shugu.store.registry import Registry, normalize_url
from shugu.store.registry.engine import alembic_config
from shugu.store.registry.models import Base


def test_postgres_urls_use_psycopg3() -> None:
    assert normalize_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_url("sqlite:///x.sqlite") == "sqlite:///x.sqlite"


def test_opening_migrates_to_head_and_models_match_migrations(registry_url: str) -> None:
    Registry(registry_url).close()
    engine = create_engine(normalize_url(registry_url))
    try:
        with engine.connect() as connection:
            tables = set(inspect(connection).get_table_names())
            assert {"regions", "parks", "enterprises", "assets", "devices"} <= tables
            assert {"users", "api_tokens", "consents", "alembic_version"} <= tables
            version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
            # The newest migration's revision, whichever it is.
            assert version == ScriptDirectory.from_config(alembic_config()).get_current_head()
            context = MigrationContext.configure(connection, opts={"compare_type": False})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def test_reopening_keeps_data(registry_url: str, password_hasher: PasswordHasher) -> None:
    first = Registry(registry_url, password_hasher=password_hasher)
    first.create_region("210200", "大连市")
    first.close()
    second = Registry(registry_url, password_hasher=password_hasher)
    try:
        assert [r.code for r in second.list_regions()] == ["210200"]
    finally:
        second.close()


def test_sqlite_enables_foreign_keys_and_wal(tmp_path: Path) -> None:
    registry = Registry(f"sqlite:///{tmp_path / 'r.sqlite'}")
    try:
        with registry._engine.connect() as connection:
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    finally:
        registry.close()


def test_in_memory_sqlite_works() -> None:
    registry = Registry("sqlite://")
    try:
        assert registry.dialect == "sqlite"
        assert registry.create_region("350112", "长乐区").id == 1
    finally:
        registry.close()


def test_database_enforces_the_rules_too(registry_url: str) -> None:
    """Constraints hold even for writes that skip the registry's own checks (races, scripts)."""
    Registry(registry_url).close()
    engine = create_engine(normalize_url(registry_url))
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", lambda c, _: c.execute("PRAGMA foreign_keys=ON"))
    now = datetime.now(UTC)
    setup = [
        "INSERT INTO regions (id, code, name, created_at) VALUES (1, '210200', 'r', :now)",
        "INSERT INTO parks (id, region_id, name, created_at) VALUES (1, 1, 'p', :now)",
        "INSERT INTO enterprises (id, park_id, name, uscc, uscc_checksum_ok, created_at)"
        " VALUES (1, 1, 'e', '91110000600037341L', true, :now)",
        "INSERT INTO assets (id, enterprise_id, level, name, created_at)"
        " VALUES (1, 1, 'site', 's', :now)",
    ]
    violations = [
        # a second root site with the same name
        "INSERT INTO assets (enterprise_id, level, name, created_at) VALUES (1, 'site', 's', :now)",
        # an area without a parent
        "INSERT INTO assets (enterprise_id, level, name, created_at) VALUES (1, 'area', 'a', :now)",
        # an unknown level
        "INSERT INTO assets (enterprise_id, parent_id, level, name, created_at)"
        " VALUES (1, 1, 'cell', 'c', :now)",
        # a bureau account bound to an enterprise
        "INSERT INTO users (username, password_hash, role, enterprise_id, created_at)"
        " VALUES ('b', 'x', 'bureau', 1, :now)",
        # a viewer without an enterprise
        "INSERT INTO users (username, password_hash, role, created_at)"
        " VALUES ('v', 'x', 'enterprise_viewer', :now)",
        # a park in a region that does not exist
        "INSERT INTO parks (region_id, name, created_at) VALUES (99, 'p2', :now)",
    ]
    try:
        with engine.begin() as connection:
            for statement in setup:
                connection.execute(text(statement), {"now": now})
        for statement in violations:
            with pytest.raises(IntegrityError), engine.begin() as connection:
                connection.execute(text(statement), {"now": now})
    finally:
        engine.dispose()
