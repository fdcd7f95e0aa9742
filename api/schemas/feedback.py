"""好差评 schemas (ratings, rectification tickets, disputes) and the 免申即享 policy report of an enterprise."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import Field

from api.schemas.common import DB_INT_MAX, Public
from feedback.ratings import DisputeKind, ReasonTag, Ticket, TicketStatus
from policy.eligibility import Outcome


class RatingIn(Public):
    target: str = Field(description="'answer' (a turn) or 'matter' (an application)")
    target_id: str = Field(min_length=1, max_length=128, description="Turn id or application id")
    score: int = Field(ge=1, le=5, description="1 (very bad) .. 5 (very good)")
    reasons: list[str] = Field(default_factory=list, max_length=10, description="Reason tags")
    comment: str | None = Field(default=None, max_length=1000, description="Free comment (PII is redacted)")
    session_id: str | None = Field(default=None, max_length=64, description="Session of the rated turn")


class RatingPublic(Public):
    rating_id: str = Field(description="Rating id")
    tickets: list[str] = Field(description="Rectification tickets opened for a bad rating")
    units: list[str] = Field(default_factory=list, description="Units the bad rating was routed to (整改责任单位)")
    unit_names: list[str] = Field(default_factory=list, description="Names of those units, same order")


class TicketPublic(Public):
    id: str = Field(description="Ticket id")
    rating_id: str = Field(description="The rating")
    unit: str = Field(description="Responsible unit")
    status: TicketStatus = Field(description="Ticket status")
    score: int = Field(description="Rating score")
    due_on: dt.date = Field(description="Due date (working days)")
    resolution_note: str | None = Field(description="How it was fixed")
    reasons: list[ReasonTag] = Field(default_factory=list, description="Reason tags of the rating")
    cited: list[str] = Field(default_factory=list, description="Cited knowledge versions, as 'item_id@version'")
    overdue: bool = Field(default=False, description="Past its due date without being closed")


class TicketDetailPublic(TicketPublic):
    dispute_kind: DisputeKind | None = Field(default=None, description="误评 or 恶意差评, when disputed")
    dispute_reason: str | None = Field(default=None, description="The owner unit's reason for the dispute")
    disputed_by: str | None = Field(default=None, description="Who raised the dispute (may not review it)")
    reviewer: str | None = Field(default=None, description="Reviewer who confirmed or rejected the dispute")
    review_note: str | None = Field(default=None, description="The reviewer's note")

    @classmethod
    def of(cls, t: Ticket, today: dt.date | None = None) -> TicketDetailPublic:
        data = t.model_dump(include=set(cls.model_fields) - {"cited", "overdue"})
        return cls.model_validate({**data, "cited": [f"{c.item_id}@{c.version}" for c in t.cited],
                                   "overdue": t.overdue(today or dt.date.today())})


class ResolveIn(Public):
    item_id: str = Field(min_length=1, max_length=100, description="Knowledge item that fixes the cause")
    version: int = Field(ge=1, le=DB_INT_MAX, description="Its version")
    note: str = Field(default="", max_length=500, description="Resolution note")


class DisputeIn(Public):
    kind: str = Field(description="Dispute kind (误评 or 恶意差评 codes)")
    reason: str = Field(min_length=1, max_length=500, description="Why")


class DisputeReviewIn(Public):
    confirm: bool = Field(description="true: confirm the 误评/恶意差评 (ticket closed without a fix); "
                                      "false: reject it (the owner unit must still resolve the ticket)")
    note: str = Field(default="", max_length=500, description="Reviewer's note, recorded on the ticket")


# -- 免申即享 --------------------------------------------------------------------------------------------
class PolicyMatchPublic(Public):
    policy_id: str = Field(description="Policy knowledge item id")
    version: int = Field(description="Its version")
    title: str = Field(description="Policy title")
    verdict: Outcome = Field(description="Whether the enterprise qualifies")
    mianshen: bool = Field(description="免申即享: granted without an application")
    citation: dict[str, Any] = Field(description="The knowledge version the verdict rests on")
    conditions: list[dict[str, Any]] = Field(description="Each eligibility condition with its result")
    missing_fields: list[str] = Field(description="Profile fields the verdict still needs")
    amount: dict[str, Any] | None = Field(description="Computed amount, when eligible")
    note: str | None = Field(description="Why no verdict could be given, if so")


class PolicyReportPublic(Public):
    enterprise_id: str = Field(description="The enterprise (一企一档 profile id)")
    enterprise_name: str | None = Field(description="Its name")
    as_of: dt.date = Field(description="Date matched on")
    policies: list[PolicyMatchPublic] = Field(description="Every policy in force, with its verdict")
    notifications: list[dict[str, Any]] = Field(description="Push notifications for eligible policies")
