"""Input rails: clean the text, find and redact PII, then run the rule sets (injection, other citizens' data,
legal/medical verdicts, political provocation, fabricated-policy bait, out of scope, emergencies).

Rules see the redacted text, so their details never carry PII into traces. Emergencies always get the
signposting message (110/120/12345) and are never held. A rule that raises fails closed (blocked).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections import Counter
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from guardrails.config import CATEGORY_FLAG, MESSAGE_PRIORITY, Category, Flag, RailsConfig
from guardrails.pii import PiiMatch, find_pii, redact
from guardrails.rules import RuleHit, RuleVerdict
from guardrails.ruleset import CompiledRule, TextViews, load_rules
from guardrails.semantic import Exemplar, SemanticRail, asks_something

if TYPE_CHECKING:
    from kb.embedders import Embedder

log = logging.getLogger(__name__)

FAILED_MESSAGE = "系统暂时无法处理您的问题，请稍后再试，或拨打 12345 政务服务便民热线咨询。"
_KEEP_CONTROLS = {"\n", "\t"}


class InputVerdict(BaseModel):
    """What the input rails decided about one citizen message."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str  # control and tag characters stripped, NFC: what the pipeline works on
    redacted: str  # PII masked: what logs, traces and external LLMs may see
    pii: tuple[PiiMatch, ...] = ()
    flags: frozenset[str] = frozenset()
    categories: frozenset[Category] = frozenset()
    rules: tuple[RuleHit, ...] = ()
    blocked: bool = False
    hold: bool = False  # a rule asks for 人工复核 of whatever answer follows
    emergency: bool = False
    message: str | None = None  # the Chinese reply when blocked or an emergency
    semantic_pending: bool = False  # checked with `semantic=False`: the semantic rail would have run, and did not

    @property
    def handled(self) -> bool:
        """Refused or sent to review: what the red-team evaluation counts."""
        return self.blocked or self.hold

    def to_trace(self) -> dict[str, Any]:
        """The PII-free part of the verdict, for traces and the audit log."""
        return {
            "redacted": self.redacted,
            "pii": dict(Counter(m.kind.value for m in self.pii)),
            "flags": sorted(self.flags),
            "categories": sorted(c.value for c in self.categories),
            "rules": [{"rule": r.ref, "verdict": r.verdict.value, "detail": r.detail} for r in self.rules],
            "blocked": self.blocked,
            "hold": self.hold,
            "emergency": self.emergency,
        }


def sanitize(text: str) -> tuple[str, str]:
    """(clean text, hidden text): NFC, control/format characters removed; Unicode tag characters
    (U+E0000..U+E007F, invisible 'ASCII smuggling') are decoded into the hidden text and dropped."""
    clean: list[str] = []
    hidden: list[str] = []
    for ch in unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n")):
        cp = ord(ch)
        if 0xE0000 <= cp <= 0xE007F:
            if 0xE0020 <= cp <= 0xE007E:
                hidden.append(chr(cp - 0xE0000))
            continue
        if ch in _KEEP_CONTROLS:
            clean.append(ch)
            continue
        if unicodedata.category(ch) in ("Cc", "Cf", "Cs"):
            continue
        clean.append(ch)
    return "".join(clean), "".join(hidden)


