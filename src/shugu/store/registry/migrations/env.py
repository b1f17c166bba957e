"""Alembic environment of the registry.

``Registry`` runs migrations in code and hands over its open connection through
``config.attributes["connection"]``. To draft a new revision, set ``sqlalchemy.url`` on the
Alembic config instead (see the package docstring); autogenerate then compares that database
with ``models.Base.metadata``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from shugu.store.registry.engine import normalize_url
from shugu.store.registry.models import Base

config = context.config
target_metadata = Base.metadata


def _configure_and_run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot alter most constraints in place; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_offline() -> None:
    context.configure(
        url=normalize_url(config.get_main_option("sqlalchemy.url") or "sqlite://"),
        target_metadata=target_metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure_and_run(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("set sqlalchemy.url on the Alembic config or pass a connection")
    engine = create_engine(normalize_url(url))
    try:
        with engine.begin() as own_connection:
            _configure_and_run(own_connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
