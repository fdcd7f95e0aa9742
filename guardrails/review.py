"""Human review gates (人工复核): the answer hold queue, the hold triggers, and the application approval gate.

Each gate is a small state machine; every decision re-checks the actor's role with `require()` (approval is
never authorisation) and is appended to the audit log. Transitions are conditional updates, so two reviewers
deciding the same item at once cannot both win.
"""

from __future__ import annotations

import builtins
import datetime as dt
import difflib
import secrets
from collections.abc import Sequence
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict
from sqlalchemy.engine import Engine

from guardrails.applications import Application, ApplicationGate, ApplicationStatus
from guardrails.audit import AuditLog
from guardrails.config import HoldConfig
from guardrails.errors import InvalidInput, InvalidTransition, NotFound
from guardrails.input_rails import InputVerdict
from guardrails.roles import Action, Principal, Resource, require
from guardrails.rules import RuleHit, RuleVerdict
from guardrails.tables import held_answers

__all__ = [
    "Application", "ApplicationGate", "ApplicationStatus", "HeldAnswer", "HoldDecision", "HoldPolicy", "HoldQueue",
    "HoldStatus",
]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    return value.replace(tzinfo=dt.UTC) if value is not None and value.tzinfo is None else value


class HoldStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"  # released as composed
    EDITED = "edited"  # released with the reviewer's text (diff kept)
    REJECTED = "rejected"  # not released; the citizen is told to use another channel


REJECTED_MESSAGE = "经工作人员复核，这个问题暂时无法在线答复。请拨打 12345 政务服务便民热线，或前往办事窗口咨询。"


