"""Property tests (hypothesis) of the three-valued engine: missing data can only ever make a verdict less
certain, never flip it, and never produce `eligible` on its own."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policy.eligibility import Outcome, Verdict, evaluate, parse_conditions

pytestmark = pytest.mark.unit
DAY = dt.date(2026, 11, 27)
DISTRICTS = ["松江区", "闵行区", "青浦区"]
TAGS = ["出口企业", "小型微利企业", "安排残疾人就业"]
FIELDS = ("employees", "revenue_wan", "registered_district", "tags", "founded_on")

numbers = st.integers(min_value=0, max_value=500)
dates = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2026, 11, 27))


def _leaf() -> st.SearchStrategy[dict[str, Any]]:
    num_field = st.sampled_from(["employees", "revenue_wan"])
    return st.one_of(
        st.builds(lambda f, o, v: {"field": f, "op": o, "value": v}, num_field,
                  st.sampled_from(["eq", "ne", "gt", "gte", "lt", "lte"]), numbers),
        st.builds(lambda f, lo, width: {"field": f, "op": "between", "value": [lo, lo + width]}, num_field, numbers,
                  numbers),
        st.builds(lambda o, vs: {"field": "registered_district", "op": o, "value": vs},
                  st.sampled_from(["in", "not_in"]), st.lists(st.sampled_from(DISTRICTS), min_size=1, max_size=3)),
        st.builds(lambda v: {"field": "tags", "op": "contains", "value": v}, st.sampled_from(TAGS)),
        st.builds(lambda o, v: {"field": "age_years", "op": o, "value": v}, st.sampled_from(["gte", "lt"]),
                  st.integers(min_value=0, max_value=20)),
        st.builds(lambda f: {"field": f, "op": "exists"}, st.sampled_from(["employees", "tags"])),
    )


specs = st.recursive(
    _leaf(),
    lambda children: st.one_of(
        st.builds(lambda cs: {"all": cs}, st.lists(children, min_size=1, max_size=3)),
        st.builds(lambda cs: {"any": cs}, st.lists(children, min_size=1, max_size=3)),
        st.builds(lambda c: {"not": c}, children),
    ),
    max_leaves=8,
)

full_profiles = st.fixed_dictionaries({
    "employees": numbers, "revenue_wan": numbers, "registered_district": st.sampled_from(DISTRICTS),
    "tags": st.lists(st.sampled_from(TAGS), unique=True), "founded_on": dates,
})


def _uses_exists(spec: Any) -> bool:
    if isinstance(spec, dict):
        return spec.get("op") == "exists" or any(_uses_exists(v) for v in spec.values())
    if isinstance(spec, list):
        return any(_uses_exists(v) for v in spec)
    return False


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=specs, profile=full_profiles, hidden=st.sets(st.sampled_from(FIELDS)))
def test_missing_data_never_flips_a_verdict(spec: dict[str, Any], profile: dict[str, Any], hidden: set[str]) -> None:
    """Soundness: a definite verdict on a partial profile holds for the complete profile."""
    node = parse_conditions(spec)
    partial = {k: v for k, v in profile.items() if k not in hidden}
    if _uses_exists(spec):
        return  # `exists` asks about the missing data itself; completing the profile legitimately changes it
    partial_outcome = evaluate(node, partial, as_of=DAY).outcome
    full_outcome = evaluate(node, profile, as_of=DAY).outcome
    assert full_outcome != Outcome.NEEDS_INFO  # complete, well-typed data always gives a definite verdict
    if partial_outcome != Outcome.NEEDS_INFO:
        assert partial_outcome == full_outcome


@settings(max_examples=200, deadline=None)
@given(spec=specs)
def test_an_empty_profile_is_never_eligible(spec: dict[str, Any]) -> None:
    if _uses_exists(spec):
        return
    assert evaluate(parse_conditions(spec), {}, as_of=DAY).outcome == Outcome.NEEDS_INFO


@settings(max_examples=200, deadline=None)
@given(spec=specs, profile=full_profiles, hidden=st.sets(st.sampled_from(FIELDS)))
def test_double_negation_and_de_morgan(spec: dict[str, Any], profile: dict[str, Any], hidden: set[str]) -> None:
    partial = {k: v for k, v in profile.items() if k not in hidden}
    base = evaluate(parse_conditions(spec), partial, as_of=DAY).nodes[0].verdict
    twice = evaluate(parse_conditions({"not": {"not": spec}}), partial, as_of=DAY).nodes[0].verdict
    assert twice == base
    other = {"field": "employees", "op": "gte", "value": 100}
    left = evaluate(parse_conditions({"not": {"all": [spec, other]}}), partial, as_of=DAY).nodes[0].verdict
    right = evaluate(parse_conditions({"any": [{"not": spec}, {"not": other}]}), partial, as_of=DAY).nodes[0].verdict
    assert left == right


@settings(max_examples=200, deadline=None)
@given(spec=specs, profile=full_profiles)
def test_group_verdicts_agree_with_their_children(spec: dict[str, Any], profile: dict[str, Any]) -> None:
    ev = evaluate(parse_conditions(spec), profile, as_of=DAY)
    by_path = {n.path: n for n in ev.nodes}
    for n in ev.nodes:
        kids = [c for c in ev.nodes if c.path.startswith(n.path + ".") and c.depth == n.depth + 1]
        if n.kind == "all":
            assert (n.verdict == Verdict.MET) == all(k.verdict == Verdict.MET for k in kids)
        elif n.kind == "any":
            assert (n.verdict == Verdict.MET) == any(k.verdict == Verdict.MET for k in kids)
        elif n.kind == "not":
            assert {n.verdict, kids[0].verdict} == {Verdict.MET, Verdict.NOT_MET}
    assert by_path["eligibility"].verdict.value == {"eligible": "met", "not_eligible": "not_met"}[ev.outcome.value]
