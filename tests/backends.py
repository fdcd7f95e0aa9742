"""The two storage backends the suites run against, through the `backend` fixture (tests/conftest.py).

- embedded: a SQLite file and an embedded Chroma directory under the test's tmp_path (always runs);
- server:   PostgreSQL and a Chroma server, named by QINGSONG_TEST_DATABASE_URL (an admin URL; each test
            gets a fresh database) and QINGSONG_TEST_CHROMA_URL (each test gets its own collection).
            `.ci/run` starts both; locally: eval "$(scripts/services start)". Without them the server
            variants skip with that hint.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import pytest
import sqlalchemy as sa

SERVER_HINT = ('PostgreSQL/Chroma server variant skipped: set QINGSONG_TEST_DATABASE_URL and QINGSONG_TEST_CHROMA_URL, '
               'e.g. eval "$(scripts/services start)" (needs Debian postgresql and `make install`)')


@dataclass(frozen=True)
class Backend:
    name: str  # "embedded" | "server"
    database_url: str | None  # None: SQLite under the settings' home
    chroma_url: str | None  # None: embedded Chroma under the settings' home
    collection: str

    @property
    def is_server(self) -> bool:
        return self.name == "server"

    def url_for(self, home: Path) -> str:
        return self.database_url or f"sqlite:///{(home / 'qingsong.db').resolve()}"


def server_urls() -> tuple[str, str] | None:
    db, chroma = os.environ.get("QINGSONG_TEST_DATABASE_URL"), os.environ.get("QINGSONG_TEST_CHROMA_URL")
    return (db, chroma) if db and chroma else None


@contextmanager
def fresh_postgres_database(admin_url: str) -> Iterator[str]:
    """A new, empty database on the test server; dropped afterwards (connections and all)."""
    name = f"qs_{uuid.uuid4().hex[:16]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.engine.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def drop_chroma_collection(chroma_url: str, collection: str) -> None:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    u = urlparse(chroma_url)
    client = chromadb.HttpClient(host=u.hostname or "127.0.0.1", port=u.port or 8000,
                                 settings=ChromaSettings(anonymized_telemetry=False))
    try:
        client.delete_collection(collection)
    except Exception:
        pass


@contextmanager
def provide(name: str) -> Iterator[Backend]:
    collection = f"qs_{uuid.uuid4().hex[:16]}"
    if name == "embedded":
        yield Backend("embedded", None, None, collection)
        return
    urls = server_urls()
    if urls is None:
        pytest.skip(SERVER_HINT)
    admin_url, chroma_url = urls
    with fresh_postgres_database(admin_url) as url:
        try:
            yield Backend("server", url, chroma_url, collection)
        finally:
            drop_chroma_collection(chroma_url, collection)


class RawDb:
    """Raw DBAPI access to a test database, as an attacker holding the database (not the app) has it:
    statements with `?` placeholders run unchanged on SQLite and with `%s` on PostgreSQL."""

    def __init__(self, engine: sa.engine.Engine) -> None:
        self.engine = engine
        self.url = engine.url.render_as_string(hide_password=False)
        self._pg = engine.dialect.name == "postgresql"

    def _sql(self, statement: str) -> str:
        return statement.replace("?", "%s") if self._pg else statement

    def execute(self, statement: str, *params: object) -> None:
        con = self.engine.raw_connection()
        try:
            con.cursor().execute(self._sql(statement), params)
            con.commit()
        finally:
            con.close()

    def fetchall(self, statement: str, *params: object) -> list[tuple]:
        con = self.engine.raw_connection()
        try:
            cur = con.cursor()
            cur.execute(self._sql(statement), params)
            return [tuple(r) for r in cur.fetchall()]
        finally:
            con.close()
