"""Declarative policy eligibility (免申即享): parse, validate and evaluate conditions over a profile. Pure.

Conditions are data (YAML/JSON), never code: a tree of `all` / `any` / `not` groups over leaf conditions
`{field, op, value}`. Evaluation is three-valued (Kleene): a leaf whose profile value is missing is
`unknown`, and an unknown can never make a policy `eligible`, only `needs_info`:

- `all`: not_met if any child is not_met, else unknown if any child is unknown, else met;
- `any`: met if any child is met, else unknown if any child is unknown, else not_met;
- `not`: swaps met and not_met; unknown stays unknown.

`contains` means "the list has the element" for list fields and "the text has the substring" for text
fields; `between` is inclusive at both ends; `exists` (value true/false, default true) is the only
operator that answers for a missing field. `age_years` is derived from `founded_on` as of a date (exact
fractional years, so "满1年" is `gte 1` and "不超过3年" is `lte 3`); an explicit `age_years` in the profile
is used only when `founded_on` is absent.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from typing import Any, Literal

from kb.models import Value
from policy.errors import PolicyError

MAX_DEPTH = 8
MAX_NODES = 256


class EligibilityError(PolicyError):
    """An eligibility or amount specification that cannot be accepted."""

    code = "invalid_eligibility"


class FieldType(StrEnum):
    TEXT = "text"
    NUMBER = "number"
    DATE = "date"
    LIST = "list"


class Op(StrEnum):
    EQ = "eq"
    NE = "ne"
    IN = "in"
    NOT_IN = "not_in"
    GT = "gt"
    GTE = "gte"
    LT = "lt"
    LTE = "lte"
    BETWEEN = "between"
    CONTAINS = "contains"
    EXISTS = "exists"


class Verdict(StrEnum):
    MET = "met"
    NOT_MET = "not_met"
    UNKNOWN = "unknown"


class Outcome(StrEnum):
    ELIGIBLE = "eligible"
    NOT_ELIGIBLE = "not_eligible"
    NEEDS_INFO = "needs_info"


FIELDS: dict[str, FieldType] = {
    "industry_code": FieldType.TEXT,
    "registered_district": FieldType.TEXT,
    "founded_on": FieldType.DATE,
    "age_years": FieldType.NUMBER,
    "employees": FieldType.NUMBER,
    "revenue_wan": FieldType.NUMBER,
    "tax_credit_rating": FieldType.TEXT,
    "qualifications": FieldType.LIST,
    "tags": FieldType.LIST,
    "enterprise_type": FieldType.TEXT,
}
FIELD_LABELS: dict[str, str] = {
    "industry_code": "行业代码",
    "registered_district": "注册区",
    "founded_on": "成立日期",
    "age_years": "成立年限（年）",
    "employees": "从业人数",
    "revenue_wan": "年营业收入（万元）",
    "tax_credit_rating": "纳税信用等级",
    "qualifications": "资质",
    "tags": "企业标签",
    "enterprise_type": "企业类型",
}
TAX_RATINGS = ("A", "B", "M", "C", "D")
_INDUSTRY = re.compile(r"^[A-T]\d{2}$")
_ORDERED = {Op.GT, Op.GTE, Op.LT, Op.LTE, Op.BETWEEN}
OPS_BY_TYPE: dict[FieldType, frozenset[Op]] = {
    FieldType.TEXT: frozenset({Op.EQ, Op.NE, Op.IN, Op.NOT_IN, Op.CONTAINS, Op.EXISTS}),
    FieldType.NUMBER: frozenset(set(Op) - {Op.CONTAINS}),
    FieldType.DATE: frozenset(set(Op) - {Op.CONTAINS}),
    FieldType.LIST: frozenset({Op.CONTAINS, Op.EXISTS}),
}
_OP_TEXT = {Op.EQ: "=", Op.NE: "≠", Op.IN: "属于", Op.NOT_IN: "不属于", Op.GT: ">", Op.GTE: "≥", Op.LT: "<",
            Op.LTE: "≤", Op.CONTAINS: "包含"}


# -- the parsed tree ---------------------------------------------------------------------------------
class Condition(Value):
    """A leaf: one field compared with one value. `path` locates it in the spec, e.g. `all[2].not`."""

    path: str
    field: str
    op: Op
    value: Any = None

    @cached_property
    def label(self) -> str:
        name = FIELD_LABELS.get(self.field, self.field)
        if self.op == Op.EXISTS:
            return f"{name} 已提供" if self.value else f"{name} 未提供"
        if self.op == Op.BETWEEN:
            return f"{name} 在 {_show(self.value[0])} 至 {_show(self.value[1])} 之间"
        if self.op in (Op.IN, Op.NOT_IN):
            return f"{name} {_OP_TEXT[self.op]} [{'、'.join(_show(v) for v in self.value)}]"
        return f"{name} {_OP_TEXT[self.op]} {_show(self.value)}"


class Group(Value):
    """`all` / `any` over children, or `not` over exactly one child."""

    path: str
    kind: Literal["all", "any", "not"]
    children: tuple[Condition | Group, ...]

    @cached_property
    def label(self) -> str:
        return {"all": "同时满足以下全部条件", "any": "满足以下任一条件", "not": "不得符合以下条件"}[self.kind]

    def summary(self, limit: int = 80) -> str:
        """A one-line description including the children, e.g. 不得：纳税信用等级 属于 [C、D]."""
        parts = [c.label if isinstance(c, Condition) else c.summary(limit) for c in self.children]
        text = {"all": "全部：", "any": "任一：", "not": "不得："}[self.kind] + "；".join(parts)
        return text if len(text) <= limit else text[: limit - 1] + "…"


Node = Condition | Group
Group.model_rebuild()


class Amount(Value):
    """A benefit formula: `{fixed: N}`, or `{per: field, rate: R, cap: C}` (cap optional)."""

    fixed: float | None = None
    per: str | None = None
    rate: float | None = None
    cap: float | None = None

    @property
    def label(self) -> str:
        if self.fixed is not None:
            return f"定额 {_show(self.fixed)} 元"
        cap = f"，最高 {_show(self.cap)} 元" if self.cap is not None else ""
        return f"按{FIELD_LABELS.get(self.per or '', self.per)} × {_show(self.rate)} 元{cap}"


class PolicyTerms(Value):
    """The machine-readable part of a policy version (`VersionContent.extra`)."""

    eligibility: Node | None = None
    mianshen: bool = False
    amount: Amount | None = None


# -- results -------------------------------------------------------------------------------------------
# Results are frozen slotted dataclasses rather than pydantic models: matching builds tens of thousands of
# them per run and pydantic construction dominated the profile (see benchmarks/policy_match.py).
@dataclass(frozen=True, slots=True)
class NodeResult:
    """The verdict of one node. For leaves: the profile value used (`actual`) and how it was obtained."""

    path: str
    kind: Literal["all", "any", "not", "condition"]
    depth: int
    verdict: Verdict
    label: str
    field: str | None = None
    op: Op | None = None
    expected: Any = None
    actual: Any = None
    derived_from: str | None = None
    note: str | None = None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "kind": self.kind, "depth": self.depth,
                               "verdict": self.verdict.value, "label": self.label}
        if self.kind == "condition":
            out.update(field=self.field, op=self.op.value if self.op else None, expected=jsonable(self.expected),
                       actual=jsonable(self.actual), derived_from=self.derived_from, note=self.note)
        return out


@dataclass(frozen=True, slots=True)
class Evaluation:
    outcome: Outcome
    nodes: tuple[NodeResult, ...]  # pre-order: the root first, then each child subtree
    missing_fields: tuple[str, ...] = ()

    @property
    def conditions(self) -> tuple[NodeResult, ...]:
        return tuple(n for n in self.nodes if n.kind == "condition")


@dataclass(frozen=True, slots=True)
class AmountResult:
    value: float | None  # None: the basis field is missing from the profile
    label: str
    basis: Any = None

    def as_json(self) -> dict[str, Any]:
        return {"value": self.value, "label": self.label, "basis": jsonable(self.basis)}


def jsonable(value: Any) -> Any:
    """Dates as ISO text, tuples as lists: what json.dumps needs."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [jsonable(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value) if abs(value) < 2**53 else value
    return value


