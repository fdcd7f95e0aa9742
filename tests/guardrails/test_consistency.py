"""Consistency proofs on the real audit log: an auditor keeps a signed checkpoint outside the system; honest
appends prove consistent, a forked history (events rewritten, every leaf, chain link, Merkle node, the head
recomputed and the local checkpoints removed by someone with the database) does not."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from api.cli_guardrails import audit_app
from guardrails import build_guardrails, merkle
from guardrails.audit import GENESIS, WITNESS_NAME, AuditLog, TamperKind, leaf_bytes
from guardrails.errors import InvalidInput
from kb.store import create_engine

pytestmark = pytest.mark.integration


def fill(audit: AuditLog, start: int, stop: int) -> None:
    for i in range(start, stop):
        audit.append("turn.finalised", f"citizen-{i % 3}", f"turn-{i}", {"i": i})


def fork(db: Path, key_dir: Path, rewrite_seq: int) -> None:
    """The attacker's consistent rewrite: change one event, recompute everything derived from it."""
    con = sqlite3.connect(db)
    rows = con.execute("SELECT seq, ts, event, actor, subject, payload_hash FROM audit_events ORDER BY seq").fetchall()
    prev, frontier, nodes = GENESIS, merkle.Frontier(), []
    for seq, ts, event, actor, subject, ph in rows:
        if seq == rewrite_seq:
            actor = "mallory"
        leaf = merkle.leaf_hash(leaf_bytes(ts, event, actor, subject, ph, prev))
        con.execute("UPDATE audit_events SET actor=?, prev_hash=?, leaf_hash=? WHERE seq=?", (actor, prev, leaf.hex(), seq))
        nodes += [(level, idx, h.hex()) for level, idx, h in frontier.append(leaf)]
        prev = leaf.hex()
    con.execute("DELETE FROM audit_nodes")
    con.executemany("INSERT INTO audit_nodes (level, idx, hash) VALUES (?, ?, ?)", nodes)
    con.execute("UPDATE audit_head SET last_hash=? WHERE id=1", (prev,))
    con.execute("DELETE FROM audit_checkpoints")
    con.commit()
    con.close()
    (key_dir / WITNESS_NAME).unlink(missing_ok=True)


@pytest.fixture
def auditor_dir(tmp_path: Path) -> Path:
    d = tmp_path / "auditor"
    d.mkdir()
    return d


def test_proofs_from_the_store_match_roots_recomputed_from_the_events(audit: AuditLog) -> None:
    fill(audit, 0, 37)
    leaves = [bytes.fromhex(e.leaf_hash) for e in audit.events()]
    head = audit.root()
    for m in range(38):
        p = audit.consistency(m)
        assert (p.first, p.second, p.second_root) == (m, 37, head)
        assert p.first_root == merkle.root(leaves[:m]).hex()
        assert p.verify(merkle.root(leaves[:m]).hex(), head)
    assert not audit.consistency(13).verify(merkle.root(leaves[:12]).hex())  # wrong old root
    assert audit.consistency(13, 20).second_root == merkle.root(leaves[:20]).hex()
    with pytest.raises(InvalidInput, match="cannot prove sizes 38 -> 37"):
        audit.consistency(38)


def test_honest_appends_are_consistent_with_a_kept_checkpoint(audit: AuditLog, auditor_dir: Path) -> None:
    fill(audit, 0, 13)
    old = audit.write_checkpoint(auditor_dir / "cp.json")
    pem = audit.public_key_pem()
    fill(audit, 13, 30)
    result = audit.check_checkpoint(old, pem)
    assert result.ok and result.new is not None and result.new.tree_size == 30
    assert "still begins with exactly the 13 events" in result.reason
    report = audit.verify(checkpoint=auditor_dir / "cp.json", public_key_pem=pem)
    assert report.ok and report.consistency_checked == 1


