"""Schema management with Alembic, for SQLite and PostgreSQL alike (`qingsong db upgrade|current|check`).

Every package defines its tables on the one `kb.schema.metadata`; the migrations under
`api/migrations/versions` are the only thing that creates tables (the application, the CLI, the server
and the tests all migrate first), and `db check` (and a test on both backends) proves they match the
table definitions.

Concurrency: on PostgreSQL an advisory lock serialises migrations, so several workers or replicas
starting at once cannot race; `qingsong serve --workers N` also migrates once in the parent process.
A database made by `create_all` before migrations existed (no `alembic_version` table) is adopted if, and
only if, its tables match the code apart from whole missing tables (created, then stamped at head);
otherwise upgrade refuses with the differences.
"""

from __future__ import annotations

import fcntl
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine

from kb.errors import KbError

log = logging.getLogger(__name__)
BASELINE = "0001"
_LOCK_KEY = 7_106_011  # pg_advisory_lock key for migrations (any fixed number unique to this app)


class SchemaError(KbError):
    """The database schema is not what this version of QingSong expects."""


def target_metadata() -> sa.MetaData:
    """The one MetaData (kb.schema) with every package's tables on it: importing the modules that define
    tables registers them."""
    from assistant import store as assistant_store
    from feedback import ratings
    from guardrails import tables as guardrails_tables
    from ingest import jobs as ingest_jobs
    from kb import store as kb_store
    from kb.schema import metadata
    from policy import matching as policy_match

    defining = (kb_store, guardrails_tables, assistant_store, ratings, policy_match, ingest_jobs)
    assert all(m.metadata is metadata for m in defining), "a package defines tables on a MetaData of its own"
    return metadata


def _config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("api") / "migrations"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head() -> str:
    heads = ScriptDirectory.from_config(_config()).get_heads()
    if len(heads) != 1:
        raise SchemaError(f"migrations have {len(heads)} heads ({heads}); merge them")
    return heads[0]


def current(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def differences(engine: Engine) -> list[Any]:
    """Differences between the live database and the table definitions in code (empty = in sync)."""
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(ctx, target_metadata()))


@contextmanager
def _sqlite_file_lock(engine: Engine) -> Iterator[None]:
    """SQLite runs DDL outside transactions, so processes migrating one file at once take a lock file."""
    path = engine.url.database
    if engine.dialect.name != "sqlite" or not path or path == ":memory:":
        yield
        return
    with open(f"{path}.migrate.lock", "a+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str]:
    """Migrate to `revision`; returns (from, to). Safe to call at every start and from several processes."""
    with _sqlite_file_lock(engine), engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": _LOCK_KEY})
            conn.commit()
        try:
            before = MigrationContext.configure(conn).get_current_revision()
            conn.commit()
            if before is None and sa.inspect(conn).has_table("items"):
                _adopt_legacy(conn)
                before = BASELINE
            target = head() if revision == "head" else revision
            if before != target:
                command.upgrade(_config(conn), revision)
                conn.commit()
                log.info("database schema migrated %s -> %s", before or "empty", target)
            return before, target
        finally:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": _LOCK_KEY})
                conn.commit()


def _adopt_legacy(conn: Connection) -> None:
    """Stamp a pre-migration database (tables made by create_all) at the baseline, if it matches it."""
    ctx = MigrationContext.configure(conn, opts={"compare_type": True})
    diffs = compare_metadata(ctx, target_metadata())
    missing_only = all(isinstance(d, tuple) and d[0] in ("add_table", "add_index") for d in diffs)
    if not missing_only:
        raise SchemaError(f"database has tables but no migration history, and they differ from the baseline: "
                          f"{diffs[:5]}; back it up and migrate by hand")
    # Only tables are missing: create them as the code defines them now, which is what head describes.
    target_metadata().create_all(conn)
    conn.commit()
    command.stamp(_config(conn), "head")
    conn.commit()
    log.warning("adopted a database created before migrations: missing tables created, stamped at head")
