"""The dialogue state machine: one handler per phase, plus `advance`, which asks the next question
(情形 → consent → fields) or shows the confirmation screen. Only `confirm` creates an application,
and only on an explicit confirmation of a screen shown in an earlier turn."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from assistant import bundles, understanding
from assistant.answer import is_question, wanted_sections
from assistant.aspects import asks_fact, general_question
from assistant.catalog import Matter
from assistant.checklist import build_checklist
from assistant.context import Deps, TurnContext
from assistant.extractors import choose_option, clean_value, consent_answer, looks_like_address, to_arabic, yes_no
from assistant.identify import Decision, Identification
from assistant.models import ApplicationRef, Choice, Outcome, Provenance, Slot, SourceKind, handoff_ticket
from assistant.negation import Negation, excludes, split_negation
from assistant.prefill import prefill
from assistant.profiles import ProfileKind
from assistant.qa import answer_instead_of_clarifying, answer_question, answer_without_matter, bundle_member
from assistant.replies import (
    CANCELLED,
    CONFIRM_CHOICES,
    CONSENT_QUESTION,
    GREETING,
    HANDOFF,
    YES_NO,
    ask_field,
    ask_situation,
    checklist_text,
    confirmation_screen,
    expired_notice,
    prefill_summary,
    slot_views,
)
from assistant.slots import (
    CORRECTION,
    SELF_CORRECTION,
    SlotUpdate,
    answer_situation,
    detect_situations,
    next_field,
    open_situations,
    revised_situations,
)
from assistant.state import Phase, SessionState
from assistant.status import answer_status, asks_status
from guardrails.config import HELD_MESSAGE
from kb.text import normalize

APPLY = re.compile(r"我想|我要|想办|要办|给我办|给我弄|直接办|帮我(?!算|查|看|问|想|说|解释|分析)|我准备|准备|打算|开一家|开个|开家|申请一下|现在办|开始办|在线办|"
                   r"(?:想|要)(?:(?!怎么|如何|咋|不要)[^，,。？?!！\s]){0,4}(?:办|续|申请|申领|换|补|开|注册|登记|备案|弄|交|缴|参保|提取)"
                   r"(?![吗呢么]|不了|什么|啥|哪|多少|几)")
# "菜场里租了个摊位 杀鱼卖鱼的 … 个体执照要怎么办", "阿拉今年七十四岁了 … 哪能弄法": one's own story, then the
# colloquial "how do I get it done" — asking for it to be done. (The formal "怎么办理/怎么申请" asks for the steps.)
HOW_TO_GET_DONE = re.compile(r"(?:要|该|得)?(?:怎么|咋|怎样)(?:个)?(?:办|弄|搞|补办|补|换|续|拿出来|取出来|提出来|领)(?:法|呢|啊|呀|哦|啦)?"
                             r"[？?！!。\s\u2600-\u27bf\U0001f000-\U0001faff]*$")
ACTING_FOR_OTHER = frozenset({"agent", "guardian", "proxy", "entrusted"})  # 代办/监护/委托: the profile is the agent's
FORM_RESUMABLE = (Phase.SITUATION, Phase.CONSENT, Phase.COLLECT, Phase.CONFIRM)
APPLY_NEW = re.compile(r"(我想|我要|想|要|帮我)(再)?(申请|办理?|开)(一个|一份|个)?(新的)?")
GO_AHEAD = re.compile(r"办吧|办呀|办啊|那就办|就办吧|开始办|帮我办了?吧|办起来")
CONFIRM_WORDS = ("确认提交", "确认", "提交", "确定提交", "确认无误", "确认申请", "同意提交", "确定", "确认无误提交")
HUMAN = re.compile(r"转人工|人工客服|人工服务|找人工|真人|工作人员帮|人工帮办")
CANCEL = re.compile(r"^(?:取消|不办了|算了|重新开始|重来|退出|结束)|"
                    r"(?:不交了|不提交了|不申请了|不办了|不要了|撤销|撤回|取消)(?:这个|这份|这项)?(?:申请|办理|了)?[。！!\s]*$")
# "算了不寄了 改成我自己去窗口拿": a change of mind about one answer, not a cancellation of the application
_CHANGE_INSTEAD = re.compile(r"^(?:算了|不要了|取消)[^，,。]{0,8}[，,。\s]*.{0,6}(?:改成|改为|换成|改到|改用|还是|就选|选)")
CONTINUE = re.compile(r"^(?:好了|没事了|好的)?[，,\s]*(?:继续|接着)(?:办|填|弄)?(?:刚才|之前|前面)?(?:那个|的)?[。！!\s]*$")
GREET = re.compile(r"^(?:你好|您好|在吗|hi|hello|嗨|哈喽)[！!。.，,\s]*$", re.I)
EDIT = re.compile(r"^(?:我要)?(?:修改|改一下|要改|更改)$")


def is_confirmation(text: str) -> bool:
    t = clean_value(text) or normalize(text)
    return t in CONFIRM_WORDS


# -- control ---------------------------------------------------------------------------------------
def control(deps: Deps, ctx: TurnContext) -> None:
    t = normalize(ctx.text)
    if HUMAN.search(t):
        handoff(deps, ctx, "citizen_request", HANDOFF)
    elif ctx.state.phase in FORM_RESUMABLE and (target := _switch_target(deps, ctx, t)) is not None:
        # "不办低保了，改办残疾证换领": the current matter is dropped and the one named instead starts
        old = deps.registry.title(ctx.state.bundle_id or ctx.state.matter_id or "")
        ctx.state.reset_matter()
        ctx.state.leave_bundle()
        ctx.state.phase = Phase.IDLE
        ctx.rules.append(f"dialogue.switch:{target}")
        ctx.say(f"好的，不办“{old}”了。")
        begin(deps, ctx, target, None)
    elif CANCEL.search(t) and not is_question(t) and not _CHANGE_INSTEAD.search(t) \
            and ctx.state.phase not in (Phase.IDLE, Phase.HANDED_OFF):
        ctx.state.reset_matter()
        ctx.state.leave_bundle()
        ctx.state.phase = Phase.IDLE
        ctx.rules.append("dialogue.cancel")
        ctx.finish(Outcome.ANSWERED, CANCELLED)
    elif FORM_RESUMABLE and ctx.state.phase in FORM_RESUMABLE and CONTINUE.search(t.split("，")[-1].split(" ")[-1] or t):
        ctx.rules.append("dialogue.continue")
        ctx.finish(Outcome.ANSWERED, "好的，我们接着办。")  # resume_form asks the pending question again
    elif GREET.match(t) and ctx.state.phase in (Phase.IDLE, Phase.HANDED_OFF):
        ctx.finish(Outcome.ANSWERED, GREETING)
    elif ctx.state.bundle_id and ctx.state.phase in (Phase.SITUATION, Phase.CONSENT, Phase.COLLECT, Phase.CONFIRM) \
            and bundles.says_done(t) and _names_current_or_none(deps, ctx, t):
        skip_current_step(deps, ctx)
    elif asks_status(t) and not APPLY_NEW.search(t) and "一件事" not in t and not general_question(t):
        answer_status(deps, ctx)  # "我的申请到哪一步了" is a status query, never a new application
    elif is_confirmation(t) and ctx.state.phase != Phase.CONFIRM:
        ctx.rules.append("dialogue.confirm_without_screen")
        ctx.finish(Outcome.ANSWERED, "目前没有等待您确认提交的申请。请先告诉我想办理的事项，填写完成并核对后再确认提交。")


def _switch_target(deps: Deps, ctx: TurnContext, text: str) -> str | None:
    """The matter named instead of the current one ("不办低保了，改办残疾证换领", "不是续签，是补办"), if any."""
    negation = split_negation(text)
    current = ctx.state.bundle_id or ctx.state.matter_id
    if not negation.excluded or current is None or negation.kept == text.strip():
        return None
    entry = next((e for e in deps.registry.entries() if e.id == current), None)
    if entry is None or not excludes(negation, (entry.title, *entry.aliases)):
        return None
    kept = re.sub(r"^(?:改成|改为|换成|改办|改|换|是|要)", "", negation.kept.strip())
    ident = deps.identifier.identify(kept)
    top = ident.top
    return top.id if ident.decision == Decision.ACCEPT and top is not None and top.id != current else None


def _names_current_or_none(deps: Deps, ctx: TurnContext, text: str) -> bool:
    bundle = deps.registry.bundle(ctx.state.bundle_id or "")
    named = bundles.names_step(deps.registry, bundle, text)
    return named is None or named == ctx.state.bundle_step


def _ticket_line(deps: Deps, handoff_id: str, reason: str) -> str:
    """The ticket number and place in the queue, so the citizen knows the request is held and can quote it."""
    position = deps.store.handoff_queue_position(handoff_id)
    if position is None:
        return ""  # already taken by a member of staff (or a replay): no queue to report
    ahead = "您前面没有其他人在等候" if position == 1 else f"您前面还有{position - 1}位在等候"
    first = "（紧急求助已优先处理）" if reason == "emergency" else ""
    return (f"\n工单号：{handoff_ticket(handoff_id)}，{ahead}{first}。工作人员接手和回复时，登录后可在“我的办件”的"
            "消息中看到。")


def handoff(deps: Deps, ctx: TurnContext, reason: str, message: str) -> None:
    conversation = deps.store.conversation(ctx.state.session_id) + [
        {"turn": ctx.turn_index, "question": ctx.redacted, "reply": message, "outcome": Outcome.HANDED_OFF.value}]
    ctx.handoff_id = deps.store.record_handoff(ctx.state.session_id, ctx.turn_id, reason, conversation)
    message += _ticket_line(deps, ctx.handoff_id, reason)
    if reason != "emergency":  # after an emergency the form is kept: "火灭了 继续办" goes on where it was
        ctx.state.phase = Phase.HANDED_OFF
    ctx.rules.append(f"handoff.{reason}")
    ctx.finish(Outcome.HANDED_OFF, message)


# -- identification ----------------------------------------------------------------------------------
NOT_A_REQUEST = re.compile(r"^(同意|不同意|好的?|好吧|是的?|对|对的|不是|没有|有|嗯+|行|可以|不用|谢谢|ok|OK|1|2|3|4|5)[。！!，,.\s]*$")
_DATA_ONLY = re.compile(r"^[^，,。；;！!]{0,8}(?:身份证号?码?|电话|手机号?码?|证件号码?)?[：:是为\s]*[\dXx\s\-]{7,}[，,。；;！!]?$")
SECOND_REQUEST = re.compile(r"[，,。；;！!\s]*(?:还有|另外|顺便|同时|再帮我|还要|还想|以及)[，,：:\s]*")


def identify(deps: Deps, ctx: TurnContext) -> None:
    t = normalize(ctx.text)
    if NOT_A_REQUEST.match(t) or len(re.findall(r"[\u4e00-\u9fffA-Za-z]", t)) < 2:
        # "同意", "好的", "1" with nothing open is not a request: never guess a matter from it
        ctx.rules.append("identify.not_a_request")
        ctx.finish(Outcome.ANSWERED, "请告诉我您想办理或咨询的事项，比如“居住证续签”“社保卡补办”“开小饭馆”。")
        return
    # "继续办食品经营许可" asks to go on with 食品经营许可, not for its 延续 (renewal)
    text = re.sub(r"^(?:继续|接着|再)(?:办|弄|申请)?(?:一下)?", "", ctx.text.strip()) or ctx.text
    # "我要跟我对象扯证，她身份证号3401…": a clause that only gives someone's details is not the request
    asked = [c for c in re.split(r"(?<=[，,。；;！!])", text) if c.strip() and not _DATA_ONLY.search(c)]
    text = "".join(asked).strip("，,。；; ") or text
    first, *more = [p for p in SECOND_REQUEST.split(text) if p.strip()] or [text]
    negation = split_negation(first if more else text)
    ident = deps.identifier.identify(_corrected_request(negation.kept))
    focus = _request_clause(negation.kept) if ident.decision != Decision.ACCEPT else None
    if focus is not None:
        # a long story with the request at the end ("…你们能不能帮我把开面馆的手续弄起来？"): identify the request
        focused = deps.identifier.identify(focus)
        if focused.decision != Decision.UNKNOWN and focused.confidence > ident.confidence:
            ctx.rules.append("identify.request_clause")
            ident = focused
    core = _without_details(negation.kept) if ident.decision != Decision.ACCEPT else negation.kept
    if core != negation.kept and core:
        # "12月21号想去领证 对象叫示例唐宁 身份证3401…": names, numbers and addresses set aside, the request is clearer
        bare = deps.identifier.identify(_corrected_request(core))
        if bare.decision != Decision.UNKNOWN and bare.confidence > ident.confidence:
            ctx.rules.append("identify.details_set_aside")
            ident = bare
    several = _bundle_of_named_steps(deps, text)
    if several is not None and (ident.decision != Decision.ACCEPT or ident.top is None
                                or ident.top.id in deps.registry.bundle(several).matters):
        # "要办执照、办食品许可，还有门口的招牌": several steps of one 一件事 are that 一件事
        ctx.rules.append(f"identify.bundle_steps:{several}")
        ctx.identification = ident
        begin(deps, ctx, several, ident.confidence)
        return
    if more:
        _queue_second_request(deps, ctx, "，".join(more), ident)
    if negation.excluded:
        ident = _without_excluded(deps, ctx, ident, negation)
    ctx.identification = ident
    ctx.retrieved.extend(ident.hits)
    ctx.rules.append(f"identify.{ident.decision.value}")
    settled = _settled_by_rules(deps, ctx, ident, negation.kept) if ident.decision != Decision.ACCEPT else None
    if settled is not None:
        # a rule named the matter (recorded in the trace): the identifier's doubt no longer holds the answer back
        begin(deps, ctx, settled, max(ident.confidence, SETTLED_CONFIDENCE))
        return
    ident = understanding.settle_identification(deps, ctx, ident)  # the optional LLM, only when the rules are unsure
    if ident.decision == Decision.UNKNOWN or not ident.candidates:
        answer_without_matter(deps, ctx, ident)  # answer from the knowledge, ask, or 不知道 with a hand-off offered
        return
    if ident.decision == Decision.CLARIFY and (instead := answer_instead_of_clarifying(deps, ctx, ident)) is not None:
        if instead:  # a fact question the knowledge clearly answers is answered, not asked back
            begin(deps, ctx, instead, ident.confidence)
        return
    if ident.decision == Decision.CLARIFY:
        close = ident.close()
        shown = close if len(close) >= 2 else list(ident.candidates[:3])
        ctx.state.candidates = [c.id for c in shown]
        ctx.state.question = ctx.text
        ctx.state.phase = Phase.CLARIFY
        listing = "；".join(f"{n}. {c.title}" for n, c in enumerate(shown, 1))
        ctx.choices = [Choice(label=c.title, value=c.title) for c in shown] + [Choice(label="都不是", value="都不是")]
        ctx.finish(Outcome.CLARIFYING, f"您想办理的是以下哪一项？{listing}。请回复序号或名称。")
        return
    top = ident.candidates[0]
    begin(deps, ctx, top.id, ident.confidence)


SETTLED_CONFIDENCE = 0.9  # an identification a rule settled (named title, the only candidate the story answers…)
_ACTION_WORDS = re.compile(r"续签|续办|续期|补办|补领|换领|新办|首次|注销|变更|延续")


def _corrected_request(text: str) -> str:
    """"居住证续签咋弄 哦不对 我之前从来没办过 是第一次": the object said first, the action said after the correction."""
    cue = list(SELF_CORRECTION.finditer(text))
    if not cue or cue[-1].start() == 0 or not text[cue[-1].end():].strip():
        return text
    before, after = text[: cue[-1].start()], text[cue[-1].end():]
    return f"{_ACTION_WORDS.sub('', before).strip()}，{after.strip()}"


_REQUEST_CUE = re.compile(r"帮我|能不能|能否|想办|要办|手续|怎么办|申请|办理|弄起来|办起来|办一下")


_DETAIL = re.compile(r"\d[\d\s\-]{6,}[\dXx]|叫[\u4e00-\u9fff·]{2,8}$|(?:面积|平方|平米|\d+(?:\.\d+)?平)|店名|名字|名称|"
                     r"地址|住址|电话|手机|卡号|账号")


def _without_details(text: str) -> str:
    """The message without the clauses that only give details for a form (names, numbers, addresses, areas):
    what is left says what the person wants."""
    parts = [p for p in re.split(r"[，,。；;！!]+|\s+(?=[\u4e00-\u9fff])", text) if p.strip()]
    kept = [p for p in parts if not _DETAIL.search(p) and not looks_like_address(clean_value(p) or p)]
    return " ".join(kept).strip() if len(kept) < len(parts) else text


def _request_clause(text: str) -> str | None:
    """In a long message, the last clause that asks for something, when there is one."""
    if len(text) <= 60:
        return None
    asks = [c for c in re.split(r"[，,。；;！!？?]", text) if _REQUEST_CUE.search(c)]
    return asks[-1].strip() if asks else None


def _settled_by_rules(deps: Deps, ctx: TurnContext, ident: Identification, text: str) -> str | None:
    """An unsure identification the rules can still settle (each recorded in the trace):
    - of the close candidates, all but one issue an e-licence the person already holds (食品经营许可证);
    - the close candidates are a 一件事 and its own steps ("我想开个小饭馆");
    - the person names one entry outright by its title or alias ("给宝宝办张社保卡", "想跟女朋友去扯证"),
      unless it is a question or the identifier asks which action on one object is meant;
    - the story answers the own questions (情形) of exactly one close candidate ("我们都没结过婚")."""
    top_score = ident.candidates[0].score if ident.candidates else 0.0
    shown = [c.id for c in (ident.close() if len(ident.close()) >= 2 else ident.candidates[:3])
             if c.score >= top_score - 0.25]  # a far third candidate is no rival
    if ident.decision == Decision.CLARIFY:
        held = [] if is_question(text) else _already_held(deps, ctx, shown)  # a question may be about anyone's
        if held and len(shown) - len(held) == 1:
            ctx.rules.append(f"identify.holds_result:{','.join(held)}")
            return next(c for c in shown if c not in held)
    # same object, different actions, and the message says neither: that is asked
    named = None if ident.confusable or is_question(text) else _named_entry(deps, text, [c.id for c in ident.candidates[:3]])
    if named is not None:
        ctx.rules.append(f"identify.named:{named}")
        return named
    if ident.decision == Decision.CLARIFY and not split_negation(text).any and not is_question(text):
        answered = [c for c in shown if not deps.registry.is_bundle(c)
                    and detect_situations(normalize(text), deps.registry.matter(c), {})]
        if len(answered) == 1:
            # "下个月跟对象去领证 她大陆的 我们都没结过婚": the story answers 结婚登记's own questions, not 离婚登记's
            ctx.rules.append(f"identify.answers_situations:{answered[0]}")
            return answered[0]
    covering = _covering_bundle(deps, shown) if ident.decision == Decision.CLARIFY else None
    if covering is not None and is_question(text) and not deps.registry.is_bundle(shown[0]):
        # "个体户营业执照到哪里去办": a question is about the one step it names, not the whole 一件事
        ctx.rules.append(f"identify.question_about_step:{shown[0]}")
        return shown[0]
    if covering is not None:
        ctx.rules.append(f"identify.bundle_covers:{covering}")
    return covering


def _named_entry(deps: Deps, text: str, among: list[str]) -> str | None:
    """The one entry among the top candidates whose title or alias the message says, longest name first."""
    t = normalize(text)
    found: dict[str, int] = {}
    for e in deps.registry.entries():
        if e.id in among:
            lengths = [len(n) for n in (e.title, *e.aliases) if n and len(n) >= 2 and n in t]
            if lengths:
                found[e.id] = max(lengths)
    ranked = sorted(found.items(), key=lambda kv: -kv[1])
    return ranked[0][0] if ranked and (len(ranked) == 1 or ranked[0][1] > ranked[1][1]) else None


def _already_held(deps: Deps, ctx: TurnContext, ids: list[str]) -> list[str]:
    """Candidates that issue an e-licence the person already holds, valid (a first issue is not what they want)."""
    s = ctx.state
    profile = deps.profiles.find(s.profile_id) if deps.identity.may_read_profile(s) else None
    if profile is None:
        return []
    reg = deps.registry
    return [i for i in ids if not reg.is_bundle(i) and bundles.existing_result(reg.matter(i), profile, ctx.today) is not None]


def _bundle_of_named_steps(deps: Deps, text: str) -> str | None:
    t = normalize(text)
    named = [b.id for b in deps.registry.bundles() if len(bundles.named_steps(deps.registry, b, t)) >= 2]
    return named[0] if len(named) == 1 else None


def _covering_bundle(deps: Deps, ids: list[str]) -> str | None:
    """The one 一件事 among the candidates whose steps are all the other candidates, if any."""
    reg = deps.registry
    found = [i for i in ids if reg.is_bundle(i)]
    if len(found) != 1:
        return None
    steps = set(reg.bundle(found[0]).matters)
    return found[0] if all(i in steps for i in ids if i != found[0]) else None


# How any matter is asked about: not what a second request is about
_GENERIC_ASK = re.compile(r"怎么(?:样|么)?(?:补办|办理|申请|补|办|弄)|如何(?:补办|办理|申请)|(?:补办|办理|申请|补领|换领)[一下的]*|"
                          r"要(?:带|准备)什么|多久|多少钱|在哪(?:里|儿)?|[啊呀吧呢吗嘛哦]")


def _queue_second_request(deps: Deps, ctx: TurnContext, text: str, first: Identification) -> None:
    """Two requests in one message: the second is remembered and offered once the first is done."""
    if not _has_content(_GENERIC_ASK.sub("", text)):
        return
    second = deps.identifier.identify(text)
    bare = deps.identifier.identify(_GENERIC_ASK.sub("", text))
    if bare.top is None or second.top is None or bare.top.id != second.top.id:
        return  # "还要去外地出差 怎么补办啊": only the verb names a matter, the thing is the first request's
    top = second.top
    if second.decision != Decision.ACCEPT or top is None or (first.top is not None and top.id == first.top.id):
        return
    if top.id not in ctx.state.queued:
        ctx.state.queued.append(top.id)
        ctx.rules.append(f"identify.queued:{top.id}")
        entry = next((e for e in deps.registry.entries() if e.id == top.id), None)
        said = [a for a in (entry.aliases if entry else ()) if a and a in normalize(text) and a != top.title]
        name = f"“{min(said, key=len)}”（{top.title}）" if said else f"“{top.title}”"  # in the person's words first
        ctx.deferred_note = f"您还提到了{name}，这一项办完后我再帮您办。"


def offer_queued(deps: Deps, ctx: TurnContext) -> None:
    """After a matter is done or a question answered, offer the request the person made in the same message."""
    s = ctx.state
    if not s.queued or s.phase not in (Phase.IDLE, Phase.OFFER) or s.bundle_id:
        return
    entry = s.queued.pop(0)
    title = deps.registry.title(entry)
    s.offer, s.phase = entry, Phase.OFFER
    ctx.say(f"您刚才还提到了“{title}”，现在帮您办理吗？")
    ctx.choices = [Choice(label="开始办理", value="开始办理"), Choice(label="暂不办理", value="暂不办理")]


def _without_excluded(deps: Deps, ctx: TurnContext, ident: Identification, negation: Negation) -> Identification:
    """Drop the matters the citizen said it is not ("不是低保！"); never accept a guess that lost its top."""
    entries = {e.id: e for e in deps.registry.entries()}
    kept = tuple(c for c in ident.candidates
                 if not (c.id in entries and excludes(negation, (entries[c.id].title, *entries[c.id].aliases))))
    if len(kept) == len(ident.candidates):
        return ident
    ctx.rules.append("identify.negation:" + ",".join(negation.excluded))
    decision = ident.decision
    if not kept:
        decision = Decision.UNKNOWN
    elif kept[0].id != ident.candidates[0].id and decision == Decision.ACCEPT:
        decision = Decision.CLARIFY if len(kept) > 1 else Decision.ACCEPT
    return ident.model_copy(update={"candidates": kept, "decision": decision, "confusable": ()})


def begin(deps: Deps, ctx: TurnContext, entry_id: str, confidence: float | None, text: str | None = None) -> None:
    """A matter or bundle was identified: answer first if the citizen asked something, else start.
    `text` is what the citizen originally said (after a clarifying question, not the choice)."""
    reg = deps.registry
    said = text or ctx.text
    story_then_how = bool(HOW_TO_GET_DONE.search(normalize(said))) and len(
        [c for c in re.split(r"[，,。；;！!\s]+", normalize(said).strip()) if c]) >= 2
    # "要交钱吗" asks the fee (it is not "要交…"); "开个体户执照几天能拿到" asks a fact and does not start
    applying = APPLY.search(normalize(said)) and not asks_fact(said)
    if reg.is_bundle(entry_id) and asks_fact(said) and "一件事" not in said:
        entry_id = bundle_member(deps, ctx, entry_id)  # "宝宝报户口要带什么": the step it names answers
    if not reg.is_bundle(entry_id) and is_question(said) and not applying and not story_then_how:
        matter = reg.matter(entry_id)
        ctx.state.offer, ctx.state.confidence = entry_id, confidence
        ctx.state.phase = Phase.OFFER
        ctx.state.last_question = said
        answered = answer_question(deps, ctx, matter, said, confidence)
        if answered:
            if ctx.outcome == Outcome.ANSWERED:
                ctx.say(f"需要我现在帮您在线办理“{matter.name}”吗？")
                ctx.choices = [Choice(label="开始办理", value="开始办理"), Choice(label="暂不办理", value="暂不办理")]
            return
        if ctx.outcome == Outcome.REFUSED:
            return  # withheld by the output rail: say so, do not start anything
        ctx.parts.clear()  # nothing in the guide answers it: start the application instead
        ctx.outcome = None
        ctx.state.phase, ctx.state.offer = Phase.IDLE, None
    start(deps, ctx, entry_id, confidence)


_STATED_AGE = re.compile(r"(?:她|他|伊|我妈|我爸|老人|母亲|父亲|老伴|婆婆|公公|奶奶|爷爷|外婆|外公|老太太|老爷子)"
                         r"[^，,。；;！!？?\d]{0,4}?(\d{2,3})(?:岁|周岁)")


_THEIR_ACCOUNT = re.compile(r"(?:用|登|登录|登的|用的|拿)(?:的是|是|着)?(?:她|他|伊|我妈妈?|我爸爸?|我母亲|我父亲|老人家?|老伴|婆婆|公公|奶奶|爷爷|"
                           r"外婆|外公|阿娘|姆妈|阿爸)(?:自己)?的?(?:账号|帐号|账户|号|一网通办|随申办|手机)")


_SAME_HOME = re.compile(r"(?:跟|和|与)我(?:们)?(?:住|住在)一(?:起|块|道)|(?:地址|住址|住所|户口)(?:跟|和|与)?(?:我|我的)?(?:一样|相同)")


def _note_whose(ctx: TurnContext) -> None:
    """Statements about whose record this is and where the others live, kept until the form is pre-filled."""
    s, t = ctx.state, normalize(ctx.text)
    if _SAME_HOME.search(t):
        s.same_home = True
    if not s.profile_is_beneficiary and _THEIR_ACCOUNT.search(t):
        s.profile_is_beneficiary = True  # "现在用的是她的账号": the record is the person applied for
        ctx.rules.append("prefill.profile_is_beneficiary")


def speaker_is_agent(s: SessionState) -> bool:
    """The one typing applies for someone else: "我" is the agent, whoever's account it is."""
    return any(v in ACTING_FOR_OTHER for v in s.situations.values())