def test_a_forked_history_is_detected_with_the_checkpoint_kept_outside(audit: AuditLog, db_path: Path,
                                                                       auditor_dir: Path) -> None:
    fill(audit, 0, 13)
    old = audit.write_checkpoint(auditor_dir / "cp.json")
    pem = audit.public_key_pem()
    fill(audit, 13, 30)
    fork(db_path, audit.key_dir, rewrite_seq=5)
    fill(audit, 30, 33)  # the forked log carries on, appending and proving as usual
    assert audit.verify().ok  # nothing local is left to notice the rewrite
    result = audit.check_checkpoint(old, pem)
    assert not result.ok and result.new is not None and result.new.tree_size == 33
    assert result.reason.startswith("history was rewritten: the log's first 13 events now hash to")
    report = audit.verify(checkpoint=auditor_dir / "cp.json", public_key_pem=pem)
    assert not report.ok and report.kinds == {TamperKind.CHECKPOINT_MISMATCH} and report.consistency_checked == 1
    assert "not consistent with checkpoint" in report.problems[0].detail


def test_truncation_and_a_forged_checkpoint_fail(audit: AuditLog, db_path: Path, auditor_dir: Path) -> None:
    fill(audit, 0, 20)
    old = audit.write_checkpoint(auditor_dir / "cp.json")
    pem = audit.public_key_pem()
    forged = old.model_copy(update={"root": "ab" * 32})
    assert "not signed by the key you trust" in audit.check_checkpoint(forged, pem).reason
    con = sqlite3.connect(db_path)
    last = con.execute("SELECT leaf_hash FROM audit_events WHERE seq = 11").fetchone()[0]
    con.execute("DELETE FROM audit_events WHERE seq >= 12")
    con.execute("DELETE FROM audit_nodes WHERE (idx + 1) * (1 << level) > 12")
    con.execute("UPDATE audit_head SET size = 12, last_hash = ? WHERE id = 1", (last,))
    con.commit()
    con.close()
    result = audit.check_checkpoint(old, pem)
    assert not result.ok and "fewer than the 20 your checkpoint" in result.reason and result.proof is None


def test_stored_merkle_nodes_that_disagree_with_the_events_are_named(audit: AuditLog, db_path: Path,
                                                                     auditor_dir: Path) -> None:
    fill(audit, 0, 9)
    audit.write_checkpoint(auditor_dir / "cp.json")
    fill(audit, 9, 20)
    con = sqlite3.connect(db_path)
    con.execute("UPDATE audit_nodes SET hash = ? WHERE level = 3 AND idx = 0", ("cd" * 32,))
    con.commit()
    con.close()
    report = audit.verify(checkpoint=auditor_dir / "cp.json")
    assert TamperKind.PROOF_FAILED in report.kinds and TamperKind.EDITED not in report.kinds


# -- the CLI an auditor runs -----------------------------------------------------------------------------
app = typer.Typer()
app.add_typer(audit_app, name="audit")
app.command("noop")(lambda: None)


def run(*args: str, code: int) -> str:
    result = CliRunner().invoke(app, ["audit", *args])
    assert result.exit_code == code, (args, result.output, result.exception)
    return result.stdout


@pytest.mark.e2e
def test_audit_consistency_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, auditor_dir: Path) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("QINGSONG_HOME", str(home))
    monkeypatch.setenv("QINGSONG_EMBEDDER", "hash")
    old, pub, new = auditor_dir / "cp.json", auditor_dir / "pub.pem", auditor_dir / "next.json"
    run("pubkey", "--output", str(pub), code=0)  # the CLI creates the data directory and its schema
    g = build_guardrails(create_engine(f"sqlite:///{home / 'qingsong.db'}"), home / "keys")
    fill(g.audit, 0, 11)
    run("checkpoint", "--output", str(old), code=0)
    fill(g.audit, 11, 25)

    out = run("consistency", "--checkpoint", str(old), "--pubkey", str(pub), "--output", str(new), code=0)
    assert out.startswith("OK: the log of 25 events still begins with exactly the 11 events")
    assert json.loads(new.read_text())["tree_size"] == 25
    shown = json.loads(run("consistency", "--checkpoint", str(old), "--pubkey", str(pub), "--json", code=0))
    assert shown["ok"] and shown["proof"]["first"] == 11 and shown["proof"]["second"] == 25

    fork(home / "qingsong.db", home / "keys", rewrite_seq=2)
    out = run("consistency", "--checkpoint", str(old), "--pubkey", str(pub), code=1)
    assert out.startswith("FAIL: history was rewritten")
    assert "TAMPERING DETECTED" in run("verify", "--checkpoint", str(old), "--pubkey", str(pub), code=1)
    run("consistency", "--checkpoint", str(new), "--pubkey", str(pub), code=1)  # the later copy catches it too
