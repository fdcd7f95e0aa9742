"""Sessions that survive and cannot be hijacked, real-name before submission, 我的办件 and 消息.

Each "browser" is its own TestClient (its own cookie jar) on the one API container."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.container import Container
from api.deps import VISITOR_COOKIE
from tests.api.conftest import auth
from tests.api.test_api import assert_envelope

pytestmark = pytest.mark.integration
MEDICAL = ["我要办城乡居民医保参保登记", "未就业的成年居民", "王小明", "110101199003074514", "13800001234",
           "上海市松江区中山街道1号", "银行卡代扣"]  # reaches the confirmation screen of a 5-field matter
SERVER_ID = re.compile(r"^s-[A-Za-z0-9_-]{32}$")


@pytest.fixture
def browser(api_container: Container) -> Iterator[Callable[[], TestClient]]:
    """A fresh browser: its own cookie jar, nothing stored yet."""
    made: list[TestClient] = []

    def _new() -> TestClient:
        made.append(TestClient(create_app(api_container), raise_server_exceptions=False))
        return made[-1]

    yield _new
    for c in made:
        c.close()


def chat(client: TestClient, text: str, session_id: str | None = None, token: str | None = None,
         **extra: object) -> dict:
    resp = client.post("/api/v1/chat", json={"text": text, "session_id": session_id, **extra},
                       headers=auth(token) if token else {})
    assert resp.status_code == 200, resp.text
    return resp.json()


def fill_form(client: TestClient, token: str | None = None) -> dict:
    sid = None
    for text in MEDICAL:
        turn = chat(client, text, sid, token)
        sid = turn["session_id"]
    assert turn["outcome"] == "awaiting_confirmation", turn["reply"]
    return turn


# -- ids are the server's -------------------------------------------------------------------------------
def test_session_ids_are_issued_by_the_server_and_unguessable(browser):
    a, b = chat(browser(), "你好"), chat(browser(), "你好")
    assert SERVER_ID.match(a["session_id"]) and SERVER_ID.match(b["session_id"]) and a["session_id"] != b["session_id"]


def test_a_client_label_is_scoped_to_its_caller(browser, tokens):
    wang, stranger = browser(), browser()
    first = chat(wang, "居住证到期了怎么续签", "wang.fang")
    sid = first["session_id"]
    assert SERVER_ID.match(sid)  # the label names a server-issued session, it is not the id
    assert chat(wang, "需要什么材料", "wang.fang")["session_id"] == sid  # same browser, same label: continues
    theirs = chat(stranger, "你好", "wang.fang")["session_id"]
    assert theirs != sid  # another anonymous caller with the same label gets a session of their own
    assert chat(stranger, "你好", sid)["session_id"] not in (sid, theirs)  # even sending the real id
    assert_envelope(stranger.get(f"/api/v1/sessions/{sid}/turns"), 404)
    assert stranger.get("/api/v1/sessions/current", params={"session_id": sid}).json()["session_id"] != sid
    mine = chat(browser(), "你好", "wang.fang", tokens["citizen"])["session_id"]  # a logged-in label: its own scope
    assert mine not in (sid, theirs)
    questions = [t["question"] for t in wang.get(f"/api/v1/sessions/{sid}/turns").json()["turns"]]
    assert questions == ["居住证到期了怎么续签", "需要什么材料"]  # nobody else wrote into it


def test_openai_user_field_is_a_label_not_someone_elses_session(browser):
    body = {"model": "qingsong-assistant", "user": "wang.fang", "messages": [{"role": "user", "content": "居住证怎么续签"}]}
    one, two = browser(), browser()
    a = one.post("/v1/chat/completions", json=body).json()["qingsong"]["session_id"]
    again = one.post("/v1/chat/completions", json=body).json()["qingsong"]["session_id"]
    b = two.post("/v1/chat/completions", json=body).json()["qingsong"]["session_id"]
    assert a == again and b != a and SERVER_ID.match(a) and SERVER_ID.match(b)


@pytest.mark.parametrize("bad", ["../../etc", "a/b", "x y", ".hidden", "a..b", "s-1\n", "x" * 65])
def test_malformed_session_ids_are_refused_in_chinese(browser, bad):
    client = browser()
    body = assert_envelope(client.post("/api/v1/chat", json={"text": "你好", "session_id": bad}), 422,
                           "invalid_session_id")
    assert "会话编号" in body["error"]["message"] and "格式不正确" in body["error"]["message"]
    resp = client.post("/v1/chat/completions", json={"user": bad, "messages": [{"role": "user", "content": "你好"}]})
    assert_envelope(resp, 422, "invalid_session_id")
    assert_envelope(client.get("/api/v1/sessions/current", params={"session_id": bad}), 422, "invalid_session_id")


def test_anonymous_sessions_are_bound_to_an_httponly_cookie(browser, tokens):
    client = browser()
    resp = client.post("/api/v1/chat", json={"text": "你好"})
    cookie = resp.headers["set-cookie"]
    assert cookie.startswith(f"{VISITOR_COOKIE}=") and "HttpOnly" in cookie and "SameSite=lax" in cookie
    sid = resp.json()["session_id"]
    assert len(client.get(f"/api/v1/sessions/{sid}/turns").json()["turns"]) == 1
    thief = browser()  # the id alone, without the cookie, holds nothing
    assert_envelope(thief.get(f"/api/v1/sessions/{sid}/turns"), 404)
    assert "set-cookie" not in browser().post("/api/v1/chat", json={"text": "你好"},
                                              headers=auth(tokens["citizen"])).headers  # token callers need none


# -- the page survives a reload -------------------------------------------------------------------------
def test_reload_restores_the_form_and_a_stale_page_cannot_confirm(browser, api_container):
    client = browser()
    turn = fill_form(client)
    sid = turn["session_id"]
    restored = client.get("/api/v1/sessions/current").json()  # a reload that lost its session id: the latest one
    assert restored["session_id"] == sid and restored["phase"] == "confirm"
    last = restored["turns"][-1]
    assert last["id"] == turn["turn_id"] and last["result"]["outcome"] == "awaiting_confirmation"
    assert {s["label"] for s in last["result"]["slots"]} >= {"申请人（监护人）姓名", "缴费方式"}
    assert restored == client.get("/api/v1/sessions/current", params={"session_id": sid}).json()
    earlier = restored["turns"][-2]["id"]
    before = len(api_container.guardrails.applications.list())
    resp = client.post("/api/v1/chat", json={"text": "确认提交", "session_id": sid, "seen_turn_id": earlier})
    body = assert_envelope(resp, 409, "stale_session")
    assert "刷新页面" in body["error"]["message"]
    resp = client.post("/api/v1/chat", json={"text": "确认提交", "session_id": sid, "seen_turn_id": None})
    assert_envelope(resp, 409, "stale_session")  # a page showing nothing cannot confirm either
    assert len(api_container.guardrails.applications.list()) == before
    assert browser().get("/api/v1/sessions/current").json()["session_id"] is None  # a new browser has none


# -- real-name before submission, the form carried over -------------------------------------------------
def test_anonymous_must_log_in_to_submit_and_the_form_carries_over(browser, tokens, api_container):
    client = browser()
    turn = fill_form(client)
    sid = turn["session_id"]
    refused = chat(client, "确认提交", sid, seen_turn_id=turn["turn_id"])
    assert refused["login_required"] and refused["outcome"] == "awaiting_confirmation" and refused["application"] is None
    assert "实名登录" in refused["reply"]
    assert not [a for a in api_container.guardrails.applications.list() if a.session_id == sid]
    # logging in on the same browser: the session (and its form) becomes the citizen's
    restored = client.get("/api/v1/sessions/current", params={"session_id": sid},
                          headers=auth(tokens["citizen"])).json()
    assert restored["session_id"] == sid and restored["phase"] == "confirm"
    assert_envelope(client.get(f"/api/v1/sessions/{sid}/turns"), 404)  # no longer the anonymous browser's
    assert api_container.guardrails.audit.latest("session.claimed", sid) is not None  # the take-over is audited
    done = chat(client, "确认提交", sid, tokens["citizen"], seen_turn_id=restored["turns"][-1]["id"])
    assert done["outcome"] == "submitted" and done["application"]["id"], done["reply"]
    app = api_container.guardrails.applications.get(done["application"]["id"])
    me = client.get("/api/v1/me", headers=auth(tokens["citizen"])).json()
    assert app.citizen == me["account_id"] and app.fields["name"] == "王小明"
    # another browser cannot claim it by knowing the id
    other = browser()
    chat(other, "你好", token=tokens["citizen"])
    assert chat(browser(), "确认提交", sid)["session_id"] != sid


# -- 我的办件 and 消息 ---------------------------------------------------------------------------------------
@pytest.fixture
def second_citizen(api_container: Container) -> str:
    import secrets

    return api_container.guardrails.accounts.add(f"citizen-{secrets.token_hex(3)}", "citizen", (), None,
                                                 created_by="system").token


def submitted(client: TestClient, token: str) -> dict:
    turn = fill_form(client, token)
    done = chat(client, "确认提交", turn["session_id"], token, seen_turn_id=turn["turn_id"])
    assert done["outcome"] == "submitted", done["reply"]
    return done


def test_my_applications_timeline_fields_and_inbox(browser, tokens, second_citizen, api_container):
    client = browser()
    done = submitted(client, second_citizen)
    app_id = done["application"]["id"]
    me = auth(second_citizen)
    page = client.get("/api/v1/me/applications", headers=me).json()
    assert page["total"] == 1 and page["items"][0]["id"] == app_id
    assert page["items"][0]["matter_name"] == "城乡居民基本医疗保险参保登记"
    detail = client.get(f"/api/v1/me/applications/{app_id}", headers=me).json()
    assert [s["label"] for s in detail["timeline"]][:2] == ["已提交", "已受理"]
    labels = {f["label"]: f for f in detail["fields"]}
    assert labels["申请人（监护人）姓名"]["value"] == "王小明" and "对话" in labels["缴费方式"]["source"]
    assert not {"name", "id_number", "mobile"} & set(labels)  # Chinese labels, never the keys
    # staff: approve needs review; this matter goes straight to the department, so a reviewer-reviewed one is
    # made by returning an application that awaits review
    gate = api_container.guardrails.applications
    if detail["status"] == "submitted":
        assert detail["status_label"].startswith("已受理")
    chat_status = chat(client, "帮我查一下申请进度", token=second_citizen)
    assert app_id in chat_status["reply"] and "我的办件" in chat_status["reply"]
    assert "submitted" not in chat_status["reply"]
    # nobody else reads it
    assert_envelope(client.get(f"/api/v1/me/applications/{app_id}", headers=auth(tokens["citizen"])), 404)
    assert app_id not in {a["id"] for a in client.get("/api/v1/me/applications",
                                                      headers=auth(tokens["citizen"])).json()["items"]}
    assert_envelope(browser().get("/api/v1/me/applications"), 401)
    assert_envelope(browser().get("/api/v1/me/messages"), 401)
    assert gate.get(app_id).citizen != "anonymous"


def test_staff_decisions_reach_the_citizen_timeline_and_inbox(browser, tokens, second_citizen, api_container):
    """退回补正 with a note, then 办结 on a resubmission; each in the timeline and the inbox."""
    client = browser()
    me = auth(second_citizen)
    gate = api_container.guardrails.applications
    citizen_id = client.get("/api/v1/me", headers=me).json()["account_id"]
    from guardrails.roles import Principal, Role

    staff_app = gate.create("s-test", "m-resident-medical-insurance",
                            Principal(account_id=citizen_id, role=Role.CITIZEN), {"name": "王小明"}, True,
                            sources={"name": {"label": "申请人（监护人）姓名", "source": "您在第3轮对话中提供", "kind": "turn"}})
    detail = client.get(f"/api/v1/me/applications/{staff_app.id}", headers=me).json()
    assert detail["status_label"] == "审核中" and [s["state"] for s in detail["timeline"]] == ["done", "done", "current", "todo"]
    resp = client.post(f"/api/v1/review/applications/{staff_app.id}/return", json={"reason": "请补充户口簿首页照片"},
                       headers=auth(tokens["reviewer"]))
    assert resp.status_code == 200, resp.text
    detail = client.get(f"/api/v1/me/applications/{staff_app.id}", headers=me).json()
    assert detail["status_label"] == "退回补正" and detail["timeline"][-1]["label"] == "退回补正"
    assert detail["timeline"][-1]["note"] == "请补充户口簿首页照片" and detail["notes"][0]["note"] == "请补充户口簿首页照片"
    inbox = client.get("/api/v1/me/messages", headers=me).json()
    assert inbox["unread"] >= 1 and "退回补正" in inbox["items"][0]["title"] and "户口簿" in inbox["items"][0]["body"]
    assert client.post("/api/v1/me/messages/read", headers=me).json()["unread"] == 0
    assert not [m for m in client.get("/api/v1/me/messages", headers=auth(tokens["citizen"])).json()["items"]
                if m["application_id"] == staff_app.id]  # another citizen's inbox does not get it
    again = gate.create("s-test", "m-resident-medical-insurance", Principal(account_id=citizen_id, role=Role.CITIZEN),
                        {"name": "王小明"}, True)
    resp = client.post(f"/api/v1/review/applications/{again.id}/approve", headers=auth(tokens["reviewer"]))
    assert resp.status_code == 200
    detail = client.get(f"/api/v1/me/applications/{again.id}", headers=me).json()
    assert detail["status_label"] == "办结" and all(s["state"] == "done" for s in detail["timeline"])
    refused = gate.create("s-test", "m-resident-medical-insurance", Principal(account_id=citizen_id, role=Role.CITIZEN),
                          {"name": "王小明"}, True)
    resp = client.post(f"/api/v1/review/applications/{refused.id}/reject", json={"reason": "不属于本市参保范围"},
                       headers=auth(tokens["reviewer"]))
    assert resp.status_code == 200
    assert_envelope(client.post(f"/api/v1/review/applications/{refused.id}/reject", json={"reason": "x"},
                                headers=me), 403)
    detail = client.get(f"/api/v1/me/applications/{refused.id}", headers=me).json()
    assert detail["timeline"][-1] == {**detail["timeline"][-1], "label": "不予受理", "note": "不属于本市参保范围"}
    status = chat(client, "审到哪一步了", token=second_citizen)["reply"]
    assert "退回补正" in status and "办结" in status and "不予受理" in status


def test_an_anonymous_browser_cannot_submit_even_past_the_dialogue(api_container):
    from guardrails.errors import Forbidden
    from guardrails.roles import Principal, Role

    with pytest.raises(Forbidden):
        api_container.guardrails.applications.create(
            "s-x", "m-resident-medical-insurance", Principal(account_id="visitor:abc", role=Role.CITIZEN), {}, False)


def test_a_handoff_closing_note_reaches_the_citizens_inbox(browser, tokens, second_citizen):
    client = browser()
    turn = chat(client, "转人工", token=second_citizen)
    assert turn["outcome"] == "handed_off" and turn["handoff_id"], turn["reply"]
    reviewer = auth(tokens["reviewer"])
    hid = turn["handoff_id"]
    assert client.post(f"/api/v1/review/handoffs/{hid}/accept", json={}, headers=reviewer).status_code == 200
    assert client.post(f"/api/v1/review/handoffs/{hid}/close", json={"note": "已电话联系您，材料可在线补交"},
                       headers=reviewer).status_code == 200
    inbox = client.get("/api/v1/me/messages", headers=auth(second_citizen)).json()
    assert inbox["items"][0]["kind"] == "handoff" and "材料可在线补交" in inbox["items"][0]["body"]
    assert not [m for m in client.get("/api/v1/me/messages", headers=auth(tokens["citizen"])).json()["items"]
                if "材料可在线补交" in m["body"]]
