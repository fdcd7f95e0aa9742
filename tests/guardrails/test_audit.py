"""Audit log: receipts, checkpoints, export, forget, concurrency, and every kind of tampering done with raw
SQL against the real database (the attacker has the database, not the signing key). Runs on both backends:
the SQLite file and a PostgreSQL database (tests/backends.py)."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from api.db import upgrade
from guardrails import merkle
from guardrails.audit import GENESIS, WITNESS_NAME, AuditLog, TamperKind, leaf_bytes
from guardrails.errors import InvalidInput
from guardrails.signing import Checkpoint
from kb.settings import PROJECT_ROOT
from kb.store import create_engine
from tests.backends import Backend, RawDb

pytestmark = pytest.mark.integration


def fill(audit: AuditLog, n: int = 20) -> None:
    for i in range(n):
        audit.append("turn.finalised", f"citizen-{i % 3}", f"turn-{i}", {"i": i, "outcome": "answered"},
                     data_subject=f"citizen-{i % 3}")


@pytest.fixture
def engine(backend: Backend, db_path: Path) -> Engine:
    """Overrides the guardrails conftest: the audit suite runs on each backend."""
    e = create_engine(backend.database_url or f"sqlite:///{db_path}")
    upgrade(e)
    return e


@pytest.fixture
def db(engine: Engine) -> RawDb:
    return RawDb(engine)


def sql(db: RawDb, statement: str, *params: object) -> None:
    db.execute(statement, *params)


def rows(db: RawDb) -> list[tuple]:
    return db.fetchall("SELECT seq, ts, event, actor, subject, payload_hash, prev_hash, leaf_hash "
                       "FROM audit_events ORDER BY seq")


def forge(prev: str, seq_ts: str = "2030-01-01T00:00:00.000000Z", actor: str = "mallory") -> tuple:
    leaf = merkle.leaf_hash(leaf_bytes(seq_ts, "review.approved", actor, "turn-x", "0" * 64, prev)).hex()
    return (seq_ts, "review.approved", actor, "turn-x", "0" * 64, prev, leaf)


def test_untouched_log_verifies_and_receipts_check(audit: AuditLog) -> None:
    receipts = [audit.append("turn.finalised", "c", f"turn-{i}", {"i": i}) for i in range(13)]
    assert all(r.verify() for r in receipts)
    assert [r.leaf_index for r in receipts] == list(range(13))
    for i in range(13):
        r = audit.inclusion_proof(i)
        assert r.verify() and r.tree_size == 13 and r.root == audit.root()
    bad = receipts[5].model_copy(update={"leaf_index": 6})
    assert not bad.verify()
    report = audit.verify()
    assert report.ok and report.tree_size == 13 and report.newest_checkpoint == 8 and report.unsealed == 5


def test_edited_event_is_detected(audit: AuditLog, db: RawDb) -> None:
    fill(audit)
    sql(db, "UPDATE audit_events SET actor = 'mallory' WHERE seq = 5")
    report = audit.verify()
    assert not report.ok and TamperKind.EDITED in report.kinds
    assert any(p.seq == 5 for p in report.problems if p.kind == TamperKind.EDITED)


def test_rewritten_history_with_recomputed_hashes_is_caught_by_the_signed_checkpoint(audit: AuditLog, db: RawDb) -> None:
    """The attacker edits event 3 and recomputes every leaf, the chain and the head: only the signature
    (which they cannot forge) gives it away."""
    fill(audit)
    prev = GENESIS
    for seq, ts, event, actor, subject, ph, _prev, _leaf in rows(db):
        if seq == 3:
            actor = "mallory"
        leaf = merkle.leaf_hash(leaf_bytes(ts, event, actor, subject, ph, prev)).hex()
        sql(db, "UPDATE audit_events SET actor=?, prev_hash=?, leaf_hash=? WHERE seq=?", actor, prev, leaf, seq)
        prev = leaf
    sql(db, "UPDATE audit_head SET last_hash=? WHERE id=1", prev)
    report = audit.verify()
    assert not report.ok
    assert report.kinds == {TamperKind.CHECKPOINT_MISMATCH}


def test_edited_payload_is_detected(audit: AuditLog, db: RawDb) -> None:
    fill(audit)
    sql(db, "UPDATE audit_payloads SET body = '{\"i\":99}' WHERE subject = 'turn-4'")
    report = audit.verify()
    assert not report.ok and report.kinds == {TamperKind.PAYLOAD_EDITED}


def test_deleted_event_is_detected(audit: AuditLog, db: RawDb) -> None:
    fill(audit)
    sql(db, "DELETE FROM audit_events WHERE seq = 7")
    report = audit.verify()
    assert not report.ok and TamperKind.DELETED in report.kinds
    assert any(p.kind == TamperKind.DELETED and p.seq == 7 for p in report.problems)


def test_deleted_and_renumbered_is_detected(audit: AuditLog, db: RawDb) -> None:
    fill(audit)
    sql(db, "DELETE FROM audit_events WHERE seq = 7")
    for seq in range(8, 20):
        sql(db, "UPDATE audit_events SET seq = ? WHERE seq = ?", seq - 1, seq)
    report = audit.verify()
    assert not report.ok and TamperKind.DELETED in report.kinds


def test_inserted_event_is_detected(audit: AuditLog, db: RawDb) -> None:
    """A forged event slipped in after event 9, chained to it, later events renumbered."""
    fill(audit)
    for seq in range(19, 9, -1):
        sql(db, "UPDATE audit_events SET seq = ? WHERE seq = ?", seq + 1, seq)
    prev = rows(db)[9][7]
    sql(db, "INSERT INTO audit_events (seq, ts, event, actor, subject, payload_hash, prev_hash, leaf_hash) "
                 "VALUES (10, ?, ?, ?, ?, ?, ?, ?)", *forge(prev))
    report = audit.verify()
    assert not report.ok and TamperKind.INSERTED in report.kinds
    assert any(p.kind == TamperKind.INSERTED and p.seq == 10 for p in report.problems)


def test_event_appended_around_the_log_is_detected(audit: AuditLog, db: RawDb) -> None:
    fill(audit)
    last = rows(db)[-1][7]
    sql(db, "INSERT INTO audit_events (seq, ts, event, actor, subject, payload_hash, prev_hash, leaf_hash) "
                 "VALUES (20, ?, ?, ?, ?, ?, ?, ?)", *forge(last))
    report = audit.verify()
    assert not report.ok and TamperKind.INSERTED in report.kinds


def test_reordered_events_are_detected(audit: AuditLog, db: RawDb) -> None:
    fill(audit)
    sql(db, "UPDATE audit_events SET seq = -1 WHERE seq = 3")
    sql(db, "UPDATE audit_events SET seq = 3 WHERE seq = 4")
    sql(db, "UPDATE audit_events SET seq = 4 WHERE seq = -1")
    report = audit.verify()
    assert not report.ok and TamperKind.REORDERED in report.kinds
    assert TamperKind.EDITED not in report.kinds  # the rows themselves are intact, only their order changed


def test_truncated_log_is_detected(audit: AuditLog, db: RawDb) -> None:
    fill(audit)
    sql(db, "DELETE FROM audit_events WHERE seq >= 15")
    report = audit.verify()
    assert not report.ok and TamperKind.TRUNCATED in report.kinds


def test_truncation_with_head_and_checkpoints_covered_up_is_caught_by_the_witness(audit: AuditLog, db: RawDb) -> None:
    fill(audit)
    tail = rows(db)[11]
    sql(db, "DELETE FROM audit_events WHERE seq >= 12")
    sql(db, "DELETE FROM audit_checkpoints")
    sql(db, "UPDATE audit_head SET size = 12, last_hash = ? WHERE id = 1", tail[7])
    report = audit.verify()
    assert not report.ok and report.kinds == {TamperKind.TRUNCATED}


def test_truncation_caught_by_an_external_checkpoint_file(audit: AuditLog, db: RawDb, tmp_path: Path) -> None:
    """Everything local covered up (database and witness file): the auditor's own checkpoint still catches it."""
    fill(audit)
    kept = tmp_path / "auditor" / "cp.json"
    kept.parent.mkdir()
    audit.write_checkpoint(kept)
    tail = rows(db)[11]
    sql(db, "DELETE FROM audit_events WHERE seq >= 12")
    sql(db, "DELETE FROM audit_checkpoints")
    sql(db, "UPDATE audit_head SET size = 12, last_hash = ? WHERE id = 1", tail[7])
    (audit.key_dir / WITNESS_NAME).unlink()
    assert audit.verify().ok  # nothing local is left to notice
    report = audit.verify(checkpoint=kept, public_key_pem=audit.public_key_pem())
    assert not report.ok and report.kinds == {TamperKind.TRUNCATED}