class HeldAnswer(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    turn_id: str
    session_id: str
    answer: str
    reason: str
    citations: tuple[tuple[str, int], ...]
    status: HoldStatus
    created_at: dt.datetime
    reviewer: str | None = None
    decided_at: dt.datetime | None = None
    final_text: str | None = None
    diff: str | None = None
    reject_reason: str | None = None

    @property
    def released_text(self) -> str | None:
        return self.final_text if self.status in (HoldStatus.APPROVED, HoldStatus.EDITED) else None

    @property
    def citizen_text(self) -> str | None:
        """What the citizen may now see: the released answer, the rejection notice, or None while pending."""
        if self.status == HoldStatus.PENDING:
            return None
        return REJECTED_MESSAGE if self.status == HoldStatus.REJECTED else self.released_text


def _held(r: Any) -> HeldAnswer:
    return HeldAnswer(
        id=r.id, turn_id=r.turn_id, session_id=r.session_id, answer=r.answer, reason=r.reason,
        citations=tuple((str(i), int(n)) for i, n in r.citations), status=HoldStatus(r.status),
        created_at=_aware(r.created_at), reviewer=r.reviewer, decided_at=_aware(r.decided_at),
        final_text=r.final_text, diff=r.diff, reject_reason=r.reject_reason,
    )


class HoldQueue:
    """Answers waiting for a reviewer. The citizen sees an interim message until one is released."""

    def __init__(self, engine: Engine, audit: AuditLog) -> None:
        self.engine = engine
        self.audit = audit

    def hold(
        self, turn_id: str, session_id: str, answer: str, reason: str, citations: Sequence[tuple[str, int]] = ()
    ) -> HeldAnswer:
        hold_id = f"h-{secrets.token_hex(6)}"
        row = dict(
            id=hold_id, turn_id=turn_id, session_id=session_id, answer=answer, reason=reason,
            citations=[[i, int(n)] for i, n in citations], status=HoldStatus.PENDING.value, created_at=_now(),
        )
        with self.engine.begin() as conn:
            if conn.execute(sa.select(held_answers.c.id).where(held_answers.c.turn_id == turn_id)).first():
                raise InvalidTransition(f"turn {turn_id!r} is already held; decide the existing entry")
            conn.execute(held_answers.insert().values(**row))
        self.audit.append("review.held", "system", turn_id,
                          {"hold_id": hold_id, "session_id": session_id, "reason": reason, "answer": answer,
                           "citations": row["citations"]})
        return self.get(hold_id)

    def get(self, hold_id: str, viewer: Principal | None = None) -> HeldAnswer:
        if viewer is not None:
            require(viewer, Action.REVIEW_QUEUE_READ, Resource(kind="held_answer", id=hold_id))
        with self.engine.connect() as conn:
            r = conn.execute(sa.select(held_answers).where(held_answers.c.id == hold_id)).first()
        if r is None:
            raise NotFound(f"no held answer {hold_id!r}; see `qingsong review list`")
        return _held(r)

    def list(self, status: HoldStatus | str | None = HoldStatus.PENDING, viewer: Principal | None = None) -> list[HeldAnswer]:
        if viewer is not None:
            require(viewer, Action.REVIEW_QUEUE_READ, Resource(kind="review_queue"))
        q = sa.select(held_answers).order_by(held_answers.c.created_at)
        if status is not None:
            q = q.where(held_answers.c.status == HoldStatus(status).value)
        with self.engine.connect() as conn:
            return [_held(r) for r in conn.execute(q)]

    def for_turn(self, turn_id: str) -> HeldAnswer | None:
        with self.engine.connect() as conn:
            r = conn.execute(sa.select(held_answers).where(held_answers.c.turn_id == turn_id)).first()
        return _held(r) if r else None

    def for_session(self, session_id: str) -> builtins.list[HeldAnswer]:
        """Every held answer of one chat session, oldest first (the chat page polls these for release)."""
        q = sa.select(held_answers).where(held_answers.c.session_id == session_id).order_by(held_answers.c.created_at)
        with self.engine.connect() as conn:
            return [_held(r) for r in conn.execute(q)]

    def released(self, turn_id: str) -> str | None:
        """The text the citizen may now see for a held turn: released answer, rejection notice, or None (pending)."""
        h = self.for_turn(turn_id)
        return h.citizen_text if h is not None else None

    def approve(self, hold_id: str, reviewer: Principal) -> HeldAnswer:
        h = self._decide(hold_id, reviewer)
        return self._transition(h, reviewer, HoldStatus.APPROVED, "review.approved", final_text=h.answer)

    def edit(self, hold_id: str, reviewer: Principal, new_text: str) -> HeldAnswer:
        if not new_text.strip():
            raise InvalidInput("the edited answer is empty; give the text to release with --text")
        h = self._decide(hold_id, reviewer)
        diff = "\n".join(difflib.unified_diff(h.answer.splitlines(), new_text.splitlines(), "held", "released",
                                              lineterm=""))
        return self._transition(h, reviewer, HoldStatus.EDITED, "review.edited", final_text=new_text, diff=diff)

    def reject(self, hold_id: str, reviewer: Principal, reason: str) -> HeldAnswer:
        if not reason.strip():
            raise InvalidInput("rejecting needs a reason; pass --reason")
        h = self._decide(hold_id, reviewer)
        return self._transition(h, reviewer, HoldStatus.REJECTED, "review.rejected", reject_reason=reason)

    def _decide(self, hold_id: str, reviewer: Principal) -> HeldAnswer:
        h = self.get(hold_id)
        require(reviewer, Action.REVIEW_DECIDE, Resource(kind="held_answer", id=hold_id, owner=h.session_id))
        if h.status != HoldStatus.PENDING:
            raise InvalidTransition(f"held answer {hold_id!r} is already {h.status.value}; decisions are final")
        return h

    def _transition(self, h: HeldAnswer, reviewer: Principal, status: HoldStatus, event: str, **fields: Any) -> HeldAnswer:
        with self.engine.begin() as conn:
            res = conn.execute(
                held_answers.update()
                .where(held_answers.c.id == h.id, held_answers.c.status == HoldStatus.PENDING.value)
                .values(status=status.value, reviewer=reviewer.account_id, decided_at=_now(), **fields)
            )
            if res.rowcount != 1:
                raise InvalidTransition(f"held answer {h.id!r} was decided by someone else meanwhile")
        data = {"hold_id": h.id, "reviewer_role": reviewer.role.value, **fields}
        self.audit.append(event, reviewer.account_id, h.turn_id, data)
        return self.get(h.id)


class HoldDecision(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    hold: bool
    reasons: tuple[str, ...] = ()
    rules: tuple[RuleHit, ...] = ()
    message: str | None = None  # the interim message for the citizen when held


class HoldPolicy:
    """Decides whether an answer waits for a human. Emergencies are never held."""

    def __init__(self, config: HoldConfig | None = None) -> None:
        self.config = config or HoldConfig()

    def decide(
        self, *, question: str, answer: str = "", matter_id: str | None = None, confidence: float | None = None,
        llm_phrased: bool = False, input_verdict: InputVerdict | None = None,
    ) -> HoldDecision:
        cfg = self.config
        if input_verdict is not None and input_verdict.emergency:
            return HoldDecision(hold=False, reasons=("emergency: never held",))
        hits: list[RuleHit] = []
        if input_verdict is not None and input_verdict.hold:
            refs = ", ".join(h.ref for h in input_verdict.rules if h.verdict == RuleVerdict.HOLD)
            hits.append(RuleHit(id="hold.input_rail", version=1, verdict=RuleVerdict.HOLD, detail=refs))
        topics = [t for t in cfg.sensitive_topics if t in question or t in answer]
        if topics:
            hits.append(RuleHit(id="hold.sensitive_topic", version=1, verdict=RuleVerdict.HOLD,
                                detail=", ".join(topics)))
        if confidence is not None and confidence < cfg.min_confidence:
            hits.append(RuleHit(id="hold.low_confidence", version=1, verdict=RuleVerdict.HOLD,
                                detail=f"confidence {confidence:.2f} < {cfg.min_confidence:.2f}"))
        if llm_phrased and ("*" in cfg.llm_hold_matters or (matter_id and matter_id in cfg.llm_hold_matters)):
            hits.append(RuleHit(id="hold.llm_phrased", version=1, verdict=RuleVerdict.HOLD,
                                detail=f"LLM-phrased answer for {matter_id or 'an unidentified matter'}"))
        return HoldDecision(hold=bool(hits), reasons=tuple(f"{h.ref}: {h.detail}" for h in hits), rules=tuple(hits),
                            message=cfg.held_message if hits else None)