# -- parsing -------------------------------------------------------------------------------------------
def parse_conditions(spec: Any, path: str = "eligibility") -> Node:
    """Validate a condition tree (already loaded from YAML/JSON) and return it typed.

    Raises EligibilityError naming the bad field, operator or value and its position in the spec.
    """
    counter = [0]
    return _parse(spec, path, 0, counter)


def _parse(spec: Any, path: str, depth: int, counter: list[int]) -> Node:
    counter[0] += 1
    if counter[0] > MAX_NODES:
        raise EligibilityError(f"{path}: more than {MAX_NODES} conditions; split the policy or simplify the rules")
    if depth > MAX_DEPTH:
        raise EligibilityError(f"{path}: nested deeper than {MAX_DEPTH} levels; flatten the all/any/not groups")
    if not isinstance(spec, Mapping):
        raise EligibilityError(
            f"{path}: expected a mapping like {{field: employees, op: lte, value: 300}} or all/any/not, got {spec!r}"
        )
    keys = set(spec)
    groups = keys & {"all", "any", "not"}
    if groups:
        if len(keys) != 1:
            raise EligibilityError(
                f"{path}: a group has exactly one key (all, any or not), got {sorted(map(str, keys))!r}; "
                "put each condition in its own list entry"
            )
        kind = next(iter(groups))
        body = spec[kind]
        if kind == "not":
            child = _parse(body, f"{path}.not", depth + 1, counter)
            return Group(path=path, kind="not", children=(child,))
        if not isinstance(body, list | tuple) or not body:
            raise EligibilityError(
                f"{path}.{kind}: expected a non-empty list of conditions, got {body!r} "
                "(an empty list would decide every profile the same way)"
            )
        children = tuple(_parse(c, f"{path}.{kind}[{i}]", depth + 1, counter) for i, c in enumerate(body))
        return Group(path=path, kind=kind, children=children)
    return _parse_leaf(spec, path)


