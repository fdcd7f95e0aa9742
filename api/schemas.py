"""Public API schemas (separate from domain models). Every field carries a description for the OpenAPI docs."""

from __future__ import annotations

import datetime as dt
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


class Public(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Page(Public, Generic[T]):
    items: list[T] = Field(description="This page of results")
    total: int = Field(description="How many results there are in all")
    limit: int = Field(description="Page size that was applied")
    offset: int = Field(description="How many results were skipped")


def page(values: list[Any], limit: int, offset: int) -> dict[str, Any]:
    return {"items": values[offset:offset + limit], "total": len(values), "limit": limit, "offset": offset}


class ErrorBody(Public):
    code: str = Field(description="Machine-readable error code, e.g. not_found, forbidden, invalid_request")
    message: str = Field(description="What went wrong and how to fix it")


class ErrorEnvelope(Public):
    error: ErrorBody = Field(description="The error")


# -- chat ----------------------------------------------------------------------------------------------
class ChatRequest(Public):
    text: str = Field(min_length=1, max_length=2000, description="The citizen's message, in plain Chinese")
    session_id: str | None = Field(default=None, max_length=64, description="Continue this session; omit to start one")


class TurnPublic(BaseModel):
    outcome: str = Field(description="answered, clarifying, collecting, awaiting_confirmation, held_for_review, "
                                     "handed_off, submitted or refused")
    reply: str = Field(description="The assistant's reply in Chinese")
    session_id: str = Field(description="Session to send with the next message")
    turn_id: str = Field(description="Id of this turn (audit trace subject)")
    matter: dict[str, Any] | None = Field(description="The matter being handled, with bundle step if any")
    slots: list[dict[str, Any]] = Field(description="Form fields filled so far, each with its source (provenance)")
    citations: list[dict[str, Any]] = Field(description="Knowledge item versions the reply rests on")
    checklist: list[dict[str, Any]] = Field(description="Material checklist (required, waived by e-licence, expired)")
    findings: list[dict[str, Any]] = Field(description="智能预审 findings with explanations")
    choices: list[dict[str, Any]] = Field(description="Buttons: send `value` back as the next message")
    application: dict[str, Any] | None = Field(description="The application created by this turn, if any")
    handoff_id: str | None = Field(description="Hand-off to a human agent, if any")


# -- matters -------------------------------------------------------------------------------------------
class MatterPublic(Public):
    id: str = Field(description="Matter id")
    version: int = Field(description="Matter definition version")
    name: str = Field(description="Matter name (事项名称)")
    department: str = Field(description="Responsible department unit id")
    audience: str = Field(description="个人 or 法人")
    description: str = Field(description="What the matter is")
    knowledge: list[str] = Field(description="Knowledge item ids it cites, guide first")
    requires_staff_approval: bool = Field(description="Whether staff must approve applications")
    fields: list[dict[str, Any]] = Field(description="Form schema fields")


class BundlePublic(Public):
    id: str = Field(description="Bundle id")
    version: int = Field(description="Bundle definition version")
    name: str = Field(description="Bundle name (一件事)")
    description: str = Field(description="What the bundle covers")
    matters: list[str] = Field(description="Matter ids, in order")
    carry_over: list[str] = Field(description="Fields carried from one matter to the next")


# -- knowledge -----------------------------------------------------------------------------------------
class ItemPublic(Public):
    id: str = Field(description="Stable item id")
    kind: str = Field(description="guide, policy, review_point or faq")
    title: str = Field(description="Title")
    owner: str = Field(description="Owner unit (谁录入谁负责)")
    level: str = Field(description="市/区/街镇 level")
    status: str = Field(description="draft, in_review, published or retired")
    current_version: int | None = Field(description="Live (published) version, if any")
    latest_version: int = Field(description="Newest version number")
    retired_reason: str | None = Field(description="Why it was retired")
    replaced_by: str | None = Field(description="The item replacing it")
    updated_at: dt.datetime | None = Field(description="Last change")


class VersionPublic(Public):
    item_id: str = Field(description="Item id")
    number: int = Field(description="Version number")
    state: str = Field(description="draft, in_review, approved, published, superseded, withdrawn")
    author: str = Field(description="Who wrote it")
    approved_by: str | None = Field(description="Who approved it (four-eyes)")
    change_note: str = Field(description="Change note")
    effective_from: dt.date = Field(description="In force from")
    expires_at: dt.date | None = Field(description="In force until (exclusive)")
    content_hash: str = Field(description="Hash of the normalised content")
    content: dict[str, Any] | None = Field(default=None, description="Title, sections, 文号 (only on single reads)")


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
    change_note: str = Field(default="", max_length=500, description="Why this version")


class DecisionIn(Public):
    note: str = Field(default="", max_length=500, description="Reason or note recorded in the audit log")


class RetireIn(Public):
    reason: str = Field(min_length=1, max_length=500, description="Why it is retired (退出原因)")
    replaced_by: str | None = Field(default=None, max_length=100, description="Item id that replaces it")


class DiffPublic(Public):
    item_id: str = Field(description="Item id")
    left: int = Field(description="Left version")
    right: int = Field(description="Right version")
    changed_sections: list[str] = Field(description="Headings that changed")
    sections: list[dict[str, Any]] = Field(description="Per-section change, with left/right text and unified diff")
    dates_changed: dict[str, Any] = Field(description="Dates that changed, field -> [left, right]")


class IngestOutcomePublic(Public):
    source: str = Field(description="Uploaded file the item came from")
    item_id: str = Field(description="Knowledge item id")
    action: str = Field(description="create, new_version, unchanged or update_metadata")
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
    status: str = Field(description="queued, running, finished or failed")
    stage: str = Field(description="queued, read (parsing files), apply (writing drafts) or done")
    done: int = Field(description="Steps done in the current stage")
    total: int = Field(description="Steps in the current stage")
    files: list[str] = Field(description="Uploaded file names")
    error: str | None = Field(description="Why the job failed, if it did")
    report: IngestReportPublic | None = Field(description="The ingest report, once finished")


# -- review --------------------------------------------------------------------------------------------
class HeldPublic(Public):
    id: str = Field(description="Hold id")
    turn_id: str = Field(description="Turn whose answer is held")
    session_id: str = Field(description="Session of the turn")
    answer: str = Field(description="The composed answer waiting for review")
    reason: str = Field(description="Why it was held")
    citations: list[list[Any]] = Field(description="[item_id, version] pairs cited")
    status: str = Field(description="pending, approved, edited or rejected")
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
    status: str = Field(description="awaiting_staff_review, submitted, approved or returned")
    requires_staff_approval: bool = Field(description="Whether staff must approve it")
    created_at: dt.datetime = Field(description="When it was confirmed")
    decided_by: str | None = Field(description="Who decided")
    return_reason: str | None = Field(description="Why it was returned (退回补正)")


# -- audit ---------------------------------------------------------------------------------------------
class EventPublic(Public):
    seq: int = Field(description="Position in the log (Merkle leaf index)")
    ts: str = Field(description="Timestamp")
    event: str = Field(description="Event name, e.g. turn.finalised")
    actor: str = Field(description="Who acted")
    subject: str = Field(description="What it is about (turn id, item:version, ...)")
    leaf_hash: str = Field(description="Merkle leaf hash")
    data: dict[str, Any] | None = Field(description="Payload (None once forgotten)")


class ReceiptPublic(Public):
    leaf_index: int = Field(description="Leaf index")
    leaf_hash: str = Field(description="Leaf hash")
    tree_size: int = Field(description="Tree size the proof is for")
    root: str = Field(description="Merkle root at that size")
    proof: list[str] = Field(description="Audit path, hex")
    verified: bool = Field(description="Whether the proof checks against the root")


class TracePublic(Public):
    turn_id: str = Field(description="The turn")
    events: list[EventPublic] = Field(description="Every audit event about the turn")
    receipt: ReceiptPublic | None = Field(description="Inclusion proof of the turn.finalised event")
    verified: bool = Field(description="Receipt verifies and the whole log verifies")


class VerifyPublic(Public):
    ok: bool = Field(description="No tampering found")
    tree_size: int = Field(description="Events in the log")
    root: str = Field(description="Current Merkle root")
    checkpoints_checked: int = Field(description="Signed checkpoints checked")
    problems: list[dict[str, Any]] = Field(description="Each inconsistency found")
    seconds: float = Field(description="Time taken")


# -- ratings -------------------------------------------------------------------------------------------
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
    status: str = Field(description="Ticket status")
    score: int = Field(description="Rating score")
    due_on: dt.date = Field(description="Due date (working days)")
    resolution_note: str | None = Field(description="How it was fixed")
    reasons: list[str] = Field(default_factory=list, description="Reason tags of the rating")
    cited: list[str] = Field(default_factory=list, description="Cited knowledge versions, as 'item_id@version'")
    overdue: bool = Field(default=False, description="Past its due date without being closed")


class ResolveIn(Public):
    item_id: str = Field(min_length=1, max_length=100, description="Knowledge item that fixes the cause")
    version: int = Field(ge=1, description="Its version")
    note: str = Field(default="", max_length=500, description="Resolution note")


class DisputeIn(Public):
    kind: str = Field(description="Dispute kind (误评 or 恶意差评 codes)")
    reason: str = Field(min_length=1, max_length=500, description="Why")


# -- accounts ------------------------------------------------------------------------------------------
class AccountPublic(Public):
    id: str = Field(description="Account id")
    name: str = Field(description="Login name")
    role: str = Field(description="citizen, owner, reviewer, auditor or admin")
    units: list[str] = Field(description="Owner units (owners only)")
    profile_id: str | None = Field(description="Linked 一人一档 profile (citizens)")
    token_hint: str = Field(description="First characters of the token")
    active: bool = Field(description="Not revoked")


class AccountIn(Public):
    name: str = Field(min_length=1, max_length=64, description="Login name")
    role: str = Field(description="citizen, owner, reviewer, auditor or admin")
    units: list[str] = Field(default_factory=list, max_length=20, description="Owner units (owners only)")
    profile_id: str | None = Field(default=None, max_length=64, description="Linked profile (citizens)")


class NewAccountPublic(Public):
    account: AccountPublic = Field(description="The account")
    token: str = Field(description="Bearer token, shown once")


class MePublic(Public):
    account_id: str = Field(description="Account id, or 'anonymous'")
    role: str = Field(description="Role")
    units: list[str] = Field(description="Owner units")
    profile_id: str | None = Field(description="Linked profile")
    name: str | None = Field(description="Display name")


# -- search ---------------------------------------------------------------------------------------------
class HitPublic(BaseModel):
    """One search hit: the passage and where it comes from."""

    item_id: str = Field(description="Knowledge item id")
    version: int = Field(description="Version number that produced the hit")
    kind: str = Field(description="guide, policy, review_point or faq")
    title: str = Field(description="Item title")
    owner: str = Field(description="Owner unit id (谁录入谁负责)")
    section: str = Field(description="Section of the item the passage comes from")
    score: float = Field(description="Fused retrieval score")
    text: str = Field(description="The passage")


# -- chat: a session's turns with the review state of held answers ---------------------------------------
class HeldReviewPublic(Public):
    status: str = Field(description="pending, approved, edited or rejected (人工复核 of a held answer)")
    text: str | None = Field(description="What the citizen may now see: the released (possibly edited) answer, "
                                         "or the rejection notice; null while pending")
    citations: list[dict[str, Any]] = Field(description="Knowledge versions the released answer rests on, "
                                                        "each {item_id, version}; empty unless released")
    decided_at: dt.datetime | None = Field(description="When the reviewer decided")


class TurnRecordPublic(Public):
    id: str = Field(description="Turn id")
    idx: int = Field(description="Position of the turn in the session, from 1")
    question: str = Field(description="The citizen's message, PII-redacted")
    outcome: str = Field(description="Outcome of the turn, e.g. answered or held_for_review")
    reply: str = Field(description="The reply given at the time (for a held answer: the interim message)")
    result: dict[str, Any] = Field(description="The public turn result as returned by POST /api/v1/chat")
    created_at: dt.datetime = Field(description="When the turn ran")
    review: HeldReviewPublic | None = Field(description="For a held answer: its review state and released text; "
                                                        "null for other turns")


class SessionTurnsPublic(Public):
    session_id: str = Field(description="The session")
    turns: list[TurnRecordPublic] = Field(description="Turns of the session in order")


# -- 线上人工帮办 -------------------------------------------------------------------------------------------
class HandoffPublic(Public):
    id: str = Field(description="Hand-off id")
    session_id: str = Field(description="Chat session that was handed off")
    turn_id: str = Field(description="Turn in which the assistant handed off (audit trace subject)")
    reason: str = Field(description="citizen_request (转人工), unknown (助手无法回答) or emergency")
    status: str = Field(description="open, accepted or closed")
    conversation: list[dict[str, Any]] = Field(description="Redacted questions and replies up to the hand-off")
    created_at: dt.datetime = Field(description="When the assistant handed off")
    accepted_by: str | None = Field(description="Reviewer who accepted it (接手)")
    accepted_at: dt.datetime | None = Field(description="When it was accepted")
    accept_note: str | None = Field(description="Note given when accepting")
    closed_by: str | None = Field(description="Who closed it (完成)")
    closed_at: dt.datetime | None = Field(description="When it was closed")
    close_note: str | None = Field(description="What was done for the citizen")


class HandoffNoteIn(Public):
    note: str = Field(default="", max_length=500, description="Note recorded in the audit log; required to close")


# -- ratings: dispute review ---------------------------------------------------------------------------
class TicketDetailPublic(TicketPublic):
    dispute_kind: str | None = Field(default=None, description="误评 or 恶意差评, when disputed")
    dispute_reason: str | None = Field(default=None, description="The owner unit's reason for the dispute")
    disputed_by: str | None = Field(default=None, description="Who raised the dispute (may not review it)")
    reviewer: str | None = Field(default=None, description="Reviewer who confirmed or rejected the dispute")
    review_note: str | None = Field(default=None, description="The reviewer's note")


class DisputeReviewIn(Public):
    confirm: bool = Field(description="true: confirm the 误评/恶意差评 (ticket closed without a fix); "
                                      "false: reject it (the owner unit must still resolve the ticket)")
    note: str = Field(default="", max_length=500, description="Reviewer's note, recorded on the ticket")


# -- audit: consistency proofs (RFC 6962 section 2.1.2) ---------------------------------------------------
class ConsistencyPublic(Public):
    first: int = Field(description="Tree size of the auditor's earlier checkpoint")
    second: int = Field(description="Tree size of the current head")
    first_root: str = Field(description="Root the log now gives for its first `first` events (hex); compare it "
                                        "with the root in your own checkpoint, never trust it")
    second_root: str = Field(description="Root of the current head (hex)")
    proof: list[str] = Field(description="Consistency proof, hex, as in RFC 6962 section 2.1.2; check it with the "
                                         "RFC 9162 section 2.1.4.2 algorithm against your checkpoint's root")
