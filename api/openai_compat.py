"""OpenAI-compatible chat endpoint so existing clients (openai SDK, Open WebUI, Chatbox) can talk to the assistant.

The session is carried by the `user` field or an `X-Session-Id` header; only the last user message is sent to the
assistant (the server keeps the conversation). Citations are appended to the message text and returned in an
extra `qingsong` field (and on the last stream chunk)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from api.deps import AnyKeyPrincipal, ContainerDep, ServicesDep
from api.routes.chat import run_turn
from guardrails.errors import InvalidInput

MODEL_ID = "qingsong-assistant"
router = APIRouter(tags=["openai"])


class OAIMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: str = Field(description="system, user, assistant or tool")
    content: str | list[dict[str, Any]] | None = Field(default=None, description="Text (or text parts)")


class ChatCompletionRequest(BaseModel):
    model_config = ConfigDict(extra="allow")

    model: str = Field(default=MODEL_ID, max_length=100, description="Ignored; there is one assistant model")
    messages: list[OAIMessage] = Field(min_length=1, max_length=200, description="Conversation; the last user message is used")
    stream: bool = Field(default=False, description="Send server-sent events")
    user: str | None = Field(default=None, max_length=64, description="QingSong session id to continue")


def _text(m: OAIMessage) -> str:
    if isinstance(m.content, str):
        return m.content
    if isinstance(m.content, list):
        return "".join(str(p.get("text", "")) for p in m.content if isinstance(p, dict))
    return ""


def citation_text(turn: dict[str, Any]) -> str:
    cites = turn.get("citations") or []
    if not cites:
        return ""
    return "\n\n引用：" + "；".join(f"《{c['title']}》({c['item_id']} v{c['version']})" for c in cites)


def _extra(turn: dict[str, Any]) -> dict[str, Any]:
    return {"session_id": turn["session_id"], "turn_id": turn["turn_id"], "outcome": turn["outcome"],
            "citations": turn["citations"], "choices": turn["choices"]}


def _chunks(cid: str, created: int, content: str, extra: dict[str, Any]) -> Iterator[str]:
    def sse(delta: dict[str, Any], finish: str | None, more: dict[str, Any] | None = None) -> str:
        body = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": MODEL_ID,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]} | (more or {})
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

    yield sse({"role": "assistant", "content": ""}, None)
    step = 24
    for i in range(0, len(content), step):
        yield sse({"content": content[i:i + step]}, None)
    yield sse({}, "stop", {"qingsong": extra})
    yield "data: [DONE]\n\n"


@router.post("/v1/chat/completions", summary="OpenAI-compatible chat completion (stream or not)",
             response_model=None)
async def chat_completions(
    body: ChatCompletionRequest, principal: AnyKeyPrincipal, container: ContainerDep, services: ServicesDep,
    x_session_id: Annotated[str | None, Header(max_length=64, description="Session id (alternative to `user`)")] = None,
) -> Any:
    user_msgs = [m for m in body.messages if m.role == "user"]
    text = _text(user_msgs[-1]).strip() if user_msgs else ""
    if not text:
        raise InvalidInput("send at least one user message with text")
    if len(text) > 2000:
        raise InvalidInput(f"the last user message has {len(text)} characters; keep it under 2000")
    session_id = x_session_id or body.user
    turn = await run_in_threadpool(run_turn, container, principal, text, session_id, services.turn_lock)
    content = turn["reply"] + citation_text(turn)
    cid, created = f"chatcmpl-{uuid.uuid4().hex[:24]}", int(time.time())
    extra = _extra(turn)
    if body.stream:
        return StreamingResponse(_chunks(cid, created, content, extra), media_type="text/event-stream",
                                 headers={"X-Session-Id": turn["session_id"], "Cache-Control": "no-cache"})
    finish: Literal["stop"] = "stop"
    return {
        "id": cid, "object": "chat.completion", "created": created, "model": MODEL_ID,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish}],
        "usage": {"prompt_tokens": len(text), "completion_tokens": len(content),
                  "total_tokens": len(text) + len(content)},
        "qingsong": extra,
    }


@router.get("/v1/models", summary="OpenAI-compatible model list")
def models() -> dict[str, Any]:
    return {"object": "list", "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "qingsong"}]}
