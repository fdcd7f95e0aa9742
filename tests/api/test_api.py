"""HTTP API: auth, the error envelope, chat sessions, knowledge lifecycle, review, audit, ratings, accounts."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from tests.api.conftest import auth

pytestmark = pytest.mark.integration


def assert_envelope(resp, status: int, code: str | None = None) -> dict:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    assert body["error"]["message"]
    if code:
        assert body["error"]["code"] == code, body
    return body


def test_error_shape_for_every_kind_of_error(client, tokens):
    assert_envelope(client.get("/api/v1/no-such-route"), 404, "not_found")  # HTTPException
    assert_envelope(client.post("/api/v1/chat", json={}), 422, "invalid_request")  # validation
    assert_envelope(client.get("/api/v1/knowledge/items/no-such-item"), 404, "not_found")  # KbError
    assert_envelope(client.get("/api/v1/review/held/h-nope", headers=auth(tokens["reviewer"])), 404)  # GuardrailsError
    assert_envelope(client.get("/api/v1/matters/m-nope"), 404)  # AssistantError
    assert_envelope(client.get("/api/v1/audit/events", headers=auth(tokens["citizen"])), 403, "forbidden")
    assert_envelope(client.get("/api/v1/audit/events", headers={"Authorization": "Bearer qs_wrong"}), 401)
    assert_envelope(client.post("/api/v1/chat", content=b"x" * (65 * 1024),
                                headers={"Content-Type": "application/json"}), 413, "payload_too_large")
    assert_envelope(client.get("/api/v1/sessions/s-nope/turns", headers=auth(tokens["citizen"])), 404)


def test_unhandled_errors_are_500_in_the_envelope(api_container):
    app = create_app(api_container)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("boom")

    resp = TestClient(app, raise_server_exceptions=False).get("/boom")
    assert_envelope(resp, 500, "internal_error")
    assert "boom" not in resp.text  # no internals leak


def test_openapi_fields_are_described(client):
    schema = client.get("/openapi.json").json()
    missing = [f"{name}.{field}" for name, s in schema["components"]["schemas"].items()
               if name.endswith(("Public", "In", "Request", "Envelope", "Body")) and not name.startswith("Page")
               for field, prop in s.get("properties", {}).items() if not prop.get("description")]
    assert not missing, missing


def test_chat_session_belongs_to_its_owner(client, tokens):
    first = client.post("/api/v1/chat", json={"text": "居住证到期了怎么续签"}, headers=auth(tokens["citizen"]))
    assert first.status_code == 200, first.text
    turn = first.json()
    assert turn["outcome"] and turn["session_id"] and turn["turn_id"]
    sid = turn["session_id"]
    turns = client.get(f"/api/v1/sessions/{sid}/turns", headers=auth(tokens["citizen"]))
    assert turns.status_code == 200 and turns.json()["turns"][0]["id"] == turn["turn_id"]
    assert_envelope(client.get(f"/api/v1/sessions/{sid}/turns", headers=auth(tokens["owner"])), 403)
    assert_envelope(client.get(f"/api/v1/sessions/{sid}/turns"), 404)  # to a stranger it does not exist
    # nobody else may write into the citizen's session, anonymous callers included: the id they send is only a
    # name in their own scope, so they get a session of their own
    stranger = client.post("/api/v1/chat", json={"text": "你好", "session_id": sid})
    assert stranger.status_code == 200 and stranger.json()["session_id"] != sid
    assert_envelope(client.post("/api/v1/chat", json={"text": "你好", "session_id": sid},
                                headers=auth(tokens["reviewer"])), 403)  # staff do not chat as citizens
    assert len(client.get(f"/api/v1/sessions/{sid}/turns", headers=auth(tokens["citizen"])).json()["turns"]) == 1


def test_anonymous_citizen_can_chat_and_continue_and_search(client):
    a = client.post("/api/v1/chat", json={"text": "我想在松江开个小饭馆要办哪些手续"}).json()
    assert a["matter"] and a["choices"]
    b = client.post("/api/v1/chat", json={"text": a["choices"][0]["value"], "session_id": a["session_id"]})
    assert b.status_code == 200 and b.json()["session_id"] == a["session_id"]
    assert client.get("/api/v1/search", params={"q": "开饭店要什么证"}).status_code == 200


def test_matters_and_bundles_paginate(client):
    page = client.get("/api/v1/matters", params={"limit": 2, "offset": 1}).json()
    assert page["limit"] == 2 and page["offset"] == 1 and len(page["items"]) == 2 and page["total"] > 2
    bundle = client.get("/api/v1/bundles/b-open-shop").json()
    assert bundle["matters"][0] == "m-individual-business-reg"
    assert client.get(f"/api/v1/matters/{bundle['matters'][0]}").json()["fields"]
    assert_envelope(client.get("/api/v1/matters", params={"limit": 0}), 422)


def test_knowledge_draft_review_publish_with_unit_scope_and_four_eyes(client, tokens, api_container):
    owner, admin = auth(tokens["owner"]), auth(tokens["admin"])
    mine = client.get("/api/v1/knowledge/items", params={"mine": True, "limit": 200}, headers=owner).json()
    assert mine["items"] and {i["owner"] for i in mine["items"]} == {"sj-scjgj"}
    sections = [{"heading": h, "text": f"{h}：测试内容。"} for h in ("申请条件", "申请材料", "办理流程", "办理时限",
                                                                     "收费标准", "设定依据")]
    draft = {"id": "guide-api-test", "kind": "guide", "owner": "sj-scjgj", "level": "区", "audience": ["法人"],
             "title": "接口测试办理指南", "sections": sections, "effective_from": "2024-01-01", "change_note": "first"}
    assert_envelope(client.post("/api/v1/knowledge/drafts", json=draft | {"owner": "sj-mzj"}, headers=owner), 403)
    assert_envelope(client.post("/api/v1/knowledge/drafts", json=draft, headers=auth(tokens["citizen"])), 403)
    v1 = client.post("/api/v1/knowledge/drafts", json=draft, headers=owner)
    assert v1.status_code == 201, v1.text
    assert client.get("/api/v1/knowledge/items/guide-api-test/versions/1").status_code == 404  # drafts are private
    base = "/api/v1/knowledge/items/guide-api-test/versions/1"
    assert client.post(f"{base}/submit", json={"note": "请审核"}, headers=owner).json()["state"] == "in_review"
    assert_envelope(client.post(f"{base}/approve", json={}, headers=owner), 403)  # four-eyes: the author
    assert client.post(f"{base}/approve", json={}, headers=admin).json()["state"] == "approved"
    assert client.post(f"{base}/publish", json={}, headers=owner).json()["state"] == "published"
    assert_envelope(client.post(f"{base}/publish", json={}, headers=owner), 409)
    draft2 = draft | {"sections": [sections[0], {"heading": "申请材料", "text": "申请书2份。"}, *sections[2:]],
                      "change_note": "second"}
    client.post("/api/v1/knowledge/drafts", json=draft2, headers=owner)
    d = client.get("/api/v1/knowledge/items/guide-api-test/diff", params={"left": 1, "right": 2}, headers=owner).json()
    assert d["changed_sections"] == ["申请材料"]
    versions = client.get("/api/v1/knowledge/items/guide-api-test/versions", params={"limit": 1, "offset": 1},
                          headers=owner).json()
    assert versions["total"] == 2 and versions["items"][0]["number"] == 2
    assert client.get("/api/v1/knowledge/items/guide-api-test/versions").json()["total"] == 1  # v2 is a draft
    assert_envelope(client.post("/api/v1/knowledge/items/guide-api-test/retire", json={"reason": ""}, headers=owner), 422)
    done = client.post("/api/v1/knowledge/items/guide-api-test/retire", json={"reason": "测试结束"}, headers=owner).json()
    assert done["status"] == "retired" and done["retired_reason"] == "测试结束"
    assert api_container.guardrails.audit.latest("knowledge.submit_note", "guide-api-test:1") is not None


def test_held_answer_release_and_trace_verified(client, tokens):
    turn = client.post("/api/v1/chat", json={"text": "居住证续签涉及信访吗"}).json()
    assert turn["outcome"] == "held_for_review"
    reviewer = auth(tokens["reviewer"])
    held = client.get("/api/v1/review/held", headers=reviewer).json()["items"]
    hold = next(h for h in held if h["turn_id"] == turn["turn_id"])
    assert_envelope(client.post(f"/api/v1/review/held/{hold['id']}/approve", headers=auth(tokens["auditor"])), 403)
    assert_envelope(client.post(f"/api/v1/review/held/{hold['id']}/approve", headers=auth(tokens["owner"])), 403)
    released = client.post(f"/api/v1/review/held/{hold['id']}/approve", headers=reviewer).json()
    assert released["status"] == "approved" and released["final_text"]
    assert_envelope(client.post(f"/api/v1/review/held/{hold['id']}/reject", json={"reason": "x"}, headers=reviewer), 409)
    auditor = auth(tokens["auditor"])
    trace = client.get(f"/api/v1/audit/traces/{turn['turn_id']}", headers=auditor).json()
    assert trace["verified"] and trace["receipt"]["verified"]
    assert {"turn.finalised", "review.approved"} <= {e["event"] for e in trace["events"]}
    assert_envelope(client.get(f"/api/v1/audit/traces/{turn['turn_id']}", headers=reviewer), 403)
    assert client.post("/api/v1/audit/verify", headers=auditor).json()["ok"]
    seq = trace["receipt"]["leaf_index"]
    assert client.get(f"/api/v1/audit/receipts/{seq}", headers=auditor).json()["verified"]
    export = client.get("/api/v1/audit/export", params={"fmt": "csv", "since": dt.date.today().isoformat()},
                        headers=auditor)
    assert export.status_code == 200 and export.text.startswith("seq,")


def test_ratings_and_tickets(client, tokens):
    turn = client.post("/api/v1/chat", json={"text": "居住证到期了怎么续签"}, headers=auth(tokens["citizen"])).json()
    rating = {"target": "answer", "target_id": turn["turn_id"], "score": 1, "reasons": ["信息过时"],
              "session_id": turn["session_id"]}
    assert_envelope(client.post("/api/v1/ratings", json=rating), 403)  # not the anonymous caller's session
    made = client.post("/api/v1/ratings", json=rating, headers=auth(tokens["citizen"]))
    assert made.status_code == 201, made.text
    assert_envelope(client.post("/api/v1/ratings", json=rating, headers=auth(tokens["citizen"])), 422)
    all_tickets = client.get("/api/v1/tickets", headers=auth(tokens["admin"])).json()
    assert set(made.json()["tickets"]) <= {t["id"] for t in all_tickets["items"]}
    assert_envelope(client.get("/api/v1/tickets", headers=auth(tokens["citizen"])), 403)


def test_bad_rating_reaches_the_owner_unit_in_the_same_request_cycle(client, tokens, api_container):
    """好差评闭环: a bad rating through the API opens a ticket the cited item's owner unit sees at once."""
    turn = client.post("/api/v1/chat", json={"text": "公司不做了能走简易注销吗"}).json()  # anonymous session
    store = api_container.kb.store
    owned = [c for c in turn["citations"] if store.get_item(c["item_id"]).owner == "sj-scjgj"]
    assert turn["outcome"] == "answered" and owned, turn
    rating = {"target": "answer", "target_id": turn["turn_id"], "score": 2, "reasons": ["流程繁琐", "其他"],
              "comment": "步骤太多，联系电话13800001234", "session_id": turn["session_id"]}
    made = client.post("/api/v1/ratings", json=rating)  # anonymous caller holding its session id
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["tickets"] and "sj-scjgj" in body["units"] and len(body["unit_names"]) == len(body["units"])
    seen = client.get("/api/v1/tickets", params={"limit": 200}, headers=auth(tokens["owner"])).json()["items"]
    mine = [t for t in seen if t["id"] in body["tickets"]]
    assert len(mine) == 1 and mine[0]["unit"] == "sj-scjgj" and mine[0]["status"] == "open", seen
    assert mine[0]["reasons"] == ["流程繁琐", "其他"] and mine[0]["overdue"] is False
    assert f"{owned[0]['item_id']}@{owned[0]['version']}" in mine[0]["cited"]
    assert all(t["unit"] == "sj-scjgj" for t in seen)  # owners see only their unit's tickets
    # the owner disputes it; a second dispute is refused (the ticket is no longer open)
    ticket = mine[0]["id"]
    disputed = client.post(f"/api/v1/tickets/{ticket}/dispute", json={"kind": "误评", "reason": "答复与办事指南一致，无需整改"},
                           headers=auth(tokens["owner"]))
    assert disputed.status_code == 200 and disputed.json()["status"] == "disputed", disputed.text
    assert_envelope(client.post(f"/api/v1/tickets/{ticket}/resolve", json={"item_id": owned[0]["item_id"], "version": 1},
                                headers=auth(tokens["citizen"])), 403)


