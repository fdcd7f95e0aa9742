"""Values the dialogue engine produces: outcomes, slots with provenance, checklist, findings, the trace
and the turn result. Frozen pydantic models; closed sets are StrEnums."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from assistant.identify import Candidate
from kb.models import ScoreParts


class Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Outcome(StrEnum):
    ANSWERED = "answered"
    CLARIFYING = "clarifying"
    COLLECTING = "collecting"
    AWAITING_CONFIRMATION = "awaiting_confirmation"
    HELD_FOR_REVIEW = "held_for_review"
    HANDED_OFF = "handed_off"
    SUBMITTED = "submitted"
    REFUSED = "refused"


class SourceKind(StrEnum):
    TURN = "turn"  # the citizen said it in this conversation
    PROFILE = "profile"  # 一人一档/一企一档 field
    ELICENCE = "elicence"  # 电子证照
    CARRIED = "carried"  # carried over from an earlier matter of the same bundle
    PENDING = "pending"  # 待补充: the output of an earlier bundle step not issued yet; staff complete it


class Provenance(Value):
    """Where a slot value came from."""

    kind: SourceKind
    turn: int | None = None
    profile_id: str | None = None
    profile_field: str | None = None
    licence_type: str | None = None
    licence_name: str | None = None
    licence_number: str | None = None
    issuer: str | None = None
    expires_on: dt.date | None = None
    carried_from: str | None = None
    original: Provenance | None = None

    def describe(self) -> str:
        """Chinese description for the confirmation screen."""
        if self.kind == SourceKind.TURN:
            return f"您在第{self.turn}轮对话中提供"
        if self.kind == SourceKind.PROFILE:
            field = PROFILE_FIELD_LABELS.get(self.profile_field or "", "")
            return f"个人/企业档案（{field}）" if field else "个人/企业档案"
        if self.kind == SourceKind.ELICENCE:
            until = f"有效期至{self.expires_on.isoformat()}" if self.expires_on else "长期有效"
            return f"电子证照《{self.licence_name}》{_mask(self.licence_number)}，{self.issuer}签发，{until}"
        if self.kind == SourceKind.PENDING:
            return f"待“{self.carried_from}”办结、证照核发后由工作人员补充"
        inner = self.original.describe() if self.original else ""
        return f"沿用自“{self.carried_from}”" + (f"（{inner}）" if inner else "")


# What a citizen reads for a profile field (一人一档/一企一档): never the raw key.
PROFILE_FIELD_LABELS: dict[str, str] = {
    "name": "姓名/名称", "gender": "性别", "birth_date": "出生日期", "mobile": "手机号码", "email": "电子邮箱",
    "address": "地址", "hukou_address": "户籍地址", "hukou_type": "户籍类型", "employer": "工作单位",
    "marital_status": "婚姻状况", "id_number": "证件号码", "uscc": "统一社会信用代码", "legal_rep": "法定代表人",
    "legal_rep_id_number": "法定代表人证件号码", "registered_capital_wan": "注册资本", "founded_on": "成立日期",
    "enterprise_type": "企业类型", "employees": "从业人数", "registered_district": "登记地区",
    "industry_code": "行业代码", "revenue_wan": "营业收入", "tax_credit_rating": "纳税信用等级",
}


def _mask(number: str | None) -> str:
    if not number:
        return ""
    return f"（{number[:4]}…{number[-4:]}）" if len(number) > 8 else f"（{number}）"


class Slot(Value):
    name: str
    value: Any
    source: Provenance


class SlotView(Value):
    name: str
    label: str
    value: Any
    source: Provenance
    source_text: str


class Citation(Value):
    item_id: str
    version: int
    title: str = ""


class ChecklistStatus(StrEnum):
    REQUIRED = "required"  # 需提交
    WAIVED = "waived"  # 免交: covered by a valid e-licence
    LICENCE_EXPIRED = "licence_expired"  # the e-licence exists but has expired: submit a valid one


class ChecklistItem(Value):
    id: str
    name: str
    copies: int | None = None
    status: ChecklistStatus
    licence_type: str | None = None
    licence_number: str | None = None
    issuer: str | None = None
    expires_on: dt.date | None = None
    note: str = ""


class Finding(Value):
    """A 智能预审 finding: which rule, whether it holds, why, and the knowledge it rests on."""

    rule_id: str
    ok: bool
    field: str
    value: Any = None
    message: str
    explanation: str
    citation: Citation | None = None
    quote: str = ""


class Choice(Value):
    """A button: `label` is shown, `value` is what the client sends back as the next message."""

    label: str
    value: str


class MatterRef(Value):
    id: str
    name: str
    version: int
    confidence: float | None = None
    bundle_id: str | None = None
    bundle_name: str | None = None
    step: int | None = None  # 1-based position in the bundle
    steps: int | None = None


class ApplicationRef(Value):
    id: str | None = None
    matter_id: str
    status: str


class RetrievedChunk(Value):
    chunk_id: str
    item_id: str
    version: int
    content_hash: str
    score: float
    parts: ScoreParts


class StepRecord(Value):
    name: str
    ms: float
    note: str = ""


class Trace(Value):
    """What happened in a turn, for audit: no raw personal data (the question is redacted)."""

    question: str
    phase_before: str
    phase_after: str
    candidates: tuple[Candidate, ...] = ()
    identification: dict[str, Any] = {}
    retrieved: tuple[RetrievedChunk, ...] = ()
    rules: tuple[str, ...] = ()
    slots_changed: tuple[str, ...] = ()
    steps: tuple[StepRecord, ...] = ()
    outcome: Outcome
    ms: float = 0.0


class TurnResult(Value):
    outcome: Outcome
    reply: str
    session_id: str
    turn_id: str
    turn_index: int
    matter: MatterRef | None = None
    slots: tuple[SlotView, ...] = ()
    citations: tuple[Citation, ...] = ()
    checklist: tuple[ChecklistItem, ...] = ()
    findings: tuple[Finding, ...] = ()
    choices: tuple[Choice, ...] = ()
    application: ApplicationRef | None = None
    handoff_id: str | None = None
    login_required: bool = False
    trace: Trace

    def public(self) -> dict[str, Any]:
        """The machine-readable view (`qingsong ask --json`, the HTTP API)."""
        return {
            "outcome": self.outcome.value,
            "reply": self.reply,
            "session_id": self.session_id,
            "turn_id": self.turn_id,
            "matter": self.matter.model_dump(mode="json") if self.matter else None,
            "slots": [
                {"name": s.name, "label": s.label, "value": s.value, "source": s.source.model_dump(mode="json", exclude_none=True),
                 "source_text": s.source_text}
                for s in self.slots
            ],
            "citations": [{"item_id": c.item_id, "version": c.version, "title": c.title} for c in self.citations],
            "checklist": [c.model_dump(mode="json", exclude_none=True) for c in self.checklist],
            "findings": [f.model_dump(mode="json", exclude_none=True) for f in self.findings],
            "choices": [c.model_dump() for c in self.choices],
            "application": self.application.model_dump() if self.application else None,
            "handoff_id": self.handoff_id,
            "login_required": self.login_required,
        }


def handoff_queue_key(row: dict[str, Any]) -> tuple[int, dt.datetime]:
    """Queue order of hand-offs: emergencies first, then first come first served."""
    created = row["created_at"]
    return (0 if row["reason"] == "emergency" else 1,
            created.replace(tzinfo=dt.UTC) if created.tzinfo is None else created)


def handoff_ticket(handoff_id: str) -> str:
    """The ticket number a citizen reads and quotes (RG + the id's last 8 hex digits, upper case)."""
    return "RG" + handoff_id.rsplit("-", 1)[-1][-8:].upper()
