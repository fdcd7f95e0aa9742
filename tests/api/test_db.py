"""Schema migrations (Alembic) on both backends: a fresh database, an idempotent re-run, a pre-migration
database adopted only when it matches, several processes migrating at once, and the `qingsong db` CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from api import db
from api.cli import app
from kb.settings import PROJECT_ROOT
from kb.store import create_engine
from tests.backends import Backend

pytestmark = pytest.mark.integration


@pytest.fixture
def engine(backend: Backend, tmp_path: Path) -> sa.engine.Engine:
    return create_engine(backend.url_for(tmp_path))


def tables(engine: sa.engine.Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names())


def test_fresh_database_migrates_to_head_and_matches_the_code(engine: sa.engine.Engine) -> None:
    assert db.current(engine) is None
    before, after = db.upgrade(engine)
    assert (before, after) == (None, db.head()) and db.current(engine) == db.head()
    assert db.differences(engine) == []
    assert {t.name for t in db.target_metadata().sorted_tables} | {"alembic_version"} == tables(engine)
    with engine.connect() as conn:  # the singleton rows concurrent writers lock are seeded
        assert conn.execute(sa.text("SELECT size FROM audit_head WHERE id = 1")).scalar() == 0
        assert conn.execute(sa.text("SELECT value FROM meta WHERE key = 'generation'")).scalar() == "0"
    assert db.upgrade(engine) == (db.head(), db.head())  # idempotent: every start calls it


def test_a_database_at_the_baseline_is_migrated_to_head(engine: sa.engine.Engine) -> None:
    assert db.upgrade(engine, db.BASELINE) == (None, db.BASELINE)
    assert "ingest_jobs" not in tables(engine)  # added by 0002
    assert db.upgrade(engine) == (db.BASELINE, db.head())
    assert "ingest_jobs" in tables(engine) and db.differences(engine) == []


def test_database_made_before_migrations_is_adopted_when_it_matches(engine: sa.engine.Engine) -> None:
    db.target_metadata().create_all(engine)  # what create_schema() made before Alembic
    assert db.upgrade(engine) == (db.BASELINE, db.head())
    assert db.current(engine) == db.head() and db.differences(engine) == []


def test_unknown_tables_with_our_names_are_refused_not_adopted(engine: sa.engine.Engine) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE items (id VARCHAR(10) PRIMARY KEY, colour VARCHAR(10))"))
    with pytest.raises(db.SchemaError, match="differ from the baseline"):
        db.upgrade(engine)
    assert db.current(engine) is None  # nothing stamped


def test_versions_from_before_0004_take_their_items_metadata(engine: sa.engine.Engine) -> None:
    """0004 moves metadata onto versions (drafts no longer change live items): old versions get the item's."""
    db.upgrade(engine, "0003")
    now = "2026-01-01 00:00:00"
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO units (id, name, level) VALUES ('u1', '测试局', '区')"))
        conn.execute(sa.text(
            "INSERT INTO items (id, kind, title, owner, level, audience, tags, removed_tags, related, status, "
            "current_version, latest_version, source_path, created_at, updated_at) VALUES ('g-1', 'guide', '指南', "
            "'u1', '区', :aud, :tags, '[]', '[\"faq-1\"]', 'published', 1, 1, 'samples/g.md', :now, :now)"),
            {"aud": '["法人"]', "tags": '[{"tag": "开办", "source": "rule", "reason": null}]', "now": now})
        conn.execute(sa.text(
            "INSERT INTO item_versions (item_id, number, content, content_hash, state, author, change_note, "
            "effective_from, created_at) VALUES ('g-1', 1, :c, 'h', 'published', 'a', '', '2024-01-01', :now)"),
            {"c": '{"title": "指南", "sections": []}', "now": now})
    db.upgrade(engine)
    from kb.store import SqlStore

    v = SqlStore(engine).get_version("g-1", 1)
    assert v.meta is not None
    assert (v.meta.owner, v.meta.level.value, [a.value for a in v.meta.audience], v.meta.related,
            [t.tag for t in v.meta.tags], v.meta.source_path) == ("u1", "区", ["法人"], ("faq-1",), ["开办"],
                                                                  "samples/g.md")


MIGRATE = "import sys; from api import db; from kb.store import create_engine; print(db.upgrade(create_engine(sys.argv[1])))"


def test_processes_migrating_at_once_all_succeed(engine: sa.engine.Engine) -> None:
    """Workers or replicas starting together against an empty database: one migrates, the others wait."""
    url = engine.url.render_as_string(hide_password=False)
    procs = [subprocess.Popen([sys.executable, "-c", MIGRATE, url], cwd=PROJECT_ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(3)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [e for _, e in outs]
    firsts = [o.strip() for o, _ in outs]
    assert sorted(firsts).count(f"(None, '{db.head()}')") == 1, firsts  # exactly one did the work
    assert db.differences(engine) == []


def test_cli_upgrade_current_check(backend: Backend, tmp_path: Path) -> None:
    env = {"QINGSONG_HOME": str(tmp_path / "home")}
    if backend.database_url:
        env["QINGSONG_DATABASE_URL"] = backend.database_url
    runner = CliRunner()
    cur = runner.invoke(app, ["db", "current"], env=env)
    assert cur.exit_code == 1 and "current: (none)" in cur.output
    up = runner.invoke(app, ["db", "upgrade"], env=env)
    assert up.exit_code == 0, up.output
    assert f"-> {db.head()}" in up.output
    assert runner.invoke(app, ["db", "upgrade"], env=env).exit_code == 0
    cur = runner.invoke(app, ["db", "current"], env=env)
    assert cur.exit_code == 0 and f"current: {db.head()}" in cur.output
    assert "password" not in cur.output.lower()
    check = runner.invoke(app, ["db", "check"], env=env)
    assert check.exit_code == 0 and "in sync with the code" in check.output


def test_check_reports_a_drifted_database(engine: sa.engine.Engine) -> None:
    db.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE mianshen_notifications"))
    diffs = db.differences(engine)
    assert any(d[0] == "add_table" and d[1].name == "mianshen_notifications" for d in diffs)


def test_no_environment_leaks_into_the_subprocess_tests() -> None:
    assert "QINGSONG_DATABASE_URL" not in os.environ  # the suites pass URLs explicitly, never by ambient env


def test_one_metadata_and_only_the_migrations_create_tables() -> None:
    """Every package defines its tables on kb.schema.metadata; no library module creates tables itself
    (api/db.py may, only to adopt a database made before migrations existed)."""
    from kb.schema import metadata

    assert db.target_metadata() is metadata
    assert {"items", "audit_events", "assistant_sessions", "ratings", "mianshen_notifications", "ingest_jobs"} <= set(
        metadata.tables)
    offenders = []
    for package in ("kb", "ingest", "assistant", "policy", "feedback", "guardrails", "eval", "api"):
        for path in (PROJECT_ROOT / package).rglob("*.py"):
            text, name = path.read_text(encoding="utf-8"), path.relative_to(PROJECT_ROOT).as_posix()
            if ("create_all(" in text and name != "api/db.py") or ("sa.MetaData(" in text and name != "kb/schema.py"):
                offenders.append(name)
    assert offenders == []
