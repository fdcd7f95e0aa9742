"""Reviewer-facing HTTP: a held answer's release as the citizen's chat sees it, the 线上人工帮办 desk (accept and
close hand-offs) and the review of disputed bad ratings (确认误评/驳回)."""

from __future__ import annotations

import pytest

from guardrails.review import REJECTED_MESSAGE
from tests.api.conftest import auth
from tests.api.test_api import assert_envelope

pytestmark = pytest.mark.integration


def held_turn(client) -> dict:
    turn = client.post("/api/v1/chat", json={"text": "居住证续签涉及信访吗"}).json()  # anonymous session
    assert turn["outcome"] == "held_for_review", turn
    return turn


def review_of(client, turn: dict, headers: dict | None = None) -> dict:
    resp = client.get(f"/api/v1/sessions/{turn['session_id']}/turns", headers=headers or {})
    assert resp.status_code == 200, resp.text
    return next(t for t in resp.json()["turns"] if t["id"] == turn["turn_id"])["review"]


def hold_id(client, tokens, turn: dict) -> str:
    held = client.get("/api/v1/review/held", params={"limit": 200}, headers=auth(tokens["reviewer"])).json()["items"]
    return next(h["id"] for h in held if h["turn_id"] == turn["turn_id"])


def test_session_turns_carry_the_released_text_of_a_held_answer(client, tokens):
    turn = held_turn(client)
    pending = review_of(client, turn)  # the anonymous browser polls its own session (cookie)
    assert pending == {"status": "pending", "text": None, "citations": [], "decided_at": None}

    edited_text = "居住证续签请携带身份证和居住登记凭证到社区事务受理服务中心办理。"
    hid = hold_id(client, tokens, turn)
    edited = client.post(f"/api/v1/review/held/{hid}/edit", json={"text": edited_text}, headers=auth(tokens["reviewer"]))
    assert edited.status_code == 200, edited.text
    released = review_of(client, turn)
    assert released["status"] == "edited" and released["text"] == edited_text and released["decided_at"]
    assert released["citations"] and {"item_id", "version"} == set(released["citations"][0])
    assert review_of(client, turn, auth(tokens["reviewer"]))["text"] == edited_text  # staff read it too

    other = client.get(f"/api/v1/sessions/{turn['session_id']}/turns").json()["turns"]
    assert all(t["review"] is None for t in other if t["id"] != turn["turn_id"])
    # only the browser holding the session reads it: a logged-in citizen is not that anonymous holder, and to them
    # the session does not exist
    assert_envelope(client.get(f"/api/v1/sessions/{turn['session_id']}/turns", headers=auth(tokens["citizen"])), 404)


def test_a_rejected_held_answer_reads_as_the_rejection_notice(client, tokens):
    turn = held_turn(client)
    hid = hold_id(client, tokens, turn)
    client.post(f"/api/v1/review/held/{hid}/reject", json={"reason": "涉及信访，转窗口"}, headers=auth(tokens["reviewer"]))
    review = review_of(client, turn)
    assert review["status"] == "rejected" and review["text"] == REJECTED_MESSAGE and review["citations"] == []
    assert "涉及信访，转窗口" not in str(review)  # the internal reason stays with staff


def test_handoff_accept_and_close_with_roles_and_audit(client, tokens):
    turn = client.post("/api/v1/chat", json={"text": "我要转人工"}).json()
    assert turn["outcome"] == "handed_off" and turn["handoff_id"], turn
    hid = turn["handoff_id"]
    reviewer, admin = auth(tokens["reviewer"]), auth(tokens["admin"])
    other = client.post("/api/v1/accounts", json={"name": "api-reviewer-handoff", "role": "reviewer"}, headers=admin)
    assert other.status_code == 201, other.text
    colleague = auth(other.json()["token"])

    assert_envelope(client.get("/api/v1/review/handoffs"), 401)
    for role in ("citizen", "owner"):
        assert_envelope(client.get("/api/v1/review/handoffs", headers=auth(tokens[role])), 403, "forbidden")
    listed = client.get("/api/v1/review/handoffs", params={"limit": 200}, headers=auth(tokens["auditor"])).json()["items"]
    mine = next(h for h in listed if h["id"] == hid)
    assert mine["status"] == "open" and mine["reason"] == "citizen_request" and mine["turn_id"] == turn["turn_id"]
    assert mine["conversation"][-1]["question"] == "我要转人工" and mine["accepted_by"] is None
    waiting = [h for h in listed if h["status"] == "open"]
    assert [h["queue_position"] for h in waiting] == list(range(1, len(waiting) + 1))  # queue order
    assert mine["ticket"].startswith("RG") and mine["ticket"] in turn["reply"]

    assert_envelope(client.post(f"/api/v1/review/handoffs/{hid}/accept", json={}, headers=auth(tokens["auditor"])), 403)
    accepted = client.post(f"/api/v1/review/handoffs/{hid}/accept", json={"note": "我来跟进"}, headers=reviewer)
    assert accepted.status_code == 200, accepted.text
    me = client.get("/api/v1/me", headers=reviewer).json()["account_id"]
    assert (accepted.json()["status"], accepted.json()["accepted_by"], accepted.json()["accept_note"]) == (
        "accepted", me, "我来跟进")
    assert_envelope(client.post(f"/api/v1/review/handoffs/{hid}/accept", json={}, headers=colleague), 409)

    close = f"/api/v1/review/handoffs/{hid}/close"
    assert_envelope(client.post(close, json={"note": "我替他结束"}, headers=colleague), 403, "forbidden")
    assert_envelope(client.post(close, json={"note": " "}, headers=reviewer), 422)
    assert_envelope(client.post(close, json={"note": "x" * 501}, headers=reviewer), 422, "invalid_request")
    closed = client.post(close, json={"note": "已在线解答居住证续签问题"}, headers=reviewer)
    assert closed.status_code == 200, closed.text
    assert (closed.json()["status"], closed.json()["closed_by"], closed.json()["close_note"]) == (
        "closed", me, "已在线解答居住证续签问题")
    assert_envelope(client.post(close, json={"note": "再次结束"}, headers=reviewer), 409)

    still_open = client.get("/api/v1/review/handoffs", params={"limit": 200}, headers=reviewer).json()["items"]
    assert hid not in {h["id"] for h in still_open}
    done = client.get("/api/v1/review/handoffs", params={"status": "closed", "limit": 200}, headers=reviewer).json()
    assert hid in {h["id"] for h in done["items"]}
    assert_envelope(client.get("/api/v1/review/handoffs", params={"status": "lost"}, headers=reviewer), 422)

    trace = client.get(f"/api/v1/audit/traces/{turn['turn_id']}", headers=auth(tokens["auditor"])).json()
    decisions = {e["event"]: e for e in trace["events"] if e["event"].startswith("handoff.")}
    assert set(decisions) == {"handoff.accepted", "handoff.closed"} and trace["verified"]
    assert decisions["handoff.closed"]["actor"] == me and decisions["handoff.closed"]["data"]["handoff_id"] == hid


