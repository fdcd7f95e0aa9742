"""政策计算器 in the chat: "我们公司能享受哪些政策？" from an enterprise session is answered with the
policy matching results of its profile (eligible first, then needs-information), each with a citation.

The matcher is an optional dependency (`Deps.policies`, given to `build_assistant`); without it, or for a
citizen profile, or mid-form, the step does nothing and the turn continues as before.
"""

from __future__ import annotations

import re

from assistant.context import Deps, TurnContext
from assistant.models import Citation, Outcome
from assistant.profiles import ProfileKind
from assistant.state import Phase
from policy.eligibility import FIELD_LABELS, NodeResult
from policy.eligibility import Outcome as Verdict
from policy.eligibility import Verdict as NodeVerdict
from policy.matching import PolicyMatch, explain_matches

RULE = "policy.match"
# Phases in which a policy question is a new question (not an answer to a pending form question).
FREE_PHASES = (Phase.IDLE, Phase.OFFER, Phase.NEXT)
POLICY_WORD = re.compile(r"政策|补贴|扶持|奖励|补助|减免|优惠|免申即享|政策计算器")
ENJOY_WORD = re.compile(r"享受|享有|符合|适用|够得上|免申即享|政策计算器|哪些|什么|有没有|能不能|可以|能拿|能领")


def asks_for_policies(text: str) -> bool:
    """"我们公司能享受哪些政策", "有没有我们能拿的补贴", "符合免申即享吗" -- not "稳岗补贴怎么申请"."""
    t = re.sub(r"\s+", "", text)
    return bool(POLICY_WORD.search(t) and ENJOY_WORD.search(t)) and "怎么申请" not in t and "如何申请" not in t


def answer_policies(deps: Deps, ctx: TurnContext) -> None:
    """For an enterprise profile the session may read: answer with the matching results (outcome answered).
    "为什么不符合X" and "如果人数到50人呢" go to `answer_why_not` / `answer_what_if` first."""
    answer_why_not(deps, ctx)
    answer_what_if(deps, ctx)
    if ctx.done or not asks_for_policies(ctx.text) or (eid := _enterprise(deps, ctx)) is None:
        return
    assert deps.policies is not None
    report = deps.policies.match_enterprise(eid, ctx.today, notify=False)
    shown = [m for m in report.matches if m.verdict in (Verdict.ELIGIBLE, Verdict.NEEDS_INFO)]
    ctx.citations.extend(Citation(item_id=m.policy_id, version=m.version, title=m.title) for m in shown)
    ctx.rules.append(f"{RULE}:{len(report.by_verdict(Verdict.ELIGIBLE))}eligible/"
                     f"{len(report.by_verdict(Verdict.NEEDS_INFO))}needs_info")
    ctx.finish(Outcome.ANSWERED, explain_matches(report))


# -- why not, and what if ----------------------------------------------------------------------------------
WHY_NOT = re.compile(r"为什么.{0,12}(不符合|不能享受|享受不了|不能领|领不了|拿不到|不能拿|没有资格|不够)|差在哪|差哪|哪个条件|哪些条件|"
                     r"哪条不|不符合.{0,8}(原因|哪)|怎么不符合|为啥.{0,12}不")
WHAT_IF = re.compile(r"如果|假如|要是|假设|的话")
CHANGES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("employees", re.compile(r"(?:人数|员工|职工|从业人员|人员)\D{0,6}?(\d{1,6})\s*(?:人|个|名)?|(\d{1,6})\s*(?:个人|人|名员工)")),
    ("revenue_wan", re.compile(r"(?:营收|营业收入|收入|销售额)\D{0,6}?(\d{1,7})\s*万")),
    ("registered_district", re.compile(r"(?:搬到|迁到|迁入|落户|注册到|注册在)(?:上海市?)?([\u4e00-\u9fff]{2,3}区)")),
    ("tax_credit_rating", re.compile(r"纳税信用\D{0,6}?([ABMCD])\s*级?")),
)
NAME_NOISE = re.compile(r"为什么|为啥|我们|我司|公司|企业|单位|不符合|符合|不能|享受|申请|领取|条件|差在|哪个|哪些|哪条|原因|政策|补贴|"
                        r"什么|怎么|吗|呢|的|了|[？?，,。！!]")


def what_if_changes(text: str) -> dict[str, object]:
    """"如果我们人数到50人呢" -> {"employees": 50}; "假如搬到松江区" -> {"registered_district": "松江区"}."""
    t = re.sub(r"\s+", "", text)
    if not WHAT_IF.search(t):
        return {}
    out: dict[str, object] = {}
    for field, pattern in CHANGES:
        if (m := pattern.search(t)) is not None:
            raw = next(g for g in m.groups() if g)
            out[field] = int(raw) if field in ("employees", "revenue_wan") else raw
    return out


def _enterprise(deps: Deps, ctx: TurnContext) -> str | None:
    """The enterprise profile this session may read, when the matcher is there and the turn is free."""
    s = ctx.state
    if deps.policies is None or ctx.done or s.profile_id is None or s.phase not in FREE_PHASES:
        return None
    if deps.profiles.get(s.profile_id).kind != ProfileKind.ENTERPRISE or not deps.identity.may_read_profile(s):
        return None
    return s.profile_id


def _named(text: str, matches: list[PolicyMatch]) -> PolicyMatch | None:
    """The policy the question names ("为什么我们不符合稳岗补贴"): most of the rest of the question in its title."""
    rest = NAME_NOISE.sub("", text)
    if len(rest) < 2:
        return None
    scored = [(sum(c in m.title for c in rest) / len(rest), m) for m in matches]
    best = max(scored, key=lambda x: x[0], default=None)
    return best[1] if best is not None and best[0] >= 0.6 else None


