"""Alembic migrations of the registry schema, applied by ``Registry`` when it opens a database.

To draft a revision after changing ``models.py``, open a registry on a scratch SQLite file (which
brings it to the current head) and let Alembic compare it with the models::

    from alembic import command
    from shugu.store.registry import Registry
    from shugu.store.registry.engine import alembic_config

    Registry("sqlite:////tmp/draft.sqlite").close()
    config = alembic_config()
    config.set_main_option("sqlalchemy.url", "sqlite:////tmp/draft.sqlite")
    command.revision(config, message="what changed", autogenerate=True, rev_id="0002")

Then rename the file to ``rNNNN_what_changed.py``, make it self-contained (no imports from
``models``) and check it on PostgreSQL too: the registry tests run on both databases.
"""
