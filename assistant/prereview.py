"""智能预审: check the draft against the matter's rules; every finding explains itself and cites the
knowledge it rests on (item id, live version, and the sentence quoted from it)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from assistant.catalog import FormField, Matter, Op, PrereviewRule
from assistant.models import Citation, Finding, Slot
from assistant.ports import KnowledgeSearch
from assistant.slots import condition_holds
from kb.models import SearchFilters
from kb.text import split_sentences


def _num(x: Any) -> float | None:
    try:
        return float(x)
    except (TypeError, ValueError):
        return None


def check(op: Op, value: Any, expected: Any) -> bool | None:
    """Whether `value op expected` holds; None when it cannot be evaluated (missing or not a number)."""
    if op == Op.EXISTS:
        present = value is not None and str(value).strip() != ""
        return present == bool(expected)
    if value is None:
        return None
    if op == Op.EQ:
        return str(value) == str(expected)
    if op == Op.NE:
        return str(value) != str(expected)
    if op in (Op.IN, Op.NOT_IN):
        inside = str(value) in [str(x) for x in (expected if isinstance(expected, list | tuple) else [expected])]
        return inside if op == Op.IN else not inside
    if op == Op.CONTAINS:
        return str(expected) in str(value)
    a = _num(value)
    if a is None:
        return None
    if op == Op.BETWEEN:
        lo, hi = (_num(x) for x in expected)
        return lo is not None and hi is not None and lo <= a <= hi
    b = _num(expected)
    if b is None:
        return None
    return {Op.GT: a > b, Op.GTE: a >= b, Op.LT: a < b, Op.LTE: a <= b}[op]


def _derived_label(matter: Matter, name: str) -> str:
    kind, _, source = name.partition("@")
    f = matter.field(source)
    if kind == "age":
        return "当前年龄" if source == "today" else f"{f.label if f else source}时的年龄"
    if kind == "town":
        return f"{f.label if f else source}所在街镇"
    return name


def _shown(value: Any, f: FormField | None) -> str:
    if isinstance(value, dt.date):
        return value.isoformat()
    return f"{value}" if f is None or "平方米" not in f.label else f"{value}平方米"


_TOWN = re.compile(r"([\u4e00-\u9fff]{2,4}?(?:街道|镇))")


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        return None


def derived(name: str, slots: dict[str, Slot], today: dt.date) -> Any:
    """Values computed from the form for plausibility rules: `age@retire_date` (full years from birth_date to
    that date), `age@today`, `town@address` (the 街道/镇 named in an address field)."""
    kind, _, source = name.partition("@")
    if kind == "age":
        born = _date(slots["birth_date"].value) if "birth_date" in slots else None
        at = today if source == "today" else (_date(slots[source].value) if source in slots else None)
        if born is None or at is None:
            return None
        return round((at - born).days / 365.2425, 2)
    if kind == "town" and source in slots:
        m = _TOWN.search(str(slots[source].value).replace("上海市", "").replace("松江区", ""))
        return m.group(1) if m else None
    return None


class PreReviewer:
    def __init__(self, knowledge: KnowledgeSearch | None = None) -> None:
        self.knowledge = knowledge

    def review(self, matter: Matter, situations: dict[str, str], slots: dict[str, Slot],
               today: dt.date | None = None) -> list[Finding]:
        live = self.knowledge.live() if self.knowledge else {}
        out: list[Finding] = []
        today = today or dt.date.today()
        computed = {name: derived(name, slots, today) for rule in matter.prereview
                    for name in (rule.check.field, *rule.when) if "@" in name}
        for rule in matter.prereview:
            facts = {**situations, **{k: str(v) for k, v in computed.items() if v is not None}}
            if rule.when and not condition_holds(rule.when, facts, slots):
                continue
            field = rule.check.field
            value = computed.get(field) if "@" in field else situations.get(field, slots[field].value if field in slots else None)
            ok = check(rule.check.op, value, rule.check.value)
            if ok is None:
                continue
            out.append(self._finding(matter, rule, value, ok, live))
        return out

    def _finding(self, matter: Matter, rule: PrereviewRule, value: Any, ok: bool, live: dict[str, Any]) -> Finding:
        f = matter.field(rule.check.field)
        s = matter.situation(rule.check.field)
        label = f.label if f else (s.question.rstrip("？?") if s else _derived_label(matter, rule.check.field))
        option = s.option(str(value)) if s is not None and value is not None else None
        shown = (option.label if option is not None else _shown(value, f)) if value is not None else "未填写"
        if rule.check.field.startswith("age@") and isinstance(value, float):
            shown = f"{int(value)}周岁"
        lv = live.get(rule.cite)
        citation = Citation(item_id=rule.cite, version=lv.version, title=lv.title) if lv else None
        quote = self._quote(rule) if citation else ""
        basis = f"（依据《{citation.title}》{citation.item_id} v{citation.version}）" if citation else "（依据条文暂不可用，请以窗口审核为准）"
        explanation = f"{label}：{shown}，符合要求。{basis}" if ok else f"{label}：{shown}。{rule.message}{basis}"
        return Finding(rule_id=rule.id, ok=ok, field=rule.check.field, value=value if not isinstance(value, dt.date) else value.isoformat(),
                       message=rule.message, explanation=explanation, citation=citation, quote=quote)

    def _quote(self, rule: PrereviewRule) -> str:
        """The sentence of the cited item closest to the rule's message (keyword search, no embedding)."""
        if self.knowledge is None:
            return ""
        hits = self.knowledge.search(rule.message, top_k=3, filters=SearchFilters(item_ids=(rule.cite,)), method="bm25")
        best, score = "", 0
        wanted = set(rule.message)
        for h in hits:
            body = h.text.split("：", 1)[1] if "｜" in h.text.split("：", 1)[0] else h.text
            for sentence in split_sentences(body):
                overlap = len(wanted & set(sentence))
                if overlap > score:
                    best, score = sentence, overlap
        return best