def _cite(m: PolicyMatch) -> str:
    doc = f"，{m.citation.doc_number}" if m.citation.doc_number else ""
    return f"《{m.title}》（{m.policy_id} 第{m.version}版{doc}）"


def _value(v: object) -> str:
    if isinstance(v, list | tuple):
        return "、".join(str(x) for x in v) or "无"
    if isinstance(v, float):
        return f"{v:.1f}".removesuffix(".0")
    return "未登记" if v is None else str(v)


def failed_conditions(m: PolicyMatch) -> list[str]:
    """The leaf conditions that make the policy fail, each with the profile's own value: only leaves whose every
    enclosing group fails too (a met `any` or a `not` around a leaf does not make it a reason)."""
    out: list[str] = []
    chain: list[NodeResult] = []
    for n in m.conditions:
        del chain[n.depth:]
        ancestors = list(chain)
        chain.append(n)
        if n.kind != "condition" or n.verdict != NodeVerdict.NOT_MET:
            continue
        if any(a.verdict != NodeVerdict.NOT_MET or a.kind == "not" for a in ancestors):
            continue
        either = "（满足其一即可）" if ancestors and ancestors[-1].kind == "any" else ""
        out.append(f"{n.label}{either}（贵单位档案：{_value(n.actual)}）")
    return out


def answer_why_not(deps: Deps, ctx: TurnContext) -> None:
    """"为什么我们不符合X" / "差在哪个条件": the failed conditions of the named policy (or of every policy the
    enterprise does not meet), from the eligibility engine, with the policy cited."""
    if not WHY_NOT.search(re.sub(r"\s+", "", ctx.text)) or (eid := _enterprise(deps, ctx)) is None:
        return
    assert deps.policies is not None
    report = deps.policies.match_enterprise(eid, ctx.today, notify=False)
    named = _named(ctx.text, list(report.matches))
    shown = [named] if named is not None else report.by_verdict(Verdict.NOT_ELIGIBLE)[:3]
    if not shown:
        ctx.rules.append("policy.why_not:none")
        ctx.finish(Outcome.ANSWERED, "根据贵单位档案，没有找到不符合条件的现行政策。可以问我“我们能享受哪些政策”。")
        return
    lines: list[str] = []
    for m in shown:
        if m.verdict == Verdict.ELIGIBLE:
            lines.append(f"{_cite(m)}：根据贵单位档案，其实是符合条件的。")
        elif m.verdict == Verdict.NEEDS_INFO:
            missing = "、".join(FIELD_LABELS.get(f, f) for f in m.missing_fields) or (m.note or "人工核对")
            lines.append(f"{_cite(m)}：还不能判断，档案缺少 {missing}。")
        else:
            failed = failed_conditions(m) or ["申报条件未满足（详见政策原文）"]
            lines.append(f"{_cite(m)}：不符合以下条件：\n" + "\n".join(f"- {f}" for f in failed))
    ctx.citations.extend(Citation(item_id=m.policy_id, version=m.version, title=m.title) for m in shown)
    ctx.rules.append(f"policy.why_not:{','.join(m.policy_id for m in shown)}")
    ctx.finish(Outcome.ANSWERED, "\n".join([*lines, "以上为系统根据档案数据的比对结果，档案信息有误的可以申请更正，最终以主管部门审核为准。"]))


def answer_what_if(deps: Deps, ctx: TurnContext) -> None:
    """"如果我们人数到50人呢" / "假如搬到松江区": the matching run again on a copy of the profile with the change
    (the stored profile is not touched), reporting which policies change verdict."""
    changes = what_if_changes(ctx.text)
    if not changes or (eid := _enterprise(deps, ctx)) is None:
        return
    assert deps.policies is not None
    before = deps.policies.match_enterprise(eid, ctx.today, notify=False)
    profile = {**deps.policies.profile(eid), **changes}
    after = deps.policies.match_profile(profile, ctx.today, notify=False)
    was = {m.policy_id: m.verdict for m in before.matches}
    gained = [m for m in after.matches if m.verdict == Verdict.ELIGIBLE and was.get(m.policy_id) != Verdict.ELIGIBLE]
    lost = [m for m in after.matches if m.verdict != Verdict.ELIGIBLE and was.get(m.policy_id) == Verdict.ELIGIBLE]
    said = "、".join(f"{FIELD_LABELS.get(f, f)}为{v}" for f, v in changes.items())
    lines = [f"假设{said}（仅为测算，档案未改动）："]
    for m in gained:
        money = f"，测算金额约{m.amount.value:,.0f}元" if m.amount and m.amount.value is not None else ""
        lines.append(f"- 新增符合 {_cite(m)}{'（免申即享）' if m.mianshen else ''}{money}")
    for m in lost:
        failed = "；".join(failed_conditions(m)) or "条件不再满足"
        lines.append(f"- 将不再符合 {_cite(m)}：{failed}")
    if not gained and not lost:
        lines.append(f"符合条件的政策没有变化（现在符合{len(before.by_verdict(Verdict.ELIGIBLE))}项）。")
    lines.append("以上为系统测算结果，最终以主管部门审核为准。")
    ctx.citations.extend(Citation(item_id=m.policy_id, version=m.version, title=m.title) for m in [*gained, *lost])
    ctx.rules.append(f"policy.what_if:{','.join(changes)}:+{len(gained)}-{len(lost)}")
    ctx.finish(Outcome.ANSWERED, "\n".join(lines))
