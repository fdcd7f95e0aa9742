"""Output rails: an answer goes out only if every citation is the live, in-force, actually retrieved version,
every number/date/fee/time limit in it appears in the cited text, and it uses no forbidden term.

Each rule has an id and a version. A rule that raises fails closed: the answer is withheld and the
exception is recorded as the reason.
"""

from __future__ import annotations

import datetime as dt
import logging
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict

from guardrails.config import RailsConfig
from guardrails.numbers import Fact, describe, grounded, numeric_facts
from guardrails.rules import RuleHit, RuleVerdict
from kb.models import LiveVersion, SearchHit

log = logging.getLogger(__name__)


def normalize(text: str) -> str:
    """Full-width digits and signs to ASCII (NFKC) so 15 and １５ compare equal."""
    return unicodedata.normalize("NFKC", text)


class OutputVerdict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    passed: bool
    rules: tuple[RuleHit, ...] = ()
    reasons: tuple[str, ...] = ()  # why it failed, one line per violation (Chinese-free, for staff)
    message: str | None = None  # what the citizen sees instead when withheld
    ungrounded: tuple[str, ...] = ()  # numbers in the answer not found in the cited text

    def to_trace(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "rules": [{"rule": r.ref, "verdict": r.verdict.value, "detail": r.detail} for r in self.rules],
            "reasons": list(self.reasons),
            "ungrounded": list(self.ungrounded),
        }


@dataclass
class AnswerContext:
    """Everything an output rule may look at."""

    answer: str
    citations: tuple[tuple[str, int], ...]
    retrieved: tuple[SearchHit, ...]
    live: Mapping[str, LiveVersion]
    as_of: dt.date
    config: RailsConfig
    extra_sources: tuple[str, ...] = ()
    notes: dict[str, Any] = field(default_factory=dict)

    def cited_hits(self) -> list[SearchHit]:
        cited = set(self.citations)
        return [h for h in self.retrieved if (h.item_id, h.version) in cited]


class OutputRule(Protocol):
    id: str
    version: int

    def check(self, ctx: AnswerContext) -> list[RuleHit]: ...


def _hit(rule: OutputRule, ok: bool, detail: str = "") -> RuleHit:
    return RuleHit(id=rule.id, version=rule.version, verdict=RuleVerdict.PASS if ok else RuleVerdict.FAIL, detail=detail)


class CitationPresent:
    id, version = "out.citation.present", 1

    def check(self, ctx: AnswerContext) -> list[RuleHit]:
        if not ctx.config.require_citation or not ctx.answer.strip():
            return [_hit(self, True)]
        return [_hit(self, bool(ctx.citations), "" if ctx.citations else "answer cites no knowledge item")]


class CitationLive:
    """The cited version is the item's live published version (not a draft, superseded or retired one)."""

    id, version = "out.citation.live", 1

    def check(self, ctx: AnswerContext) -> list[RuleHit]:
        out = []
        for item_id, number in ctx.citations:
            lv = ctx.live.get(item_id)
            if lv is None:
                out.append(_hit(self, False, f"{item_id} v{number} is not published (retired, draft or unknown)"))
            elif lv.version != number:
                out.append(_hit(self, False, f"{item_id} v{number} is not live; the live version is v{lv.version}"))
        return out or [_hit(self, True)]


class CitationInForce:
    id, version = "out.citation.in_force", 1

    def check(self, ctx: AnswerContext) -> list[RuleHit]:
        out = []
        for item_id, number in ctx.citations:
            lv = ctx.live.get(item_id)
            if lv is not None and lv.version == number and not lv.in_force(ctx.as_of):
                out.append(_hit(self, False, f"{item_id} v{number} is not in force on {ctx.as_of} "
                                             f"({lv.effective_from} to {lv.expires_at or 'open'})"))
        return out or [_hit(self, True)]


class CitationRetrieved:
    id, version = "out.citation.retrieved", 1

    def check(self, ctx: AnswerContext) -> list[RuleHit]:
        got = {(h.item_id, h.version) for h in ctx.retrieved}
        out = [_hit(self, False, f"{i} v{n} was not retrieved for this turn")
               for i, n in ctx.citations if (i, n) not in got]
        return out or [_hit(self, True)]


