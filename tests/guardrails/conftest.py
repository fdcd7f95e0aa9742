"""Fixtures for guardrails tests: a real SQLite file per test, the guardrails services over it."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from api import db
from guardrails import Guardrails, build_guardrails
from guardrails.audit import AuditLog
from guardrails.roles import Principal, Role
from kb.store import create_engine


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "guardrails.db"


@pytest.fixture
def engine(db_path: Path) -> Engine:
    e = create_engine(f"sqlite:///{db_path}")
    db.upgrade(e)
    return e


@pytest.fixture
def audit(engine: Engine, tmp_path: Path) -> AuditLog:
    return AuditLog(engine, tmp_path / "keys", checkpoint_every=8)


@pytest.fixture
def gr(engine: Engine, tmp_path: Path) -> Guardrails:
    return build_guardrails(engine, tmp_path / "keys", checkpoint_every=8)


@pytest.fixture
def reviewer() -> Principal:
    return Principal(account_id="acc-reviewer", role=Role.REVIEWER, name="wang")


@pytest.fixture
def citizen() -> Principal:
    return Principal(account_id="acc-citizen", role=Role.CITIZEN, profile_id="c-sample-zhengshi")
