"""Application submission gate: the citizen confirms; matters flagged as needing staff approval wait in
`awaiting_staff_review` until a reviewer approves or returns them with a reason.

Form values stay in the application record only: the audit log gets field names, never values.
"""

from __future__ import annotations

import datetime as dt
import secrets
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict
from sqlalchemy.engine import Engine

from guardrails.audit import AuditLog
from guardrails.errors import InvalidInput, InvalidTransition, NotFound
from guardrails.roles import Action, Principal, Resource, require
from guardrails.tables import applications


class ApplicationStatus(StrEnum):
    AWAITING_STAFF_REVIEW = "awaiting_staff_review"
    SUBMITTED = "submitted"  # no staff approval needed: handed to the back office
    APPROVED = "approved"
    RETURNED = "returned"  # sent back to the citizen with a reason (退回补正)


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


def _app(r: Any) -> Application:
    def aware(v: dt.datetime | None) -> dt.datetime | None:
        return v.replace(tzinfo=dt.UTC) if v is not None and v.tzinfo is None else v

    return Application(
        id=r.id, session_id=r.session_id, matter_id=r.matter_id, citizen=r.citizen, fields=dict(r.fields),
        status=ApplicationStatus(r.status), requires_staff_approval=bool(r.requires_staff_approval),
        created_at=aware(r.created_at), decided_by=r.decided_by, decided_at=aware(r.decided_at),
        return_reason=r.return_reason,
    )


class ApplicationGate:
    def __init__(self, engine: Engine, audit: AuditLog) -> None:
        self.engine = engine
        self.audit = audit

    def create(
        self, session_id: str, matter_id: str, citizen: Principal, fields: dict[str, Any],
        requires_staff_approval: bool, *, session_owner: str | None = None,
    ) -> Application:
        """The citizen confirms the application. `session_owner` is whom the session belongs to (default: the
        citizen); a principal confirming in someone else's session is refused."""
        require(citizen, Action.APPLICATION_CONFIRM,
                Resource(kind="session", id=session_id, owner=session_owner or citizen.account_id))
        status = ApplicationStatus.AWAITING_STAFF_REVIEW if requires_staff_approval else ApplicationStatus.SUBMITTED
        app_id = f"app-{secrets.token_hex(6)}"
        with self.engine.begin() as conn:
            conn.execute(applications.insert().values(
                id=app_id, session_id=session_id, matter_id=matter_id, citizen=citizen.account_id, fields=dict(fields),
                status=status.value, requires_staff_approval=requires_staff_approval,
                created_at=dt.datetime.now(dt.UTC),
            ))
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

    def approve(self, app_id: str, reviewer: Principal) -> Application:
        return self._decide(app_id, reviewer, Action.APPLICATION_APPROVE, ApplicationStatus.APPROVED, None)

    def return_(self, app_id: str, reviewer: Principal, reason: str) -> Application:
        if not reason.strip():
            raise InvalidInput("returning an application needs a reason the citizen can act on (退回原因)")
        return self._decide(app_id, reviewer, Action.APPLICATION_RETURN, ApplicationStatus.RETURNED, reason)

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
        self.audit.append(f"application.{status.value}", reviewer.account_id, app_id,
                          {"matter_id": app.matter_id, "reason": reason, "reviewer_role": reviewer.role.value},
                          data_subject=app.citizen)
        return self.get(app_id)