def _parse_leaf(spec: Mapping[str, Any], path: str) -> Condition:
    unknown = set(spec) - {"field", "op", "value"}
    if unknown:
        raise EligibilityError(
            f"{path}: unknown key(s) {sorted(map(str, unknown))!r}; a condition has only field, op and value"
        )
    field = spec.get("field")
    if field not in FIELDS:
        raise EligibilityError(f"{path}: unknown field {field!r}; use one of {', '.join(FIELDS)}")
    raw_op = spec.get("op")
    try:
        op = Op(str(raw_op))
    except ValueError:
        raise EligibilityError(
            f"{path}: unknown operator {raw_op!r}; use one of {', '.join(o.value for o in Op)}"
        ) from None
    ftype = FIELDS[field]
    if op not in OPS_BY_TYPE[ftype]:
        allowed = ", ".join(sorted(o.value for o in OPS_BY_TYPE[ftype]))
        hint = " (for a list field, combine `contains` conditions with any/all)" if ftype == FieldType.LIST else ""
        raise EligibilityError(f"{path}: operator {op.value!r} does not apply to {ftype.value} field {field!r}; "
                               f"use {allowed}{hint}")
    value = _parse_value(field, ftype, op, spec.get("value", True if op == Op.EXISTS else None), path)
    return Condition(path=path, field=field, op=op, value=value)


