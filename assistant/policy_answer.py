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
from policy.eligibility import Outcome as Verdict
from policy.matching import explain_matches

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
    """For an enterprise profile the session may read: answer with the matching results (outcome answered)."""
    s = ctx.state
    if deps.policies is None or ctx.done or s.profile_id is None or s.phase not in FREE_PHASES:
        return
    if not asks_for_policies(ctx.text):
        return
    if deps.profiles.get(s.profile_id).kind != ProfileKind.ENTERPRISE or not deps.identity.may_read_profile(s):
        return
    report = deps.policies.match_enterprise(s.profile_id, ctx.today, notify=False)
    shown = [m for m in report.matches if m.verdict in (Verdict.ELIGIBLE, Verdict.NEEDS_INFO)]
    ctx.citations.extend(Citation(item_id=m.policy_id, version=m.version, title=m.title) for m in shown)
    ctx.rules.append(f"{RULE}:{len(report.by_verdict(Verdict.ELIGIBLE))}eligible/"
                     f"{len(report.by_verdict(Verdict.NEEDS_INFO))}needs_info")
    ctx.finish(Outcome.ANSWERED, explain_matches(report))
