"""我的办件 and 消息: a citizen's own applications with their Chinese timeline, and their inbox."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import Field

from api.schemas.common import Public
from guardrails.applications import ApplicationStatus
from guardrails.inbox import MessageKind


class MyApplicationPublic(Public):
    id: str = Field(description="Application id (申请编号)")
    matter_id: str = Field(description="Matter applied for")
    matter_name: str = Field(description="The matter's name in Chinese")
    status: ApplicationStatus = Field(description="Status code")
    status_label: str = Field(description="Status as a person reads it: 已受理/审核中/办结/退回补正/不予受理")
    created_at: dt.datetime = Field(description="When it was submitted")
    decided_at: dt.datetime | None = Field(description="When staff decided, if they have")
    note: str | None = Field(description="The staff note for the citizen (退回补正 or 不予受理 reason)")


class TimelineStepPublic(Public):
    code: str = Field(description="submitted, accepted, in_review, completed, returned or rejected")
    label: str = Field(description="已提交, 已受理, 审核中, 办结, 退回补正 or 不予受理")
    state: str = Field(description="done, current or todo")
    at: dt.datetime | None = Field(description="When the stage was reached")
    note: str | None = Field(description="Staff note at this stage")


class FieldPublic(Public):
    name: str = Field(description="Field code (for programs)")
    label: str = Field(description="Field label in Chinese")
    value: Any = Field(description="Submitted value")
    source: str = Field(description="Where the value came from, in Chinese (对话/档案/电子证照…)")


class FindingPublic(Public):
    ok: bool = Field(description="Whether the 预审 check passed")
    field_label: str = Field(description="The field it concerns, in Chinese")
    message: str = Field(description="The finding in Chinese")
    explanation: str = Field(description="Why, in Chinese")


class NotePublic(Public):
    label: str = Field(description="Status the note came with, in Chinese")
    note: str = Field(description="What the staff member wrote")
    at: dt.datetime = Field(description="When")


class MyApplicationDetailPublic(MyApplicationPublic):
    timeline: list[TimelineStepPublic] = Field(description="已提交 → 已受理 → 审核中 → 办结 (or 退回补正 / 不予受理)")
    fields: list[FieldPublic] = Field(description="Submitted fields with Chinese labels and sources")
    findings: list[FindingPublic] = Field(description="智能预审 findings at submission")
    notes: list[NotePublic] = Field(description="Staff notes, oldest first")


class MessagePublic(Public):
    id: str = Field(description="Message id")
    kind: MessageKind = Field(description="status (an application changed) or handoff (a staff reply)")
    title: str = Field(description="Title in Chinese")
    body: str = Field(description="Text in Chinese")
    application_id: str | None = Field(description="The application it is about, if any")
    created_at: dt.datetime = Field(description="When it was sent")
    read_at: dt.datetime | None = Field(description="When the citizen opened the inbox after it arrived")


class InboxPublic(Public):
    items: list[MessagePublic] = Field(description="Messages, newest first")
    unread: int = Field(description="How many are unread")