def _parse_value(field: str, ftype: FieldType, op: Op, value: Any, path: str) -> Any:
    where = f"{path}: {field} {op.value}"
    if op == Op.EXISTS:
        if not isinstance(value, bool):
            raise EligibilityError(f"{where}: value must be true or false, got {value!r}")
        return value
    if op in (Op.IN, Op.NOT_IN):
        if not isinstance(value, list | tuple) or not value:
            raise EligibilityError(f"{where}: value must be a non-empty list, e.g. [A, B], got {value!r}")
        return tuple(_scalar(field, ftype, v, where) for v in value)
    if op == Op.BETWEEN:
        if not isinstance(value, list | tuple) or len(value) != 2:
            raise EligibilityError(f"{where}: value must be [low, high], got {value!r}")
        low, high = (_scalar(field, ftype, v, where) for v in value)
        if low > high:
            raise EligibilityError(f"{where}: low {_show(low)} is above high {_show(high)}; swap them")
        return (low, high)
    if ftype == FieldType.LIST:  # contains on a list: one element
        if not isinstance(value, str) or not value.strip():
            raise EligibilityError(f"{where}: value must be one non-empty text, got {value!r}")
        return value.strip()
    return _scalar(field, ftype, value, where)


def _scalar(field: str, ftype: FieldType, value: Any, where: str) -> Any:
    if ftype == FieldType.NUMBER:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise EligibilityError(f"{where}: value {value!r} is not a number; write it without quotes")
        if isinstance(value, float) and not math.isfinite(value):
            raise EligibilityError(f"{where}: value {value!r} is not a finite number")
        return value
    if ftype == FieldType.DATE:
        day = _as_date(value)
        if day is None:
            raise EligibilityError(f"{where}: value {value!r} is not a date; write YYYY-MM-DD")
        return day
    if not isinstance(value, str) or not value.strip():
        raise EligibilityError(f"{where}: value {value!r} must be non-empty text")
    value = value.strip()
    if field == "tax_credit_rating" and value not in TAX_RATINGS:
        raise EligibilityError(f"{where}: {value!r} is not a tax credit rating; use one of {', '.join(TAX_RATINGS)}")
    if field == "industry_code" and not _INDUSTRY.match(value):
        raise EligibilityError(f"{where}: {value!r} is not a GB/T 4754 division code; write a letter and 2 digits, "
                               "e.g. C39")
    return value


def parse_amount(spec: Any, path: str = "amount") -> Amount:
    if not isinstance(spec, Mapping):
        raise EligibilityError(f"{path}: expected {{fixed: N}} or {{per: field, rate: R, cap: C}}, got {spec!r}")
    unknown = set(spec) - {"fixed", "per", "rate", "cap"}
    if unknown:
        raise EligibilityError(f"{path}: unknown key(s) {sorted(map(str, unknown))!r}; use fixed, or per/rate/cap")

    def number(key: str) -> float | None:
        v = spec.get(key)
        if v is None:
            return None
        if isinstance(v, bool) or not isinstance(v, int | float) or v < 0:
            raise EligibilityError(f"{path}.{key}: {v!r} is not a non-negative number")
        return v

    fixed, rate, cap, per = number("fixed"), number("rate"), number("cap"), spec.get("per")
    if fixed is not None:
        if per is not None or rate is not None or cap is not None:
            raise EligibilityError(f"{path}: use either fixed or per/rate/cap, not both")
        return Amount(fixed=fixed)
    if per is None or rate is None:
        raise EligibilityError(f"{path}: a per-unit amount needs per and rate, e.g. {{per: employees, rate: 800}}")
    if FIELDS.get(per) != FieldType.NUMBER:
        numeric = ", ".join(f for f, t in FIELDS.items() if t == FieldType.NUMBER)
        raise EligibilityError(f"{path}.per: {per!r} is not a numeric profile field; use one of {numeric}")
    return Amount(per=per, rate=rate, cap=cap)