def acting_for_other(s: SessionState) -> bool:
    """The citizen applies for someone else on their own account (家属代办, 委托, 监护): the profile is the agent's."""
    return any(v in ACTING_FOR_OTHER for v in s.situations.values()) and not s.profile_is_beneficiary


def start(deps: Deps, ctx: TurnContext, entry_id: str, confidence: float | None) -> None:
    s = ctx.state
    reg = deps.registry
    age = _STATED_AGE.search(to_arabic(normalize(ctx.text)))
    s.stated_age = int(age.group(1)) if age else None
    if ctx.verdict is not None and ctx.verdict.hold:
        # The input rails asked for 人工复核 (a rumour, pressure to confirm, a paid shortcut): nothing starts.
        reason = "; ".join(r.ref for r in ctx.verdict.rules if r.verdict.value == "hold") or "input rail"
        deps.hold_queue.hold(ctx.turn_id, s.session_id, "", f"input: {reason}", ())
        ctx.rules.append("dialogue.no_start_while_held")
        ctx.finish(Outcome.HELD_FOR_REVIEW, HELD_MESSAGE)
        return
    if reg.is_bundle(entry_id):
        bundle = reg.bundle(entry_id)
        profile = deps.profiles.find(s.profile_id) if deps.identity.may_read_profile(s) else None
        first, skips = bundles.skip_done(reg, bundle, bundles.start_step(reg, bundle, ctx.text), profile, ctx.text,
                                         ctx.today)
        s.bundle_id, s.bundle_step, s.carried = bundle.id, first, {}
        steps = "；".join(f"{n}. {reg.matter(m).name}" for n, m in enumerate(bundle.matters, 1))
        ctx.say(f"好的，这件事可以按“{bundle.name}”一次办理，共 {len(bundle.matters)} 项：{steps}。"
                "前一项填过的信息会自动带到下一项。")
        _record_skips(ctx, skips)
        if first >= len(bundle.matters):
            s.leave_bundle()
            ctx.finish(Outcome.ANSWERED, "这件事的各项都已经办好，不需要再申请了。还有什么可以帮您？")
            return
        ctx.say(f"我们先办第{first + 1}项。")
        matter_id = bundle.matters[first]
    else:
        matter_id = entry_id
        if s.bundle_id and matter_id not in reg.bundle(s.bundle_id).matters:
            s.leave_bundle()
    open_matter(deps, ctx, reg.matter(matter_id), confidence)


