"""The 边聊边办 assistant: one turn is a pipeline of small typed steps.

    screen_input -> emergency -> control -> policies -> dialogue (phase handler) -> advance
    -> resume_form -> finalise (see docs/assistant.md for the diagram)

`finalise` persists the session state and the turn in SQL and appends the trace to the audit log as
`turn.finalised` (subject: the turn id). Outcomes form a closed set (`assistant.models.Outcome`).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable

from assistant import dialogue, policy_answer
from assistant.context import Deps, TurnContext
from assistant.dialect import to_mandarin
from assistant.english import gloss_english
from assistant.errors import AssistantError
from assistant.identify import Candidate, Decision
from assistant.models import MatterRef, Outcome, RetrievedChunk, StepRecord, Trace, TurnResult
from assistant.replies import CONFIRM_CHOICES, YES_NO, ask_field, ask_situation, slot_views
from assistant.state import Phase, SessionState
from assistant.store import new_id, new_session_id
from assistant.tone import APOLOGY, set_aside_venting
from assistant.typos import fix_typos, join_spaced_words
from guardrails.input_rails import InputVerdict
from guardrails.rules import RuleVerdict
from kb.text import normalize

log = logging.getLogger(__name__)

Step = Callable[[Deps, TurnContext], None]
FORM_PHASES = (Phase.SITUATION, Phase.CONSENT, Phase.COLLECT, Phase.CONFIRM)
SEMANTIC_RAIL = "sem.knn"  # guardrails.semantic.SemanticRail.id


def screen_input(deps: Deps, ctx: TurnContext) -> None:
    """Input rails: strip hidden characters, redact PII for logs and LLMs, block or route emergencies.

    Inside a form the semantic rail is deferred: it embeds the message, yet there its refusals are not acted on
    (see below) and only its hold matters, to a step that starts a matter or answers from knowledge. Replies that
    only fill, confirm or correct a field so pay for no embedding (issue #17); `ctx.verdict` runs it when read."""
    said = ctx.text
    verdict = deps.input_rails.check(said, semantic=ctx.state.phase not in FORM_PHASES)
    ctx.verdict = verdict
    if verdict.semantic_pending:
        ctx.rules.append("in.semantic:deferred")
        ctx.finish_screening = lambda: _finish_screening(deps, ctx, said, verdict)
    # 沪语 everyday words read as Mandarin (哪能 → 怎么), homophone typos of service words fixed (居主证 → 居住证)
    ctx.text = fix_typos(join_spaced_words(gloss_english(to_mandarin(verdict.text or ctx.text))))
    rest, ctx.vented = set_aside_venting(ctx.text)
    if ctx.vented:
        ctx.rules.append("tone.venting")
        ctx.text = rest
    ctx.redacted = verdict.redacted
    ctx.rules.extend(f"{r.ref}:{r.verdict.value}" for r in verdict.rules)
    if verdict.emergency:
        return  # the emergency step answers, before anything else
    if ctx.vented and verdict.blocked and _only_semantic(verdict):
        ctx.rules.append("in.semantic:venting_not_refused")  # frustration is met with an apology, not a refusal
        verdict = verdict.model_copy(update={"blocked": False, "message": None})
        ctx.verdict = verdict
    if ctx.vented:
        ctx.say(APOLOGY)
        if not ctx.text:
            ctx.outcome = Outcome.ANSWERED  # only venting: the pending question is asked again (resume_form)
            if ctx.state.phase not in FORM_PHASES:
                ctx.say("请直接告诉我您想办的事，比如“居住证续签”“社保卡补办”，我一步一步带您办。")
            return
    if verdict.blocked and ctx.state.phase in FORM_PHASES and _only_semantic(verdict):
        # A context-free similarity classifier misreads what people say inside a form ("租的", "火灭了 继续办",
        # "找到了 9231…"): the form handles the message (it can only fill validated fields or answer from the
        # guide behind the output rails); the pattern rules still refuse injection and others' data here.
        ctx.rules.append("in.semantic:not_refused_in_form")
    elif verdict.blocked and _only_semantic(verdict) and _plain_service_request(deps, ctx.text):
        # "我要跟我老公协议离婚", "帮宝宝办张社保卡": a request the catalogue names outright is in scope, whatever
        # its nearest exemplars; the pattern rules still refuse injection, forgery and others' data.
        ctx.rules.append("in.semantic:names_a_matter")
    elif verdict.blocked:
        ctx.finish(Outcome.REFUSED, verdict.message or "抱歉，这个问题我无法回答。")


_LOOKUP = re.compile(r"查|告诉我|信息|资料|电话|手机号|住址|住在哪|号码|多少钱一个|工资|收入|病历|密码|记录")
_REQUEST = re.compile(r"办|申请|申领|登记|领|交|开|注册|备案|换|补|续|提取|要|想|跑|弄|帮|扯证|准备|打算")


def _plain_service_request(deps: Deps, text: str) -> bool:
    """A request to do something the catalogue knows (confident identification), not a look-up of anybody's data."""
    t = normalize(text)
    if _LOOKUP.search(t) or not _REQUEST.search(t):
        return False
    ident = deps.identifier.identify(t)
    top = ident.top
    if ident.decision == Decision.ACCEPT or (ident.decision == Decision.CLARIFY and top is not None and top.score >= 0.85):
        return True
    # "给我儿子补办社保卡 卡被他弄丢了 他叫…": a long message names the matter outright (its title or an alias of
    # three or more characters) even when the calibrated confidence of the whole message is low
    entry = next((e for e in deps.identifier.entries if top is not None and e.id == top.id), None)
    return entry is not None and any(len(w) >= 3 and w in t for w in (entry.title, *entry.aliases))


def _finish_screening(deps: Deps, ctx: TurnContext, said: str, screened: InputVerdict) -> InputVerdict:
    """The deferred semantic rail, run when a form turn needs the whole verdict: the same message checked again
    with every rail, its new rule hits recorded as `screen_input` would have recorded them."""
    verdict = deps.input_rails.check(said)
    ctx.rules.extend(f"{r.ref}:{r.verdict.value}" for r in verdict.rules if r not in screened.rules)
    if verdict.blocked and _only_semantic(verdict):
        ctx.rules.append("in.semantic:not_refused_in_form")  # as when screened inside a form
    return verdict


def emergency(deps: Deps, ctx: TurnContext) -> None:
    """Safety first: domestic violence, violence, fire, medical, child at risk, self-harm → the right numbers
    in one short message and a flagged hand-off; nothing else starts (issue #12). Emergencies come from the
    pattern rules, so the screened verdict is enough (no deferred rail runs here)."""
    if ctx.screened is not None and ctx.screened.emergency:
        dialogue.handoff(deps, ctx, "emergency", ctx.screened.message or "如遇紧急情况，请立即拨打110、120或119。")


def _only_semantic(verdict: InputVerdict) -> bool:
    blocking = [r for r in verdict.rules if r.verdict == RuleVerdict.BLOCK]
    return bool(blocking) and all(r.id == SEMANTIC_RAIL for r in blocking)


def run_dialogue(deps: Deps, ctx: TurnContext) -> None:
    s = ctx.state
    matter = ctx.matter(deps)
    handlers = {
        Phase.SITUATION: dialogue.on_situation, Phase.CONSENT: dialogue.on_consent,
        Phase.COLLECT: dialogue.on_collect, Phase.CONFIRM: dialogue.on_confirm,
    }
    if s.phase in handlers and matter is not None:
        handlers[s.phase](deps, ctx, matter)
    elif s.phase == Phase.CLARIFY:
        dialogue.on_clarify(deps, ctx)
    elif s.phase == Phase.OFFER:
        dialogue.on_offer(deps, ctx)
    elif s.phase == Phase.NEXT:
        dialogue.on_next(deps, ctx)
    else:
        s.reset_matter()
        s.leave_bundle()
        dialogue.identify(deps, ctx)


def advance(deps: Deps, ctx: TurnContext) -> None:
    matter = ctx.matter(deps)
    if matter is not None and ctx.state.phase in FORM_PHASES:
        dialogue.advance(deps, ctx, matter)
    elif not ctx.done:
        ctx.finish(Outcome.ANSWERED, "请告诉我您想办理的事项。")


def resume_form(deps: Deps, ctx: TurnContext) -> None:
    """After answering a question mid-form, repeat the pending question so the form resumes where it was."""
    s = ctx.state
    matter = ctx.matter(deps)
    if matter is None or s.phase not in FORM_PHASES or ctx.outcome not in (Outcome.ANSWERED, Outcome.HELD_FOR_REVIEW):
        return
    pending = s.pending or ""
    if pending.startswith("situation:") and (sit := matter.situation(pending.removeprefix("situation:"))):
        text, choices = ask_situation(sit)
    elif pending.startswith("field:") and (f := matter.field(pending.removeprefix("field:"))):
        text, choices = ask_field(f)
    elif pending == "consent":
        text, choices = "请问是否同意读取您的档案用于预填？", YES_NO
    elif pending == "confirm":
        text, choices = "确认无误请回复“确认提交”，或告诉我要修改的内容。", CONFIRM_CHOICES
    else:
        return
    ctx.say(f"我们继续办理“{matter.name}”：{text}")
    ctx.choices = list(choices)


PIPELINE: tuple[tuple[str, Step], ...] = (
    ("screen_input", screen_input),
    ("emergency", emergency),
    ("control", dialogue.control),
    ("policies", policy_answer.answer_policies),
    ("dialogue", run_dialogue),
    ("advance", advance),
    ("resume_form", resume_form),
)


class Assistant:
    """`turn()` runs one citizen message through the pipeline and returns a `TurnResult`."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def warm_up(self) -> Assistant:
        self.deps.identifier.warm_up()
        return self

    def turn(
        self, text: str, session_id: str | None = None, profile_id: str | None = None, principal_id: str | None = None,
        *, visitor: str | None = None, label: str | None = None,
    ) -> TurnResult:
        """`visitor` and `label` are recorded on a session this turn creates: the anonymous browser holding it and
        the client's own name for it (see `assistant.sessions.SessionQueries.resolve`)."""
        if not session_id:
            state = self._session(None, profile_id, principal_id)
            state.visitor, state.label = visitor, label
            return self.run(state, text, new_id("turn"))
        with self.deps.store.session_lock(session_id):  # one turn at a time per session, across workers
            state = self._session(session_id, profile_id, principal_id)
            if state.turns == 0:
                state.visitor, state.label = visitor, label
            return self.run(state, text, new_id("turn"))

    def run(self, state: SessionState, text: str, turn_id: str) -> TurnResult:
        """Run one message against a given session state (`turn` loads it; `assistant.replay` restores it)."""
        deps = self.deps
        before = state.model_dump(mode="json")
        state.turns += 1
        ctx = TurnContext(text=text, redacted=text, state=state, turn_index=state.turns, turn_id=turn_id,
                          today=deps.today(), phase_before=state.phase)
        ctx.state_before = before
        for name, step in PIPELINE:
            start = time.perf_counter()
            if not ctx.done or name == "resume_form":
                step(deps, ctx)
            ctx.steps.append(StepRecord(name=name, ms=round((time.perf_counter() - start) * 1000, 2)))
        return self._finalise(ctx)

    def _session(self, session_id: str | None, profile_id: str | None, principal_id: str | None) -> SessionState:
        store, profiles = self.deps.store, self.deps.profiles
        if profile_id is not None:
            profiles.get(profile_id)  # fail early, with the list command in the message
        if session_id and store.exists(session_id):
            state = store.load(session_id)
            if profile_id and state.profile_id and profile_id != state.profile_id:
                raise AssistantError(f"session {session_id!r} belongs to profile {state.profile_id!r}, not {profile_id!r}; "
                                     "start a new session for another profile")
            state.profile_id = state.profile_id or profile_id
            state.principal_id = state.principal_id or principal_id
            return state
        return SessionState(session_id=session_id or new_session_id(), profile_id=profile_id, principal_id=principal_id)

    def _finalise(self, ctx: TurnContext) -> TurnResult:
        deps, s = self.deps, ctx.state
        start = time.perf_counter()
        outcome = ctx.outcome or Outcome.ANSWERED
        matter = ctx.matter(deps)
        ref = None
        if matter is not None:
            bundle = deps.registry.bundle(s.bundle_id) if s.bundle_id else None
            ref = MatterRef(id=matter.id, name=matter.name, version=matter.version, confidence=s.confidence,
                            bundle_id=bundle.id if bundle else None, bundle_name=bundle.name if bundle else None,
                            step=s.bundle_step + 1 if bundle else None, steps=len(bundle.matters) if bundle else None)
        elif ctx.application is not None:
            m = deps.registry.matter(ctx.application.matter_id)
            ref = MatterRef(id=m.id, name=m.name, version=m.version)
        elif s.phase == Phase.OFFER and s.offer:
            m = deps.registry.matter(s.offer)
            ref = MatterRef(id=m.id, name=m.name, version=m.version, confidence=s.confidence)
        ident = ctx.identification
        seen: set[str] = set()
        retrieved = []
        for h in ctx.retrieved:
            if h.chunk_id not in seen:
                seen.add(h.chunk_id)
                retrieved.append(RetrievedChunk(chunk_id=h.chunk_id, item_id=h.item_id, version=h.version,
                                                content_hash=h.content_hash, score=h.score, parts=h.parts))
        trace = Trace(
            question=ctx.redacted, phase_before=ctx.phase_before.value, phase_after=s.phase.value,
            candidates=tuple(ident.candidates) if ident else tuple[Candidate, ...](),
            identification=({"confidence": ident.confidence, "margin": ident.margin, "decision": ident.decision.value,
                             "ms": ident.ms} if ident else {}),
            retrieved=tuple(retrieved), rules=tuple(ctx.rules), slots_changed=tuple(ctx.slots_changed),
            steps=tuple(ctx.steps), outcome=outcome, ms=round((time.perf_counter() - ctx.started) * 1000, 2),
        )
        slots = slot_views(matter, s.slots) if matter is not None else ()
        if ctx.deferred_note and outcome not in (Outcome.REFUSED, Outcome.HANDED_OFF):
            ctx.say(ctx.deferred_note)
        if ctx.follow_ups and outcome == Outcome.ANSWERED and s.phase in (Phase.OFFER, Phase.IDLE):
            # related aspects of the answer (材料, 时限, 地点…) as taps, after the offer to start
            ctx.choices.extend(c for c in ctx.follow_ups if c not in ctx.choices)
        result = TurnResult(
            outcome=outcome, reply="\n".join(ctx.parts), session_id=s.session_id, turn_id=ctx.turn_id,
            turn_index=ctx.turn_index, matter=ref, slots=slots, citations=tuple(ctx.citations),
            checklist=tuple(ctx.checklist), findings=tuple(ctx.findings), choices=tuple(ctx.choices),
            application=ctx.application, handoff_id=ctx.handoff_id, login_required=ctx.login_required, trace=trace,
        )
        deps.store.save_turn(s, result, ctx.redacted, trace.ms, state_before=ctx.state_before)
        deps.audit.append("turn.finalised", deps.identity.owner(s), ctx.turn_id, {
            "session_id": s.session_id, "turn": ctx.turn_index, "today": ctx.today.isoformat(),
            **trace.model_dump(mode="json"),
            "finalise_ms": round((time.perf_counter() - start) * 1000, 2),
        })
        return result

    # -- read side ---------------------------------------------------------------------------------
    def session(self, session_id: str) -> SessionState:
        return self.deps.store.load(session_id)

    def history(self, session_id: str) -> list[dict[str, object]]:
        return self.deps.store.turns(session_id)