def parse_policy_terms(extra: Mapping[str, Any]) -> PolicyTerms:
    """Parse `VersionContent.extra` (or policy front matter): eligibility, mianshen, amount."""
    mianshen = extra.get("mianshen", False)
    if not isinstance(mianshen, bool):
        raise EligibilityError(f"mianshen: {mianshen!r} must be true or false")
    spec = extra.get("eligibility")
    amount = extra.get("amount")
    return PolicyTerms(
        eligibility=parse_conditions(spec) if spec is not None else None,
        mianshen=mianshen,
        amount=parse_amount(amount) if amount is not None else None,
    )


# -- evaluation ----------------------------------------------------------------------------------------
class PreparedProfile:
    """A profile's typed field values as of a date, computed once and reused across many policies."""

    __slots__ = ("as_of", "raw", "values")

    def __init__(self, profile: Mapping[str, Any], as_of: dt.date) -> None:
        self.raw = profile
        self.as_of = as_of
        self.values = {f: profile_value(f, profile, as_of) for f in FIELDS}


def prepare_profile(profile: Mapping[str, Any], as_of: dt.date) -> PreparedProfile:
    return PreparedProfile(profile, as_of)


def evaluate(node: Node, profile: Mapping[str, Any] | PreparedProfile, *, as_of: dt.date) -> Evaluation:
    """Evaluate a parsed tree against a profile as of a date (which derived fields such as age_years use)."""
    if not isinstance(profile, PreparedProfile) or profile.as_of != as_of:
        profile = PreparedProfile(profile.raw if isinstance(profile, PreparedProfile) else profile, as_of)
    out: list[NodeResult] = []
    missing: list[str] = []
    verdict = _eval(node, profile.values, 0, out, missing)
    outcome = {Verdict.MET: Outcome.ELIGIBLE, Verdict.NOT_MET: Outcome.NOT_ELIGIBLE,
               Verdict.UNKNOWN: Outcome.NEEDS_INFO}[verdict]
    return Evaluation(outcome=outcome, nodes=tuple(out), missing_fields=tuple(dict.fromkeys(missing)))


Typed = dict[str, tuple[Any, str | None, str | None]]


def _eval(node: Node, values: Typed, depth: int, out: list[NodeResult], missing: list[str]) -> Verdict:
    if isinstance(node, Condition):
        result = _eval_leaf(node, values[node.field], depth)
        if result.verdict == Verdict.UNKNOWN:
            missing.append(node.field)
        out.append(result)
        return result.verdict
    slot = len(out)
    out.append(None)  # type: ignore[arg-type]  # placeholder: the group's verdict is known after its children
    verdicts = [_eval(c, values, depth + 1, out, missing) for c in node.children]
    verdict = combine(node.kind, verdicts)
    out[slot] = NodeResult(path=node.path, kind=node.kind, depth=depth, verdict=verdict, label=node.label)
    return verdict


def combine(kind: str, verdicts: list[Verdict]) -> Verdict:
    """Kleene three-valued logic for all / any / not."""
    if kind == "not":
        return {Verdict.MET: Verdict.NOT_MET, Verdict.NOT_MET: Verdict.MET}.get(verdicts[0], Verdict.UNKNOWN)
    decisive, other = (Verdict.NOT_MET, Verdict.MET) if kind == "all" else (Verdict.MET, Verdict.NOT_MET)
    if decisive in verdicts:
        return decisive
    return Verdict.UNKNOWN if Verdict.UNKNOWN in verdicts else other


