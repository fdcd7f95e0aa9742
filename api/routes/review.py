"""Review queues: held answers (approve/edit/reject), applications (approve/return), hand-offs (accept/close)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.container import Container
from api.deps import ContainerDep, LoggedIn
from api.labels import field_labels, matter_name
from api.schemas import (
    ERRORS,
    ApplicationPublic,
    EditIn,
    HandoffNoteIn,
    HandoffPublic,
    HeldPublic,
    Page,
    ReasonIn,
    page,
)
from assistant.handoffs import ACTIVE, HandoffStatus
from guardrails.applications import Application, ApplicationStatus, status_label
from guardrails.review import HoldStatus
from guardrails.roles import Action, Resource, require

router = APIRouter(prefix="/api/v1/review", tags=["review"], responses=ERRORS)
Limit = Annotated[int, Query(ge=1, le=200, description="Page size")]
Offset = Annotated[int, Query(ge=0, le=100000, description="Results to skip")]


@router.get("/held", response_model=Page[HeldPublic], summary="Held answers")
def list_held(principal: LoggedIn, container: ContainerDep, limit: Limit = 50, offset: Offset = 0,
              status: Annotated[HoldStatus | None, Query(description="Filter by status; default pending")] = HoldStatus.PENDING,
              ) -> Page[HeldPublic]:
    require(principal, Action.REVIEW_QUEUE_READ, Resource(kind="review_queue"))
    found = container.guardrails.hold_queue.list(status=status, viewer=principal)
    return page([HeldPublic.model_validate(h) for h in reversed(found)], limit, offset)


@router.get("/held/{hold_id}", response_model=HeldPublic, summary="One held answer")
def get_held(hold_id: str, principal: LoggedIn, container: ContainerDep) -> HeldPublic:
    require(principal, Action.REVIEW_QUEUE_READ, Resource(kind="held_answer", id=hold_id))
    return HeldPublic.model_validate(container.guardrails.hold_queue.get(hold_id, viewer=principal))


def _decide_resource(container: Container, hold_id: str) -> Resource:
    h = container.guardrails.hold_queue.get(hold_id)
    return Resource(kind="held_answer", id=hold_id, owner=h.session_id)


@router.post("/held/{hold_id}/approve", response_model=HeldPublic, summary="Release the held answer as composed")
def approve_held(hold_id: str, principal: LoggedIn, container: ContainerDep) -> HeldPublic:
    require(principal, Action.REVIEW_DECIDE, _decide_resource(container, hold_id))
    return HeldPublic.model_validate(container.guardrails.hold_queue.approve(hold_id, principal))


@router.post("/held/{hold_id}/edit", response_model=HeldPublic, summary="Release an edited answer")
def edit_held(hold_id: str, body: EditIn, principal: LoggedIn, container: ContainerDep) -> HeldPublic:
    require(principal, Action.REVIEW_DECIDE, _decide_resource(container, hold_id))
    return HeldPublic.model_validate(container.guardrails.hold_queue.edit(hold_id, principal, body.text))


@router.post("/held/{hold_id}/reject", response_model=HeldPublic, summary="Reject the held answer")
def reject_held(hold_id: str, body: ReasonIn, principal: LoggedIn, container: ContainerDep) -> HeldPublic:
    require(principal, Action.REVIEW_DECIDE, _decide_resource(container, hold_id))
    return HeldPublic.model_validate(container.guardrails.hold_queue.reject(hold_id, principal, body.reason))


def app_view(container: Container, a: Application) -> ApplicationPublic:
    """An application as staff read it: beside the codes, the matter name, status and field labels in Chinese."""
    return ApplicationPublic.model_validate(a).model_copy(update={
        "matter_name": matter_name(container, a.matter_id), "status_label": status_label(a.status),
        "field_labels": field_labels(container, a)})


@router.get("/applications", response_model=Page[ApplicationPublic], summary="Applications")
def list_applications(
    principal: LoggedIn, container: ContainerDep, limit: Limit = 50, offset: Offset = 0,
    status: Annotated[ApplicationStatus | None, Query(description="Filter by status")] = None,
) -> Page[ApplicationPublic]:
    mine = principal.account_id if principal.role.value == "citizen" else None
    found = container.guardrails.applications.list(status=status, citizen=mine, viewer=principal)
    return page([app_view(container, a) for a in reversed(found)], limit, offset)


def _app_resource(container: Container, app_id: str) -> Resource:
    a = container.guardrails.applications.get(app_id)
    return Resource(kind="application", id=app_id, owner=a.citizen)


@router.post("/applications/{app_id}/approve", response_model=ApplicationPublic, summary="Approve an application")
def approve_application(app_id: str, principal: LoggedIn, container: ContainerDep) -> ApplicationPublic:
    require(principal, Action.APPLICATION_APPROVE, _app_resource(container, app_id))
    return app_view(container, container.guardrails.applications.approve(app_id, principal))


@router.post("/applications/{app_id}/return", response_model=ApplicationPublic, summary="Return for correction")
def return_application(app_id: str, body: ReasonIn, principal: LoggedIn, container: ContainerDep) -> ApplicationPublic:
    require(principal, Action.APPLICATION_RETURN, _app_resource(container, app_id))
    return app_view(container, container.guardrails.applications.return_(app_id, principal, body.reason))


@router.post("/applications/{app_id}/reject", response_model=ApplicationPublic,
             summary="Refuse an application (不予受理) with the reason the citizen reads")
def reject_application(app_id: str, body: ReasonIn, principal: LoggedIn, container: ContainerDep) -> ApplicationPublic:
    require(principal, Action.APPLICATION_RETURN, _app_resource(container, app_id))
    return app_view(container, container.guardrails.applications.reject(app_id, principal, body.reason))


# -- 线上人工帮办 -----------------------------------------------------------------------------------------
@router.get("/handoffs", response_model=Page[HandoffPublic], summary="Hand-offs to a person (线上人工帮办) in queue order: emergencies first, then oldest first")
def list_handoffs(
    principal: LoggedIn, container: ContainerDep, limit: Limit = 50, offset: Offset = 0,
    status: Annotated[list[HandoffStatus] | None, Query(description="Statuses to list; default open and accepted")]
    = None,
) -> Page[HandoffPublic]:
    require(principal, Action.HANDOFF_READ, Resource(kind="handoff_queue"))
    found = container.handoffs.list(principal, tuple(status or ACTIVE))
    return page([HandoffPublic.model_validate(h) for h in found], limit, offset)  # queue order: emergencies first


@router.post("/handoffs/{handoff_id}/accept", response_model=HandoffPublic, summary="Accept a hand-off (接手)")
def accept_handoff(handoff_id: str, body: HandoffNoteIn, principal: LoggedIn, container: ContainerDep) -> HandoffPublic:
    require(principal, Action.HANDOFF_ACCEPT, Resource(kind="handoff", id=handoff_id))
    return HandoffPublic.model_validate(container.handoffs.accept(handoff_id, principal, body.note))


@router.post("/handoffs/{handoff_id}/close", response_model=HandoffPublic,
             summary="Close an accepted hand-off with a note (完成); only whoever accepted it, or an admin")
def close_handoff(handoff_id: str, body: HandoffNoteIn, principal: LoggedIn, container: ContainerDep) -> HandoffPublic:
    # The service checks handoff.close against the reviewer who accepted it (read from the audit log).
    return HandoffPublic.model_validate(container.handoffs.close(handoff_id, principal, body.note))
