"""我的办件 and 消息: a logged-in citizen's (or enterprise's) own applications and inbox. Only ever the caller's own:
another person's application reads as not found."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.container import Container
from api.deps import ContainerDep, LoggedIn
from api.labels import field_label, matter_name
from api.schemas import ERRORS, Page
from api.schemas.me import (
    FieldPublic,
    FindingPublic,
    InboxPublic,
    MessagePublic,
    MyApplicationDetailPublic,
    MyApplicationPublic,
    NotePublic,
    TimelineStepPublic,
)
from guardrails.applications import Application, status_label
from guardrails.errors import NotFound
from guardrails.roles import Action, Resource, require

router = APIRouter(prefix="/api/v1/me", tags=["me"], responses=ERRORS)


def _summary(container: Container, app: Application) -> dict[str, Any]:
    return dict(id=app.id, matter_id=app.matter_id, matter_name=matter_name(container, app.matter_id),
                status=app.status, status_label=status_label(app.status), created_at=app.created_at,
                decided_at=app.decided_at, note=app.return_reason)


def _own(container: Container, principal: Any, app_id: str) -> Application:
    try:
        app = container.guardrails.applications.get(app_id)
    except NotFound:
        app = None
    if app is None or app.citizen != principal.account_id:  # someone else's reads as none at all
        raise NotFound(f"没有找到申请 {app_id!r}；请在“我的办件”中查看您的申请。no application {app_id!r} of yours")
    require(principal, Action.APPLICATION_READ, Resource(kind="application", id=app.id, owner=app.citizen))
    return app


@router.get("/applications", response_model=Page[MyApplicationPublic], summary="我的办件: my applications, newest first")
def my_applications(principal: LoggedIn, container: ContainerDep,
                    limit: Annotated[int, Query(ge=1, le=200, description="Page size")] = 50,
                    offset: Annotated[int, Query(ge=0, le=100000, description="Results to skip")] = 0,
                    ) -> Page[MyApplicationPublic]:
    found, total = container.guardrails.applications.for_citizen(principal.account_id, limit, offset)
    items = [MyApplicationPublic(**_summary(container, a)) for a in found]
    return Page[MyApplicationPublic](items=items, total=total, limit=limit, offset=offset)


@router.get("/applications/{app_id}", response_model=MyApplicationDetailPublic,
            summary="One of my applications: timeline, staff notes, fields with sources, 预审 findings")
def my_application(app_id: str, principal: LoggedIn, container: ContainerDep) -> MyApplicationDetailPublic:
    gate = container.guardrails.applications
    app = _own(container, principal, app_id)
    events = gate.events(app.id)
    names = list(app.sources) + [n for n in app.fields if n not in app.sources]
    fields = [FieldPublic(name=n, label=field_label(container, app, n), value=app.fields[n],
                          source=app.sources.get(n, {}).get("source") or "您在对话中提供")
              for n in names if n in app.fields]
    findings = [FindingPublic(ok=bool(f.get("ok")), field_label=field_label(container, app, str(f.get("field", ""))),
                              message=str(f.get("message", "")), explanation=str(f.get("explanation", "")))
                for f in app.findings]
    notes = [NotePublic(label=status_label(e.status), note=e.note, at=e.created_at) for e in events if e.note]
    steps = [TimelineStepPublic.model_validate(s) for s in gate.timeline(app)]
    return MyApplicationDetailPublic(**_summary(container, app), timeline=steps, fields=fields, findings=findings,
                                     notes=notes)


@router.get("/messages", response_model=InboxPublic, summary="消息: my inbox (status changes, staff replies)")
def my_messages(principal: LoggedIn, container: ContainerDep,
                limit: Annotated[int, Query(ge=1, le=200, description="Page size")] = 50,
                offset: Annotated[int, Query(ge=0, le=100000, description="Results to skip")] = 0,
                ) -> InboxPublic:
    inbox = container.guardrails.inbox
    items = [MessagePublic.model_validate(m) for m in inbox.list(principal.account_id, limit, offset)]
    return InboxPublic(items=items, unread=inbox.unread(principal.account_id))


@router.post("/messages/read", response_model=InboxPublic, summary="Mark all my messages read")
def read_messages(principal: LoggedIn, container: ContainerDep) -> InboxPublic:
    container.guardrails.inbox.mark_read(principal.account_id)
    return my_messages(principal, container)
