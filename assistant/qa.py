"""Questions about a matter ("需要带什么材料？", "要多久能办好？"), answered from its knowledge: the asked aspect's
sections of the best item with one citation per block, checked by the output rail, held for a human when
policy says so. A near-miss item (个体户 asked, 企业 found) is named and asked about instead of answered; with
no matter identified, `answer_without_matter` decides answer / clarify / 不知道 from the knowledge itself.
"""

from __future__ import annotations

import re

from assistant.answer import ComposedAnswer, wanted_sections
from assistant.answerability import Verdict, question_content
from assistant.aspects import FOLLOW_UPS, LABELS, Aspect, asks_fact, asks_hours, detect_aspects
from assistant.catalog import Matter
from assistant.context import Deps, TurnContext
from assistant.english import ENGLISH_UNKNOWN, english_answer, is_english
from assistant.identify import Decision, Identification
from assistant.matter_match import near_miss
from assistant.models import Choice, Outcome
from assistant.scope import with_scope
from guardrails.output_rails import OutputVerdict
from kb.models import Kind, SearchFilters, SearchHit

NO_ANSWER = "这个问题在“{name}”的办事指南里没有找到可靠的答案。您可以换个问法，或回复“转人工”由工作人员解答。"
UNKNOWN_OFFER = ("抱歉，这个问题我不知道：本区的办事指南和政策里没有找到可靠的答案。"
                 "需要的话可以转线上人工帮办，工作人员会看到我们的对话后回复您；也可以拨打 12345 政务服务便民热线咨询。")
HUMAN_CHOICE = Choice(label="转人工帮办", value="转人工")


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
    aspects = detect_aspects(question)
    ctx.rules.append("answer.aspects:" + (",".join(aspects) or "none"))
    live = deps.knowledge.live()
    items = [i for i in dict.fromkeys([*matter.knowledge, *(h.item_id for h in hits)]) if i in live]
    if items and (miss := near_miss(question, live[items[0]].title)) is not None:
        ask_near_miss(ctx, matter.name, live[items[0]].title, miss.asked, miss.found, aspects)
        return True
    composed = _aspect_answer(deps, ctx, question, aspects, items) if aspects else _faq_answer(deps, ctx, question, hits)
    if composed is None:
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
    ctx.finish(Outcome.ANSWERED, final_text(deps, ctx, composed))
    ctx.follow_ups = follow_ups(composed, aspects, matter.name)
    return True


def _aspect_answer(deps: Deps, ctx: TurnContext, question: str, aspects: tuple[Aspect, ...],
                   items: list[str]) -> ComposedAnswer | None:
    """The first of the matter's items (its guide first) that says something about an asked aspect."""
    for item in items[:4]:
        chunks = item_chunks(deps, ctx, item, question)
        composed = deps.composer.compose_item(aspects, chunks, hours=asks_hours(question))
        if not composed.empty:
            ctx.retrieved.extend(chunks)
            ctx.rules.append(f"answer.item:{item}")
            return composed
    return None


def _faq_answer(deps: Deps, ctx: TurnContext, question: str, hits: list[SearchHit]) -> ComposedAnswer | None:
    """A question no aspect names ("一年能提几次") that an FAQ asks in almost the same words: the FAQ's answer."""
    content = question_content(question)
    for h in hits:
        if h.kind == Kind.FAQ and content and sum(c in h.title for c in content) / len(content) >= 0.7:
            composed = deps.composer.compose_item((), item_chunks(deps, ctx, h.item_id, question))
            if not composed.empty:
                ctx.retrieved.extend(composed.hits)
                ctx.rules.append(f"answer.faq:{h.item_id}")
                return composed
    return None


def item_chunks(deps: Deps, ctx: TurnContext, item: str, question: str) -> list[SearchHit]:
    """Every live chunk of one item (dense search scores all chunks of the items it is limited to; the query
    vector is the turn's own, already cached)."""
    return deps.knowledge.search(question, top_k=200, method="dense",
                                 filters=SearchFilters(item_ids=(item,), as_of=ctx.today))


def follow_ups(composed: ComposedAnswer, asked: tuple[Aspect, ...], name: str) -> list[Choice]:
    """Up to three related aspects the cited guide answers, as questions the citizen can tap."""
    if not composed.hits or composed.hits[0].kind != Kind.GUIDE:
        return []
    offered = [(a, ask) for a, ask in FOLLOW_UPS.items() if a not in asked and a != Aspect.AMOUNT]
    return [Choice(label=ask, value=f"{name}{ask}") for _, ask in offered[:3]]


def ask_near_miss(ctx: TurnContext, name: str, title: str, asked: str, found: str, aspects: tuple[Aspect, ...]) -> None:
    """Say which matter the best answer is about and ask, instead of answering another matter's question."""
    ctx.rules.append(f"answer.near_miss:{asked}->{found}")
    ask = FOLLOW_UPS.get(aspects[0], "怎么办理？") if aspects else "怎么办理？"
    ctx.finish(Outcome.CLARIFYING,
               f"您问的是{asked}的事，但我找到的是“{title}”的办事指南（{found}），不一定适用于{asked}。"
               f"您要了解的是“{title}”吗？如果不是，可以转线上人工帮办。")
    ctx.choices = [Choice(label=f"是，问“{title}”", value=f"{title}{ask}"), HUMAN_CHOICE]


