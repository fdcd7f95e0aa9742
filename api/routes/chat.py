"""Sessions and turns: POST a message, restore the caller's session (the chat page after a reload or on another
device), read a session's turns (owner and staff only) with the review state of held answers.

Session ids are issued by the server; what a client sends is a name within its own scope (see
`assistant.sessions`). Anonymous callers hold their sessions through the server-issued visitor cookie."""

from __future__ import annotations

import threading
from contextlib import nullcontext
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool

from api.container import Container
from api.deps import Caller, ContainerDep, CurrentPrincipal, SessionCaller
from api.schemas import (
    ERRORS,
    ChatRequest,
    CitedVersionPublic,
    CurrentSessionPublic,
    HeldReviewPublic,
    MePublic,
    SessionTurnsPublic,
    TurnPublic,
    TurnRecordPublic,
)
from assistant.errors import SessionNotFoundError, StaleSessionError
from assistant.sessions import check_label
from guardrails.review import HeldAnswer
from guardrails.roles import Action, Resource, require

router = APIRouter(prefix="/api/v1", tags=["chat"], responses=ERRORS)


def claim_if_held(container: Container, caller: Caller, session_id: str | None) -> None:
    """A citizen who just logged in on the browser holding an anonymous session takes it over (form included)."""
    if session_id and not caller.anonymous and caller.visitor:
        check_label(session_id)
        container.sessions.claim(session_id, caller.visitor, caller.principal.account_id, caller.principal.profile_id)


def run_turn(container: Container, caller: Caller, text: str, session_id: str | None,
             lock: threading.Lock | None = None, *, seen_turn: str | None = None, check_seen: bool = False,
             ) -> TurnPublic:
    """Resolve the caller's session, authorise and run one turn. With `check_seen`, a confirmation is refused when
    `seen_turn` is not the session's latest turn: nobody submits a form their page does not show."""
    claim_if_held(container, caller, session_id)
    acting = caller.acting
    sid, label = container.sessions.resolve(acting.account_id, session_id)
    owner = container.sessions.owner(sid)
    require(acting, Action.SESSION_WRITE, Resource(kind="session", id=sid, owner=owner or acting.account_id))
    if check_seen and owner is not None and container.sessions.phase(sid) == "confirm" \
            and container.sessions.last_turn_id(sid) != seen_turn:
        raise StaleSessionError("页面显示的内容不是这次对话的最新进度：请刷新页面，核对申请表后再确认提交。"
                                "the page is not showing the latest turn of this session; reload it first")
    anonymous = caller.anonymous
    with lock or nullcontext():
        result = container.assistant.turn(
            text, session_id=sid, profile_id=None if anonymous else caller.principal.profile_id,
            principal_id=None if anonymous else caller.principal.account_id,
            visitor=acting.account_id if anonymous else None, label=label,
        )
    return TurnPublic.model_validate(result.public())


@router.post("/chat", response_model=TurnPublic, summary="Send a message (one turn of 边聊边办)")
async def chat(body: ChatRequest, caller: SessionCaller, container: ContainerDep) -> TurnPublic:
    return await run_in_threadpool(lambda: run_turn(
        container, caller, body.text, body.session_id, container.turn_lock,
        seen_turn=body.seen_turn_id, check_seen="seen_turn_id" in body.model_fields_set))


def review_view(held: HeldAnswer | None) -> HeldReviewPublic | None:
    """The citizen's view of a held answer: status, the released or rejection text, the released citations."""
    if held is None:
        return None
    released = held.released_text is not None
    cited = [CitedVersionPublic(item_id=i, version=v) for i, v in held.citations] if released else []
    return HeldReviewPublic(status=held.status, text=held.citizen_text, decided_at=held.decided_at, citations=cited)


def turn_records(container: Container, session_id: str) -> list[TurnRecordPublic]:
    held = {h.turn_id: h for h in container.guardrails.hold_queue.for_session(session_id)}
    return [TurnRecordPublic.model_validate({**t.model_dump(), "review": review_view(held.get(t.id))})
            for t in container.sessions.turns(session_id)]


@router.get("/sessions/current", response_model=CurrentSessionPublic,
            summary="The caller's session to restore (the chat page after a reload, or on another device)")
def current_session(
    caller: SessionCaller, container: ContainerDep,
    session_id: Annotated[str | None, Query(max_length=128, description="The session the page last showed")] = None,
) -> CurrentSessionPublic:
    """The named session if the caller holds it (claiming it after a login on the same browser), else the caller's
    most recent session; `session_id` null when there is none."""
    claim_if_held(container, caller, session_id)
    key = caller.acting.account_id
    sid = None
    if session_id:
        check_label(session_id)
        sid = session_id if container.sessions.owner(session_id) == key else None
    sid = sid or (container.sessions.latest(key) if key != "anonymous" else None)
    if sid is None:
        return CurrentSessionPublic(session_id=None, phase=None, turns=[])
    return CurrentSessionPublic(session_id=sid, phase=container.sessions.phase(sid), turns=turn_records(container, sid))


@router.get("/sessions/{session_id}/turns", response_model=SessionTurnsPublic,
            summary="Turns of a session (its owner, reviewers, auditors), with released held answers; the page polls it")
def session_turns(session_id: str, caller: SessionCaller, container: ContainerDep) -> SessionTurnsPublic:
    check_label(session_id)
    owner = container.sessions.require_owner(session_id)
    acting = caller.acting
    if acting.account_id != owner and acting.role.value == "citizen":
        # someone else's session reads as no session at all: its existence is not revealed
        raise SessionNotFoundError(f"no session {session_id!r}; start one with POST /api/v1/chat")
    require(acting, Action.SESSION_READ, Resource(kind="session", id=session_id, owner=owner))
    return SessionTurnsPublic(session_id=session_id, turns=turn_records(container, session_id))


@router.get("/me", response_model=MePublic, summary="Who am I (anonymous without a token)")
def me(principal: CurrentPrincipal) -> MePublic:
    return MePublic.model_validate(principal)
