"""Chat schemas: a turn, a session's turns with the review state of held answers, who am I, search hits."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field

from api.schemas.common import Public
from assistant.models import Outcome
from guardrails.review import HoldStatus
from guardrails.roles import Role
from kb.models import Kind


class ChatRequest(Public):
    text: str = Field(min_length=1, max_length=2000, description="The citizen's message, in plain Chinese")
    session_id: str | None = Field(default=None, max_length=128,
                                   description="Continue your session: the id the server returned, or your own name "
                                               "for a session (a label scoped to you); omit to start one")
    seen_turn_id: str | None = Field(default=None, max_length=64,
                                     description="The latest turn the page shows (null: none). When sent, a "
                                                 "confirmation is refused with 409 `stale_session` unless it is the "
                                                 "session's latest turn")


class TurnPublic(BaseModel):
    outcome: Outcome = Field(description="What the turn did: answered, clarifying, collecting, awaiting_confirmation, "
                                         "held_for_review, handed_off, submitted or refused")
    reply: str = Field(description="The assistant's reply in Chinese")
    session_id: str = Field(description="Session to send with the next message")
    turn_id: str = Field(description="Id of this turn (audit trace subject)")
    matter: dict[str, Any] | None = Field(description="The matter being handled, with bundle step if any")
    slots: list[dict[str, Any]] = Field(description="Form fields filled so far, each with its source (provenance)")
    citations: list[dict[str, Any]] = Field(description="Knowledge item versions the reply rests on")
    checklist: list[dict[str, Any]] = Field(description="Material checklist (required, waived by e-licence, expired)")
    findings: list[dict[str, Any]] = Field(description="智能预审 findings with explanations")
    choices: list[dict[str, Any]] = Field(description="Buttons: send `value` back as the next message")
    application: dict[str, Any] | None = Field(description="The application created by this turn, if any")
    handoff_id: str | None = Field(description="Hand-off to a human agent, if any")
    login_required: bool = Field(default=False, description="Submitting needs a real-name login: log in and send "
                                                            "the confirmation again (the form is kept)")


class CitedVersionPublic(Public):
    item_id: str = Field(description="Knowledge item id")
    version: int = Field(description="Its version")


class HeldReviewPublic(Public):
    status: HoldStatus = Field(description="人工复核 state of a held answer")
    text: str | None = Field(description="What the citizen may now see: the released (possibly edited) answer, "
                                         "or the rejection notice; null while pending")
    citations: list[CitedVersionPublic] = Field(description="Knowledge versions the released answer rests on; "
                                                            "empty unless released")
    decided_at: dt.datetime | None = Field(description="When the reviewer decided")


class TurnRecordPublic(Public):
    id: str = Field(description="Turn id")
    idx: int = Field(description="Position of the turn in the session, from 1")
    question: str = Field(description="The citizen's message, PII-redacted")
    outcome: Outcome = Field(description="Outcome of the turn, e.g. answered or held_for_review")
    reply: str = Field(description="The reply given at the time (for a held answer: the interim message)")
    result: dict[str, Any] = Field(description="The public turn result as returned by POST /api/v1/chat")
    created_at: dt.datetime = Field(description="When the turn ran")
    review: HeldReviewPublic | None = Field(description="For a held answer: its review state and released text; "
                                                        "null for other turns")


class SessionTurnsPublic(Public):
    session_id: str = Field(description="The session")
    turns: list[TurnRecordPublic] = Field(description="Turns of the session in order")


class CurrentSessionPublic(Public):
    session_id: str | None = Field(description="The session to continue; null when the caller has none")
    phase: str | None = Field(description="Where its dialogue is, e.g. collect or confirm")
    turns: list[TurnRecordPublic] = Field(description="Its turns in order: replay them to restore the page")


class MePublic(Public):
    account_id: str = Field(description="Account id, or 'anonymous'")
    role: Role = Field(description="Role")
    units: list[str] = Field(description="Owner units")
    profile_id: str | None = Field(description="Linked profile")
    name: str | None = Field(description="Display name")


class HitPublic(Public):
    """One search hit: the passage and where it comes from."""

    item_id: str = Field(description="Knowledge item id")
    version: int = Field(description="Version number that produced the hit")
    kind: Kind = Field(description="Kind of the item")
    title: str = Field(description="Item title")
    owner: str = Field(description="Owner unit id (谁录入谁负责)")
    section: str = Field(description="Section of the item the passage comes from")
    score: float = Field(description="Fused retrieval score")
    text: str = Field(description="The passage")


class HealthPublic(Public):
    status: Literal["ok"] = Field(description="Always ok when the process answers")
    generation: int = Field(description="Knowledge generation (bumped by every publish and retirement)")
    embedder: str = Field(description="Name of the embedding model in use")
