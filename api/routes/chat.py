"""Sessions and turns: POST a message, read a session's turns (owner only) with the review state of held answers."""

from __future__ import annotations

import threading
from contextlib import nullcontext

from fastapi import APIRouter, HTTPException
from fastapi.concurrency import run_in_threadpool

from api.container import Container
from api.deps import ANONYMOUS_ID, ContainerDep, CurrentPrincipal
from api.schemas import (
    ERRORS,
    ChatRequest,
    CitedVersionPublic,
    HeldReviewPublic,
    MePublic,
    SessionTurnsPublic,
    TurnPublic,
    TurnRecordPublic,
)
from guardrails.review import HeldAnswer
from guardrails.roles import Action, Principal, Resource, require

router = APIRouter(prefix="/api/v1", tags=["chat"], responses=ERRORS)


def holder(principal: Principal, owner: str | None, session_id: str | None) -> Principal:
    """The principal acting on a session: an anonymous caller holds an anonymous session by knowing its random id."""
    if principal.account_id == ANONYMOUS_ID and owner == f"session:{session_id}":
        return principal.model_copy(update={"account_id": owner})
    return principal


def run_turn(container: Container, principal: Principal, text: str, session_id: str | None,
             lock: threading.Lock | None = None) -> TurnPublic:
    """Authorise and run one turn. Anonymous callers hold their session by its (random) id."""
    anonymous = principal.account_id == ANONYMOUS_ID
    owner = container.sessions.owner(session_id) if session_id else None
    acting = holder(principal, owner, session_id)
    require(acting, Action.SESSION_WRITE, Resource(kind="session", id=session_id, owner=owner or acting.account_id))
    with lock or nullcontext():
        result = container.assistant.turn(
            text, session_id=session_id, profile_id=None if anonymous else principal.profile_id,
            principal_id=None if anonymous else principal.account_id,
        )
    return TurnPublic.model_validate(result.public())


@router.post("/chat", response_model=TurnPublic, summary="Send a message (one turn of 边聊边办)")
async def chat(body: ChatRequest, principal: CurrentPrincipal, container: ContainerDep) -> TurnPublic:
    return await run_in_threadpool(run_turn, container, principal, body.text, body.session_id, container.turn_lock)


def review_view(held: HeldAnswer | None) -> HeldReviewPublic | None:
    """The citizen's view of a held answer: status, the released or rejection text, the released citations."""
    if held is None:
        return None
    released = held.released_text is not None
    cited = [CitedVersionPublic(item_id=i, version=v) for i, v in held.citations] if released else []
    return HeldReviewPublic(status=held.status, text=held.citizen_text, decided_at=held.decided_at, citations=cited)


@router.get("/sessions/{session_id}/turns", response_model=SessionTurnsPublic,
            summary="Turns of a session (its owner only), with released held answers; the chat page polls it")
def session_turns(session_id: str, principal: CurrentPrincipal, container: ContainerDep) -> SessionTurnsPublic:
    owner = container.sessions.require_owner(session_id)
    acting = holder(principal, owner, session_id)
    if acting.account_id == ANONYMOUS_ID:
        raise HTTPException(401, "log in first: send `Authorization: Bearer <token>`",
                            headers={"WWW-Authenticate": "Bearer"})
    require(acting, Action.SESSION_READ, Resource(kind="session", id=session_id, owner=owner))
    found = container.guardrails.hold_queue.for_session(session_id)
    held = {h.turn_id: h for h in found}
    turns = [TurnRecordPublic.model_validate({**t.model_dump(), "review": review_view(held.get(t.id))})
             for t in container.sessions.turns(session_id)]
    return SessionTurnsPublic(session_id=session_id, turns=turns)


@router.get("/me", response_model=MePublic, summary="Who am I (anonymous without a token)")
def me(principal: CurrentPrincipal) -> MePublic:
    return MePublic.model_validate(principal)
