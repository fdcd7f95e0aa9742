"""OpenAI-compatible chat endpoint so existing clients (openai SDK, Open WebUI, Chatbox) can talk to the assistant.

The session is named by the `user` field or an `X-Session-Id` header: a name scoped to the caller (the QingSong
token used as API key, or for anonymous keys the visitor cookie the server sets), never someone else's session.
Only the last user message is sent to the assistant (the server keeps the conversation). Citations are appended to the message text and returned in an
extra `qingsong` field (and on the last stream chunk)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from api.deps import AnyKeyCaller, ContainerDep
from api.routes.chat import run_turn
from api.schemas import ERRORS, TurnPublic
from api.schemas.openai import (
    MODEL_ID,
    ChatCompletionPublic,
    ChatCompletionRequest,
    CompletionChoice,
    CompletionMessage,
    ModelListPublic,
    ModelPublic,
    QingsongExtra,
    Usage,
)
from guardrails.errors import InvalidInput

router = APIRouter(tags=["openai"], responses=ERRORS)
SSE = "text/event-stream"


def citation_text(turn: TurnPublic) -> str:
    if not turn.citations:
        return ""
    return "\n\n引用：" + "；".join(f"《{c['title']}》({c['item_id']} v{c['version']})" for c in turn.citations)


def _extra(turn: TurnPublic) -> QingsongExtra:
    return QingsongExtra(session_id=turn.session_id, turn_id=turn.turn_id, outcome=turn.outcome,
                         citations=turn.citations, choices=turn.choices)


def _chunks(cid: str, created: int, content: str, extra: QingsongExtra) -> Iterator[str]:
    def sse(delta: dict[str, Any], finish: str | None, more: dict[str, Any] | None = None) -> str:
        body = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": MODEL_ID,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]} | (more or {})
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

    yield sse({"role": "assistant", "content": ""}, None)
    step = 24
    for i in range(0, len(content), step):
        yield sse({"content": content[i:i + step]}, None)
    yield sse({}, "stop", {"qingsong": extra.model_dump(mode="json")})
    yield "data: [DONE]\n\n"


@router.post("/v1/chat/completions", summary="OpenAI-compatible chat completion (stream or not)",
             response_model=ChatCompletionPublic,
             responses={200: {"description": "The completion; with `stream: true`, server-sent events of "
                                             "`chat.completion.chunk` objects ending with `data: [DONE]`",
                              "content": {SSE: {"schema": {"type": "string"}}}}})
async def chat_completions(
    body: ChatCompletionRequest, caller: AnyKeyCaller, container: ContainerDep, response: Response,
    x_session_id: Annotated[str | None, Header(max_length=128, description="Session name (alternative to `user`)")] = None,
) -> ChatCompletionPublic | StreamingResponse:
    user_msgs = [m for m in body.messages if m.role == "user"]
    text = user_msgs[-1].text().strip() if user_msgs else ""
    if not text:
        raise InvalidInput("send at least one user message with text")
    if len(text) > 2000:
        raise InvalidInput(f"the last user message has {len(text)} characters; keep it under 2000")
    session_id = x_session_id or body.user
    turn = await run_in_threadpool(run_turn, container, caller, text, session_id, container.turn_lock)
    content = turn.reply + citation_text(turn)
    cid, created = f"chatcmpl-{uuid.uuid4().hex[:24]}", int(time.time())
    extra = _extra(turn)
    if body.stream:
        stream = StreamingResponse(_chunks(cid, created, content, extra), media_type=SSE,
                                   headers={"X-Session-Id": turn.session_id, "Cache-Control": "no-cache"})
        stream.raw_headers.extend(h for h in response.raw_headers if h[0] == b"set-cookie")  # the visitor cookie
        return stream
    return ChatCompletionPublic(
        id=cid, object="chat.completion", created=created, model=MODEL_ID,
        choices=[CompletionChoice(index=0, message=CompletionMessage(role="assistant", content=content),
                                  finish_reason="stop")],
        usage=Usage(prompt_tokens=len(text), completion_tokens=len(content), total_tokens=len(text) + len(content)),
        qingsong=extra,
    )


@router.get("/v1/models", response_model=ModelListPublic, summary="OpenAI-compatible model list")
def models() -> ModelListPublic:
    return ModelListPublic(object="list", data=[ModelPublic(id=MODEL_ID, object="model", created=0,
                                                            owned_by="qingsong")])
