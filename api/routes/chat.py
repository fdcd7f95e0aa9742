"""Sessions and turns: POST a message, read a session's turns (owner only) with the review state of held answers."""

from __future__ import annotations

import threading
from contextlib import nullcontext
from typing import Any

from fastapi import APIRouter, HTTPException
from fastapi.concurrency import run_in_threadpool

from api.container import Container
from api.deps import ANONYMOUS_ID, ContainerDep, CurrentPrincipal, ServicesDep
from api.schemas import ChatRequest, MePublic, SessionTurnsPublic, TurnPublic
from assistant.errors import SessionNotFoundError
from guardrails.review import HeldAnswer
from guardrails.roles import Action, Principal, Resource, require

router = APIRouter(prefix="/api/v1", tags=["chat"])


def session_owner(container: Container, session_id: str) -> str | None:
    """Who a stored session belongs to (its principal, or the session itself when anonymous); None if new."""
    store = container.assistant.deps.store
    if not store.exists(session_id):
        return None
    state = store.load(session_id)
    return state.principal_id or f"session:{session_id}"


def holder(principal: Principal, owner: str | None, session_id: str | None) -> Principal:
    """The principal acting on a session: an anonymous caller holds an anonymous session by knowing its random id."""
    if principal.account_id == ANONYMOUS_ID and owner == f"session:{session_id}":
        return principal.model_copy(update={"account_id": owner})
    return principal


def run_turn(container: Container, principal: Principal, text: str, session_id: str | None,
             lock: threading.Lock | None = None) -> dict[str, Any]:
    """Authorise and run one turn. Anonymous callers hold their session by its (random) id."""
    anonymous = principal.account_id == ANONYMOUS_ID
    owner = session_owner(container, session_id) if session_id else None
    acting = holder(principal, owner, session_id)
    require(acting, Action.SESSION_WRITE, Resource(kind="session", id=session_id, owner=owner or acting.account_id))
    with lock or nullcontext():
        result = container.assistant.turn(
            text, session_id=session_id, profile_id=None if anonymous else principal.profile_id,
            principal_id=None if anonymous else principal.account_id,
        )
    return result.public()


@router.post("/chat", response_model=TurnPublic, summary="Send a message (one turn of 边聊边办)")
async def chat(body: ChatRequest, principal: CurrentPrincipal, container: ContainerDep,
               services: ServicesDep) -> dict[str, Any]:
    return await run_in_threadpool(run_turn, container, principal, body.text, body.session_id, services.turn_lock)


def review_view(held: HeldAnswer | None) -> dict[str, Any] | None:
    """The citizen's view of a held answer: status, the released or rejection text, the released citations."""
    if held is None:
        return None
    released = held.released_text is not None
    return {"status": held.status.value, "text": held.citizen_text, "decided_at": held.decided_at,
            "citations": [{"item_id": i, "version": v} for i, v in held.citations] if released else []}


@router.get("/sessions/{session_id}/turns", response_model=SessionTurnsPublic,
            summary="Turns of a session (its owner only), with released held answers; the chat page polls it")
def session_turns(session_id: str, principal: CurrentPrincipal, container: ContainerDep) -> dict[str, Any]:
    owner = session_owner(container, session_id)
    if owner is None:
        raise SessionNotFoundError(f"no session {session_id!r}; start one with POST /api/v1/chat")
    acting = holder(principal, owner, session_id)
    if acting.account_id == ANONYMOUS_ID:
        raise HTTPException(401, "log in first: send `Authorization: Bearer <token>`",
                            headers={"WWW-Authenticate": "Bearer"})
    require(acting, Action.SESSION_READ, Resource(kind="session", id=session_id, owner=owner))
    held = {h.turn_id: h for h in container.guardrails.hold_queue.for_session(session_id)}
    keep = ("id", "idx", "question", "outcome", "reply", "result", "created_at")
    turns = [{**{k: t.get(k) for k in keep}, "review": review_view(held.get(str(t["id"])))}
             for t in container.assistant.history(session_id)]
    return {"session_id": session_id, "turns": turns}


@router.get("/me", response_model=MePublic, summary="Who am I (anonymous without a token)")
def me(principal: CurrentPrincipal) -> dict[str, Any]:
    return {"account_id": principal.account_id, "role": principal.role.value, "units": list(principal.units),
            "profile_id": principal.profile_id, "name": principal.name}