def _record_skips(ctx: TurnContext, skips: list[bundles.Skip]) -> None:
    for skip in skips:
        ctx.state.completed.append(ApplicationRef(id=None, matter_id=skip.matter_id, status=f"skipped_{skip.reason}"))
        ctx.rules.append(f"bundle.skip:{skip.matter_id}:{skip.reason}")
        ctx.say(skip.note)


def skip_current_step(deps: Deps, ctx: TurnContext) -> None:
    """"这一项已经办好了 / 跳过" inside a bundle: record it (本人声明) and go on with the next step."""
    s = ctx.state
    bundle = deps.registry.bundle(s.bundle_id or "")
    current = bundle.matters[s.bundle_step]
    _record_skips(ctx, [bundles.Skip(current, "declared",
                                     f"好的，“{deps.registry.matter(current).name}”按您说的已办好（本人声明），跳过这一项。")])
    profile = deps.profiles.find(s.profile_id) if deps.identity.may_read_profile(s) else None
    nxt, more = bundles.skip_done(deps.registry, bundle, s.bundle_step + 1, profile, "", ctx.today)
    _record_skips(ctx, more)
    carry, situations, confidence = dict(s.carried), {**s.carried_situations, **s.situations}, s.confidence
    s.reset_matter()
    s.carried, s.carried_situations, s.confidence = carry, situations, confidence
    if nxt >= len(bundle.matters):
        s.leave_bundle()
        s.phase = Phase.IDLE
        ctx.finish(Outcome.ANSWERED, f"“{bundle.name}”的各项都已处理完。还有什么可以帮您？")
        return
    s.bundle_step = nxt
    nxt_matter = deps.registry.matter(bundle.matters[nxt])
    ctx.say(f"接下来办理第{nxt + 1}项“{nxt_matter.name}”。")
    open_matter(deps, ctx, nxt_matter, confidence)


