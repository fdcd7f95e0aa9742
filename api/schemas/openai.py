"""OpenAI-compatible chat completion schemas (the subset our clients read), with a `qingsong` extra."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import Public
from assistant.models import Outcome

MODEL_ID = "qingsong-assistant"


class OAIMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: str = Field(description="system, user, assistant or tool")
    content: str | list[dict[str, Any]] | None = Field(default=None, description="Text (or text parts)")

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        if isinstance(self.content, list):
            return "".join(str(p.get("text", "")) for p in self.content if isinstance(p, dict))
        return ""


class ChatCompletionRequest(BaseModel):
    model_config = ConfigDict(extra="allow")

    model: str = Field(default=MODEL_ID, max_length=100, description="Ignored; there is one assistant model")
    messages: list[OAIMessage] = Field(min_length=1, max_length=200,
                                       description="Conversation; the last user message is used")
    stream: bool = Field(default=False, description="Send server-sent events")
    user: str | None = Field(default=None, max_length=128,
                             description="Your name for the conversation to continue: scoped to you (your QingSong "
                                         "token, or the visitor cookie for anonymous keys), never another caller's")


class QingsongExtra(Public):
    session_id: str = Field(description="Session to continue (send it as `user` or `X-Session-Id`)")
    turn_id: str = Field(description="Id of the turn (audit trace subject)")
    outcome: Outcome = Field(description="Outcome of the turn")
    citations: list[dict[str, Any]] = Field(description="Knowledge item versions the reply rests on")
    choices: list[dict[str, Any]] = Field(description="Buttons: send `value` back as the next message")


class CompletionMessage(Public):
    role: Literal["assistant"] = Field(description="Always assistant")
    content: str = Field(description="The reply, with its citations appended")


class CompletionChoice(Public):
    index: int = Field(description="Always 0")
    message: CompletionMessage = Field(description="The assistant's message")
    finish_reason: Literal["stop"] = Field(description="Always stop")


class Usage(Public):
    prompt_tokens: int = Field(description="Characters of the last user message")
    completion_tokens: int = Field(description="Characters of the reply")
    total_tokens: int = Field(description="Their sum")


class ChatCompletionPublic(Public):
    id: str = Field(description="Completion id")
    object: Literal["chat.completion"] = Field(description="Object type")
    created: int = Field(description="Unix time")
    model: str = Field(description="Model id")
    choices: list[CompletionChoice] = Field(description="One choice")
    usage: Usage = Field(description="Sizes, in characters")
    qingsong: QingsongExtra = Field(description="QingSong's session, turn, outcome, citations and buttons")


class ModelPublic(Public):
    id: str = Field(description="Model id")
    object: Literal["model"] = Field(description="Object type")
    created: int = Field(description="Unix time (0)")
    owned_by: str = Field(description="Owner")


class ModelListPublic(Public):
    object: Literal["list"] = Field(description="Object type")
    data: list[ModelPublic] = Field(description="The one assistant model")
