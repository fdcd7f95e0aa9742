"""The official `openai` client talks to a real uvicorn server: plain and streamed chat, models, sessions."""

from __future__ import annotations

import httpx
import pytest

openai = pytest.importorskip("openai")

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def oai(live_server):
    return openai.OpenAI(base_url=f"{live_server.url}/v1", api_key="anything", max_retries=0, timeout=30)


def test_models(oai):
    assert [m.id for m in oai.models.list().data] == ["qingsong-assistant"]


def test_chat_completion_carries_citations_and_session(oai):
    first = oai.chat.completions.create(model="qingsong-assistant",
                                        messages=[{"role": "user", "content": "居住证到期了怎么续签"}])
    text = first.choices[0].message.content
    extra = first.model_extra["qingsong"]
    assert extra["citations"] and "引用" in text and extra["citations"][0]["item_id"] in text
    # the session continues through the `user` field
    second = oai.chat.completions.create(model="qingsong-assistant", user=extra["session_id"],
                                         messages=[{"role": "user", "content": "需要什么材料"}])
    assert second.model_extra["qingsong"]["session_id"] == extra["session_id"]


def test_streaming_ends_with_done(oai, live_server):
    stream = oai.chat.completions.create(model="qingsong-assistant", stream=True,
                                         messages=[{"role": "user", "content": "我想在松江开个小饭馆要办哪些手续"}])
    parts, last = [], None
    for chunk in stream:
        last = chunk
        if chunk.choices and chunk.choices[0].delta.content:
            parts.append(chunk.choices[0].delta.content)
    assert "开店一件事" in "".join(parts)
    assert last is not None and last.choices[0].finish_reason == "stop" and last.model_extra["qingsong"]["session_id"]
    raw = httpx.post(f"{live_server.url}/v1/chat/completions", timeout=30,
                     json={"stream": True, "messages": [{"role": "user", "content": "你好"}]})
    assert raw.headers["content-type"].startswith("text/event-stream")
    assert raw.text.rstrip().endswith("data: [DONE]")


def test_session_header_and_citizen_token(live_server, tokens):
    client = openai.OpenAI(base_url=f"{live_server.url}/v1", api_key=tokens["citizen"], max_retries=0, timeout=30)
    first = client.chat.completions.create(model="qingsong-assistant",
                                           messages=[{"role": "user", "content": "我想在松江开个小饭馆要办哪些手续"}])
    sid = first.model_extra["qingsong"]["session_id"]
    nxt = client.chat.completions.create(model="qingsong-assistant", extra_headers={"X-Session-Id": sid},
                                         messages=[{"role": "user", "content": "自有房屋"}])
    assert nxt.model_extra["qingsong"]["session_id"] == sid
    anonymous = openai.OpenAI(base_url=f"{live_server.url}/v1", api_key="sk-anything", max_retries=0, timeout=30)
    other = anonymous.chat.completions.create(model="qingsong-assistant", user=sid,  # someone else's session id
                                              messages=[{"role": "user", "content": "你好"}])
    assert other.model_extra["qingsong"]["session_id"] != sid  # only a name in the caller's own scope
    turns = live_server.container.sessions.turns(sid)
    assert [t.question for t in turns] == ["我想在松江开个小饭馆要办哪些手续", "自有房屋"]