def open_matter(deps: Deps, ctx: TurnContext, matter: Matter, confidence: float | None) -> None:
    s = ctx.state
    s.reset_matter()
    s.confidence = confidence
    s.matter_id, s.matter_version, s.confidence = matter.id, matter.version, confidence
    s.phase = Phase.SITUATION
    for name, slot in s.carried.items():
        if matter.field(name) is not None:
            s.slots[name] = slot
    for sid, value in s.carried_situations.items():
        situation = matter.situation(sid)
        if situation is not None and situation.option(value) is not None:
            s.situations[sid] = value
    s.situations.update(detect_situations(ctx.text, matter, s.situations))
    _note_whose(ctx)
    if not s.bundle_id:
        ctx.say(f"好的，我们来办理“{matter.name}”。")
    ctx.rules.append(f"matter.start:{matter.id}@{matter.version}")
    fill(deps, ctx, matter, expected=None, quiet=True)


# -- phases ---------------------------------------------------------------------------------------
def on_clarify(deps: Deps, ctx: TurnContext) -> None:
    s = ctx.state
    titles = {deps.registry.title(c): c for c in s.candidates}
    picked = choose_option(ctx.text, list(titles))
    if picked:
        question, s.candidates, s.question = s.question, [], None
        ctx.rules.append("identify.chosen_by_citizen")
        begin(deps, ctx, titles[picked], 1.0, text=question)  # the citizen named it: no guess left
        return
    negation = split_negation(ctx.text)
    if negation.none_of_shown and negation.kept == ctx.text.strip():  # "都不是" and nothing else
        s.candidates, s.phase, s.question = [], Phase.IDLE, None
        ctx.finish(Outcome.ANSWERED, "好的，请换个说法描述您想办的事，比如“孩子出生后要报户口”。")
        return
    answered = [c for c in s.candidates if not deps.registry.is_bundle(c)
                and detect_situations(normalize(ctx.text), deps.registry.matter(c), {})]
    if len(answered) == 1 and not negation.any:
        # "上海户口" after 灵活就业 or 用人单位社保: it answers a question of one of them, so that one is meant
        question, s.candidates, s.question = s.question, [], None
        ctx.rules.append(f"identify.chosen_by_answer:{answered[0]}")
        begin(deps, ctx, answered[0], None, text=question)
        return
    fresh = deps.identifier.identify(negation.kept)
    short = len(re.findall(r"[\u4e00-\u9fffA-Za-z]", negation.kept)) < 4  # "租的" answers a form question, not this one
    if not negation.none_of_shown and (fresh.decision != Decision.ACCEPT or short):
        # Neither a choice nor a clear new request ("搬家了"): ask the same question again, keep the choices.
        shown = [deps.registry.title(c) for c in s.candidates]
        ctx.choices = [Choice(label=t, value=t) for t in shown] + [Choice(label="都不是", value="都不是")]
        listing = "；".join(f"{n}. {t}" for n, t in enumerate(shown, 1))
        ctx.finish(Outcome.CLARIFYING, f"抱歉，没听明白您选的是哪一项。{listing}。请回复序号或名称。")
        return
    s.candidates, s.phase, s.question = [], Phase.IDLE, None
    identify(deps, ctx)  # "都不是，就是租房备案": identified on what they said it is


