"""Accounts: tokens shown once and stored hashed, revocation, validation, audited changes."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from guardrails import Guardrails
from guardrails.accounts import hash_token
from guardrails.errors import InvalidInput, NotFound
from guardrails.roles import Role

pytestmark = pytest.mark.integration


def test_add_authenticate_revoke(gr: Guardrails, db_path: Path) -> None:
    new = gr.accounts.add("zhang", Role.OWNER, units=["sj-mzj"])
    assert new.token.startswith("qs_") and len(new.token) > 40
    p = gr.accounts.authenticate(new.token)
    assert p is not None and p.role == Role.OWNER and p.units == ("sj-mzj",) and p.account_id == new.account.id
    con = sqlite3.connect(db_path)
    stored = con.execute("SELECT token_hash, token_hint FROM accounts").fetchone()
    dump = "\n".join(con.iterdump())
    con.close()
    assert stored[0] == hash_token(new.token) and new.token not in dump
    gr.accounts.revoke("zhang")
    assert gr.accounts.authenticate(new.token) is None
    assert gr.accounts.list(include_revoked=False) == []
    assert [e.event for e in gr.audit.events(subject=new.account.id)] == ["account.added", "account.revoked"]


def test_bad_tokens(gr: Guardrails) -> None:
    gr.accounts.add("li", Role.REVIEWER)
    for token in (None, "", "qs_wrong", "Bearer x", "qs_" + "a" * 500):
        assert gr.accounts.authenticate(token) is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "zhao", "role": "owner"}, "needs --unit"),
        ({"name": "zhao", "role": "reviewer", "units": ["sj-mzj"]}, "only owners"),
        ({"name": "zhao", "role": "boss"}, "unknown"),
        ({"name": "has space", "role": "auditor"}, "letters"),
    ],
)
def test_validation(gr: Guardrails, kwargs: dict, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        gr.accounts.add(**kwargs)


def test_names_are_unique_and_resolvable(gr: Guardrails) -> None:
    new = gr.accounts.add("sun", Role.CITIZEN, profile_id="c-demo-sunqi")
    with pytest.raises(InvalidInput, match="exists"):
        gr.accounts.add("sun", Role.AUDITOR)
    assert gr.accounts.resolve("sun").id == new.account.id == gr.accounts.resolve(new.account.id).id
    assert new.account.principal().profile_id == "c-demo-sunqi"
    with pytest.raises(NotFound):
        gr.accounts.resolve("nobody")