def disputed_ticket(client, tokens, disputer: str) -> dict:
    """A bad rating of an anonymous answer, its ticket for sj-scjgj disputed by `disputer` (owner or admin)."""
    # (not the 简易注销 guide: the browser tests retire it in this shared container)
    turn = client.post("/api/v1/chat", json={"text": "营业执照上的经营范围要变更怎么办"}).json()
    assert turn["outcome"] == "answered" and turn["citations"], turn
    rating = {"target": "answer", "target_id": turn["turn_id"], "score": 1, "reasons": ["答非所问"],
              "session_id": turn["session_id"]}
    made = client.post("/api/v1/ratings", json=rating)
    assert made.status_code == 201, made.text
    tickets = client.get("/api/v1/tickets", params={"status": "open", "limit": 200}, headers=auth(tokens["admin"])).json()
    ticket = next(t for t in tickets["items"] if t["id"] in made.json()["tickets"] and t["unit"] == "sj-scjgj")
    disputed = client.post(f"/api/v1/tickets/{ticket['id']}/dispute", json={"kind": "误评", "reason": "答复与现行指南一致"},
                           headers=auth(tokens[disputer]))
    assert disputed.status_code == 200 and disputed.json()["status"] == "disputed", disputed.text
    return disputed.json()


def test_reviewer_confirms_a_dispute_but_never_their_own(client, tokens):
    ticket = disputed_ticket(client, tokens, "admin")
    admin_id = client.get("/api/v1/me", headers=auth(tokens["admin"])).json()["account_id"]
    assert ticket["disputed_by"] == admin_id and ticket["dispute_reason"] == "答复与现行指南一致"
    review = f"/api/v1/tickets/{ticket['id']}/dispute/review"
    for role in ("citizen", "owner", "auditor"):
        assert_envelope(client.post(review, json={"confirm": True}, headers=auth(tokens[role])), 403, "forbidden")
    same = assert_envelope(client.post(review, json={"confirm": True}, headers=auth(tokens["admin"])), 403, "forbidden")
    assert "raised this dispute" in same["error"]["message"]
    assert_envelope(client.post(review, json={"confirm": "maybe"}, headers=auth(tokens["reviewer"])), 422)

    listed = client.get("/api/v1/tickets", params={"status": "disputed", "limit": 200},
                        headers=auth(tokens["reviewer"])).json()["items"]
    assert ticket["id"] in {t["id"] for t in listed}
    done = client.post(review, json={"confirm": True, "note": "核实为误评"}, headers=auth(tokens["reviewer"]))
    assert done.status_code == 200, done.text
    reviewer_id = client.get("/api/v1/me", headers=auth(tokens["reviewer"])).json()["account_id"]
    assert (done.json()["status"], done.json()["reviewer"], done.json()["review_note"]) == (
        "dispute_confirmed", reviewer_id, "核实为误评")
    assert_envelope(client.post(review, json={"confirm": False}, headers=auth(tokens["reviewer"])), 409)


def test_rejected_dispute_goes_back_to_the_owner_unit(client, tokens):
    ticket = disputed_ticket(client, tokens, "owner")
    done = client.post(f"/api/v1/tickets/{ticket['id']}/dispute/review", json={"confirm": False, "note": "差评理由成立"},
                       headers=auth(tokens["reviewer"]))
    assert done.status_code == 200 and done.json()["status"] == "dispute_rejected", done.text
    seen = client.get("/api/v1/tickets", params={"status": "dispute_rejected", "limit": 200},
                      headers=auth(tokens["owner"])).json()["items"]
    assert ticket["id"] in {t["id"] for t in seen}  # the owner unit sees it again, to resolve
