"""Review-queue schemas: held answers, applications and hand-offs to a person (线上人工帮办)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import Field

from api.schemas.common import Public
from assistant.handoffs import HandoffStatus
from guardrails.applications import ApplicationStatus
from guardrails.review import HoldStatus


class HeldPublic(Public):
    id: str = Field(description="Hold id")
    turn_id: str = Field(description="Turn whose answer is held")
    session_id: str = Field(description="Session of the turn")
    answer: str = Field(description="The composed answer waiting for review")
    reason: str = Field(description="Why it was held")
    citations: list[tuple[str, int]] = Field(description="[item_id, version] pairs cited")
    status: HoldStatus = Field(description="Review status")
    created_at: dt.datetime = Field(description="When it was held")
    reviewer: str | None = Field(description="Who decided")
    final_text: str | None = Field(description="Released text")
    reject_reason: str | None = Field(description="Why it was rejected")


class EditIn(Public):
    text: str = Field(min_length=1, max_length=5000, description="The text to release instead")


class ReasonIn(Public):
    reason: str = Field(min_length=1, max_length=500, description="Reason the citizen or auditor will see")


class ApplicationPublic(Public):
    id: str = Field(description="Application id")
    session_id: str = Field(description="Session that produced it")
    matter_id: str = Field(description="Matter applied for")
    citizen: str = Field(description="Citizen account (or anonymous session) id")
    fields: dict[str, Any] = Field(description="Submitted form values")
    status: ApplicationStatus = Field(description="Application status")
    requires_staff_approval: bool = Field(description="Whether staff must approve it")
    created_at: dt.datetime = Field(description="When it was confirmed")
    decided_by: str | None = Field(description="Who decided")
    return_reason: str | None = Field(description="Why it was returned (退回补正) or refused (不予受理)")
    matter_name: str = Field(default="", description="The matter's name in Chinese")
    status_label: str = Field(default="", description="The status in Chinese (审核中, 办结, 退回补正, 不予受理, …)")
    field_labels: dict[str, str] = Field(default_factory=dict, description="Field code -> Chinese label")
    sources: dict[str, dict[str, str]] = Field(default_factory=dict,
                                               description="Field code -> {label, source, kind}: where each value "
                                                           "came from")


class HandoffPublic(Public):
    id: str = Field(description="Hand-off id")
    session_id: str = Field(description="Chat session that was handed off")
    turn_id: str = Field(description="Turn in which the assistant handed off (audit trace subject)")
    reason: str = Field(description="citizen_request (转人工), unknown (助手无法回答) or emergency")
    status: HandoffStatus = Field(description="Hand-off status")
    conversation: list[dict[str, Any]] = Field(description="Redacted questions and replies up to the hand-off")
    created_at: dt.datetime = Field(description="When the assistant handed off")
    accepted_by: str | None = Field(description="Reviewer who accepted it (接手)")
    accepted_at: dt.datetime | None = Field(description="When it was accepted")
    accept_note: str | None = Field(description="Note given when accepting")
    closed_by: str | None = Field(description="Who closed it (完成)")
    closed_at: dt.datetime | None = Field(description="When it was closed")
    close_note: str | None = Field(description="What was done for the citizen")
    ticket: str = Field(default="", description="Ticket number the citizen was given (工单号)")
    queue_position: int | None = Field(default=None, description="Place in the waiting queue (1 = next); "
                                                                 "emergencies first; none once taken")
    emergency: bool = Field(default=False, description="An emergency hand-off (紧急求助), listed first")


class HandoffNoteIn(Public):
    note: str = Field(default="", max_length=500, description="Note recorded in the audit log; required to close")