def on_offer(deps: Deps, ctx: TurnContext) -> None:
    s = ctx.state
    t = normalize(ctx.text)
    answer = None if is_question(t) else yes_no(ctx.text)  # "要多久" asks; it does not say 要
    if answer is None and GO_AHEAD.search(t):
        answer = True  # "好的 办吧 要钱伐 要多久": a go-ahead with a question is still a go-ahead
    if answer is False or any(w in t for w in ("暂不", "不办", "不用", "先不")):
        s.offer, s.phase = None, Phase.IDLE
        if s.queued:
            ctx.finish(Outcome.ANSWERED, "好的。")
            offer_queued(deps, ctx)
            return
        ctx.finish(Outcome.ANSWERED, "好的。还有其他想了解或办理的事吗？")
    elif s.offer and not deps.registry.is_bundle(s.offer) and not is_question(t) \
            and detect_situations(t, deps.registry.matter(s.offer), {}):
        # "没搬家 单位也没换 别一个个问了": answering the matter's own questions is a yes, with the answers
        entry, s.offer = s.offer, None
        ctx.rules.append("dialogue.offer_answered")
        start(deps, ctx, entry, s.confidence)
    elif s.offer and (answer is True or "开始办理" in t or ("办" in t and not is_question(t) and answer is not False)):
        entry, s.offer = s.offer, None
        start(deps, ctx, entry, s.confidence)
    elif s.offer and not deps.registry.is_bundle(s.offer) and is_question(t) and not _names_another_matter(deps, s.offer, t):
        # A follow-up ("怎么补", "要多久", "一个月多少钱") is about the matter just discussed.
        ctx.rules.append(f"dialogue.follow_up:{s.offer}")
        matter = deps.registry.matter(s.offer)
        question = ctx.text
        if not wanted_sections(question) and s.last_question and re.search(r"呢[？?]?$|那.{0,8}[？?]?$", question.strip()):
            question = f"{question} {s.last_question}"  # elliptical: the aspect asked before, about what is said now
        s.last_question = ctx.text if wanted_sections(ctx.text) else s.last_question
        if answer_question(deps, ctx, matter, question, s.confidence) and ctx.outcome == Outcome.ANSWERED:
            ctx.say(f"需要我现在帮您在线办理“{matter.name}”吗？")
            ctx.choices = [Choice(label="开始办理", value="开始办理"), Choice(label="暂不办理", value="暂不办理")]
        elif not ctx.done:
            s.offer, s.phase = None, Phase.IDLE
            identify(deps, ctx)
    else:
        s.offer, s.phase = None, Phase.IDLE
        identify(deps, ctx)


