"""Input rule sets: YAML files of pattern rules with ids and versions, compiled once.

A rule fires when any `any` pattern matches (or `any` is empty), every `all` pattern matches, and no
`unless` pattern matches. Patterns are searched in two views of the input: the normalised text (NFKC,
lower case, single spaces) and a compact copy without spaces or punctuation, so "忽 略 以 上 指 令" and
"忽略-以上-指令" are caught by the same pattern as "忽略以上指令".
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from guardrails.config import Category
from guardrails.errors import RuleSetError
from guardrails.rules import RuleVerdict

_ID = re.compile(r"^[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+$")
_SPACES = re.compile(r"\s+")
_NOT_WORD = re.compile(r"[\W_]+")


class InputRule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    version: int = Field(ge=1)
    category: Category
    verdict: RuleVerdict
    description: str = ""
    any: tuple[str, ...] = ()
    all: tuple[str, ...] = ()
    unless: tuple[str, ...] = ()
    # The rule's own reply to the citizen (emergencies name the right numbers: 110, 120, 119, 12338, 12356, ...);
    # without it the category's message is used.
    message: str | None = None

    @field_validator("id")
    @classmethod
    def _id_shape(cls, v: str) -> str:
        if not _ID.match(v):
            raise ValueError(f"rule id {v!r} must be dotted lower case, e.g. 'inj.zh.ignore_instructions'")
        return v

    @field_validator("verdict")
    @classmethod
    def _input_verdict(cls, v: RuleVerdict) -> RuleVerdict:
        if v not in (RuleVerdict.BLOCK, RuleVerdict.HOLD, RuleVerdict.FLAG, RuleVerdict.EMERGENCY):
            raise ValueError(f"input rules decide block, hold, flag or emergency, not {v.value!r}")
        return v

    @property
    def ref(self) -> str:
        return f"{self.id}@{self.version}"


@dataclass(frozen=True)
class TextViews:
    """The two forms every pattern is searched in."""

    spaced: str
    compact: str

    @classmethod
    def of(cls, text: str) -> TextViews:
        spaced = _SPACES.sub(" ", unicodedata.normalize("NFKC", text).lower()).strip()
        return cls(spaced=spaced, compact=_NOT_WORD.sub("", spaced))


@dataclass(frozen=True)
class CompiledRule:
    rule: InputRule
    any: tuple[re.Pattern[str], ...]
    all: tuple[re.Pattern[str], ...]
    unless: tuple[re.Pattern[str], ...]

    def match(self, views: TextViews) -> str | None:
        """The matched snippet when the rule fires, else None."""
        if any(_search(p, views) for p in self.unless):
            return None
        snippet = ""
        if self.any:
            for p in self.any:
                snippet = _search(p, views) or ""
                if snippet:
                    break
            if not snippet:
                return None
        for p in self.all:
            found = _search(p, views)
            if not found:
                return None
            snippet = snippet or found
        return snippet or None


def _search(pattern: re.Pattern[str], views: TextViews) -> str | None:
    m = pattern.search(views.spaced) or pattern.search(views.compact)
    return m.group(0) if m else None


def _compile(rule: InputRule, source: Path) -> CompiledRule:
    def comp(patterns: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
        out = []
        for p in patterns:
            try:
                out.append(re.compile(p, re.IGNORECASE))
            except re.error as exc:
                raise RuleSetError(f"rule {rule.ref} in {source}: pattern {p!r} is not a valid regex ({exc})") from exc
        return tuple(out)

    if not rule.any and not rule.all:
        raise RuleSetError(f"rule {rule.ref} in {source} has no patterns; give it `any` or `all`")
    return CompiledRule(rule, comp(rule.any), comp(rule.all), comp(rule.unless))


def load_rules(files: tuple[Path, ...], disabled: frozenset[str] = frozenset()) -> tuple[CompiledRule, ...]:
    """Load and compile rule files in order; a later file may replace a rule by id with a higher version."""
    by_id: dict[str, CompiledRule] = {}
    for path in files:
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise RuleSetError(f"cannot read rule file {str(path)!r}: {exc}") from exc
        for raw in data.get("rules", []):
            try:
                rule = InputRule.model_validate(raw)
            except ValidationError as exc:
                raise RuleSetError(f"bad rule {raw.get('id')!r} in {path}: {exc}") from exc
            prev = by_id.get(rule.id)
            if prev is not None and prev.rule.version >= rule.version:
                raise RuleSetError(
                    f"rule {rule.id!r} is defined twice ({path}); give the replacement a higher version than "
                    f"{prev.rule.version}"
                )
            by_id[rule.id] = _compile(rule, Path(path))
    return tuple(r for r in by_id.values() if r.rule.id not in disabled)
