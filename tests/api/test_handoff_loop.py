"""Hand-offs that answer back: a ticket number and place in the queue in the reply, one ticket per waiting session,
emergencies first, and the staff's accept and reply reaching the citizen's 消息 inbox."""

from __future__ import annotations

import pytest

from tests.api.conftest import auth
from tests.api.test_api import assert_envelope

pytestmark = pytest.mark.integration


def say(client, text: str, session_id: str | None = None, token: str | None = None) -> dict:
    resp = client.post("/api/v1/chat", json={"text": text, "session_id": session_id},
                       headers=auth(token) if token else {})
    assert resp.status_code == 200, resp.text
    return resp.json()


def queue(client, tokens) -> list[dict]:
    resp = client.get("/api/v1/review/handoffs", params={"limit": 200}, headers=auth(tokens["reviewer"]))
    assert resp.status_code == 200, resp.text
    return resp.json()["items"]


def test_handoff_reply_reaches_the_citizen_inbox_with_its_ticket(client, tokens):
    turn = say(client, "我要转人工", token=tokens["citizen"])
    assert turn["outcome"] == "handed_off" and "工单号：RG" in turn["reply"] and "等候" in turn["reply"]
    mine = next(h for h in queue(client, tokens) if h["id"] == turn["handoff_id"])
    assert mine["ticket"] in turn["reply"] and mine["queue_position"] >= 1 and mine["emergency"] is False

    accepted = client.post(f"/api/v1/review/handoffs/{mine['id']}/accept", json={"note": "马上为您查询"},
                           headers=auth(tokens["reviewer"]))
    assert accepted.status_code == 200 and accepted.json()["queue_position"] is None
    closed = client.post(f"/api/v1/review/handoffs/{mine['id']}/close", json={"note": "已电话联系，材料齐全可直接办理"},
                         headers=auth(tokens["reviewer"]))
    assert closed.status_code == 200, closed.text

    inbox = client.get("/api/v1/me/messages", headers=auth(tokens["citizen"])).json()["items"]
    bodies = [m["title"] + m["body"] for m in inbox]
    assert any("已接手" in b and mine["ticket"] in b and "马上为您查询" in b for b in bodies)
    assert any("人工帮办回复" in b and mine["ticket"] in b and "材料齐全可直接办理" in b for b in bodies)


def test_asking_again_in_one_session_keeps_one_ticket(client, tokens):
    first = say(client, "我要转人工")
    again = say(client, "人工客服在吗，转人工", first["session_id"])
    assert again["outcome"] == "handed_off" and again["handoff_id"] == first["handoff_id"]
    waiting = [h for h in queue(client, tokens) if h["session_id"] == first["session_id"]]
    assert len(waiting) == 1 and waiting[0]["conversation"][-1]["question"] == "人工客服在吗，转人工"

    other = say(client, "我要转人工")  # another browser is another ticket
    assert other["handoff_id"] != first["handoff_id"]


def test_an_emergency_is_flagged_and_first_in_the_queue(client, tokens):
    ordinary = say(client, "我要转人工")
    emergency = say(client, "阿拉屋里厢着火了！！")
    assert emergency["outcome"] == "handed_off" and "119" in emergency["reply"]
    assert "工单号" in emergency["reply"] and "紧急求助已优先处理" in emergency["reply"]
    listed = queue(client, tokens)
    assert listed[0]["emergency"] is True and listed[0]["queue_position"] == 1
    assert next(h for h in listed if h["id"] == emergency["handoff_id"])["emergency"] is True
    assert next(h for h in listed if h["id"] == ordinary["handoff_id"])["queue_position"] > 1
    # an emergency in a session already waiting is its own ticket, not merged into the ordinary one
    urgent = say(client, "阿拉屋里厢着火了！！", ordinary["session_id"])
    assert urgent["outcome"] == "handed_off" and urgent["handoff_id"] != ordinary["handoff_id"]


def test_citizens_cannot_read_or_take_the_queue(client, tokens):
    turn = say(client, "我要转人工")
    for role in ("citizen", "owner"):
        assert_envelope(client.get("/api/v1/review/handoffs", headers=auth(tokens[role])), 403, "forbidden")
        assert_envelope(client.post(f"/api/v1/review/handoffs/{turn['handoff_id']}/accept", json={},
                                    headers=auth(tokens[role])), 403)
    assert_envelope(client.get("/api/v1/review/handoffs"), 401)