_SERVICE_OBJECT = re.compile(r"证|卡|照|金|保|津贴|补贴|户口|许可|登记|备案|公积金|章|发票|招牌|低保|公司|个体|退休|结婚|离婚|出生")


def _names_another_matter(deps: Deps, current: str, text: str) -> bool:
    """Whether a follow-up question is confidently about a different matter than the current one. A short
    follow-up that names no service object ("要是丢了补办呢", "要多久") is about the current one."""
    if len(re.findall(r"[\u4e00-\u9fff]", text)) <= 10 and not _SERVICE_OBJECT.search(text):
        return False
    ident = deps.identifier.identify(text)
    return ident.decision == Decision.ACCEPT and ident.top is not None and ident.top.id != current


def on_situation(deps: Deps, ctx: TurnContext, matter: Matter) -> None:
    s = ctx.state
    sid = (s.pending or "").removeprefix("situation:")
    situation = matter.situation(sid)
    value = answer_situation(ctx.text, situation) if situation else None
    if value is not None:
        s.situations[sid] = value
        ctx.rules.append(f"situation.{sid}={value}")
    detected = detect_situations(ctx.text, matter, s.situations)
    s.situations.update(detected)
    ctx.rules.extend(f"situation.{k}={v}" for k, v in detected.items())
    updates = fill(deps, ctx, matter, expected=None, quiet=True)
    early = consent_answer(ctx.text) if value is None and not detected and not updates else None
    if early is not None and s.consent is None and deps.profiles.find(s.profile_id) is not None:
        # "同意" before the consent question was asked (people expect it next): kept, the situation asked again
        record_consent(deps, ctx, early)
        ctx.rules.append("consent.early")
    elif value is None and not detected and not updates and is_question(ctx.text):
        answer_question(deps, ctx, matter, ctx.text, s.confidence)
    elif value is None and not detected and not updates and not understanding.choose_situation(deps, ctx, matter, situation):
        ctx.say("抱歉，我没听明白您的选择。")


def on_consent(deps: Deps, ctx: TurnContext, matter: Matter) -> None:
    s = ctx.state
    answer = consent_answer(ctx.text)
    if answer is None:
        detected = detect_situations(ctx.text, matter, {k: v for k, v in s.situations.items()})
        revised = revised_situations(ctx.text, matter, s.situations)
        if detected or revised:  # "房东直租的", "不是丢了 是卡断成两截了" at the consent question: kept, consent asked again
            s.situations.update(detected | revised)
            ctx.rules.extend(f"situation.{k}={v}" for k, v in (detected | revised).items())
            fill(deps, ctx, matter, expected=None, quiet=True)
        elif is_question(ctx.text):
            answer_question(deps, ctx, matter, ctx.text, s.confidence)
        else:
            before = dict(s.slots)
            fill(deps, ctx, matter, expected=None, quiet=True)  # "窗口自己去拿就行": kept for the form
            if s.slots == before:
                ctx.say("请回复“同意”或“不同意”。")
        return
    record_consent(deps, ctx, answer)
    rest = _CONSENT_LEAD.sub("", normalize(ctx.text), count=1)
    if rest != normalize(ctx.text) and _has_content(rest):
        # "同意 女方示例林晓 身份证3101… 日子定在12月12号": the details said with the consent are read too
        ctx.rules.append("consent.with_values")
        fill(deps, ctx, matter, expected=None, quiet=True, text=rest)


_CONSENT_LEAD = re.compile(r"^\s*(?:好的?|行|嗯|可以)?[，,\s]*(?:我)?(?:同意|可以|授权|没问题|好的?|行)[的了啊呀吧，,。！!\s]*")


def _has_content(text: str) -> bool:
    return len(re.findall(r"[\u4e00-\u9fff0-9A-Za-z]", text)) >= 2


def record_consent(deps: Deps, ctx: TurnContext, answer: bool) -> None:
    """The citizen's answer to reading their profile and e-licences: stored, audited, traced."""
    s = ctx.state
    if answer and not deps.identity.may_read_profile(s):
        ctx.rules.append("authz.profile.read:denied")
        ctx.say("抱歉，当前登录身份无权读取该档案，我们改为手动填写。")
        answer = False
    s.consent, s.consent_turn = answer, ctx.turn_index
    assert s.profile_id is not None
    deps.store.record_consent(s.session_id, ctx.turn_id, s.profile_id, answer, "profile+elicences:prefill")
    deps.audit.append("profile.consent", deps.identity.owner(s), s.session_id,
                      {"turn_id": ctx.turn_id, "profile_id": s.profile_id, "granted": answer, "scope": "prefill"})
    ctx.rules.append(f"consent.{'granted' if answer else 'declined'}")
    if not answer:
        ctx.say("好的，不读取您的档案，我们一项项填写。")


def corrected_situations(ctx: TurnContext, matter: Matter) -> dict[str, str]:
    """"不对，不是合同到期，是公司裁员": a situation answered before, corrected now (any phase of the form)."""
    s = ctx.state
    if not (CORRECTION.search(normalize(ctx.text)) or SELF_CORRECTION.search(ctx.text)):
        return {}
    changed = {k: v for k, v in detect_situations(ctx.text, matter, {}).items() if k in s.situations and s.situations[k] != v}
    for sid, value in changed.items():
        situation = matter.situation(sid)
        old = situation.option(s.situations[sid]) if situation else None
        new = situation.option(value) if situation else None
        s.situations[sid] = value
        ctx.rules.append(f"situation.{sid}={value}:corrected")
        if new is not None:
            ctx.say(f"已将情形由“{old.label if old else '未选择'}”改为“{new.label}”。")
    return changed


