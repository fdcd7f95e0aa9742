"""政策计算器 in the chat: an enterprise session asking which policies it can enjoy gets the matching results."""

from __future__ import annotations

from pathlib import Path

import pytest

from api import db
from assistant.engine import Assistant
from assistant.models import Outcome
from assistant.policy_answer import asks_for_policies
from kb.store import create_engine
from policy.eligibility import FIELD_LABELS
from policy.eligibility import Outcome as Verdict
from policy.matching import (
    FileEnterpriseProfiles,
    MemoryEnterpriseProfiles,
    NotificationStore,
    PolicyMatchService,
    load_enterprise_profiles,
)
from tests.assistant.conftest import SAMPLE_TODAY, make_assistant

pytestmark = pytest.mark.integration
ENTERPRISE = "e-demo-catering"  # samples/profiles/enterprises/e-demo-catering.yaml


@pytest.fixture(scope="module")
def matcher(sample_container: object, tmp_path_factory: pytest.TempPathFactory) -> PolicyMatchService:
    engine = create_engine(f"sqlite:///{tmp_path_factory.mktemp('policy-chat') / 'notifications.db'}")
    db.upgrade(engine)  # notifications off the shared, read-only sample store
    profiles = Path(sample_container.settings.samples_dir) / "profiles"  # type: ignore[attr-defined]
    return PolicyMatchService(sample_container.kb.store, FileEnterpriseProfiles(profiles),  # type: ignore[attr-defined]
                              NotificationStore(engine))


@pytest.fixture(scope="module")
def policy_assistant(sample_container: object, matcher: PolicyMatchService,
                     tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    return make_assistant(sample_container, tmp_path_factory.mktemp("assistant-policy"), policies=matcher)


@pytest.mark.parametrize(("text", "expected"), [
    ("我们公司能享受哪些政策？", True), ("我们符合哪些补贴条件", True), ("有没有免申即享的政策", True),
    ("可以享受什么扶持", True), ("稳岗补贴怎么申请", False), ("我想开个小饭馆", False),
])
def test_policy_questions_are_recognised(text: str, expected: bool) -> None:
    assert asks_for_policies(text) is expected


def test_enterprise_asks_which_policies_it_can_enjoy(policy_assistant: Assistant, matcher: PolicyMatchService) -> None:
    report = matcher.match_enterprise(ENTERPRISE, SAMPLE_TODAY, notify=False)
    eligible, needs = report.by_verdict(Verdict.ELIGIBLE), report.by_verdict(Verdict.NEEDS_INFO)
    assert eligible or needs, "the sample enterprise should match something"

    r = policy_assistant.turn("我们公司能享受哪些政策？", profile_id=ENTERPRISE)
    assert r.outcome == Outcome.ANSWERED
    assert any(rule.startswith("policy.match:") for rule in r.trace.rules)
    cited = [(c.item_id, c.version) for c in r.citations]
    assert cited == [(m.policy_id, m.version) for m in [*eligible, *needs]]  # eligible first, then needs-info
    for m in eligible:
        assert m.policy_id in r.reply and f"第{m.version}版" in r.reply
        if m.citation.doc_number:
            assert m.citation.doc_number in r.reply  # 文号
    if eligible and needs:
        assert r.reply.index(eligible[-1].policy_id) < r.reply.index(needs[0].policy_id)
    for m in needs:
        assert "需补充" in r.reply and m.policy_id in r.reply
    not_eligible = report.by_verdict(Verdict.NOT_ELIGIBLE)
    assert all(m.policy_id not in cited for m in not_eligible)


def test_citizens_and_assistants_without_a_matcher_are_unchanged(policy_assistant: Assistant,
                                                                 hash_assistant: Assistant) -> None:
    citizen = policy_assistant.turn("我能享受哪些政策？", profile_id="c-test-zhangsan")
    assert not any(rule.startswith("policy.match:") for rule in citizen.trace.rules)
    plain = hash_assistant.turn("我们公司能享受哪些政策？", profile_id=ENTERPRISE)
    assert not any(rule.startswith("policy.match:") for rule in plain.trace.rules)


def test_missing_profile_fields_are_named_as_needs_information(sample_container: object,
                                                               tmp_path_factory: pytest.TempPathFactory) -> None:
    home = tmp_path_factory.mktemp("policy-needs-info")
    engine = create_engine(f"sqlite:///{home / 'notifications.db'}")
    db.upgrade(engine)
    profiles = load_enterprise_profiles(Path(sample_container.settings.samples_dir) / "profiles")  # type: ignore[attr-defined]
    partial = {k: v for k, v in profiles[ENTERPRISE].items() if k not in ("employees", "tax_credit_rating")}
    matcher = PolicyMatchService(sample_container.kb.store, MemoryEnterpriseProfiles([partial]),  # type: ignore[attr-defined]
                                 NotificationStore(engine))
    needs = matcher.match_enterprise(ENTERPRISE, SAMPLE_TODAY, notify=False).by_verdict(Verdict.NEEDS_INFO)
    assert needs, "dropping employees and tax credit rating should leave some policies undecided"
    r = make_assistant(sample_container, home, policies=matcher).turn("我们能享受哪些补贴？", profile_id=ENTERPRISE)
    assert r.outcome == Outcome.ANSWERED and "还需补充信息" in r.reply
    for m in needs:
        line = next(x for x in r.reply.splitlines() if m.policy_id in x)
        assert all(FIELD_LABELS.get(f, f) in line for f in m.missing_fields), line
    assert {(m.policy_id, m.version) for m in needs} <= {(c.item_id, c.version) for c in r.citations}
