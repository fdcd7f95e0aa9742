"""Alembic environment. `api.db` passes an open connection in `config.attributes["connection"]`; the
`alembic` command line (for writing new revisions) uses `sqlalchemy.url` from the config instead."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from api.db import target_metadata

config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata(),
        render_as_batch=True,  # SQLite cannot ALTER most things; batch mode copies the table instead
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from kb.store import create_engine

    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as conn:
        _run(conn)


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) mode is not supported; run `qingsong db upgrade` against the database")
run()
