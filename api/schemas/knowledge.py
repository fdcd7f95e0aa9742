"""Knowledge schemas: items, versions, diffs, drafts, ingest uploads; matters and bundles of the catalogue."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from api.schemas.common import Public
from assistant.catalog import Matter
from ingest.plan import Action as IngestAction
from kb.models import Audience, ItemStatus, Kind, Level, VersionState


class ItemPublic(Public):
    id: str = Field(description="Stable item id")
    kind: Kind = Field(description="Kind of the item")
    title: str = Field(description="Title")
    owner: str = Field(description="Owner unit (谁录入谁负责)")
    owner_name: str | None = Field(default=None, description="Owner unit's name, for display")
    level: Level = Field(description="市/区/街镇 level")
    audience: list[Audience] = Field(description="个人 and/or 法人 (live metadata; a draft's changes are in its version)")
    status: ItemStatus = Field(description="Lifecycle status")
    current_version: int | None = Field(description="Live (published) version, if any")
    latest_version: int = Field(description="Newest version number")
    retired_reason: str | None = Field(description="Why it was retired")
    replaced_by: str | None = Field(description="The item replacing it")
    updated_at: dt.datetime | None = Field(description="Last change")
    pending_version: int | None = Field(default=None, description="Its version in progress (draft, in review or "
                                        "approved), shown only to those who may see drafts")
    pending_state: VersionState | None = Field(default=None, description="State of that version")
    required_sections: list[str] | None = Field(
        default=None, description="Sections a version must have to be submitted (single reads only)")


class VersionMetaPublic(Public):
    owner: str = Field(description="Owner unit this version goes live under")
    level: Level = Field(description="市/区/街镇 level")
    audience: list[Audience] = Field(description="个人 and/or 法人")
    tags: list[str] = Field(description="Tag names")
    related: list[str] = Field(description="Related item ids")

    @field_validator("tags", mode="before")
    @classmethod
    def _names(cls, value: object) -> object:
        if isinstance(value, (list, tuple)):
            return [getattr(t, "tag", t) for t in value]
        return value


class VersionPublic(Public):
    item_id: str = Field(description="Item id")
    number: int = Field(description="Version number")
    state: VersionState = Field(description="Version state")
    author: str = Field(description="Who wrote it")
    approved_by: str | None = Field(description="Who approved it (four-eyes)")
    change_note: str = Field(description="Change note")
    effective_from: dt.date = Field(description="In force from")
    expires_at: dt.date | None = Field(description="In force until (exclusive)")
    review_due: dt.date | None = Field(default=None, description="When the owner unit should review it again (复审)")
    content_hash: str = Field(description="Hash of the normalised content")
    review_note: str | None = Field(default=None, description="Why a reviewer rejected it or its unit withdrew it")
    meta: VersionMetaPublic | None = Field(
        default=None, description="Owner, level, audience, tags and related items proposed with this version; "
                                  "they go live only when it is published")
    content: dict[str, Any] | None = Field(default=None, description="Title, sections, 文号 (only on single reads)")

    @field_validator("content", mode="before")
    @classmethod
    def _dump(cls, value: object) -> object:
        return value.model_dump(mode="json") if isinstance(value, BaseModel) else value

    def summary(self) -> VersionPublic:
        """The list view: without the content."""
        return self.model_copy(update={"content": None})


class SectionIn(Public):
    heading: str = Field(min_length=1, max_length=100, description="Section heading, e.g. 申请材料")
    text: str = Field(min_length=1, max_length=20000, description="Section text")


class DraftIn(Public):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{2,80}$", description="Item id (new or existing)")
    kind: str = Field(description="guide, policy, review_point or faq")
    owner: str = Field(min_length=1, max_length=64, description="Owner unit id; must be one of your units")
    level: str = Field(description="Level of the owner unit")
    audience: list[str] = Field(min_length=1, max_length=2, description="个人 and/or 法人")
    title: str = Field(min_length=1, max_length=200, description="Title")
    sections: list[SectionIn] = Field(min_length=1, max_length=30, description="Sections in order")
    effective_from: dt.date = Field(description="In force from")
    expires_at: dt.date | None = Field(default=None, description="In force until (exclusive)")
    review_due: dt.date | None = Field(default=None, description="When the owner unit should review it again (复审)")
    related: list[str] | None = Field(default=None, max_length=50,
                                      description="Related item ids; omitted: the item's current ones are kept")
    change_note: str = Field(default="", max_length=500, description="Why this version")


class DecisionIn(Public):
    note: str = Field(default="", max_length=500, description="Reason or note recorded in the audit log")


class RetireIn(Public):
    reason: str = Field(min_length=1, max_length=500, description="Why it is retired (退出原因)")
    replaced_by: str | None = Field(default=None, max_length=100, description="Item id that replaces it")


class SectionDiffPublic(Public):
    heading: str = Field(description="Section heading")
    change: Literal["added", "removed", "changed", "same"] = Field(description="What happened to the section")
    unified: str = Field(description="Unified diff of the section text")
    left: str = Field(description="Left text")
    right: str = Field(description="Right text")


class DiffPublic(Public):
    item_id: str = Field(description="Item id")
    left: int = Field(description="Left version")
    right: int = Field(description="Right version")
    changed_sections: list[str] = Field(description="Headings that changed")
    sections: list[SectionDiffPublic] = Field(description="Per-section change, with left/right text and unified diff")
    dates_changed: dict[str, list[str | None]] = Field(description="Dates that changed, field -> [left, right]")
    metadata_changed: dict[str, list[str | None]] = Field(
        description="Metadata that changed (owner, level, audience, tags, related, source_path) -> [left, right]")


class IngestOutcomePublic(Public):
    source: str = Field(description="Uploaded file the item came from")
    item_id: str = Field(description="Knowledge item id")
    action: IngestAction = Field(description="What was done with the item")
    version: int | None = Field(description="Draft version created, if any")
    detail: str = Field(description="Why this action was chosen")


class IngestMessagePublic(Public):
    source: str = Field(description="Uploaded file that was skipped")
    message: str = Field(description="Why it was skipped and how to fix it")


class IngestReportPublic(Public):
    created: int = Field(description="New items created as drafts")
    new_versions: int = Field(description="New draft versions of existing items")
    unchanged: int = Field(description="Items whose content did not change")
    skipped: int = Field(description="Files or items rejected (see messages)")
    outcomes: list[IngestOutcomePublic] = Field(description="One entry per item that was read")
    messages: list[IngestMessagePublic] = Field(description="Rejected files or items with the reason")
    published: bool = Field(description="Always false: uploads create drafts, publishing needs four-eyes approval")


class IngestJobPublic(Public):
    id: str = Field(description="Job id; poll GET /api/v1/knowledge/ingest/{id}")
    status: Literal["queued", "running", "finished", "failed"] = Field(description="Job status")
    stage: Literal["queued", "read", "apply", "done"] = Field(
        description="queued, read (parsing files), apply (writing drafts) or done")
    done: int = Field(description="Steps done in the current stage")
    total: int = Field(description="Steps in the current stage")
    files: list[str] = Field(description="Uploaded file names")
    error: str | None = Field(description="Why the job failed, if it did")
    report: IngestReportPublic | None = Field(description="The ingest report, once finished")


# -- the matter catalogue --------------------------------------------------------------------------------
class MatterPublic(Public):
    id: str = Field(description="Matter id")
    version: int = Field(description="Matter definition version")
    name: str = Field(description="Matter name (事项名称)")
    department: str = Field(description="Responsible department unit id")
    audience: Audience = Field(description="个人 or 法人")
    description: str = Field(description="What the matter is")
    knowledge: list[str] = Field(description="Knowledge item ids it cites, guide first")
    requires_staff_approval: bool = Field(description="Whether staff must approve applications")
    fields: list[dict[str, Any]] = Field(description="Form schema fields")

    @classmethod
    def of(cls, m: Matter) -> MatterPublic:
        form = [f.model_dump(mode="json") for f in m.form]
        return cls.model_validate({**m.model_dump(include=set(cls.model_fields) - {"fields"}), "fields": form})


class BundlePublic(Public):
    id: str = Field(description="Bundle id")
    version: int = Field(description="Bundle definition version")
    name: str = Field(description="Bundle name (一件事)")
    description: str = Field(description="What the bundle covers")
    matters: list[str] = Field(description="Matter ids, in order")
    carry_over: list[str] = Field(description="Fields carried from one matter to the next")


class TagEditIn(BaseModel):
    """Tags to add or remove. The change is a draft version that goes live only after a second person approves."""

    add: list[str] = Field(default_factory=list, max_length=20, description="Tag names to add")
    remove: list[str] = Field(default_factory=list, max_length=20, description="Tag names to remove")

    @field_validator("add", "remove")
    @classmethod
    def _short(cls, value: list[str]) -> list[str]:
        if any(len(t) > 32 for t in value):
            raise ValueError("a tag has at most 32 characters")
        return value


class DuePublic(Public):
    item_id: str = Field(description="Item id")
    title: str = Field(description="Title")
    owner: str = Field(description="Owner unit")
    owner_name: str = Field(description="Owner unit's name")
    version: int = Field(description="Live version")
    reason: Literal["expired", "expiring", "review_overdue", "review_due"] = Field(description="Why it is listed")
    reason_label: str = Field(description="The reason in Chinese, for display")
    date: dt.date = Field(description="Expiry or review-by date")
    days_left: int = Field(description="Days until that date (negative: passed)")


class InboxPublic(BaseModel):
    """An owner unit's inbox (谁录入谁负责): its open drafts, versions sent back with the reviewer's reason, and
    live items whose review-by or expiry date is near."""

    units: list[str] = Field(description="The units this inbox covers")
    drafts: list[VersionPublic] = Field(description="Versions saved, in review or approved, not yet live")
    rejected: list[VersionPublic] = Field(description="Versions a reviewer sent back, with the reason (newest first)")
    due: list[DuePublic] = Field(description="Live items to review or renew soon")