def bundle_member(deps: Deps, ctx: TurnContext, bundle_id: str) -> str:
    """The step of a 一件事 a fact question is about: the best-ranked member among the identification's
    candidates, else the first step."""
    members = deps.registry.bundle(bundle_id).matters
    ranked = [c.id for c in ctx.identification.candidates] if ctx.identification else []
    return next((c for c in ranked if c in members), members[0])


def answer_instead_of_clarifying(deps: Deps, ctx: TurnContext, ident: Identification) -> str | None:
    """A fact question ("新引进人才租房补贴一个月能拿多少") whose answer the knowledge clearly has: the matter that
    cites the best item (to answer it), "" when it was answered from the knowledge alone, None to clarify."""
    if not asks_fact(ctx.text) or ident.confusable:
        return None  # same object, different actions (新办 or 变更): which one is asked first, as before
    hits = deps.knowledge.search(ctx.text, top_k=8, filters=SearchFilters(as_of=ctx.today))
    decision = deps.answerability.decide(ctx.text, hits)
    if decision.verdict != Verdict.ANSWER or decision.item_id is None:
        return None
    owner = next((m.id for m in deps.registry.matters() if decision.item_id in m.knowledge), None)
    if owner is not None and owner in {c.id for c in ident.candidates[:3]}:
        return None  # the answer is one of the choices offered: the citizen picks (新办 or 变更)
    ctx.rules.append(f"answer.instead_of_clarifying:{decision.item_id}")
    if owner is not None:
        return owner
    answer_without_matter(deps, ctx, None)
    return ""


def answer_without_matter(deps: Deps, ctx: TurnContext, ident: Identification | None) -> None:
    """No matter identified: answer from the knowledge when it clearly answers, ask when it may, else say
    不知道 and offer (not open) a hand-off."""
    question = ctx.text
    hits = deps.knowledge.search(question, top_k=8, filters=SearchFilters(as_of=ctx.today))
    ctx.retrieved.extend(hits)
    foreign = ident is not None and ident.reason.startswith("out_of_scope_term")
    decision = deps.answerability.decide(question, hits, out_of_scope=foreign)
    ctx.rules.append(f"answerability:{decision.verdict.value}:{decision.probability:.2f}")
    aspects = detect_aspects(question)
    ctx.rules.append("answer.aspects:" + (",".join(aspects) or "none"))
    if decision.verdict == Verdict.ANSWER and decision.item_id is not None:
        chunks = item_chunks(deps, ctx, decision.item_id, question)
        composed = deps.composer.compose_item(aspects, chunks, hours=asks_hours(question)) if aspects else None
        if composed is None or composed.empty:
            composed = deps.composer.compose(question, [h for h in hits if h.item_id == decision.item_id],
                                             lead=f"关于“{decision.title}”：")
        if not composed.empty:
            ctx.retrieved.extend(chunks)
            verdict = _rail(deps, ctx, composed.text, composed)
            ctx.rules.extend(f"{r.ref}:{r.verdict.value}" for r in verdict.rules)
            if verdict.passed:
                ctx.rules.append(f"answer.knowledge_only:{decision.item_id}")
                ctx.citations.extend(c for c in composed.citations if c not in ctx.citations)
                ctx.finish(Outcome.ANSWERED, final_text(deps, ctx, composed))
                ctx.follow_ups = follow_ups(composed, aspects, decision.title or "")
                return
    if decision.verdict == Verdict.CLARIFY and decision.title:
        ask = FOLLOW_UPS.get(aspects[0], "怎么办理？") if aspects else "怎么办理？"
        ctx.rules.append(f"answer.clarify:{decision.item_id}")
        label = LABELS[aspects[0]] if aspects else "办理方式"
        ctx.finish(Outcome.CLARIFYING, f"我不确定您问的是不是“{decision.title}”。如果是，我可以告诉您它的{label}；"
                                       "如果不是，请换个说法，或者转线上人工帮办。")
        ctx.choices = [Choice(label=f"是，问“{decision.title}”", value=f"{decision.title}{ask}"), HUMAN_CHOICE]
        return
    ctx.rules.append("answer.unknown")
    ctx.finish(Outcome.ANSWERED, ENGLISH_UNKNOWN if is_english(ctx.redacted) else UNKNOWN_OFFER)
    ctx.choices = [HUMAN_CHOICE]


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


def final_text(deps: Deps, ctx: TurnContext, composed: ComposedAnswer) -> str:
    """The checked answer with where it applies (街镇, audience) and, for a question in English, an honest English
    frame: the guide is quoted in Chinese, its key facts and the 962288 hotline in English."""
    first = composed.citations[0]
    text = with_scope(deps, ctx, first.item_id, composed.text)
    if is_english(ctx.redacted):
        ctx.rules.append("answer.english:quoted_chinese")
        return english_answer(text, first.title)
    return text


def _rail(deps: Deps, ctx: TurnContext, text: str, composed: ComposedAnswer) -> OutputVerdict:
    cites = [(c.item_id, c.version) for c in composed.citations]
    return deps.output_rails.check(text, cites, list(composed.hits), deps.knowledge.live(), ctx.today)
