"""The guardrails CLI end to end on a fresh data directory (in-process Typer runner)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from api.cli_guardrails import audit_app, eval_guardrails, review_app, users_app
from guardrails import build_guardrails
from kb.settings import PROJECT_ROOT
from kb.store import create_engine

pytestmark = pytest.mark.e2e

app = typer.Typer()
app.add_typer(users_app, name="users")
app.add_typer(review_app, name="review")
app.add_typer(audit_app, name="audit")
eval_group = typer.Typer()
eval_group.command("guardrails")(eval_guardrails)
app.add_typer(eval_group, name="eval")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("QINGSONG_HOME", str(home))
    monkeypatch.setenv("QINGSONG_EMBEDDER", "hash")
    return home


def run(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == code, (args, result.output, result.exception)
    return result.stdout


def test_users_review_audit_flow(home: Path, tmp_path: Path) -> None:
    added = json.loads(run("users", "add", "wang", "--role", "reviewer", "--json"))
    token = added["token"]
    run("users", "add", "li", "--role", "citizen", "--profile", "c-test-zhangsan")
    listed = json.loads(run("users", "list", "--json"))
    assert [a["name"] for a in listed] == ["wang", "li"] and all("token" not in a for a in listed)

    g = build_guardrails(create_engine(f"sqlite:///{home / 'qingsong.db'}"), home / "keys")
    h = g.hold_queue.hold("turn-7", "sess-1", "办理时限15个工作日。", "hold.low_confidence@1", [("guide-x", 1)])
    g.audit.append("turn.finalised", "acc-li", "turn-7",
                   {"question": "低保怎么办？手机13800001008", "outcome": "held_for_review",
                    "rules": ["hold.low_confidence@1"]})
    assert json.loads(run("review", "list", "--json"))[0]["id"] == h.id
    run("review", "approve", h.id, code=2)  # no reviewer given
    run("review", "approve", h.id, "--reviewer", "li", code=2)  # a citizen may not decide
    assert "approved by" in run("review", "approve", h.id, "--actor", token)
    assert json.loads(run("review", "show", h.id, "--json"))["status"] == "approved"

    shown = json.loads(run("audit", "show", "turn-7", "--json"))
    assert shown["trace"]["question"] == "低保怎么办？手机[手机号]" and shown["receipt"]["proof"] is not None
    assert [e["event"] for e in shown["related_events"]] == ["review.held", "review.approved"]
    run("audit", "show", "turn-404", code=2)

    cp = tmp_path / "cp.json"
    run("audit", "checkpoint", "--output", str(cp))
    pub = tmp_path / "pub.pem"
    run("audit", "pubkey", "--output", str(pub))
    report = json.loads(run("audit", "verify", "--checkpoint", str(cp), "--pubkey", str(pub), "--json"))
    assert report["ok"] and report["unsealed"] == 0
    csv_out = run("audit", "export", "--since", "2000-01-01", "--format", "csv")
    assert csv_out.startswith("seq,ts,event") and "13800001008" not in csv_out

    run("users", "revoke", "wang")
    run("review", "list", "--actor", token, code=2)  # revoked token

    con = sqlite3.connect(home / "qingsong.db")
    con.execute("UPDATE audit_events SET actor = 'mallory' WHERE seq = 1")
    con.commit()
    con.close()
    out = run("audit", "verify", "--checkpoint", str(cp), code=1)
    assert "TAMPERING DETECTED" in out and "edited" in out


def test_eval_guardrails_command(home: Path) -> None:
    report = json.loads(run("eval", "guardrails", str(PROJECT_ROOT / "eval/datasets/guardrails"), "--json"))
    assert report["must_refuse"]["total"] >= 150 and report["must_answer"]["total"] >= 150
    assert set(report["must_refuse"]["categories"]) == {
        "injection", "other_citizen_data", "legal_medical_verdict", "political", "fabricated_policy", "out_of_scope"}
