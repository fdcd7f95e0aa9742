"""Questions about a matter ("需要带什么材料？", "要多久能办好？"), answered from its knowledge with a
citation on every statement, checked by the output rail, and held for a human when policy says so."""

from __future__ import annotations

import re

from assistant.answer import ComposedAnswer, wanted_sections
from assistant.catalog import Matter
from assistant.context import Deps, TurnContext
from assistant.identify import Decision
from assistant.models import Outcome
from guardrails.output_rails import OutputVerdict
from kb.models import Kind, SearchFilters, SearchHit

NO_ANSWER = "这个问题在“{name}”的办事指南里没有找到可靠的答案。您可以换个问法，或回复“转人工”由工作人员解答。"


def matter_items(deps: Deps, matter: Matter) -> tuple[str, ...]:
    """The matter's own knowledge, plus FAQs and review points related to its guide."""
    own = set(matter.knowledge)
    live = deps.knowledge.live()
    extra = [item for item, rel in deps.related.items()
             if own & set(rel) and item in live and live[item].kind in (Kind.FAQ, Kind.REVIEW_POINT)]
    return tuple(dict.fromkeys([*matter.knowledge, *sorted(extra)]))


def answer_question(deps: Deps, ctx: TurnContext, matter: Matter, question: str, confidence: float | None) -> bool:
    """Say the answer (or why there is none); True when an answer was given or held. Sets the outcome.

    Mid-form, a question about another matter ("公积金怎么提取？" while applying for a licence) is answered
    from that matter's knowledge when identification is confident; the form then resumes."""
    if ctx.state.matter_id == matter.id:
        other = _other_matter(deps, ctx, matter, question)
        if other is not None:
            matter, confidence = other
            ctx.rules.append(f"answer.other_matter:{matter.id}")
    hits = deps.knowledge.search(question, top_k=6, filters=SearchFilters(item_ids=matter_items(deps, matter), as_of=ctx.today))
    hits = hits + _section_hits(deps, ctx, matter, question, hits)
    ctx.retrieved.extend(hits)
    composed = deps.composer.compose(question, hits, lead=f"关于“{matter.name}”：", prefer=matter.knowledge)
    if composed.empty:
        ctx.rules.append("answer.none")
        ctx.finish(Outcome.ANSWERED, NO_ANSWER.format(name=matter.name))
        return False
    if deps.llm is not None:
        try:
            phrased = deps.llm.rephrase(ctx.redacted, composed)
            verdict = _rail(deps, ctx, phrased.text, composed)
            if verdict.passed:
                composed = phrased
            else:
                ctx.rules.append("answer.llm:rail_failed,fallback_extractive")
        except Exception:  # the optional model failing never costs the citizen the answer
            ctx.rules.append("answer.llm:error,fallback_extractive")
    verdict = _rail(deps, ctx, composed.text, composed)
    ctx.rules.extend(f"{r.ref}:{r.verdict.value}" for r in verdict.rules)
    cites = [(c.item_id, c.version) for c in composed.citations]
    if not verdict.passed:
        ctx.rules.append("answer.withheld")
        ctx.finish(Outcome.REFUSED, verdict.message or "抱歉，这条答复未通过自动核验，暂不发送。")
        return False
    decision = deps.hold_policy.decide(question=ctx.redacted, answer=composed.text, matter_id=matter.id,
                                       confidence=confidence, llm_phrased=composed.llm_phrased, input_verdict=ctx.verdict)
    if decision.hold:
        reason = "; ".join(decision.reasons or ("hold policy",))
        deps.hold_queue.hold(ctx.turn_id, ctx.state.session_id, composed.text, reason, cites)
        ctx.rules.append("answer.held")
        ctx.finish(Outcome.HELD_FOR_REVIEW, decision.message or "您的问题已转交人工复核，请稍候。")
        return True
    ctx.citations.extend(c for c in composed.citations if c not in ctx.citations)
    ctx.finish(Outcome.ANSWERED, composed.text)
    return True


GENERIC = re.compile(r"需要|要|带|什么|怎么|怎样|如何|哪里|哪些|哪个|多久|多长|时间|几天|多少钱|费用|收费|材料|证件|流程|步骤|"
                     r"条件|地点|办理|办|申请|能不能|可以|吗|呢|啊|是否|有没有|现场|本人|去|在|的|了|我|还|得|请问|一下")


def _other_matter(deps: Deps, ctx: TurnContext, matter: Matter, question: str) -> tuple[Matter, float] | None:
    """Another matter, only when the question names something of its own and identification is sure."""
    if len(re.findall(r"[\u4e00-\u9fff]", GENERIC.sub("", question))) < 2:
        return None  # "需要带什么材料？" is about the matter at hand
    ident = deps.identifier.identify(question)
    ctx.identification = ident
    top = ident.top
    if top is None or ident.decision != Decision.ACCEPT or top.kind != "matter":
        return None
    bundle = deps.registry.bundle(ctx.state.bundle_id) if ctx.state.bundle_id else None
    near = {c.id for c in ident.candidates[:3]}
    if matter.id in near or (bundle is not None and (top.id in bundle.matters or bundle.id in near)):
        return None
    return deps.registry.matter(top.id), ident.confidence


def _section_hits(deps: Deps, ctx: TurnContext, matter: Matter, question: str, hits: list[SearchHit]) -> list[SearchHit]:
    """The guide's own section for 材料/时限/收费… questions, when the search did not bring it back."""
    sections = wanted_sections(question)
    guide = matter.guide
    if not sections or guide is None or any(h.item_id == guide and h.section in sections for h in hits):
        return []
    found = deps.knowledge.search(" ".join(sections), top_k=4, method="bm25",
                                  filters=SearchFilters(item_ids=(guide,), as_of=ctx.today))
    return [h for h in found if h.section in sections]


def _rail(deps: Deps, ctx: TurnContext, text: str, composed: ComposedAnswer) -> OutputVerdict:
    cites = [(c.item_id, c.version) for c in composed.citations]
    return deps.output_rails.check(text, cites, list(composed.hits), deps.knowledge.live(), ctx.today)
