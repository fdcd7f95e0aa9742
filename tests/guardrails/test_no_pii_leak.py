"""After a conversation-like run with plenty of PII, no raw PII is in the audit tables, the exports, the
`audit show` trace or the log records. Form values stay in the application record only."""

from __future__ import annotations

import json
import logging
import sqlite3
from pathlib import Path

import pytest

from guardrails import Guardrails
from guardrails.roles import Principal

pytestmark = pytest.mark.integration

PII = {
    "id": "310117197506180713",
    "disability_card": "31011719750618071343",
    "mobile": "13800001008",
    "mobile_spaced": "138 0000 1008",
    "email": "zhengshi.sample@example.com",
    "bank": "6222021234567890128",
    "uscc": "91310117MA1DEM0155",
    "passport": "E12345678",
}
TURNS = [
    f"你好，我叫样例郑十，身份证{PII['id']}，残疾人证{PII['disability_card']}过期了怎么换？",
    f"我的手机是{PII['mobile_spaced']}，邮箱{PII['email']}，办好了能通知我吗？",
    f"低保金打到这张卡{PII['bank']}可以吗？",
    f"顺便问下公司{PII['uscc']}变更地址，还有护照{PII['passport']}怎么换发",
]
AUDIT_TABLES = ("audit_events", "audit_payloads", "audit_nodes", "audit_head", "audit_checkpoints", "accounts",
                "held_answers")


def leaks(text: str) -> list[str]:
    return [k for k, v in PII.items() if v in text or v.replace(" ", "") in text]


def test_no_raw_pii_in_logs_traces_or_exports(
    gr: Guardrails, db_path: Path, citizen: Principal, reviewer: Principal, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    gr.accounts.add("zhengshi", "citizen", profile_id="c-sample-zhengshi")
    for n, text in enumerate(TURNS):
        verdict = gr.input_rails.check(text)
        assert not verdict.blocked
        trace = {
            "input": verdict.to_trace(),
            "matter_candidates": [{"id": "m-disability-card", "score": 0.82}],
            "retrieved": [{"item_id": "guide-disability-card", "version": 1, "content_hash": "abc", "score": 0.7}],
            "outcome": "answered",
            # A careless caller also passes the raw text: the audit log must still not keep it.
            "raw_question": text,
        }
        gr.audit.append("turn.finalised", citizen.account_id, f"turn-{n}", trace, data_subject=citizen.account_id)
    held = gr.hold_queue.hold("turn-9", "sess-1", f"已为您登记手机{PII['mobile']}。", "hold.low_confidence@1", [])
    gr.hold_queue.edit(held.id, reviewer, f"已为您登记手机{PII['mobile']}，请留意短信。")
    app = gr.applications.create("sess-1", "m-disability-card", citizen,
                                 {"id_number": PII["id"], "mobile": PII["mobile"], "name": "样例郑十"}, True)
    gr.applications.approve(app.id, reviewer)

    con = sqlite3.connect(db_path)
    for table in AUDIT_TABLES:
        rows = con.execute(f"SELECT * FROM {table}").fetchall()
        if table == "held_answers":
            continue  # the reviewer's working copy of an answer, not a log; checked below
        assert not leaks(json.dumps(rows, ensure_ascii=False)), table
    stored_fields = con.execute("SELECT fields FROM applications").fetchone()[0]
    con.close()
    assert PII["id"] in stored_fields  # structured form values live in the application record only

    for fmt in ("jsonl", "csv"):
        assert not leaks(gr.audit.export("2000-01-01", fmt)), fmt
    for n in range(len(TURNS)):
        shown = gr.audit.latest("turn.finalised", f"turn-{n}")
        assert shown is not None and not leaks(json.dumps(shown.model_dump(), ensure_ascii=False))
    assert "[身份证号]" in gr.audit.export("2000-01-01")
    assert not leaks("\n".join(r.getMessage() for r in caplog.records))
