"""Application submission gate: the citizen confirms; matters flagged as needing staff approval wait in
`awaiting_staff_review` until a reviewer approves, returns them for correction (退回补正) or refuses them (不予受理),
always with a note the citizen reads. Each step is kept as a status event (the 我的办件 timeline) and a decision is
sent to the citizen's inbox.

Form values stay in the application record only: the audit log gets field names, never values. Submitting needs a
real-name account: an anonymous browser (`visitor:…`) is refused here whatever the dialogue allowed.
"""

from __future__ import annotations

import builtins
import datetime as dt
import secrets
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict
from sqlalchemy.engine import Engine

from guardrails.audit import AuditLog
from guardrails.errors import Forbidden, InvalidInput, InvalidTransition, NotFound
from guardrails.inbox import Inbox, MessageKind
from guardrails.roles import Action, Principal, Resource, require
from guardrails.tables import application_events, applications

VISITOR_PREFIX = "visitor:"  # anonymous browsers (api.deps.visitor_key): they may fill a form, not submit it


class ApplicationStatus(StrEnum):
    AWAITING_STAFF_REVIEW = "awaiting_staff_review"
    SUBMITTED = "submitted"  # no staff approval needed: handed to the back office
    APPROVED = "approved"
    RETURNED = "returned"  # sent back to the citizen with a reason (退回补正)
    REJECTED = "rejected"  # 不予受理, with the reason


# What a person reads for each status: never the code.
STATUS_LABELS: dict[ApplicationStatus, str] = {
    ApplicationStatus.SUBMITTED: "已受理，办理部门处理中",
    ApplicationStatus.AWAITING_STAFF_REVIEW: "审核中",
    ApplicationStatus.APPROVED: "办结",
    ApplicationStatus.RETURNED: "退回补正",
    ApplicationStatus.REJECTED: "不予受理",
}
STAGES = (("submitted", "已提交"), ("accepted", "已受理"), ("in_review", "审核中"), ("completed", "办结"))
ENDINGS = {ApplicationStatus.RETURNED: ("returned", "退回补正"), ApplicationStatus.REJECTED: ("rejected", "不予受理")}


def status_label(status: ApplicationStatus | str) -> str:
    return STATUS_LABELS.get(ApplicationStatus(status), "处理中")


class ApplicationEvent(BaseModel):
    """One step of an application's history: its new status, who moved it, and the note the citizen reads."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    status: ApplicationStatus
    note: str | None
    actor: str
    created_at: dt.datetime


class TimelineStep(BaseModel):
    """One stage of 已提交 → 已受理 → 审核中 → 办结 (or 退回补正 / 不予受理 as the last stage)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str
    label: str
    state: str  # done, current or todo
    at: dt.datetime | None = None
    note: str | None = None


