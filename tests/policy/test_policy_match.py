"""免申即享 matching on the sample KB: verdicts with per-condition values and citations, notifications."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

from api import db
from api.container import Container
from kb.events import MemorySink
from kb.settings import PROJECT_ROOT
from kb.store import create_engine
from policy.eligibility import Outcome, Verdict, parse_policy_terms
from policy.matching import (
    CatalogPolicy,
    Citation,
    MemoryEnterpriseProfiles,
    NotificationStore,
    PolicyError,
    PolicyMatchService,
    UnknownEnterpriseError,
    explain_matches,
    load_enterprise_profiles,
    load_policy_catalog,
    match_policy,
)

PROFILES = PROJECT_ROOT / "samples" / "profiles"
DAY = dt.date(2026, 11, 27)


def _module(name: str, path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def service(sample_container: Container, tmp_path: Path) -> tuple[PolicyMatchService, MemorySink]:
    """Matching over the read-only sample KB; notifications go to their own database in tmp_path."""
    engine = create_engine(f"sqlite:///{tmp_path / 'notifications.db'}")
    db.upgrade(engine)
    sink = MemorySink()
    profiles = load_enterprise_profiles(PROFILES)
    svc = PolicyMatchService(sample_container.kb.store, MemoryEnterpriseProfiles(profiles.values()),
                             NotificationStore(engine), sink)
    return svc, sink


# -- the profiles -------------------------------------------------------------------------------------------
@pytest.mark.unit
def test_synthetic_profiles_are_marked_valid_and_reproducible() -> None:
    lines = (PROFILES / "enterprises_synthetic.jsonl").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    assert len(records) >= 200
    assert all(r["synthetic"] is True and r["kind"] == "enterprise" and "示例" in r["name"] for r in records)
    assert len({r["id"] for r in records}) == len({r["uscc"] for r in records}) == len(records)
    checks = _module("make_checksums", PROFILES / "make_checksums.py")
    assert [r["uscc"] for r in records if checks.uscc_problems(r["uscc"])] == []
    districts = [r["registered_district"] for r in records]
    assert 0.55 < districts.count("松江区") / len(records) < 0.85 and len(set(districts)) >= 5
    generator = _module("make_synthetic_enterprises", PROFILES / "make_synthetic_enterprises.py")
    assert generator.dumps(generator.generate()) == "\n".join(lines) + "\n"  # the committed file is the script's


@pytest.mark.unit
def test_loader_reads_jsonl_and_yaml_as_flat_profiles_without_personal_data() -> None:
    profiles = load_enterprise_profiles(PROFILES)
    assert "e-syn-0001" in profiles and "e-demo-catering" in profiles
    catering = profiles["e-demo-catering"]
    assert catering["founded_on"] == dt.date(2018, 6, 1) and catering["qualifications"] == []
    assert not {"elicences", "legal_rep_id_number", "mobile", "legal_rep"} & set(catering)


@pytest.mark.unit
def test_loader_rejects_duplicates_and_bad_lines(tmp_path: Path) -> None:
    (tmp_path / "enterprises").mkdir()
    (tmp_path / "enterprises_synthetic.jsonl").write_text('{"id": "e-1"}\n{"id": "e-1"}\n', encoding="utf-8")
    with pytest.raises(PolicyError, match="duplicate enterprise id 'e-1'"):
        load_enterprise_profiles(tmp_path)
    (tmp_path / "enterprises_synthetic.jsonl").write_text('{"id": "e-1"\n', encoding="utf-8")
    with pytest.raises(PolicyError, match=r"enterprises_synthetic.jsonl:1: not valid JSON"):
        load_enterprise_profiles(tmp_path)


# -- the catalogue --------------------------------------------------------------------------------------------
@pytest.mark.integration
def test_catalog_holds_only_published_in_force_enterprise_policies(sample_container: Container) -> None:
    ids = {p.citation.item_id for p in load_policy_catalog(sample_container.kb.store, DAY)}
    assert {"policy-high-tech-award", "policy-stable-jobs-2024", "policy-training-subsidy"} <= ids
    assert "policy-stable-jobs-2021" not in ids  # retired
    assert "policy-export-credit-insurance-2021" not in ids  # expired 2024-01-01
    assert "policy-tech-renovation-2022" not in ids  # expired 2025-06-01
    assert "policy-elderly-allowance-standard" not in ids  # for 个人
    old = {p.citation.item_id for p in load_policy_catalog(sample_container.kb.store, dt.date(2023, 6, 1))}
    assert "policy-export-credit-insurance-2021" in old and "policy-g60-industry-support" not in old


# -- matching ---------------------------------------------------------------------------------------------
@pytest.mark.integration
def test_match_explains_every_verdict_with_citations(service: tuple[PolicyMatchService, MemorySink]) -> None:
    svc, _ = service
    report = svc.match_enterprise("e-sample-tech", DAY, notify=False)
    by_id = {m.policy_id: m for m in report.matches}
    assert len(by_id) == len(report.matches) >= 10
    # 闵行 high-tech: qualifies for city-wide policies, not for the 松江 ones
    assert by_id["policy-training-subsidy"].verdict == Outcome.ELIGIBLE
    assert by_id["policy-training-subsidy"].amount is not None
    assert by_id["policy-training-subsidy"].amount.value == 96000  # 120 employees x 800
    award = by_id["policy-high-tech-award"]
    assert award.verdict == Outcome.NOT_ELIGIBLE and award.mianshen
    district = next(n for n in award.conditions if n.field == "registered_district")
    assert (district.verdict, district.actual, district.expected) == (Verdict.NOT_MET, "闵行区", "松江区")
    assert award.citation.doc_number == "松府规〔2024〕3号" and award.citation.owner == "sj-kw"
    assert award.version == award.citation.version >= 1
    for m in report.matches:
        assert m.conditions and m.citation.item_id == m.policy_id
        assert all(n.kind != "condition" or n.label for n in m.conditions)
    verdicts = [m.verdict for m in report.matches]
    assert verdicts == sorted(verdicts, key=[Outcome.ELIGIBLE, Outcome.NEEDS_INFO, Outcome.NOT_ELIGIBLE].index)
    text = explain_matches(report)
    assert "policy-training-subsidy 第1版" in text and "沪人社规〔2024〕9号" in text


@pytest.mark.integration
def test_missing_profile_data_gives_needs_info_never_eligible(service: tuple[PolicyMatchService, MemorySink]) -> None:
    svc, _ = service
    sparse = {"id": "e-test-sparse", "registered_district": "松江区", "employees": 12}
    report = svc.match_profile(sparse, DAY, notify=False)
    by_id = {m.policy_id: m for m in report.matches}
    stable = by_id["policy-stable-jobs-2024"]  # needs founded_on, tax rating and tags, which are missing
    assert stable.verdict == Outcome.NEEDS_INFO
    assert set(stable.missing_fields) == {"age_years", "tax_credit_rating", "tags"}
    assert by_id["policy-g60-industry-support"].verdict == Outcome.NEEDS_INFO
    assert by_id["policy-disability-levy-reduction"].verdict == Outcome.ELIGIBLE  # 12 <= 30 decides the `any`
    assert report.notifications == ()  # notify=False writes nothing
    empty = svc.match_profile({"id": "e-test-empty"}, DAY, notify=False)
    assert all(m.verdict != Outcome.ELIGIBLE for m in empty.matches)


@pytest.mark.integration
def test_first_startup_subsidy_window(service: tuple[PolicyMatchService, MemorySink]) -> None:
    svc, _ = service
    base = {"id": "e-test-startup", "registered_district": "松江区", "employees": 3,
            "enterprise_type": "有限责任公司（自然人独资）"}

    def verdict(founded: str) -> Outcome:
        report = svc.match_profile(base | {"founded_on": founded}, DAY, notify=False)
        return next(m for m in report.matches if m.policy_id == "policy-first-startup-subsidy").verdict

    assert verdict("2026-01-01") == Outcome.NOT_ELIGIBLE  # not yet 满1年
    assert verdict("2024-11-27") == Outcome.ELIGIBLE
    assert verdict("2023-11-27") == Outcome.ELIGIBLE  # exactly 3 years
    assert verdict("2023-11-26") == Outcome.NOT_ELIGIBLE


@pytest.mark.integration
def test_mianshen_notifications_are_idempotent_and_announced(service: tuple[PolicyMatchService, MemorySink]) -> None:
    svc, sink = service
    first = svc.match_enterprise("e-demo-catering", DAY)
    eligible_mianshen = [m for m in first.matches if m.mianshen and m.verdict == Outcome.ELIGIBLE]
    assert eligible_mianshen, "the sample catering company should qualify for a 免申即享 policy"
    assert len(first.notifications) == len(first.created) == len(eligible_mianshen)
    stable = first.notification_for("policy-stable-jobs-2024", eligible_mianshen[0].version)
    assert stable is not None and stable.amount == 45 * 260  # {per: employees, rate: 260}
    events = [e for e in sink.events if e[0] == "policy.mianshen_notified"]
    assert len(events) == len(eligible_mianshen)
    assert events[0][2].startswith("e-demo-catering:policy-")
    again = svc.match_enterprise("e-demo-catering", DAY)
    assert again.created == () and {n.id for n in again.notifications} == {n.id for n in first.notifications}
    assert len([e for e in sink.events if e[0] == "policy.mianshen_notified"]) == len(eligible_mianshen)
    assert len(svc.notifications.list("e-demo-catering")) == len(eligible_mianshen)
    assert first.as_json()["notifications"][0]["new"] is True


@pytest.mark.integration
def test_match_all_and_unknown_enterprise(service: tuple[PolicyMatchService, MemorySink]) -> None:
    svc, _ = service
    reports = svc.match_all(DAY)
    assert len(reports) >= 200
    counts = {o: sum(m.verdict == o for r in reports for m in r.matches) for o in Outcome}
    assert all(counts[o] > 0 for o in Outcome)
    with pytest.raises(UnknownEnterpriseError, match="no enterprise profile 'e-nope'"):
        svc.match_enterprise("e-nope", DAY)


@pytest.mark.unit
def test_policies_without_usable_conditions_need_a_human() -> None:
    citation = Citation(item_id="policy-x", version=3, title="某政策", doc_number="某规〔2026〕1号", owner="sj-jw")
    bare = match_policy(CatalogPolicy(citation=citation, terms=parse_policy_terms({"mianshen": True})), {}, DAY)
    assert bare.verdict == Outcome.NEEDS_INFO and "人工核对" in (bare.note or "") and bare.conditions == ()
    broken = match_policy(CatalogPolicy(citation=citation, error="eligibility: unknown field 'x'"), {}, DAY)
    assert broken.verdict == Outcome.NEEDS_INFO and "unknown field 'x'" in (broken.note or "")
    assert broken.as_json()["citation"]["doc_number"] == "某规〔2026〕1号"
