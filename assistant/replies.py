"""Citizen-facing Chinese text: questions, the confirmation screen, checklists and findings."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Any

from assistant.catalog import FieldType, FormField, Matter, Situation
from assistant.models import ChecklistItem, ChecklistStatus, Choice, Finding, Slot, SlotView
from assistant.prefill import PERMANENT
from assistant.profiles import ELicence

GREETING = ("您好，我是“轻松办”政务服务助手。您可以直接说想办什么事，比如“我想在松江开一家小饭馆”"
            "或“居住证快到期了怎么续签”，我会帮您找到事项、填好表、查好材料。")
UNKNOWN = ("抱歉，这个问题我暂时不知道，也没有在本区的办事指南中找到可靠的答案。"
           "我已为您转接线上人工帮办，工作人员会看到我们前面的对话并尽快回复您；"
           "您也可以拨打 12345 政务服务便民热线咨询。")
HANDOFF = "好的，已为您转接线上人工帮办，工作人员会看到我们前面的对话并尽快联系您。"
CANCELLED = "好的，已取消当前办理。还有什么可以帮您？"
CONSENT_QUESTION = ("为了帮您自动填写表单、核对可免交的材料，我需要读取您的个人档案（一人一档/一企一档）和电子证照。"
                    "是否同意？（不同意也可以，我们一项项手动填写）")

YES_NO = (Choice(label="同意", value="同意"), Choice(label="不同意", value="不同意"))
CONFIRM_CHOICES = (Choice(label="确认提交", value="确认提交"), Choice(label="修改", value="我要修改"))


def show(value: Any, f: FormField | None = None) -> str:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "是" if value else "否"
    if f is not None and f.type in (FieldType.NUMBER, FieldType.INTEGER) and "平方米" in f.label:
        return f"{value}平方米"
    return str(value)


def ask_situation(s: Situation) -> tuple[str, tuple[Choice, ...]]:
    options = "；".join(f"{n}. {o.label}" for n, o in enumerate(s.options, 1))
    return f"{s.question}（{options}）", tuple(Choice(label=o.label, value=o.label) for o in s.options)


def ask_field(f: FormField) -> tuple[str, tuple[Choice, ...]]:
    text = f"请告诉我{f.label}"
    if f.help:
        text += f"（{f.help}）"
    if f.type == FieldType.DATE:
        text += "，例如“2026年12月1日”"
    if f.type == FieldType.ENUM and f.options:
        text += "，可选：" + "、".join(f.options)
    return text + "。", tuple(Choice(label=o, value=o) for o in f.options) if f.type == FieldType.ENUM else ()


def slot_views(matter: Matter, slots: dict[str, Slot]) -> tuple[SlotView, ...]:
    out = []
    for f in matter.form:
        s = slots.get(f.name)
        if s is not None:
            out.append(SlotView(name=f.name, label=f.label, value=_jsonable(s.value), source=s.source,
                                source_text=s.source.describe()))
    return tuple(out)


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


def prefill_summary(matter: Matter, filled: dict[str, Slot]) -> str:
    if not filled:
        return "您的档案中没有可用于本事项预填的信息，我们一项项来填写。"
    lines = [f"已根据您的授权为您预填 {len(filled)} 项（共 {len(matter.form)} 项）："]
    for f in matter.form:
        if f.name in filled:
            s = filled[f.name]
            lines.append(f"· {f.label}：{show(s.value, f)}（来源：{s.source.describe()}）")
    return "\n".join(lines)


def expired_notice(licences: Sequence[ELicence]) -> str:
    def one(lic: ELicence) -> str:
        if any(t == lic.type for t, _ in PERMANENT):
            return (f"注意：您的电子证照《{lic.name}》已于{lic.expires_on}过期，不能用于免交材料（证件号码不变，已照常填写），"
                    "建议尽快换领。")
        return f"注意：您的电子证照《{lic.name}》已于{lic.expires_on}过期，不能用于预填或免交材料，相关信息请您手动提供，并建议尽快换领。"
    return "\n".join(one(lic) for lic in licences)


def checklist_text(items: Sequence[ChecklistItem]) -> str:
    if not items:
        return ""
    mark = {ChecklistStatus.WAIVED: "✓ 免交", ChecklistStatus.REQUIRED: "• 需提交", ChecklistStatus.LICENCE_EXPIRED: "! 需提交"}
    lines = ["需要准备的材料："]
    for it in items:
        copies = f"（{it.copies}份）" if it.copies and it.status != ChecklistStatus.WAIVED else ""
        note = f"——{it.note}" if it.status != ChecklistStatus.REQUIRED else ""
        lines.append(f"{mark[it.status]} {it.name}{copies}{note}")
    return "\n".join(lines)


def findings_text(findings: Sequence[Finding]) -> str:
    if not findings:
        return "智能预审：本事项没有适用的预审规则。"
    bad = [f for f in findings if not f.ok]
    lines = [f"智能预审：检查 {len(findings)} 项，{'全部通过' if not bad else f'{len(bad)} 项需要注意'}。"]
    for f in findings:
        lines.append(("✓ " if f.ok else "⚠ ") + f.explanation)
        if f.quote and not f.ok:
            lines.append(f"  原文：“{f.quote}”")
    if bad:
        lines.append("有需要注意的事项时，申请提交后将由工作人员人工复核。")
    return "\n".join(lines)


def confirmation_screen(
    matter: Matter, slots: dict[str, Slot], checklist: Sequence[ChecklistItem], findings: Sequence[Finding],
    situations: dict[str, str] | None = None,
) -> str:
    lines = [f"请核对“{matter.name}”的申请信息："]
    chosen = [(s, s.option(situations[s.id])) for s in matter.situations if situations and s.id in situations]
    if chosen:  # what the form and 预审 rest on is shown too, so a misread answer can be corrected here
        lines.append("办理情形：" + "；".join(f"{s.question.rstrip('？?')} —— {o.label}" for s, o in chosen if o))
    for n, f in enumerate((f for f in matter.form if f.name in slots), 1):
        s = slots[f.name]
        lines.append(f"{n}. {f.label}：{show(s.value, f)}（来源：{s.source.describe()}）")
    return "\n".join([*lines, checklist_text(checklist), findings_text(findings), confirm_hint(matter, slots)])


def confirm_hint(matter: Matter, slots: dict[str, Slot]) -> str:
    """How to confirm or correct, with an example from this form (not 面积 on a form without one)."""
    example = next((f for f in matter.form if f.name in slots and f.type.value in ("string", "number", "integer")
                    and f.name not in ("id_number",)), None)
    said = f"例如“{re.sub(r'（.*?）', '', example.label)}改成……”" if example else "例如“电话改成13800001234”"
    return f"确认无误请回复“确认提交”；如需修改，直接告诉我，{said}；情形选错了，直接说正确的情形。"