def test_accounts_admin_only(client, tokens):
    assert_envelope(client.post("/api/v1/accounts", json={"name": "x1", "role": "reviewer"},
                                headers=auth(tokens["owner"])), 403)
    new = client.post("/api/v1/accounts", json={"name": "api-reviewer-2", "role": "reviewer"},
                      headers=auth(tokens["admin"])).json()
    assert new["token"].startswith("qs_")
    assert client.get("/api/v1/me", headers=auth(new["token"])).json()["role"] == "reviewer"
    client.post(f"/api/v1/accounts/{new['account']['id']}/revoke", headers=auth(tokens["admin"]))
    assert_envelope(client.get("/api/v1/me", headers=auth(new["token"])), 401)
    listed = client.get("/api/v1/accounts", params={"limit": 100}, headers=auth(tokens["auditor"])).json()
    assert any(a["name"] == "api-reviewer-2" and not a["active"] for a in listed["items"])


def test_enterprise_policies(client, tokens):
    assert_envelope(client.get("/api/v1/enterprises/e-demo-xiaochi/policies", headers=auth(tokens["citizen"])), 403)
    got = client.get("/api/v1/enterprises/e-demo-xiaochi/policies", headers=auth(tokens["reviewer"]))
    assert got.status_code == 200 and "policies" in got.json()