def test_forged_checkpoint_signature_is_detected(audit: AuditLog, db: RawDb, tmp_path: Path) -> None:
    fill(audit)
    cp = audit.checkpoint()
    forged = cp.model_copy(update={"root": "ab" * 32})
    path = tmp_path / "forged.json"
    forged.to_file(path)
    report = audit.verify(checkpoint=path)
    assert not report.ok and report.kinds == {TamperKind.BAD_SIGNATURE}


def test_checkpoint_file_roundtrip_and_public_key(audit: AuditLog, tmp_path: Path) -> None:
    fill(audit, 5)
    cp = audit.write_checkpoint(tmp_path / "cp.json")
    assert Checkpoint.from_file(tmp_path / "cp.json") == cp and cp.tree_size == 5
    assert audit.public_key_pem().startswith("-----BEGIN PUBLIC KEY-----")
    assert (audit.key_dir / "audit_ed25519.pem").stat().st_mode & 0o077 == 0
    report = audit.verify(checkpoint=tmp_path / "cp.json", public_key_pem=audit.public_key_pem())
    assert report.ok and report.unsealed == 0


def test_forget_keeps_verification(audit: AuditLog) -> None:
    fill(audit)
    erased = audit.forget("citizen-1")
    assert erased == 7
    report = audit.verify()
    assert report.ok and report.payloads_forgotten == 7 and report.payloads_present == 13
    events = audit.events(subject="turn-1")
    assert events[0].data is None and events[0].leaf_hash


