"""Policy questions in chat beyond the list: "为什么不符合X" cites the failed conditions from the eligibility engine,
"如果人数到50人呢" re-runs matching on a copy of the profile (the stored one is untouched)."""

from __future__ import annotations

from pathlib import Path

import pytest

from api import db
from assistant.engine import Assistant
from assistant.models import Outcome
from assistant.policy_answer import failed_conditions, what_if_changes
from kb.store import create_engine
from policy.eligibility import Outcome as Verdict
from policy.matching import FileEnterpriseProfiles, NotificationStore, PolicyMatchService
from tests.assistant.conftest import SAMPLE_TODAY, make_assistant

pytestmark = pytest.mark.integration
ENTERPRISE = "e-demo-catering"


@pytest.fixture(scope="module")
def matcher(sample_container: object, tmp_path_factory: pytest.TempPathFactory) -> PolicyMatchService:
    engine = create_engine(f"sqlite:///{tmp_path_factory.mktemp('policy-why') / 'notifications.db'}")
    db.upgrade(engine)
    profiles = Path(sample_container.settings.samples_dir) / "profiles"  # type: ignore[attr-defined]
    return PolicyMatchService(sample_container.kb.store, FileEnterpriseProfiles(profiles),  # type: ignore[attr-defined]
                              NotificationStore(engine))


@pytest.fixture(scope="module")
def assistant(sample_container: object, matcher: PolicyMatchService,
              tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    return make_assistant(sample_container, tmp_path_factory.mktemp("assistant-why"), policies=matcher)


@pytest.mark.parametrize(("text", "expected"), [
    ("如果我们人数到50人呢", {"employees": 50}), ("假如公司搬到松江区会怎样", {"registered_district": "松江区"}),
    ("要是营业收入到3000万的话", {"revenue_wan": 3000}), ("我们有50个人", {}),
])
def test_what_if_changes_are_read(text: str, expected: dict[str, object]) -> None:
    assert what_if_changes(text) == expected


def test_why_not_names_the_failed_conditions(assistant: Assistant, matcher: PolicyMatchService) -> None:
    report = matcher.match_enterprise(ENTERPRISE, SAMPLE_TODAY, notify=False)
    failing = report.by_verdict(Verdict.NOT_ELIGIBLE)
    assert failing, "the sample enterprise should fail some policy"
    target = failing[0]
    r = assistant.turn(f"为什么我们不符合{target.title}？", profile_id=ENTERPRISE)
    assert r.outcome == Outcome.ANSWERED and any(x.startswith("policy.why_not:") for x in r.trace.rules)
    assert [(c.item_id, c.version) for c in r.citations] == [(target.policy_id, target.version)]
    assert "不符合以下条件" in r.reply and failed_conditions(target)
    for line in failed_conditions(target):
        assert line in r.reply
    general = assistant.turn("我们差在哪个条件？", profile_id=ENTERPRISE)
    assert {c.item_id for c in general.citations} <= {m.policy_id for m in failing}
    assert general.citations and "贵单位档案" in general.reply


def test_what_if_reruns_matching_without_touching_the_profile(assistant: Assistant,
                                                              matcher: PolicyMatchService) -> None:
    before = matcher.match_enterprise(ENTERPRISE, SAMPLE_TODAY, notify=False)
    profile = dict(matcher.profile(ENTERPRISE))
    for employees in (5, 500):
        r = assistant.turn(f"如果我们人数到{employees}人呢？", profile_id=ENTERPRISE)
        after = matcher.match_profile({**profile, "employees": employees}, SAMPLE_TODAY, notify=False)
        was = {m.policy_id: m.verdict for m in before.matches}
        changed = {m.policy_id for m in after.matches
                   if (m.verdict == Verdict.ELIGIBLE) != (was[m.policy_id] == Verdict.ELIGIBLE)}
        assert r.outcome == Outcome.ANSWERED and "仅为测算，档案未改动" in r.reply
        assert {c.item_id for c in r.citations} == changed
        assert all(p in r.reply for p in changed)
    assert dict(matcher.profile(ENTERPRISE)) == profile
    assert [m.verdict for m in matcher.match_enterprise(ENTERPRISE, SAMPLE_TODAY, notify=False).matches] == \
        [m.verdict for m in before.matches]


def test_citizens_get_no_policy_reasoning(assistant: Assistant) -> None:
    r = assistant.turn("为什么我不符合房租补贴？", profile_id="c-test-zhangsan")
    assert not any(x.startswith(("policy.why_not", "policy.what_if")) for x in r.trace.rules)