class NumbersGrounded:
    """Every number, date, fee and time limit of the answer appears in the cited hits (or the extra sources)."""

    id, version = "out.numbers.grounded", 1

    def check(self, ctx: AnswerContext) -> list[RuleHit]:
        facts = numeric_facts(normalize(ctx.answer))
        if not facts:
            return [_hit(self, True)]
        sources: set[Fact] = set()
        for h in ctx.cited_hits():
            sources |= numeric_facts(normalize(f"{h.title}\n{h.text}"))
        for s in ctx.extra_sources:
            sources |= numeric_facts(normalize(s))
        missing = sorted(describe(f) for f in facts if not grounded(f, sources))
        ctx.notes["ungrounded"] = missing
        if missing:
            return [_hit(self, False, "not in the cited text: " + ", ".join(missing))]
        return [_hit(self, True, f"{len(facts)} numbers grounded")]


class ForbiddenTerms:
    id, version = "out.terms.forbidden", 1

    def check(self, ctx: AnswerContext) -> list[RuleHit]:
        text = ctx.answer.casefold()
        found = [t for t in ctx.config.forbidden_terms if t.casefold() in text]
        return [_hit(self, not found, ("forbidden terms: " + ", ".join(found)) if found else "")]


DEFAULT_RULES: tuple[type, ...] = (
    CitationPresent, CitationLive, CitationInForce, CitationRetrieved, NumbersGrounded, ForbiddenTerms,
)


class OutputRails:
    """Checks one composed answer against what was retrieved and what is live."""

    def __init__(self, config: RailsConfig | None = None, rules: Sequence[OutputRule] | None = None) -> None:
        self.config = config or RailsConfig()
        self.rules: tuple[OutputRule, ...] = tuple(rules) if rules is not None else tuple(r() for r in DEFAULT_RULES)

    def check(
        self,
        answer: str,
        citations: Sequence[tuple[str, int]],
        retrieved: Sequence[SearchHit],
        live: Mapping[str, LiveVersion],
        as_of: dt.date,
        *,
        extra_sources: Sequence[str] = (),
    ) -> OutputVerdict:
        """`extra_sources`: texts whose numbers the answer may repeat (e.g. values the citizen typed)."""
        hits: list[RuleHit] = []
        reasons: list[str] = []
        ctx: AnswerContext | None = None
        try:
            ctx = AnswerContext(
                answer=answer, citations=tuple((str(i), int(n)) for i, n in citations), retrieved=tuple(retrieved),
                live=live, as_of=as_of, config=self.config, extra_sources=tuple(extra_sources),
            )
        except Exception as exc:
            log.exception("output rails could not read their inputs")
            hits.append(RuleHit(id="out.inputs", version=1, verdict=RuleVerdict.ERROR, detail=f"{type(exc).__name__}: {exc}"))
            reasons.append(f"out.inputs@1 raised {type(exc).__name__}: {exc}")
        if ctx is not None:
            for rule in self.rules:
                try:
                    result = rule.check(ctx)
                except Exception as exc:  # fail closed
                    log.exception("output rule %s@%s raised", rule.id, rule.version)
                    result = [RuleHit(id=rule.id, version=rule.version, verdict=RuleVerdict.ERROR,
                                      detail=f"{type(exc).__name__}: {exc}")]
                for h in result:
                    hits.append(h)
                    if h.verdict == RuleVerdict.FAIL:
                        reasons.append(f"{h.ref}: {h.detail}")
                    elif h.verdict == RuleVerdict.ERROR:
                        reasons.append(f"{h.ref} raised {h.detail} (failed closed)")
        passed = not reasons
        return OutputVerdict(
            passed=passed, rules=tuple(hits), reasons=tuple(reasons),
            message=None if passed else self.config.withheld_message,
            ungrounded=tuple(ctx.notes.get("ungrounded", ())) if ctx is not None else (),
        )
