"""Output rails: citations live / in force / retrieved, numbers grounded, forbidden terms, fail closed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from guardrails.numbers import Fact, numeric_facts
from guardrails.output_rails import AnswerContext, OutputRails
from guardrails.rules import RuleHit, RuleVerdict
from kb.lifecycle import ItemDraft
from kb.models import Kind, Level, LiveVersion, ScoreParts, SearchHit
from kb.runtime import KnowledgeBase

AS_OF = dt.date(2025, 6, 1)
SOURCE = "办理时限：承诺时限十五个工作日。收费标准：工本费20元。自2024年1月1日起施行。"


def hit(item: str = "guide-dibao", version: int = 2, text: str = SOURCE) -> SearchHit:
    return SearchHit(chunk_id=f"{item}:{version}:0", item_id=item, version=version, kind=Kind.GUIDE, title="低保办理指南",
                     owner="sj-mzj", section="办理时限", text=text, score=1.0, parts=ScoreParts(), content_hash="h")


def live(item: str = "guide-dibao", version: int = 2, effective: dt.date = dt.date(2024, 1, 1),
         expires: dt.date | None = None) -> LiveVersion:
    return LiveVersion(item_id=item, version=version, kind=Kind.GUIDE, title="低保办理指南", owner="sj-mzj",
                       level=Level.DISTRICT, audience=(), tags=(), effective_from=effective, expires_at=expires,
                       content_hash="h")


@pytest.fixture
def rails() -> OutputRails:
    return OutputRails()


@pytest.mark.unit
def test_grounded_answer_passes(rails: OutputRails) -> None:
    v = rails.check("承诺时限15个工作日，工本费20元，2024年1月1日起施行。[guide-dibao v2]",
                    [("guide-dibao", 2)], [hit()], {"guide-dibao": live()}, AS_OF)
    assert v.passed and v.message is None and not v.reasons
    assert {h.id for h in v.rules} >= {"out.citation.live", "out.numbers.grounded", "out.terms.forbidden"}


@pytest.mark.unit
@pytest.mark.parametrize("answer", ["承诺时限10个工作日。", "工本费30元。", "自2024年2月1日起施行。", "收费两万元。"])
def test_uncited_number_is_withheld(rails: OutputRails, answer: str) -> None:
    v = rails.check(answer, [("guide-dibao", 2)], [hit()], {"guide-dibao": live()}, AS_OF)
    assert not v.passed and v.message and any("out.numbers.grounded@1" in r for r in v.reasons)
    assert v.ungrounded


@pytest.mark.unit
def test_numbers_from_uncited_hits_do_not_count(rails: OutputRails) -> None:
    other = hit("guide-other", 1, "收费30元。")
    v = rails.check("收费30元。", [("guide-dibao", 2)], [hit(), other],
                    {"guide-dibao": live(), "guide-other": live("guide-other", 1)}, AS_OF)
    assert not v.passed and v.ungrounded == ("30元",)


@pytest.mark.unit
def test_extra_sources_ground_citizen_values(rails: OutputRails) -> None:
    v = rails.check("您家3人，承诺时限15个工作日。", [("guide-dibao", 2)], [hit()], {"guide-dibao": live()}, AS_OF,
                    extra_sources=["家里3人"])
    assert v.passed, v.reasons


@pytest.mark.unit
def test_retired_citation_is_withheld(rails: OutputRails) -> None:
    v = rails.check("承诺时限15个工作日。", [("guide-dibao", 2)], [hit()], {}, AS_OF)
    assert not v.passed and any("out.citation.live@1" in r and "not published" in r for r in v.reasons)


@pytest.mark.unit
def test_superseded_version_is_withheld(rails: OutputRails) -> None:
    v = rails.check("承诺时限15个工作日。", [("guide-dibao", 2)], [hit()], {"guide-dibao": live(version=3)}, AS_OF)
    assert not v.passed and any("live version is v3" in r for r in v.reasons)


@pytest.mark.unit
def test_not_in_force_is_withheld(rails: OutputRails) -> None:
    lv = live(effective=dt.date(2024, 1, 1), expires=dt.date(2025, 1, 1))
    v = rails.check("承诺时限15个工作日。", [("guide-dibao", 2)], [hit()], {"guide-dibao": lv}, AS_OF)
    assert not v.passed and any("out.citation.in_force@1" in r for r in v.reasons)


@pytest.mark.unit
def test_not_retrieved_citation_is_withheld(rails: OutputRails) -> None:
    v = rails.check("承诺时限15个工作日。", [("guide-dibao", 2), ("guide-x", 1)], [hit()],
                    {"guide-dibao": live(), "guide-x": live("guide-x", 1)}, AS_OF)
    assert not v.passed and any("guide-x v1 was not retrieved" in r for r in v.reasons)


@pytest.mark.unit
def test_answer_without_citation_is_withheld(rails: OutputRails) -> None:
    v = rails.check("可以办理。", [], [hit()], {"guide-dibao": live()}, AS_OF)
    assert not v.passed and any("out.citation.present@1" in r for r in v.reasons)


@pytest.mark.unit
def test_forbidden_terms(rails: OutputRails) -> None:
    v = rails.check("放心，保证通过。", [("guide-dibao", 2)], [hit()], {"guide-dibao": live()}, AS_OF)
    assert not v.passed and any("保证通过" in r for r in v.reasons)


class Exploding:
    id, version = "test.explodes", 1

    def check(self, ctx: AnswerContext) -> list[RuleHit]:
        raise RuntimeError("boom")


class BrokenLive(Mapping[str, LiveVersion]):
    """A live-version source whose backing store fails (e.g. the database went away)."""

    def __getitem__(self, key: str) -> LiveVersion:
        raise ConnectionError("store unavailable")

    def __iter__(self) -> Iterator[str]:
        raise ConnectionError("store unavailable")

    def __len__(self) -> int:
        return 1


@pytest.mark.unit
def test_a_rule_that_raises_fails_closed() -> None:
    v = OutputRails(rules=[Exploding()]).check("好的。", [("guide-dibao", 2)], [hit()], {}, AS_OF)
    assert not v.passed and v.message
    assert v.rules[0].verdict == RuleVerdict.ERROR and "boom" in v.reasons[0] and "failed closed" in v.reasons[0]


@pytest.mark.unit
def test_builtin_rule_fails_closed_when_its_source_fails(rails: OutputRails) -> None:
    v = rails.check("承诺时限15个工作日。", [("guide-dibao", 2)], [hit()], BrokenLive(), AS_OF)
    assert not v.passed and any("ConnectionError" in r for r in v.reasons)


@pytest.mark.unit
def test_malformed_inputs_fail_closed(rails: OutputRails) -> None:
    bad: Any = [("guide-dibao", "two")]
    v = rails.check("好的。", bad, [hit()], {}, AS_OF)
    assert not v.passed and v.reasons[0].startswith("out.inputs@1 raised")


@pytest.mark.unit
@pytest.mark.parametrize(
    ("text", "facts"),
    [
        ("十五个工作日", {Fact("15", "工作日")}),
        ("15天", {Fact("15", "日")}),
        ("两万元", {Fact("20000", "元")}),
        ("2万元", {Fact("20000", "元")}),
        ("1,000元", {Fact("1000", "元")}),
        ("百分之五十", {Fact("50", "%")}),
        ("二〇二四年一月一日", {Fact("2024-01-01", "date")}),
        ("2024-01-01", {Fact("2024-01-01", "date")}),
        ("一次性告知，统一办理，一网通办", set()),
        ("1. 申请书\n2. 身份证", set()),
        ("依据第十条", {Fact("10", "条")}),
    ],
)
def test_numeric_facts(text: str, facts: set[Fact]) -> None:
    assert numeric_facts(text) == facts


@pytest.mark.integration
def test_with_the_real_knowledge_service(kb: KnowledgeBase, make_draft: Any, admin: Any) -> None:
    """Publish, retrieve, answer; then retire the item: the same answer is withheld."""
    draft: ItemDraft = make_draft(item_id="guide-rail-test", sections={
        "申请条件": "年满18周岁。", "申请材料": "身份证。", "办理流程": "网上申请。", "办理时限": "承诺时限3个工作日。",
        "收费标准": "不收费。", "设定依据": "《测试条例》。"})
    v1 = kb.service.propose(draft, admin)
    kb.service.publish_direct(draft.id, v1.number, admin)
    kb.retriever.refresh(force=True)
    hits = kb.retriever.search("测试事项办理时限", top_k=5)
    assert any(h.item_id == draft.id for h in hits)
    rails = OutputRails()
    answer = "承诺时限3个工作日。"
    ok = rails.check(answer, [(draft.id, 1)], hits, kb.store.live_versions(), dt.date(2025, 1, 1))
    assert ok.passed, ok.reasons
    kb.service.retire(draft.id, admin, "测试退出")
    after = rails.check(answer, [(draft.id, 1)], hits, kb.store.live_versions(), dt.date(2025, 1, 1))
    assert not after.passed and any("not published" in r for r in after.reasons)
