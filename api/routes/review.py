"""Review queues: held answers (approve/edit/reject), applications (approve/return), hand-offs (accept/close)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.deps import ContainerDep, LoggedIn, ServicesDep
from api.schemas import ApplicationPublic, EditIn, HandoffNoteIn, HandoffPublic, HeldPublic, Page, ReasonIn, page
from assistant.handoffs import ACTIVE, Handoff, HandoffStatus
from guardrails.applications import Application, ApplicationStatus
from guardrails.review import HeldAnswer, HoldStatus
from guardrails.roles import Action, Resource, require

router = APIRouter(prefix="/api/v1/review", tags=["review"])
Limit = Annotated[int, Query(ge=1, le=200, description="Page size")]
Offset = Annotated[int, Query(ge=0, le=100000, description="Results to skip")]


def held_public(h: HeldAnswer) -> dict[str, Any]:
    return {"id": h.id, "turn_id": h.turn_id, "session_id": h.session_id, "answer": h.answer, "reason": h.reason,
            "citations": [list(c) for c in h.citations], "status": h.status.value, "created_at": h.created_at,
            "reviewer": h.reviewer, "final_text": h.final_text, "reject_reason": h.reject_reason}


def application_public(a: Application) -> dict[str, Any]:
    return {"id": a.id, "session_id": a.session_id, "matter_id": a.matter_id, "citizen": a.citizen,
            "fields": a.fields, "status": a.status.value, "requires_staff_approval": a.requires_staff_approval,
            "created_at": a.created_at, "decided_by": a.decided_by, "return_reason": a.return_reason}


@router.get("/held", response_model=Page[HeldPublic], summary="Held answers")
def list_held(principal: LoggedIn, container: ContainerDep, limit: Limit = 50, offset: Offset = 0,
              status: Annotated[HoldStatus | None, Query(description="Filter by status; default pending")] = HoldStatus.PENDING,
              ) -> dict[str, Any]:
    require(principal, Action.REVIEW_QUEUE_READ, Resource(kind="review_queue"))
    found = container.guardrails.hold_queue.list(status=status, viewer=principal)
    return page([held_public(h) for h in reversed(found)], limit, offset)


@router.get("/held/{hold_id}", response_model=HeldPublic, summary="One held answer")
def get_held(hold_id: str, principal: LoggedIn, container: ContainerDep) -> dict[str, Any]:
    require(principal, Action.REVIEW_QUEUE_READ, Resource(kind="held_answer", id=hold_id))
    return held_public(container.guardrails.hold_queue.get(hold_id, viewer=principal))


def _decide_resource(container: Any, hold_id: str) -> Resource:
    h = container.guardrails.hold_queue.get(hold_id)
    return Resource(kind="held_answer", id=hold_id, owner=h.session_id)


@router.post("/held/{hold_id}/approve", response_model=HeldPublic, summary="Release the held answer as composed")
def approve_held(hold_id: str, principal: LoggedIn, container: ContainerDep) -> dict[str, Any]:
    require(principal, Action.REVIEW_DECIDE, _decide_resource(container, hold_id))
    return held_public(container.guardrails.hold_queue.approve(hold_id, principal))


@router.post("/held/{hold_id}/edit", response_model=HeldPublic, summary="Release an edited answer")
def edit_held(hold_id: str, body: EditIn, principal: LoggedIn, container: ContainerDep) -> dict[str, Any]:
    require(principal, Action.REVIEW_DECIDE, _decide_resource(container, hold_id))
    return held_public(container.guardrails.hold_queue.edit(hold_id, principal, body.text))


@router.post("/held/{hold_id}/reject", response_model=HeldPublic, summary="Reject the held answer")
def reject_held(hold_id: str, body: ReasonIn, principal: LoggedIn, container: ContainerDep) -> dict[str, Any]:
    require(principal, Action.REVIEW_DECIDE, _decide_resource(container, hold_id))
    return held_public(container.guardrails.hold_queue.reject(hold_id, principal, body.reason))


@router.get("/applications", response_model=Page[ApplicationPublic], summary="Applications")
def list_applications(
    principal: LoggedIn, container: ContainerDep, limit: Limit = 50, offset: Offset = 0,
    status: Annotated[ApplicationStatus | None, Query(description="Filter by status")] = None,
) -> dict[str, Any]:
    mine = principal.account_id if principal.role.value == "citizen" else None
    found = container.guardrails.applications.list(status=status, citizen=mine, viewer=principal)
    return page([application_public(a) for a in reversed(found)], limit, offset)


def _app_resource(container: Any, app_id: str) -> Resource:
    a = container.guardrails.applications.get(app_id)
    return Resource(kind="application", id=app_id, owner=a.citizen)


@router.post("/applications/{app_id}/approve", response_model=ApplicationPublic, summary="Approve an application")
def approve_application(app_id: str, principal: LoggedIn, container: ContainerDep) -> dict[str, Any]:
    require(principal, Action.APPLICATION_APPROVE, _app_resource(container, app_id))
    return application_public(container.guardrails.applications.approve(app_id, principal))


@router.post("/applications/{app_id}/return", response_model=ApplicationPublic, summary="Return for correction")
def return_application(app_id: str, body: ReasonIn, principal: LoggedIn, container: ContainerDep) -> dict[str, Any]:
    require(principal, Action.APPLICATION_RETURN, _app_resource(container, app_id))
    return application_public(container.guardrails.applications.return_(app_id, principal, body.reason))


# -- 线上人工帮办 -----------------------------------------------------------------------------------------
def handoff_public(h: Handoff) -> dict[str, Any]:
    return {"id": h.id, "session_id": h.session_id, "turn_id": h.turn_id, "reason": h.reason, "status": h.status.value,
            "conversation": list(h.conversation), "created_at": h.created_at, "accepted_by": h.accepted_by,
            "accepted_at": h.accepted_at, "accept_note": h.accept_note, "closed_by": h.closed_by,
            "closed_at": h.closed_at, "close_note": h.close_note}


@router.get("/handoffs", response_model=Page[HandoffPublic], summary="Hand-offs to a person (线上人工帮办), newest first")
def list_handoffs(
    principal: LoggedIn, services: ServicesDep, limit: Limit = 50, offset: Offset = 0,
    status: Annotated[list[HandoffStatus] | None, Query(description="Statuses to list; default open and accepted")]
    = None,
) -> dict[str, Any]:
    require(principal, Action.HANDOFF_READ, Resource(kind="handoff_queue"))
    found = services.handoffs.list(principal, tuple(status or ACTIVE))
    return page([handoff_public(h) for h in reversed(found)], limit, offset)  # newest first, like held answers


@router.post("/handoffs/{handoff_id}/accept", response_model=HandoffPublic, summary="Accept a hand-off (接手)")
def accept_handoff(handoff_id: str, body: HandoffNoteIn, principal: LoggedIn, services: ServicesDep) -> dict[str, Any]:
    require(principal, Action.HANDOFF_ACCEPT, Resource(kind="handoff", id=handoff_id))
    return handoff_public(services.handoffs.accept(handoff_id, principal, body.note))


@router.post("/handoffs/{handoff_id}/close", response_model=HandoffPublic,
             summary="Close an accepted hand-off with a note (完成); only whoever accepted it, or an admin")
def close_handoff(handoff_id: str, body: HandoffNoteIn, principal: LoggedIn, services: ServicesDep) -> dict[str, Any]:
    # The service checks handoff.close against the reviewer who accepted it (read from the audit log).
    return handoff_public(services.handoffs.close(handoff_id, principal, body.note))
