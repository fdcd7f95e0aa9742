"""Scope by place and audience: a 方松街道 guide is not presented as applying to a 中山街道 resident."""

from __future__ import annotations

import pytest

from assistant.engine import Assistant
from assistant.models import Outcome
from assistant.scope import town_of

pytestmark = pytest.mark.integration
QUESTION = "老年综合津贴申领要带什么材料？"  # guide-elderly-allowance, owned by 方松街道


@pytest.mark.parametrize(("text", "town"), [
    ("上海市松江区方松街道示例路100弄1号101室", "方松街道"), ("松江区九亭镇社区事务受理服务中心", "九亭镇"),
    ("上海市松江区广富林街道样例路1200弄", "广富林街道"), ("江苏省徐州市泉山区示例街道样例路18号", "示例街道"),
    ("松江区人力资源和社会保障局", None),
])
def test_town_of_an_address_or_unit(text: str, town: str | None) -> None:
    assert town_of(text) == town


def _answer(assistant: Assistant, text: str, profile: str | None = None) -> tuple[str, list[str]]:
    r = assistant.turn(text, profile_id=profile)
    assert r.outcome == Outcome.ANSWERED, r.reply
    assert any(c.item_id == "guide-elderly-allowance" for c in r.citations), r.reply
    return r.reply, r.trace.rules


def test_other_town_resident_is_told_first(hash_assistant: Assistant) -> None:
    reply, rules = _answer(hash_assistant, QUESTION, "c-demo-sunqi")  # 户籍 中山街道
    first = reply.splitlines()[0]
    assert "只适用于方松街道" in first and "中山街道" in first and "社区事务受理服务中心" in first
    assert "scope.town:方松街道:other:中山街道" in rules


def test_same_town_resident_gets_the_answer_without_a_warning(hash_assistant: Assistant) -> None:
    reply, rules = _answer(hash_assistant, QUESTION, "c-sample-zhengshi")  # 户籍 方松街道
    assert "只适用于" not in reply and "适用于方松街道的居民" not in reply
    assert "scope.town:方松街道:same" in rules


def test_a_town_named_in_the_question_counts(hash_assistant: Assistant) -> None:
    reply, rules = _answer(hash_assistant, "我在九亭镇，" + QUESTION)
    assert reply.splitlines()[0].startswith("请注意") and "九亭镇" in reply.splitlines()[0]
    assert "scope.town:方松街道:other:九亭镇" in rules


def test_anonymous_answer_says_where_it_applies(hash_assistant: Assistant) -> None:
    reply, rules = _answer(hash_assistant, QUESTION)
    assert "适用于方松街道的居民" in reply
    assert reply.index("适用于方松街道的居民") < reply.index("来源：")
    assert "scope.town:方松街道:unknown" in rules


def test_english_question_is_answered_from_the_chinese_guide_honestly_labelled(hash_assistant: Assistant) -> None:
    r = hash_assistant.turn("How much does it cost to reissue a lost residence permit?")
    assert r.outcome == Outcome.ANSWERED
    assert [c.item_id for c in r.citations] == ["guide-residence-permit-reissue"]
    assert r.reply.startswith("This answer is quoted from the Chinese service guide")
    assert "fee 20 yuan" in r.reply and "20元" in r.reply  # the number in English is the guide's own
    assert "962288" in r.reply and "answer.english:quoted_chinese" in r.trace.rules


def test_english_question_without_an_answer_points_to_the_hotline(hash_assistant: Assistant) -> None:
    r = hash_assistant.turn("Can I get a yacht licence for my parrot here?")
    assert not r.citations and "962288" in r.reply and "Sorry" in r.reply


def test_key_facts_read_each_number_once() -> None:
    from assistant.english import key_facts
    assert key_facts("法定时限15个工作日；本区承诺1个工作日。不收费。") == [
        "legal time limit 15 working day(s)", "promised within 1 working day(s)", "free of charge"]