def test_logged_in_enterprise_asks_which_policies_it_can_enjoy(client, tokens):
    made = client.post("/api/v1/accounts", json={"name": "api-enterprise-catering", "role": "citizen",
                                                 "profile_id": "e-demo-catering"}, headers=auth(tokens["admin"]))
    assert made.status_code == 201, made.text
    turn = client.post("/api/v1/chat", json={"text": "我们公司能享受哪些政策？"},
                       headers=auth(made.json()["token"])).json()
    assert turn["outcome"] == "answered", turn
    expected = client.get("/api/v1/enterprises/e-demo-catering/policies", headers=auth(tokens["reviewer"])).json()
    eligible = [(p["policy_id"], p["version"]) for p in expected["policies"] if p["verdict"] == "eligible"]
    assert eligible and [(c["item_id"], c["version"]) for c in turn["citations"]][:len(eligible)] == eligible
    assert all(f"{pid} 第{v}版" in turn["reply"] for pid, v in eligible)


def test_demo_accounts_are_stable_and_private(api_container, tokens):
    from api.demo import DEMO_FILE, seed_demo_accounts

    again = {role: token for role, _n, token in seed_demo_accounts(api_container)}
    assert again == tokens and set(tokens) == {"citizen", "owner", "reviewer", "auditor", "admin"}
    path = api_container.settings.home / DEMO_FILE
    assert path.stat().st_mode & 0o777 == 0o600
    citizen = api_container.guardrails.accounts.authenticate(tokens["citizen"])
    assert citizen is not None and citizen.profile_id == "c-test-zhangsan"


