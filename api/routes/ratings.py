"""好差评 ratings and rectification tickets; 免申即享 policy matches of an enterprise."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import ContainerDep, LoggedIn, SessionCaller
from api.schemas import (
    ERRORS,
    DisputeIn,
    DisputeReviewIn,
    Page,
    PolicyReportPublic,
    RatingIn,
    RatingPublic,
    ResolveIn,
    TicketDetailPublic,
    page,
)
from feedback.ratings import Ticket, TicketStatus
from guardrails.errors import InvalidInput, NotFound
from guardrails.roles import Action, Resource, require

router = APIRouter(prefix="/api/v1", tags=["ratings"], responses=ERRORS)
Limit = Annotated[int, Query(ge=1, le=200, description="Page size")]
Offset = Annotated[int, Query(ge=0, le=100000, description="Results to skip")]


@router.post("/ratings", response_model=RatingPublic, status_code=201, summary="Rate an answer (turn) or a matter")
def rate(body: RatingIn, caller: SessionCaller, container: ContainerDep) -> RatingPublic:
    acting = caller.acting  # anonymous: the visitor cookie that holds the session
    cited: list[tuple[str, int]] = []
    department: str | None = None
    if body.target == "answer":
        if not body.session_id:
            raise InvalidInput("rating an answer needs session_id (the session of the turn)")
        owner = container.sessions.owner(body.session_id)
        if owner is None:
            raise NotFound(f"no session {body.session_id!r}")
        require(acting, Action.RATINGS_CREATE, Resource(kind="session", id=body.session_id, owner=owner))
        turn = container.sessions.turn(body.session_id, body.target_id)
        if turn is None:
            raise NotFound(f"turn {body.target_id!r} is not in session {body.session_id!r}")
        cited = turn.citations()
        rater = acting.account_id
    else:
        app = container.guardrails.applications.get(body.target_id)
        require(acting, Action.RATINGS_CREATE, Resource(kind="application", id=app.id, owner=app.citizen))
        rater = acting.account_id
        matter = container.registry.matter(app.matter_id)
        department = matter.department if container.kb.queries.unit(matter.department) is not None else None
    out = container.ratings.rate(body.target, body.target_id, body.score, body.reasons, body.comment, cited,
                                department=department, rater=rater)
    units = list(dict.fromkeys(t.unit for t in out.tickets))
    names = [container.kb.queries.unit_name(unit) for unit in units]
    return RatingPublic(rating_id=out.rating.id, tickets=[t.id for t in out.tickets], units=units, unit_names=names)


@router.get("/tickets", response_model=Page[TicketDetailPublic], summary="Rectification tickets (owners: their units)")
def tickets(principal: LoggedIn, container: ContainerDep, limit: Limit = 50, offset: Offset = 0,
            status: Annotated[TicketStatus | None, Query(description="Filter by status")] = None,
            ) -> Page[TicketDetailPublic]:
    if principal.role.value == "owner":
        found: list[Ticket] = []
        for unit in principal.units:
            require(principal, Action.RATINGS_READ, Resource(kind="ticket", unit=unit))
            found += container.ratings.list_tickets(unit=unit, status=status)
    else:
        require(principal, Action.RATINGS_READ, Resource(kind="ticket"))
        found = container.ratings.list_tickets(status=status)
    today = dt.date.today()
    return page([TicketDetailPublic.of(t, today) for t in found], limit, offset)


@router.post("/tickets/{ticket_id}/resolve", response_model=TicketDetailPublic, summary="Resolve with a knowledge version")
def resolve(ticket_id: str, body: ResolveIn, principal: LoggedIn, container: ContainerDep) -> TicketDetailPublic:
    t = container.ratings.ticket(ticket_id)
    require(principal, Action.RATINGS_RESOLVE, Resource(kind="ticket", id=t.id, unit=t.unit))
    return TicketDetailPublic.of(container.ratings.resolve(t.id, t.unit, principal.account_id, body.item_id, body.version,
                                                  body.note))


@router.post("/tickets/{ticket_id}/dispute", response_model=TicketDetailPublic, summary="Dispute a rating (误评/恶意差评)")
def dispute(ticket_id: str, body: DisputeIn, principal: LoggedIn, container: ContainerDep) -> TicketDetailPublic:
    t = container.ratings.ticket(ticket_id)
    require(principal, Action.RATINGS_RESOLVE, Resource(kind="ticket", id=t.id, unit=t.unit))
    return TicketDetailPublic.of(container.ratings.dispute(t.id, t.unit, principal.account_id, body.kind, body.reason))


@router.post("/tickets/{ticket_id}/dispute/review", response_model=TicketDetailPublic,
             summary="Confirm (确认误评) or reject (驳回) a dispute; reviewers, never whoever raised it")
def review_dispute(ticket_id: str, body: DisputeReviewIn, principal: LoggedIn, container: ContainerDep) -> TicketDetailPublic:
    t = container.ratings.ticket(ticket_id)
    require(principal, Action.RATINGS_DISPUTE_REVIEW, Resource(kind="ticket", id=t.id, unit=t.unit, author=t.disputed_by))
    return TicketDetailPublic.of(container.ratings.review_dispute(t.id, principal.account_id, body.confirm, body.note))


@router.get("/enterprises/{enterprise_id}/policies", response_model=PolicyReportPublic,
            summary="免申即享: policies an enterprise qualifies for")
def policies(enterprise_id: str, principal: LoggedIn, container: ContainerDep,
             as_of: Annotated[dt.date | None, Query(description="Date to match on (default today)")] = None,
             ) -> PolicyReportPublic:
    require(principal, Action.POLICY_SIMULATE, Resource(kind="enterprise", id=enterprise_id))
    report = container.policies.match_enterprise(enterprise_id, as_of or dt.date.today(), notify=False)
    return PolicyReportPublic.model_validate(report.as_json())