def on_collect(deps: Deps, ctx: TurnContext, matter: Matter) -> None:
    s = ctx.state
    expected = matter.field((s.pending or "").removeprefix("field:")) if (s.pending or "").startswith("field:") else None
    bundle = deps.registry.bundle(s.bundle_id) if s.bundle_id else None
    waiting = bundles.pending_field(expected, normalize(ctx.text), bundle, s.bundle_step, deps.registry)
    if expected is not None and waiting is not None:
        # 统一社会信用代码 before the licence is issued: pending, completed by staff; the form goes on.
        s.slots[expected.name] = Slot(name=expected.name, value="待补充",
                                      source=Provenance(kind=SourceKind.PENDING, carried_from=waiting))
        ctx.rules.append(f"slot.{expected.name}:pending")
        ctx.say(f"好的，{expected.label}等“{waiting}”办结、证照核发后由工作人员补充，我们先填其他信息。")
        return
    if is_question(ctx.text) and not names_a_field(deps, ctx, matter):
        answer_question(deps, ctx, matter, ctx.text, s.confidence)
        return
    if corrected_situations(ctx, matter):
        return  # the correction was about a situation: the question asked stays open, nothing else is read into it
    updates = fill(deps, ctx, matter, expected=expected)
    others = [u.label for u in updates if u.accepted and u.previous is None]
    if expected is not None and others and not any(u.field == expected.name for u in updates):
        # "10月31号走的" when 身份证号码 was asked: kept for the field it answers, the asked one is still open
        ctx.say(f"已记下{'、'.join(others)}。还没有识别到{expected.label}。")
    if not updates and is_question(ctx.text):
        answer_question(deps, ctx, matter, ctx.text, s.confidence)
    elif not updates and expected is not None:
        proposals = llm_proposals(deps, ctx, matter, expected)
        if not proposals:
            ctx.say(f"抱歉，没有识别到{expected.label}。")


def names_a_field(deps: Deps, ctx: TurnContext, matter: Matter) -> bool:
    """The message names a form field with a value, or carries an identifier: a correction, not a question."""
    return any(f is not None for f, _ in deps.filler.proposals(ctx.text, matter, None, ctx.today))


def on_confirm(deps: Deps, ctx: TurnContext, matter: Matter) -> None:
    s = ctx.state
    if is_confirmation(ctx.text) and s.pending == "confirm":
        submit(deps, ctx, matter)
        return
    if EDIT.match(clean_value(ctx.text) or ""):
        ctx.say("请直接告诉我要修改的内容，例如“电话改成13800001234”或“面积是45平米”。")
        return
    if is_question(ctx.text) and not names_a_field(deps, ctx, matter):
        answer_question(deps, ctx, matter, ctx.text, s.confidence)
        return
    updates = fill(deps, ctx, matter, expected=None)
    changed = corrected_situations(ctx, matter)
    if changed:
        updates = updates or [SlotUpdate(field=sid, label=sid, accepted=True, value=v) for sid, v in changed.items()]
    if not updates and is_question(ctx.text):
        answer_question(deps, ctx, matter, ctx.text, s.confidence)
    elif not updates:
        ctx.say("请回复“确认提交”提交申请，或告诉我需要修改的内容。")


def on_next(deps: Deps, ctx: TurnContext) -> None:
    s = ctx.state
    answer = yes_no(ctx.text)
    t = normalize(ctx.text)
    if s.bundle_id and bundles.says_done(t):  # "食品经营许可证已经有了": the offered next step is done
        s.bundle_step += 1
        skip_current_step(deps, ctx)
    elif s.bundle_id and (answer is True or "继续" in t):
        bundle = deps.registry.bundle(s.bundle_id)
        s.bundle_step += 1
        nxt = deps.registry.matter(bundle.matters[s.bundle_step])
        ctx.say(f"好的，继续办理第{s.bundle_step + 1}项“{nxt.name}”，已沿用上一项中的信息。")
        open_matter(deps, ctx, nxt, s.confidence)
    elif answer is False or "暂不" in t:
        s.leave_bundle()
        s.reset_matter()
        s.phase = Phase.IDLE
        ctx.finish(Outcome.ANSWERED, "好的，后续事项可以随时回来继续办理。还有什么可以帮您？")
    else:
        s.leave_bundle()
        s.reset_matter()
        s.phase = Phase.IDLE
        identify(deps, ctx)


# -- filling, asking, confirming ---------------------------------------------------------------------
def fill(deps: Deps, ctx: TurnContext, matter: Matter, expected: Any, quiet: bool = False,
         text: str | None = None) -> list[SlotUpdate]:
    for_other = speaker_is_agent(ctx.state)
    updates = deps.filler.fill(ctx.text if text is None else text, matter, ctx.state.slots, expected, ctx.turn_index, ctx.today,
                               for_other=for_other)
    for u in updates:
        ctx.slots_changed.append(u.field)
        ctx.rules.append(f"slot.{u.field}:{'accepted' if u.accepted else 'rejected'}")
        if u.accepted and u.previous is not None and u.previous != u.value:
            ctx.say(f"已将{u.label}由“{_shown(u.previous)}”改为“{_shown(u.value)}”。")
        elif not u.accepted and u.previous is not None:
            ctx.say(f"{u.label}没有修改，仍为“{_shown(u.previous)}”：{u.reason}")
        elif not u.accepted and not quiet:
            ctx.say(f"{u.label}：{u.reason}")
    return updates


def llm_proposals(deps: Deps, ctx: TurnContext, matter: Matter, expected: Any) -> list[SlotUpdate]:
    """The rules found nothing: the optional LLM proposes (redacted text only), the validators decide."""
    return understanding.propose_slots(deps, ctx, matter, expected, for_other=speaker_is_agent(ctx.state))