def test_web_pages_are_served(client):
    for path in ("/", "/owner", "/review", "/audit", "/k/guide-residence-permit-renew/1"):
        page = client.get(path)
        assert page.status_code == 200 and "轻松办" in page.text
    assert client.get("/static/app.js").status_code == 200


def test_tag_edit_over_http_is_a_draft_and_the_owner_inbox_shows_drafts_rejections_and_due(client, tokens):
    owner, reviewer, citizen = auth(tokens["owner"]), auth(tokens["admin"]), auth(tokens["citizen"])
    mine = client.get("/api/v1/knowledge/items", params={"mine": True, "status": "published", "limit": 200},
                      headers=owner).json()["items"]
    item = next(i for i in mine if i["pending_version"] is None)
    live = client.get(f"/api/v1/knowledge/items/{item['id']}").json()
    assert_envelope(client.post(f"/api/v1/knowledge/items/{item['id']}/tags", json={"add": ["接口标签"]},
                                headers=citizen), 403)
    v = client.post(f"/api/v1/knowledge/items/{item['id']}/tags", json={"add": ["接口标签"]}, headers=owner)
    assert v.status_code == 201, v.text
    number = v.json()["number"]
    assert v.json()["state"] == "draft" and "接口标签" in v.json()["meta"]["tags"]
    assert client.get(f"/api/v1/knowledge/items/{item['id']}").json()["current_version"] == live["current_version"]
    hits = client.get("/api/v1/search", params={"q": item["title"], "top_k": 10}).json()
    assert {h["version"] for h in hits if h["item_id"] == item["id"]} <= {live["current_version"]}  # cited: live
    box = client.get("/api/v1/knowledge/inbox", headers=owner).json()
    assert box["units"] == ["sj-scjgj"] and (item["id"], number) in {(d["item_id"], d["number"]) for d in box["drafts"]}
    assert all(d["item_id"] for d in box["due"]) and isinstance(box["due"], list)
    base = f"/api/v1/knowledge/items/{item['id']}/versions/{number}"
    client.post(f"{base}/submit", json={}, headers=owner)
    assert client.post(f"{base}/reject", json={"note": "标签不准确"}, headers=reviewer).status_code == 200
    box = client.get("/api/v1/knowledge/inbox", headers=owner).json()
    sent_back = next(r for r in box["rejected"] if r["item_id"] == item["id"])
    assert sent_back["review_note"] == "标签不准确" and item["id"] not in {d["item_id"] for d in box["drafts"]}
    assert_envelope(client.get("/api/v1/knowledge/inbox"), 401)