def test_events_filters_and_export(audit: AuditLog) -> None:
    fill(audit, 6)
    audit.append("review.approved", "r-1", "turn-2", {"hold_id": "h-1"})
    assert [e.event for e in audit.events(subject="turn-2")] == ["turn.finalised", "review.approved"]
    assert len(audit.events(event="turn.finalised")) == 6
    assert audit.events(since=dt.date(2999, 1, 1)) == []
    jsonl = audit.export(dt.date(2000, 1, 1), "jsonl").splitlines()
    assert len(jsonl) == 7 and json.loads(jsonl[-1])["data"] == {"hold_id": "h-1"}
    csv_text = audit.export("2000-01-01", "csv")
    assert csv_text.splitlines()[0].startswith("seq,ts,event") and len(csv_text.splitlines()) == 8
    with pytest.raises(InvalidInput, match="'xml'"):
        audit.export(None, "xml")
    with pytest.raises(InvalidInput, match="not a date"):
        audit.events(since="yesterday")


def test_control_characters_in_leaf_fields_are_refused(audit: AuditLog) -> None:
    with pytest.raises(InvalidInput, match="control characters"):
        audit.append("turn.finalised", "a\x1fb", "turn-1", {})


def test_appends_from_threads_are_serialised(audit: AuditLog) -> None:
    def work(k: int) -> None:
        for i in range(15):
            audit.append("turn.finalised", f"t{k}", f"turn-{k}-{i}", {"i": i})

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    report = audit.verify()
    assert report.ok and report.tree_size == 60


CHILD = """
import sys
from pathlib import Path
from guardrails.audit import AuditLog
from kb.store import create_engine
log = AuditLog(create_engine(sys.argv[1]), Path(sys.argv[2]), checkpoint_every=8)
for i in range(20):
    log.append("turn.finalised", "p" + sys.argv[3], f"turn-p{sys.argv[3]}-{i}", {"i": i})
"""


def test_appends_from_processes_are_serialised(engine: Engine, db: RawDb, tmp_path: Path) -> None:
    """Several processes (API workers) append at once: no lost or duplicated events, the tree verifies."""
    upgrade(engine)
    procs = [subprocess.Popen([sys.executable, "-c", CHILD, db.url, str(tmp_path / "keys"), str(k)],
                              cwd=PROJECT_ROOT) for k in range(3)]
    assert [p.wait(60) for p in procs] == [0, 0, 0]
    report = AuditLog(engine, tmp_path / "keys").verify()
    assert report.ok and report.tree_size == 60 and report.newest_checkpoint == 56


def test_payload_pii_is_redacted_on_the_way_in(audit: AuditLog) -> None:
    audit.append("turn.finalised", "c", "turn-1", {"question": "身份证310117197506180713"})
    assert audit.events()[0].data == {"question": "身份证[身份证号]"}


def test_kb_event_sink_interface(audit: AuditLog) -> None:
    audit.record("knowledge.published", "system", "guide-x:2", {"content_hash": "abc"})
    assert audit.events(event="knowledge.published")[0].subject == "guide-x:2"
