"""政策演算器 on a small hand-made population whose counts can be checked by hand."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from kb.settings import PROJECT_ROOT
from policy.eligibility import parse_policy_terms
from policy.matching import PolicyError, load_enterprise_profiles
from policy.simulate import read_policy_draft, simulate, simulate_draft

pytestmark = pytest.mark.unit
DAY = dt.date(2026, 11, 27)

POPULATION = [
    {"id": "a", "registered_district": "松江区", "employees": 50, "tax_credit_rating": "A"},  # eligible
    {"id": "b", "registered_district": "松江区", "employees": 10, "tax_credit_rating": "B"},  # eligible
    {"id": "c", "registered_district": "松江区", "employees": 500, "tax_credit_rating": "A"},  # too big only
    {"id": "d", "registered_district": "闵行区", "employees": 40, "tax_credit_rating": "B"},  # district only
    {"id": "e", "registered_district": "闵行区", "employees": 900, "tax_credit_rating": "D"},  # all three
    {"id": "f", "registered_district": "松江区", "employees": 20},  # rating missing -> needs_info
    {"id": "g", "registered_district": "松江区", "tax_credit_rating": "A"},  # employees missing -> needs_info
    {"id": "h", "registered_district": "松江区", "employees": 30, "tax_credit_rating": "D"},  # rating only
]
TERMS = parse_policy_terms({
    "eligibility": {"all": [
        {"field": "registered_district", "op": "eq", "value": "松江区"},
        {"field": "employees", "op": "lte", "value": 300},
        {"not": {"field": "tax_credit_rating", "op": "in", "value": ["C", "D"]}},
    ]},
    "amount": {"per": "employees", "rate": 1000, "cap": 40000},
})


def test_counts_exclusions_and_cost() -> None:
    r = simulate(TERMS, POPULATION, DAY)
    assert (r.profiles, r.eligible, r.not_eligible, r.needs_info) == (8, 2, 4, 2)
    assert r.eligible_ids == ["a", "b"]
    top = {n.path: n for n in r.exclusions()}
    assert [n.path for n in r.exclusions()] == [
        "eligibility.all[0]", "eligibility.all[1]", "eligibility.all[2]"]  # ties broken by position
    assert (top["eligibility.all[0]"].excluded, top["eligibility.all[0]"].sole_blocker) == (2, 1)  # d, e / d
    assert (top["eligibility.all[1]"].excluded, top["eligibility.all[1]"].sole_blocker) == (2, 1)  # c, e / c
    assert (top["eligibility.all[2]"].excluded, top["eligibility.all[2]"].sole_blocker) == (2, 1)  # e, h / h
    assert top["eligibility.all[2]"].unknown == 1 and top["eligibility.all[1]"].unknown == 1
    assert top["eligibility.all[2]"].label == "不得：纳税信用等级 属于 [C、D]"
    assert r.missing_fields == {"tax_credit_rating": 1, "employees": 1}
    assert r.total_cost == 40000 + 10000  # a capped at 40000, b 10 x 1000
    assert r.cost_unknown == 0
    assert r.cost_if_needs_info_qualify == 50000 + 20000  # f computable (20 x 1000), g has no basis
    data = r.as_json()
    assert data["top_exclusions"][0]["excluded"] == 2 and data["as_of"] == "2026-11-27"


def test_nested_conditions_count_for_their_group_only() -> None:
    terms = parse_policy_terms({"eligibility": {"all": [
        {"field": "registered_district", "op": "eq", "value": "松江区"},
        {"any": [{"field": "employees", "op": "lte", "value": 30},
                 {"field": "tax_credit_rating", "op": "eq", "value": "A"}]},
    ]}})
    r = simulate(terms, POPULATION, DAY)
    nodes = {n.path: n for n in r.nodes}
    assert nodes["eligibility.all[1]"].necessary and not nodes["eligibility.all[1].any[0]"].necessary
    assert nodes["eligibility.all[1].any[0]"].excluded is None
    assert r.total_cost is None  # no amount formula
    assert r.eligible == 6  # every 松江 profile satisfies the `any` (g through the rating branch)


def test_an_any_root_has_no_single_excluding_child() -> None:
    terms = parse_policy_terms({"eligibility": {"any": [
        {"field": "employees", "op": "lte", "value": 30}, {"field": "tax_credit_rating", "op": "eq", "value": "A"}]}})
    r = simulate(terms, POPULATION, DAY)
    assert [n.path for n in r.exclusions()] == ["eligibility"]


def test_missing_amount_basis_is_reported_not_counted_as_zero() -> None:
    terms = parse_policy_terms({"eligibility": {"field": "registered_district", "op": "eq", "value": "松江区"},
                                "amount": {"per": "revenue_wan", "rate": 10}})
    r = simulate(terms, [{"id": "x", "registered_district": "松江区", "revenue_wan": 100},
                         {"id": "y", "registered_district": "松江区"}], DAY)
    assert (r.eligible, r.total_cost, r.cost_unknown) == (2, 1000, 1)


def _draft(tmp_path: Path, front: str) -> Path:
    path = tmp_path / "draft.md"
    path.write_text(f"---\n{front}\n---\n# 草案\n\n## 政策概述\n示例。\n", encoding="utf-8")
    return path


def test_read_draft_refuses_unclear_files(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="no such file"):
        read_policy_draft(tmp_path / "missing.md")
    plain = tmp_path / "plain.md"
    plain.write_text("# 没有元数据\n", encoding="utf-8")
    with pytest.raises(PolicyError, match="no YAML front matter"):
        read_policy_draft(plain)
    with pytest.raises(PolicyError, match="nothing to simulate"):
        read_policy_draft(_draft(tmp_path, "id: p\nkind: policy"))
    with pytest.raises(PolicyError, match="unknown operator 'approx'"):
        read_policy_draft(_draft(tmp_path, "eligibility: {field: employees, op: approx, value: 3}"))
    with pytest.raises(PolicyError, match="not a policy"):
        read_policy_draft(_draft(tmp_path, "kind: guide\neligibility: {field: employees, op: gt, value: 3}"))
    with pytest.raises(PolicyError, match="not valid YAML"):
        read_policy_draft(_draft(tmp_path, "eligibility: {field: [employees"))
    with pytest.raises(PolicyError, match="!!python"):
        read_policy_draft(_draft(tmp_path, "eligibility: !!python/object/apply:os.system ['true']"))


def test_simulate_draft_defaults_to_its_effective_date(tmp_path: Path) -> None:
    path = _draft(tmp_path, "id: p-draft\ntitle: 草案\neffective_from: 2030-01-01\n"
                            "eligibility: {field: age_years, op: gte, value: 5}")
    profiles = [{"id": "x", "founded_on": "2026-01-01"}]
    assert simulate_draft(path, profiles, today=DAY).eligible == 0
    later = simulate_draft(path, profiles, as_of=dt.date(2031, 1, 1), today=DAY)
    assert later.eligible == 1 and later.policy_id == "p-draft"


def test_the_sample_draft_runs_over_the_synthetic_population() -> None:
    population = list(load_enterprise_profiles(PROJECT_ROOT / "samples" / "profiles").values())
    r = simulate_draft(PROJECT_ROOT / "samples" / "policy_drafts" / "policy-draft-digital-transform.md", population,
                       today=DAY)
    assert r.profiles == len(population) >= 200
    assert r.eligible + r.not_eligible + r.needs_info == r.profiles
    assert 0 < r.eligible < r.profiles and r.total_cost and r.total_cost > 0
    assert r.as_of == dt.date(2027, 1, 1)