class Application(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    session_id: str
    matter_id: str
    citizen: str
    fields: dict[str, Any]
    status: ApplicationStatus
    requires_staff_approval: bool
    created_at: dt.datetime
    decided_by: str | None = None
    decided_at: dt.datetime | None = None
    return_reason: str | None = None
    sources: dict[str, dict[str, str]] = {}  # field -> {label, source, kind}: where each value came from
    findings: list[dict[str, Any]] = []  # 智能预审 findings at submission


def timeline(app: Application, events: list[ApplicationEvent]) -> list[TimelineStep]:
    """The stages of an application, done / current / to do, with when each happened and the staff note."""
    submitted = app.created_at
    decided = app.decided_at
    reached = {ApplicationStatus.SUBMITTED: 1, ApplicationStatus.AWAITING_STAFF_REVIEW: 2,
               ApplicationStatus.APPROVED: 3, ApplicationStatus.RETURNED: 2, ApplicationStatus.REJECTED: 2}[app.status]
    at = {"submitted": submitted, "accepted": submitted, "in_review": submitted if reached >= 2 else None,
          "completed": decided if app.status == ApplicationStatus.APPROVED else None}
    note = {e.status: e.note for e in events if e.note}
    steps: list[TimelineStep] = []
    for n, (code, label) in enumerate(STAGES):
        if n > reached or (code == "completed" and app.status in ENDINGS):
            if app.status not in ENDINGS:
                steps.append(TimelineStep(code=code, label=label, state="todo"))
            continue
        final = n == reached and app.status not in ENDINGS and app.status != ApplicationStatus.APPROVED
        steps.append(TimelineStep(code=code, label=label, state="current" if final else "done", at=at[code],
                                  note=note.get(ApplicationStatus.APPROVED) if code == "completed" else None))
    if app.status in ENDINGS:
        code, label = ENDINGS[app.status]
        steps.append(TimelineStep(code=code, label=label, state="current", at=decided,
                                  note=note.get(app.status) or app.return_reason))
    return steps


def _app(r: Any) -> Application:
    def aware(v: dt.datetime | None) -> dt.datetime | None:
        return v.replace(tzinfo=dt.UTC) if v is not None and v.tzinfo is None else v

    return Application(
        id=r.id, session_id=r.session_id, matter_id=r.matter_id, citizen=r.citizen, fields=dict(r.fields),
        status=ApplicationStatus(r.status), requires_staff_approval=bool(r.requires_staff_approval),
        created_at=aware(r.created_at), decided_by=r.decided_by, decided_at=aware(r.decided_at),
        return_reason=r.return_reason, sources=dict(r.sources or {}), findings=list(r.findings or []),
    )


class ApplicationGate:
    def __init__(self, engine: Engine, audit: AuditLog, inbox: Inbox | None = None) -> None:
        self.engine = engine
        self.audit = audit
        self.inbox = inbox or Inbox(engine)

    def create(
        self, session_id: str, matter_id: str, citizen: Principal, fields: dict[str, Any],
        requires_staff_approval: bool, *, session_owner: str | None = None,
        sources: dict[str, dict[str, str]] | None = None, findings: list[dict[str, Any]] | None = None,
    ) -> Application:
        """The citizen confirms the application. `session_owner` is whom the session belongs to (default: the
        citizen); a principal confirming in someone else's session, or an anonymous browser, is refused."""
        if citizen.account_id.startswith(VISITOR_PREFIX):
            raise Forbidden("提交申请需要实名登录：请先登录，申请表会保留。submitting needs a logged-in citizen")
        require(citizen, Action.APPLICATION_CONFIRM,
                Resource(kind="session", id=session_id, owner=session_owner or citizen.account_id))
        status = ApplicationStatus.AWAITING_STAFF_REVIEW if requires_staff_approval else ApplicationStatus.SUBMITTED
        app_id = f"app-{secrets.token_hex(6)}"
        with self.engine.begin() as conn:
            conn.execute(applications.insert().values(
                id=app_id, session_id=session_id, matter_id=matter_id, citizen=citizen.account_id, fields=dict(fields),
                status=status.value, requires_staff_approval=requires_staff_approval,
                created_at=dt.datetime.now(dt.UTC), sources=dict(sources or {}), findings=list(findings or []),
            ))
            self._event(conn, app_id, status, None, citizen.account_id)
        self.audit.append(
            "application.created", citizen.account_id, app_id,
            {"session_id": session_id, "matter_id": matter_id, "status": status.value,
             "requires_staff_approval": requires_staff_approval, "field_names": sorted(fields)},
            data_subject=citizen.account_id,
        )
        return self.get(app_id)

    def get(self, app_id: str, viewer: Principal | None = None) -> Application:
        with self.engine.connect() as conn:
            r = conn.execute(sa.select(applications).where(applications.c.id == app_id)).first()
        if r is None:
            raise NotFound(f"no application {app_id!r}; list them with `qingsong review applications`")
        app = _app(r)
        if viewer is not None:
            require(viewer, Action.APPLICATION_READ, Resource(kind="application", id=app_id, owner=app.citizen))
        return app

    @staticmethod
    def _event(conn: sa.Connection, app_id: str, status: ApplicationStatus, note: str | None, actor: str) -> None:
        conn.execute(application_events.insert().values(
            id=f"ev-{secrets.token_hex(8)}", application_id=app_id, status=status.value, note=note, actor=actor,
            created_at=dt.datetime.now(dt.UTC)))

    def events(self, app_id: str) -> list[ApplicationEvent]:
        """The application's status history, oldest first."""
        q = (sa.select(application_events).where(application_events.c.application_id == app_id)
             .order_by(application_events.c.created_at, application_events.c.id))
        with self.engine.connect() as conn:
            return [ApplicationEvent(status=ApplicationStatus(r.status), note=r.note, actor=r.actor,
                                     created_at=r.created_at.replace(tzinfo=dt.UTC) if r.created_at.tzinfo is None
                                     else r.created_at) for r in conn.execute(q)]

    def timeline(self, app: Application) -> list[TimelineStep]:
        return timeline(app, self.events(app.id))

    def list(
        self, status: ApplicationStatus | str | None = None, citizen: str | None = None,
        viewer: Principal | None = None,
    ) -> list[Application]:
        q = sa.select(applications).order_by(applications.c.created_at)
        if status is not None:
            q = q.where(applications.c.status == ApplicationStatus(status).value)
        if citizen is not None:
            q = q.where(applications.c.citizen == citizen)
        with self.engine.connect() as conn:
            found = [_app(r) for r in conn.execute(q)]
        if viewer is not None:
            for a in found:
                require(viewer, Action.APPLICATION_READ, Resource(kind="application", id=a.id, owner=a.citizen))
        return found

    def for_citizen(self, citizen: str, limit: int = 50, offset: int = 0) -> tuple[builtins.list[Application], int]:
        """One page of a citizen's applications, newest first, and how many there are (我的办件)."""
        where = applications.c.citizen == citizen
        q = (sa.select(applications).where(where)
             .order_by(applications.c.created_at.desc(), applications.c.id).limit(limit).offset(offset))
        with self.engine.connect() as conn:
            total = int(conn.execute(sa.select(sa.func.count()).select_from(applications).where(where)).scalar() or 0)
            return [_app(r) for r in conn.execute(q)], total

    def approve(self, app_id: str, reviewer: Principal) -> Application:
        return self._decide(app_id, reviewer, Action.APPLICATION_APPROVE, ApplicationStatus.APPROVED, None)

    def return_(self, app_id: str, reviewer: Principal, reason: str) -> Application:
        if not reason.strip():
            raise InvalidInput("returning an application needs a reason the citizen can act on (退回原因)")
        return self._decide(app_id, reviewer, Action.APPLICATION_RETURN, ApplicationStatus.RETURNED, reason)

    def reject(self, app_id: str, reviewer: Principal, reason: str) -> Application:
        """不予受理: the application is refused, with the reason (and where to turn) the citizen reads."""
        if not reason.strip():
            raise InvalidInput("refusing an application needs a reason the citizen can read (不予受理的理由)")
        return self._decide(app_id, reviewer, Action.APPLICATION_RETURN, ApplicationStatus.REJECTED, reason)

    def _decide(
        self, app_id: str, reviewer: Principal, action: Action, status: ApplicationStatus, reason: str | None
    ) -> Application:
        app = self.get(app_id)
        require(reviewer, action, Resource(kind="application", id=app_id, owner=app.citizen))
        if app.status != ApplicationStatus.AWAITING_STAFF_REVIEW:
            raise InvalidTransition(
                f"application {app_id!r} is {app.status.value}; only awaiting_staff_review can be decided")
        with self.engine.begin() as conn:
            res = conn.execute(
                applications.update()
                .where(applications.c.id == app_id,
                       applications.c.status == ApplicationStatus.AWAITING_STAFF_REVIEW.value)
                .values(status=status.value, decided_by=reviewer.account_id, decided_at=dt.datetime.now(dt.UTC),
                        return_reason=reason)
            )
            if res.rowcount != 1:
                raise InvalidTransition(f"application {app_id!r} was decided by someone else meanwhile")
            self._event(conn, app_id, status, reason, reviewer.account_id)
        body = f"您的申请（编号 {app_id}）状态更新为：{status_label(status)}。" + (f"工作人员留言：{reason}" if reason else "")
        self.inbox.post(app.citizen, MessageKind.STATUS, f"办件状态更新：{status_label(status)}", body, app_id)
        self.audit.append(f"application.{status.value}", reviewer.account_id, app_id,
                          {"matter_id": app.matter_id, "reason": reason, "reviewer_role": reviewer.role.value},
                          data_subject=app.citizen)
        return self.get(app_id)
