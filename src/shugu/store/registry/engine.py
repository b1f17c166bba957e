"""Opening the registry database: URL, engine settings per database, and schema migration.

SQLite is the embedded default; PostgreSQL serves several shugu processes. The schema is brought
to the newest Alembic revision whenever a registry is opened, so no separate migration step can
be forgotten on upgrade.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.pool import StaticPool

from shugu.domain.errors import UnavailableError

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

#: Any constant works; it keeps concurrent shugu processes from migrating the same database at once.
_MIGRATION_LOCK_KEY = 0x5348_5547  # "SHUG"

#: How long a SQLite writer waits for another writer before giving up, in milliseconds.
_SQLITE_BUSY_TIMEOUT_MS = 5000


def normalize_url(url: str) -> str:
    """Map plain PostgreSQL URLs to the psycopg 3 driver shugu ships with."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        # SQLite leaves foreign keys off unless asked, per connection.
        cursor.execute("PRAGMA foreign_keys=ON")
        # WAL lets readers proceed while one writer commits; a no-op for in-memory databases.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={_SQLITE_BUSY_TIMEOUT_MS}")
    finally:
        cursor.close()


def create_registry_engine(url: str) -> Engine:
    normalized = normalize_url(url)
    parsed = make_url(normalized)
    if parsed.get_backend_name() == "sqlite":
        in_memory = parsed.database in (None, "", ":memory:")
        if in_memory:
            # Every new connection to ':memory:' would be an empty database of its own.
            engine = create_engine(
                normalized,
                connect_args={"check_same_thread": False},
                poolclass=StaticPool,
            )
        else:
            engine = create_engine(normalized, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(normalized, pool_pre_ping=True)


def alembic_config() -> Config:
    config = Config()
    # ConfigParser treats '%' as interpolation; a path containing one must be escaped.
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    config.set_main_option("path_separator", "os")
    return config


def upgrade_to_head(engine: Engine) -> None:
    """Apply every migration not yet applied to the database behind ``engine``."""
    config = alembic_config()
    try:
        connection = engine.connect()
    except OperationalError as exc:
        where = engine.url.render_as_string(hide_password=True)
        why = " ".join(str(exc.orig or exc).split())
        raise UnavailableError(
            f"the registry database {where} cannot be reached ({why})",
            code="registry_unavailable",
        ) from exc
    with connection, connection.begin():
        if connection.dialect.name == "postgresql":
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY}
            )
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    log.debug("registry schema is at head (%s)", engine.url.render_as_string(hide_password=True))


def registry_exists(url: str) -> bool:
    """Whether ``url`` names a registry shugu has created, without creating anything: a
    SQLite file that exists, or a server database that holds shugu's schema."""
    normalized = normalize_url(url)
    parsed = make_url(normalized)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database in (None, "", ":memory:"):
            return False
        return Path(database).is_file()
    engine = create_engine(normalized, pool_pre_ping=True)
    try:
        return inspect(engine).has_table("alembic_version")
    except SQLAlchemyError as exc:
        shown = parsed.render_as_string(hide_password=True)
        raise UnavailableError(
            f"the registry {shown} cannot be reached ({type(exc).__name__})",
            code="registry_unavailable",
        ) from exc
    finally:
        engine.dispose()
