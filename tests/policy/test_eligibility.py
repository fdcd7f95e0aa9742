"""The eligibility engine: parsing refuses anything unsafe or unclear; evaluation is three-valued and never
says eligible when data is missing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml

from kb.settings import PROJECT_ROOT
from policy.eligibility import (
    MAX_DEPTH,
    Amount,
    EligibilityError,
    Outcome,
    Verdict,
    age_years,
    combine,
    compute_amount,
    evaluate,
    parse_amount,
    parse_conditions,
    parse_policy_terms,
    prepare_profile,
)

pytestmark = pytest.mark.unit
DAY = dt.date(2026, 11, 27)
M, N, U = Verdict.MET, Verdict.NOT_MET, Verdict.UNKNOWN


def leaf(field: str, op: str, value: Any = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"field": field, "op": op}
    if value is not None:
        spec["value"] = value
    return spec


def outcome(spec: dict[str, Any], profile: dict[str, Any], as_of: dt.date = DAY) -> Outcome:
    return evaluate(parse_conditions(spec), profile, as_of=as_of).outcome


# -- parsing: refuse with a message that names the problem --------------------------------------------------
@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        (leaf("turnover", "gt", 1), "unknown field 'turnover'"),
        (leaf("employees", "greater", 1), "unknown operator 'greater'"),
        (leaf("employees", "__import__", 1), "unknown operator '__import__'"),
        ({"field": "employees", "op": "gt", "value": 1, "code": "os.system('x')"}, "unknown key(s) ['code']"),
        (leaf("employees", "contains", 1), "does not apply to number field 'employees'"),
        (leaf("qualifications", "eq", "高新技术企业"), "does not apply to list field 'qualifications'"),
        (leaf("qualifications", "in", ["A"]), "combine `contains` conditions"),
        (leaf("founded_on", "contains", "2020"), "does not apply to date field"),
        (leaf("employees", "gt", "300"), "'300' is not a number"),
        (leaf("employees", "gt", True), "True is not a number"),
        (leaf("employees", "gt", float("nan")), "not a finite number"),
        (leaf("employees", "between", [10]), "must be [low, high]"),
        (leaf("employees", "between", [300, 10]), "low 300 is above high 10"),
        (leaf("employees", "in", []), "non-empty list"),
        (leaf("registered_district", "in", "松江区"), "non-empty list"),
        (leaf("registered_district", "eq", ""), "must be non-empty text"),
        (leaf("registered_district", "eq", 7), "must be non-empty text"),
        (leaf("tax_credit_rating", "in", ["A", "AA"]), "'AA' is not a tax credit rating"),
        (leaf("industry_code", "eq", "c39"), "'c39' is not a GB/T 4754 division code"),
        (leaf("founded_on", "gte", "2020-13-01"), "is not a date"),
        (leaf("tags", "contains", ["a", "b"]), "one non-empty text"),
        (leaf("employees", "exists", "yes"), "must be true or false"),
        ({"all": []}, "non-empty list"),
        ({"any": {"field": "employees"}}, "non-empty list"),
        ({"all": [leaf("employees", "gt", 1)], "any": [leaf("employees", "gt", 1)]}, "exactly one key"),
        ({"not": [leaf("employees", "gt", 1)]}, "expected a mapping"),
        ("employees > 300", "expected a mapping"),
        ([leaf("employees", "gt", 1)], "expected a mapping"),
        (None, "expected a mapping"),
    ],
)
def test_parse_rejects_with_a_clear_message(spec: Any, fragment: str) -> None:
    with pytest.raises(EligibilityError) as exc:
        parse_conditions(spec)
    assert fragment in str(exc.value)


def test_errors_name_the_position_in_the_spec() -> None:
    spec = {"all": [leaf("employees", "gt", 1), {"any": [leaf("tags", "contains", "a"), leaf("x", "eq", 1)]}]}
    with pytest.raises(EligibilityError, match=r"eligibility\.all\[1\]\.any\[1\]: unknown field 'x'"):
        parse_conditions(spec)


def test_depth_and_size_are_limited() -> None:
    spec: dict[str, Any] = leaf("employees", "gt", 1)
    for _ in range(MAX_DEPTH + 1):
        spec = {"not": spec}
    with pytest.raises(EligibilityError, match="nested deeper"):
        parse_conditions(spec)
    with pytest.raises(EligibilityError, match="more than"):
        parse_conditions({"all": [leaf("employees", "gt", n) for n in range(300)]})


def test_yaml_dates_and_iso_text_both_parse() -> None:
    spec = yaml.safe_load("{field: founded_on, op: between, value: [2020-01-01, '2021-12-31']}")
    node = parse_conditions(spec)
    assert node.value == (dt.date(2020, 1, 1), dt.date(2021, 12, 31))


# -- evaluation: operators ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("spec", "profile", "expected"),
    [
        (leaf("employees", "eq", 10), {"employees": 10}, M),
        (leaf("employees", "eq", 10), {"employees": 10.0}, M),
        (leaf("employees", "ne", 10), {"employees": 11}, M),
        (leaf("employees", "gt", 10), {"employees": 10}, N),
        (leaf("employees", "gte", 10), {"employees": 10}, M),
        (leaf("employees", "lt", 10), {"employees": 10}, N),
        (leaf("employees", "lte", 10), {"employees": 10}, M),
        (leaf("employees", "between", [10, 20]), {"employees": 10}, M),
        (leaf("employees", "between", [10, 20]), {"employees": 20}, M),
        (leaf("employees", "between", [10, 20]), {"employees": 20.5}, N),
        (leaf("employees", "in", [1, 2]), {"employees": 2}, M),
        (leaf("employees", "not_in", [1, 2]), {"employees": 3}, M),
        (leaf("employees", "gte", 0), {"employees": 0}, M),  # zero is a value, not "missing"
        (leaf("registered_district", "eq", "松江区"), {"registered_district": " 松江区 "}, M),
        (leaf("registered_district", "in", ["松江区", "闵行区"]), {"registered_district": "浦东新区"}, N),
        (leaf("enterprise_type", "contains", "有限责任公司"), {"enterprise_type": "有限责任公司（自然人独资）"}, M),
        (leaf("enterprise_type", "contains", "股份"), {"enterprise_type": "有限责任公司（自然人独资）"}, N),
        (leaf("qualifications", "contains", "专精特新"), {"qualifications": ["高新技术企业", "专精特新"]}, M),
        (leaf("qualifications", "contains", "专精特新"), {"qualifications": []}, N),  # empty list is known
        (leaf("qualifications", "contains", "专精"), {"qualifications": ["专精特新"]}, N),  # element, not substring
        (leaf("founded_on", "lt", "2020-01-01"), {"founded_on": "2019-12-31"}, M),
        (leaf("founded_on", "lt", "2020-01-01"), {"founded_on": dt.date(2020, 1, 1)}, N),
        (leaf("founded_on", "gte", "2020-01-01"), {"founded_on": dt.datetime(2020, 1, 1, 8, 0)}, M),
        (leaf("tax_credit_rating", "in", ["A", "B"]), {"tax_credit_rating": "M"}, N),
    ],
)
def test_operators(spec: dict[str, Any], profile: dict[str, Any], expected: Verdict) -> None:
    ev = evaluate(parse_conditions(spec), profile, as_of=DAY)
    assert ev.nodes[0].verdict == expected


@pytest.mark.parametrize("op", ["eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "between"])
@pytest.mark.parametrize("profile", [{}, {"employees": None}, {"employees": "many"}, {"employees": True},
                                     {"employees": float("nan")}, {"employees": float("inf")}])
def test_missing_or_bad_values_are_unknown_never_met(op: str, profile: dict[str, Any]) -> None:
    value: Any = [1, 5] if op in ("in", "not_in", "between") else 3
    ev = evaluate(parse_conditions(leaf("employees", op, value)), profile, as_of=DAY)
    assert ev.nodes[0].verdict == U
    assert ev.outcome == Outcome.NEEDS_INFO
    assert ev.missing_fields == ("employees",)
    if profile.get("employees") is not None:
        assert ev.nodes[0].note  # bad data is explained, not silently treated as missing


def test_empty_text_is_missing_and_wrong_list_type_is_unknown() -> None:
    assert outcome(leaf("registered_district", "ne", "松江区"), {"registered_district": "  "}) == Outcome.NEEDS_INFO
    assert outcome(leaf("tags", "contains", "a"), {"tags": "a"}) == Outcome.NEEDS_INFO
    assert outcome(leaf("tags", "contains", "a"), {"tags": [1, 2]}) == Outcome.NEEDS_INFO


def test_exists_is_the_only_operator_that_answers_for_missing_fields() -> None:
    assert outcome(leaf("revenue_wan", "exists"), {}) == Outcome.NOT_ELIGIBLE
    assert outcome(leaf("revenue_wan", "exists"), {"revenue_wan": 0}) == Outcome.ELIGIBLE
    assert outcome(leaf("revenue_wan", "exists", False), {}) == Outcome.ELIGIBLE
    assert outcome(leaf("age_years", "exists"), {"founded_on": "2020-01-01"}) == Outcome.ELIGIBLE


# -- three-valued logic ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kind", "verdicts", "expected"),
    [
        ("all", [M, M], M), ("all", [M, U], U), ("all", [U, N], N), ("all", [N, M], N), ("all", [U, U], U),
        ("any", [N, N], N), ("any", [N, U], U), ("any", [U, M], M), ("any", [M, N], M), ("any", [U, U], U),
        ("not", [M], N), ("not", [N], M), ("not", [U], U),
    ],
)
def test_kleene_truth_tables(kind: str, verdicts: list[Verdict], expected: Verdict) -> None:
    assert combine(kind, verdicts) == expected


def test_not_over_missing_stays_unknown() -> None:
    spec = {"not": leaf("tax_credit_rating", "in", ["D"])}
    assert outcome(spec, {}) == Outcome.NEEDS_INFO
    assert outcome(spec, {"tax_credit_rating": "D"}) == Outcome.NOT_ELIGIBLE
    assert outcome(spec, {"tax_credit_rating": "A"}) == Outcome.ELIGIBLE


def test_a_decisive_known_condition_wins_over_missing_data() -> None:
    spec = {"all": [leaf("registered_district", "eq", "松江区"), leaf("employees", "lte", 300)]}
    assert outcome(spec, {"registered_district": "闵行区"}) == Outcome.NOT_ELIGIBLE
    assert outcome(spec, {"registered_district": "松江区"}) == Outcome.NEEDS_INFO
    spec = {"any": [leaf("qualifications", "contains", "高新技术企业"), leaf("employees", "lte", 30)]}
    assert outcome(spec, {"employees": 10}) == Outcome.ELIGIBLE
    assert outcome(spec, {"employees": 100}) == Outcome.NEEDS_INFO


def test_results_list_every_node_with_the_value_used() -> None:
    spec = {"all": [leaf("registered_district", "eq", "松江区"),
                    {"not": leaf("tax_credit_rating", "in", ["C", "D"])},
                    {"any": [leaf("qualifications", "contains", "高新技术企业"), leaf("employees", "lte", 30)]}]}
    ev = evaluate(parse_conditions(spec), {"registered_district": "松江区", "tax_credit_rating": "B",
                                           "qualifications": [], "employees": 12}, as_of=DAY)
    assert [n.path for n in ev.nodes] == [
        "eligibility", "eligibility.all[0]", "eligibility.all[1]", "eligibility.all[1].not", "eligibility.all[2]",
        "eligibility.all[2].any[0]", "eligibility.all[2].any[1]"]
    assert [n.verdict for n in ev.nodes] == [M, M, M, N, M, N, M]
    assert [n.depth for n in ev.nodes] == [0, 1, 1, 2, 1, 2, 2]
    rating = ev.nodes[3]
    assert (rating.field, rating.actual, rating.expected) == ("tax_credit_rating", "B", ("C", "D"))
    assert rating.label == "纳税信用等级 属于 [C、D]"
    assert rating.as_json()["expected"] == ["C", "D"]
    assert len(ev.conditions) == 4


# -- derived fields ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("founded", "as_of", "years"),
    [
        (dt.date(2020, 3, 1), dt.date(2021, 3, 1), 1.0),
        (dt.date(2020, 3, 1), dt.date(2021, 2, 28), 1 - 1 / 365),
        (dt.date(2020, 2, 29), dt.date(2024, 2, 29), 4.0),
        (dt.date(2020, 2, 29), dt.date(2021, 2, 28), 1.0),
        (dt.date(2026, 11, 27), dt.date(2026, 11, 27), 0.0),
    ],
)
def test_age_years_is_exact(founded: dt.date, as_of: dt.date, years: float) -> None:
    assert age_years(founded, as_of) == pytest.approx(years)


def test_age_years_boundaries_follow_man_n_nian() -> None:
    spec = leaf("age_years", "between", [1, 3])  # 成立满1年且不超过3年
    founded = {"founded_on": "2023-06-15"}
    assert outcome(spec, founded, dt.date(2024, 6, 14)) == Outcome.NOT_ELIGIBLE
    assert outcome(spec, founded, dt.date(2024, 6, 15)) == Outcome.ELIGIBLE
    assert outcome(spec, founded, dt.date(2026, 6, 15)) == Outcome.ELIGIBLE
    assert outcome(spec, founded, dt.date(2026, 6, 16)) == Outcome.NOT_ELIGIBLE
    ev = evaluate(parse_conditions(spec), founded, as_of=dt.date(2026, 6, 15))
    assert ev.nodes[0].derived_from == "founded_on 2023-06-15 as of 2026-06-15"


def test_age_years_falls_back_to_an_explicit_value_and_refuses_bad_dates() -> None:
    spec = leaf("age_years", "gte", 2)
    assert outcome(spec, {"age_years": 5}) == Outcome.ELIGIBLE
    assert outcome(spec, {"founded_on": "2026-01-01", "age_years": 5}) == Outcome.NOT_ELIGIBLE  # derived wins
    assert outcome(spec, {"founded_on": "2027-01-01"}) == Outcome.NEEDS_INFO  # founded after as_of
    assert outcome(spec, {"founded_on": "not a date"}) == Outcome.NEEDS_INFO
    assert outcome(spec, {}) == Outcome.NEEDS_INFO


def test_prepared_profile_gives_the_same_answer() -> None:
    spec = parse_conditions({"all": [leaf("age_years", "gte", 1), leaf("employees", "lte", 300)]})
    profile = {"founded_on": "2020-01-01", "employees": 100}
    prepared = prepare_profile(profile, DAY)
    assert evaluate(spec, prepared, as_of=DAY) == evaluate(spec, profile, as_of=DAY)
    # a profile prepared for another day is re-prepared, never reused with stale derived values
    assert evaluate(spec, prepared, as_of=dt.date(2020, 6, 1)).outcome == Outcome.NOT_ELIGIBLE


# -- amounts -----------------------------------------------------------------------------------------------
def test_amount_formulas() -> None:
    fixed = parse_amount({"fixed": 8000})
    assert compute_amount(fixed, {}, as_of=DAY).value == 8000
    per = parse_amount({"per": "employees", "rate": 800, "cap": 300000})
    assert compute_amount(per, {"employees": 120}, as_of=DAY).value == 96000
    assert compute_amount(per, {"employees": 1000}, as_of=DAY).value == 300000
    assert compute_amount(per, {"employees": 0}, as_of=DAY).value == 0
    assert compute_amount(per, {}, as_of=DAY).value is None  # missing basis: unknown, never 0
    uncapped = parse_amount({"per": "revenue_wan", "rate": 10})
    assert compute_amount(uncapped, {"revenue_wan": 12.5}, as_of=DAY).value == 125
    assert per.label == "按从业人数 × 800 元，最高 300000 元"


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        (50000, "expected {fixed: N}"),
        ({"fixed": "5万"}, "not a non-negative number"),
        ({"fixed": -1}, "not a non-negative number"),
        ({"fixed": 1, "per": "employees", "rate": 1}, "either fixed or per/rate/cap"),
        ({"per": "employees"}, "needs per and rate"),
        ({"per": "tags", "rate": 1}, "not a numeric profile field"),
        ({"per": "employees", "rate": 1, "formula": "x*2"}, "unknown key(s) ['formula']"),
    ],
)
def test_bad_amounts_are_refused(spec: Any, fragment: str) -> None:
    with pytest.raises(EligibilityError) as exc:
        parse_amount(spec)
    assert fragment in str(exc.value)


def test_policy_terms() -> None:
    terms = parse_policy_terms({"mianshen": True, "amount": {"fixed": 1}, "eligibility": leaf("employees", "gt", 1)})
    assert terms.mianshen and terms.amount == Amount(fixed=1) and terms.eligibility is not None
    assert parse_policy_terms({}).eligibility is None
    with pytest.raises(EligibilityError, match="mianshen"):
        parse_policy_terms({"mianshen": "yes"})


def _front_matter(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8").split("---")[1])


@pytest.mark.parametrize("path", sorted((PROJECT_ROOT / "samples" / "kb" / "policies").glob("*.md")),
                         ids=lambda p: p.stem)
def test_every_sample_policy_parses(path: Path) -> None:
    meta = _front_matter(path)
    terms = parse_policy_terms(meta)
    if "法人" in str(meta.get("audience")):
        assert terms.eligibility is not None, f"{path.name}: enterprise policies need eligibility conditions"