def _age(born: dt.date, today: dt.date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _shown(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def advance(deps: Deps, ctx: TurnContext, matter: Matter) -> None:
    """Ask what is missing next, or show the confirmation screen."""
    s = ctx.state
    profile = deps.profiles.find(s.profile_id)
    pending = open_situations(matter, s.situations)
    _note_whose(ctx)
    if profile is not None and profile.kind == ProfileKind.ENTERPRISE and not s.profile_is_beneficiary:
        # 一企一档 is the enterprise's own record: an enterprise acting through 经办人/代办 is still its applicant
        s.profile_is_beneficiary = True
    early = profile is not None and s.consent and s.prefilled_for != f"{matter.id}@{matter.version}" and not (
        not s.profile_is_beneficiary and any(o.value in ACTING_FOR_OTHER for sit in pending for o in sit.options))
    # (whose profile it is must be known first)
    if pending and not early:
        text, choices = ask_situation(pending[0])
        s.phase, s.pending = Phase.SITUATION, f"situation:{pending[0].id}"
        ctx.choices = list(choices)
        ctx.finish(Outcome.COLLECTING, text)
        return
    if profile is not None and s.consent is None:
        s.phase, s.pending = Phase.CONSENT, "consent"
        ctx.choices = list(YES_NO)
        ctx.finish(Outcome.COLLECTING, CONSENT_QUESTION)
        return
    if profile is not None and s.consent and s.prefilled_for != f"{matter.id}@{matter.version}":
        born = profile.get("birth_date")
        if acting_for_other(s) and s.stated_age is not None and isinstance(born, dt.date) \
                and _age(born, ctx.today) == s.stated_age:
            # the account's holder is as old as the person they apply for: it is that person's own account
            s.profile_is_beneficiary = True
            ctx.rules.append("prefill.profile_is_beneficiary")
        for_other = acting_for_other(s)
        report = prefill(matter, profile, s.slots, deps.filler.validators, ctx.today, for_other=for_other,
                         same_home=s.same_home)
        if for_other:
            ctx.rules.append("prefill.for_other")
        s.slots.update(report.filled)
        s.prefilled_for = f"{matter.id}@{matter.version}"
        ctx.rules.append(f"prefill:{len(report.filled)}/{len(matter.form)}")
        ctx.say(prefill_summary(matter, report.filled))
        fresh = [lic for lic in report.expired if lic.type not in s.expired_told]
        expired_all = [lic for lic in profile.expired_licences(ctx.today) if lic.type not in s.expired_told
                       and any(m.elicence == lic.type for m in matter.materials)]
        told = {lic.type: lic for lic in fresh + expired_all}
        if told:
            ctx.say(expired_notice(list(told.values())))
            s.expired_told.extend(told)
            ctx.rules.append("prefill.expired_licence:" + ",".join(sorted(told)))
    pending = open_situations(matter, s.situations)
    if pending:  # consent came early ("同意" while a situation was asked): pre-filled above, the situation is asked now
        text, choices = ask_situation(pending[0])
        s.phase, s.pending = Phase.SITUATION, f"situation:{pending[0].id}"
        ctx.choices = list(choices)
        ctx.finish(Outcome.COLLECTING, text)
        return
    f = next_field(matter, s.situations, s.slots)
    rejected = [r.split(":")[0].removeprefix("slot.") for r in ctx.rules if r.startswith("slot.") and r.endswith(":rejected")]
    again = next((g for g in matter.form if g.name in rejected and g.name not in s.slots), None)
    if again is not None:
        f = again  # "宝宝身份证…0020" failed its check: that field is asked again before anything else, even if optional
    if f is not None:
        text, choices = ask_field(f)
        s.phase, s.pending = Phase.COLLECT, f"field:{f.name}"
        ctx.choices = list(choices)
        ctx.finish(Outcome.COLLECTING, text)
        return
    show_confirmation(deps, ctx, matter)


def show_confirmation(deps: Deps, ctx: TurnContext, matter: Matter) -> None:
    s = ctx.state
    profile = deps.profiles.find(s.profile_id) if s.consent else None
    ctx.checklist = build_checklist(matter, s.situations, s.slots, profile, ctx.today)
    ctx.findings = deps.reviewer.review(matter, s.situations, s.slots, ctx.today)
    for f in ctx.findings:
        ctx.rules.append(f"prereview.{f.rule_id}:{'pass' if f.ok else 'fail'}")
        if f.citation and f.citation not in ctx.citations:
            ctx.citations.append(f.citation)
    s.phase, s.pending = Phase.CONFIRM, "confirm"
    ctx.choices = list(CONFIRM_CHOICES)
    ctx.finish(Outcome.AWAITING_CONFIRMATION,
               confirmation_screen(matter, s.slots, ctx.checklist, ctx.findings, s.situations))


LOGIN_TO_SUBMIT = ("提交申请需要实名登录。请先点击页面上方的“登录”（使用“一网通办”账号，或演示用的市民令牌），"
                   "登录后这张申请表会原样保留，核对无误后再点“确认提交”即可。")


def submit(deps: Deps, ctx: TurnContext, matter: Matter) -> None:
    s = ctx.state
    if not deps.identity.may_submit(s):  # real-name before submission; the form stays as it is
        ctx.rules.append("application.login_required")
        ctx.login_required = True
        ctx.choices = list(CONFIRM_CHOICES)
        ctx.finish(Outcome.AWAITING_CONFIRMATION, LOGIN_TO_SUBMIT)
        return
    findings = deps.reviewer.review(matter, s.situations, s.slots, ctx.today)
    flagged = any(not f.ok for f in findings)
    pending = any(slot.source.kind == SourceKind.PENDING for slot in s.slots.values())
    staff = matter.requires_staff_approval or flagged or pending  # staff complete a pending value
    fields = {name: _shown(slot.value) if hasattr(slot.value, "isoformat") else slot.value for name, slot in s.slots.items()}
    sources = {v.name: {"label": v.label, "source": v.source_text, "kind": v.source.kind.value}
               for v in slot_views(matter, s.slots)}
    app = deps.applications.create(s.session_id, matter.id, deps.identity.principal(s), fields, staff,
                                   session_owner=deps.identity.owner(s), sources=sources,
                                   findings=[f.model_dump(mode="json", exclude_none=True) for f in findings])
    status = app.status.value
    ref = ApplicationRef(id=app.id, matter_id=matter.id, status=status)
    s.completed.append(ref)
    ctx.application = ref
    ctx.findings = findings
    ctx.rules.append(f"application.created:{status}" + (":prereview_flagged" if flagged and not matter.requires_staff_approval else ""))
    done = (f"已提交“{matter.name}”的申请，申请编号 {ref.id}。" +
            ("该事项需要工作人员人工复核，复核结果会通知您。" if staff else "申请已送达办理部门。"))
    profile = deps.profiles.find(s.profile_id) if s.consent else None
    ctx.checklist = build_checklist(matter, s.situations, s.slots, profile, ctx.today)
    remaining = [c for c in ctx.checklist if c.status.value != "waived"]
    if remaining:
        done += "\n" + checklist_text(remaining)
    carry = dict(s.carried)
    situations = {**s.carried_situations, **s.situations}
    confidence = s.confidence
    nxt = None
    if s.bundle_id:
        bundle = deps.registry.bundle(s.bundle_id)
        for name in bundle.carry_over:
            if name in s.slots:
                slot = s.slots[name]
                original = slot.source.original if slot.source.kind == SourceKind.CARRIED else slot.source
                carry[name] = Slot(name=name, value=slot.value, source=Provenance(
                    kind=SourceKind.CARRIED, carried_from=matter.name, original=original))
        if s.bundle_step + 1 < len(bundle.matters):
            nxt = deps.registry.matter(bundle.matters[s.bundle_step + 1])
    s.reset_matter()
    s.carried, s.carried_situations, s.confidence = carry, situations, confidence
    if nxt is not None:
        s.phase = Phase.NEXT
        ctx.choices = [Choice(label=f"继续办理{nxt.name}", value="继续办理"), Choice(label="暂不办理", value="暂不办理")]
        known = "、".join(f.label for f in nxt.form if f.name in carry)
        done += f"\n“{s.bundle_id and deps.registry.bundle(s.bundle_id).name}”的下一项是“{nxt.name}”" + \
            (f"，{known}等信息会自动带入" if known else "") + "。现在继续办理吗？"
    else:
        if s.bundle_id:
            done += f"\n“{deps.registry.bundle(s.bundle_id).name}”的全部事项都已提交。"
        s.leave_bundle()
        s.phase = Phase.IDLE
    ctx.finish(Outcome.SUBMITTED, done)
    offer_queued(deps, ctx)