class InputRails:
    """Checks one citizen message. Construct once (compiles the rule files), call `check` per message.

    With an embedder, the semantic rail (k nearest labelled exemplars) runs after the pattern rules on
    messages they let through; `warm_up()` loads its exemplar vectors.
    """

    def __init__(
        self, config: RailsConfig | None = None, embedder: Embedder | None = None,
        exemplars: list[Exemplar] | None = None,
    ) -> None:
        self.config = config or RailsConfig()
        self.rules: tuple[CompiledRule, ...] = load_rules(
            self.config.rule_files + self.config.extra_rule_files, self.config.disabled_rules
        )
        self.rule_messages = {c.rule.id: c.rule.message for c in self.rules if c.rule.message}
        self.semantic: SemanticRail | None = None
        if embedder is not None and SemanticRail.id not in self.config.disabled_rules:
            self.semantic = SemanticRail(embedder, exemplars, k=self.config.semantic_k,
                                         margin=self.config.semantic_margin,
                                         exclude_exact=self.config.semantic_exclude_exact,
                                         min_chars=self.config.semantic_min_chars)

    def warm_up(self) -> InputRails:
        if self.semantic is not None:
            self.semantic.warm_up()
        return self

    def check(self, text: str, *, semantic: bool = True) -> InputVerdict:
        """`semantic=False` runs everything but the semantic rail (which embeds the message) and marks the verdict
        `semantic_pending` when that rail would have run: a caller that may not need it (a form reply) checks
        again with it only when the message turns out to need it."""
        cfg = self.config
        size = len(text.encode("utf-8", "surrogatepass"))
        too_long = len(text) > cfg.max_chars or size > cfg.max_bytes
        # Never run regexes over unbounded input: look at a bounded prefix when the message is too long.
        clean, hidden = sanitize(text[: cfg.max_chars * 2] if too_long else text)
        pii = tuple(find_pii(clean))
        redacted = redact(clean, list(pii))
        hits: list[tuple[RuleHit, Category | None]] = []

        def add(rule_id: str, version: int, verdict: RuleVerdict, detail: str, category: Category | None) -> None:
            hits.append((RuleHit(id=rule_id, version=version, verdict=verdict, detail=detail), category))

        if too_long:
            add("in.size.max_length", 1, RuleVerdict.BLOCK, f"{len(text)} characters, {size} bytes", Category.TOO_LONG)
        if pii:
            kinds = Counter(m.kind.value for m in pii)
            add("pii.detected", 1, RuleVerdict.FLAG, ", ".join(f"{k}×{n}" for k, n in sorted(kinds.items())),
                Category.PII)
        if hidden:
            smuggled = len(hidden) >= cfg.hidden_text_min_chars
            add("in.unicode.tag_characters", 1, RuleVerdict.BLOCK if smuggled else RuleVerdict.FLAG,
                f"{len(hidden)} hidden characters", Category.INJECTION if smuggled else None)
        failed = False
        texts = [redacted] + ([redact(hidden)] if hidden else [])
        # A message over the size limit is refused, but an emergency in its (bounded) text is still signposted.
        for rule in self.rules if too_long else ():
            if rule.rule.verdict == RuleVerdict.EMERGENCY and (snippet := rule.match(TextViews.of(redacted))):
                add(rule.rule.id, rule.rule.version, rule.rule.verdict, f"emergency: {snippet[:60]}", Category.EMERGENCY)
        pending = False
        if not too_long:
            for rule in self.rules:
                r = rule.rule
                try:
                    snippet = next((s for t in texts if (s := rule.match(TextViews.of(t)))), None)
                except Exception as exc:  # a broken rule fails closed
                    log.exception("input rule %s raised", r.ref)
                    add(r.id, r.version, RuleVerdict.ERROR, f"{type(exc).__name__}: {exc}", None)
                    failed = True
                    continue
                if snippet is not None:
                    add(r.id, r.version, r.verdict, f"{r.category.value}: {snippet[:60]}", r.category)
            decided = failed or any(h.verdict in _DECISIVE for h, _ in hits)
            pending = self.semantic is not None and not decided and bool(redacted.strip()) and not semantic
            if self.semantic is not None and not decided and redacted.strip() and semantic:
                try:
                    sem = self.semantic.classify(redacted)
                except Exception as exc:  # fails closed like every rail
                    log.exception("semantic rail raised")
                    add(SemanticRail.id, SemanticRail.version, RuleVerdict.ERROR, f"{type(exc).__name__}: {exc}", None)
                    failed = True
                else:
                    if sem.refuse and sem.category == Category.OUT_OF_SCOPE \
                            and any(term in redacted for term in cfg.service_terms):
                        pass  # names a government service: in scope, whatever its nearest exemplars are
                    elif sem.refuse and sem.category == Category.FABRICATED_POLICY and not _CLAIM_CUE.search(redacted):
                        # A rumour or an authoring request always says where it comes from or what to write;
                        # without such a cue, similarity alone is not enough to hold a plain request.
                        pass
                    elif sem.refuse and sem.category == Category.OTHER_CITIZEN_DATA \
                            and not (_LOOKUP_CUE.search(redacted) or asks_something(redacted)):
                        # Asking for someone else's data always asks (查, 告诉我, 发给我, 多少, 在哪…); a statement
                        # that gives a partner's or tenant's details for a form ("她叫…", "她是上海本地人") does not.
                        pass
                    elif sem.refuse and sem.category is not None:
                        verdict = RuleVerdict.HOLD if sem.category == Category.FABRICATED_POLICY else RuleVerdict.BLOCK
                        add(SemanticRail.id, SemanticRail.version, verdict, f"{sem.category.value}: {sem.detail()}",
                            sem.category)
        return self._verdict(clean, redacted, pii, hits, failed, pending)

    def _verdict(
        self, clean: str, redacted: str, pii: tuple[PiiMatch, ...], hits: list[tuple[RuleHit, Category | None]],
        failed: bool, semantic_pending: bool = False,
    ) -> InputVerdict:
        verdicts = {h.verdict for h, _ in hits}
        emergency = RuleVerdict.EMERGENCY in verdicts
        blocked = failed or RuleVerdict.BLOCK in verdicts
        hold = RuleVerdict.HOLD in verdicts and not blocked and not emergency
        categories = {c for h, c in hits if c is not None and h.verdict != RuleVerdict.PASS}
        blocking = {c for h, c in hits if h.verdict in (RuleVerdict.BLOCK, RuleVerdict.EMERGENCY)}
        message: str | None = None
        if emergency:
            # Each kind of emergency names its own numbers (110 / 120 / 119 / 12338 / 12355 / 12356) first.
            specific = dict.fromkeys(self.rule_messages[h.id] for h, _ in hits
                                     if h.verdict == RuleVerdict.EMERGENCY and h.id in self.rule_messages)
            message = "".join(specific) or self.config.messages[Category.EMERGENCY]
        elif blocked:
            first = next((c for c in MESSAGE_PRIORITY if c in blocking), None)
            message = self.config.messages.get(first, FAILED_MESSAGE) if first else FAILED_MESSAGE
            message = message.format(max_chars=self.config.max_chars)
        flags = {CATEGORY_FLAG[c].value for c in categories}
        if failed:
            flags.add(Flag.SENSITIVE.value)
        return InputVerdict(
            text=clean, redacted=redacted, pii=pii, flags=frozenset(flags), categories=frozenset(categories),
            rules=tuple(h for h, _ in hits), blocked=blocked, hold=hold, emergency=emergency, message=message,
            semantic_pending=semantic_pending,
        )


_DECISIVE = (RuleVerdict.BLOCK, RuleVerdict.HOLD, RuleVerdict.EMERGENCY)
_LOOKUP_CUE = re.compile(r"查|找|搜|告诉|给我|发我|发给|提供|想要|要一份|所有|全部|复印件|调取|调出|导出|知道|看看|看一下|核实|打听|定位|获取|拿到|名单|多少|"
                         r"哪|什么|啥|谁|吗|伐|是不是|有没有|能不能|[？?]|tell|show|find|who|where|what")
_CLAIM_CUE = re.compile(r"听说|据说|人说|网上说|都说|说是|说会|说能|说可以|说要|说有|说每|听人|听朋友|据|消息|网上|网传|公众号|视频|朋友圈|群里|新政策|最新|规定|通知|文件|公告|口气|口吻|模仿|编|伪造|"
                        r"付费|加急|真的|对吗|对吧|对不对|是吧|保证|截图")