def profile_value(field: str, profile: Mapping[str, Any], as_of: dt.date) -> tuple[Any, str | None, str | None]:
    """(value or None if missing, how it was derived, a note on bad data). Values are typed per FIELDS."""
    if field == "age_years" and _present(profile.get("founded_on")):
        founded = _as_date(profile["founded_on"])
        if founded is None:
            return None, None, f"founded_on {profile['founded_on']!r} is not a date"
        if founded > as_of:
            return None, None, f"founded_on {founded} is after {as_of}"
        return age_years(founded, as_of), f"founded_on {founded.isoformat()} as of {as_of.isoformat()}", None
    raw = profile.get(field)
    if not _present(raw):
        return None, None, None
    ftype = FIELDS[field]
    if ftype == FieldType.NUMBER:
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            return None, None, f"{field} {raw!r} is not a number"
        if isinstance(raw, float) and not math.isfinite(raw):
            return None, None, f"{field} {raw!r} is not a finite number"
        return raw, None, None
    if ftype == FieldType.DATE:
        day = _as_date(raw)
        return (day, None, None) if day else (None, None, f"{field} {raw!r} is not a date")
    if ftype == FieldType.LIST:
        if not isinstance(raw, list | tuple | set | frozenset) or not all(isinstance(v, str) for v in raw):
            return None, None, f"{field} {raw!r} is not a list of texts"
        return tuple(v.strip() for v in raw), None, None
    if not isinstance(raw, str):
        return None, None, f"{field} {raw!r} is not text"
    return raw.strip(), None, None


def _eval_leaf(c: Condition, typed: tuple[Any, str | None, str | None], depth: int) -> NodeResult:
    actual, derived, note = typed
    if c.op == Op.EXISTS:
        verdict = Verdict.MET if (actual is not None) == c.value else Verdict.NOT_MET
    elif actual is None:
        verdict = Verdict.UNKNOWN
    else:
        verdict = Verdict.MET if _compare(c.op, actual, c.value) else Verdict.NOT_MET
    return NodeResult(path=c.path, kind="condition", depth=depth, verdict=verdict, label=c.label, field=c.field,
                      op=c.op, expected=c.value, actual=actual, derived_from=derived, note=note)


def _compare(op: Op, actual: Any, expected: Any) -> bool:
    if op == Op.EQ:
        return bool(actual == expected)
    if op == Op.NE:
        return bool(actual != expected)
    if op == Op.IN:
        return actual in expected
    if op == Op.NOT_IN:
        return actual not in expected
    if op == Op.CONTAINS:
        return expected in actual  # element of a tuple, or substring of a text
    if op == Op.GT:
        return bool(actual > expected)
    if op == Op.GTE:
        return bool(actual >= expected)
    if op == Op.LT:
        return bool(actual < expected)
    if op == Op.LTE:
        return bool(actual <= expected)
    low, high = expected  # BETWEEN, inclusive
    return bool(low <= actual <= high)


def compute_amount(amount: Amount, profile: Mapping[str, Any] | PreparedProfile, *, as_of: dt.date) -> AmountResult:
    """The benefit for one profile; None when a per-unit formula's basis field is missing."""
    if amount.fixed is not None:
        return AmountResult(value=float(amount.fixed), label=amount.label)
    assert amount.per is not None and amount.rate is not None
    if isinstance(profile, PreparedProfile) and profile.as_of == as_of:
        basis = profile.values[amount.per][0]
    else:
        raw = profile.raw if isinstance(profile, PreparedProfile) else profile
        basis = profile_value(amount.per, raw, as_of)[0]
    if basis is None:
        return AmountResult(value=None, label=amount.label)
    value = max(0.0, float(basis) * amount.rate)
    if amount.cap is not None:
        value = min(value, float(amount.cap))
    return AmountResult(value=value, label=amount.label, basis=basis)


def age_years(founded: dt.date, as_of: dt.date) -> float:
    """Exact age in years: completed years plus the elapsed fraction of the current year (leap-day safe)."""
    years = as_of.year - founded.year - ((as_of.month, as_of.day) < (founded.month, founded.day))
    last = _anniversary(founded, founded.year + years)
    following = _anniversary(founded, founded.year + years + 1)
    return years + (as_of - last).days / (following - last).days


def _anniversary(founded: dt.date, year: int) -> dt.date:
    try:
        return founded.replace(year=year)
    except ValueError:  # 29 February in a common year
        return dt.date(year, 2, 28)


def _as_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def _show(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)
