"""Aspect-aware answers: the asked aspect read from everyday phrasing, the matching sections quoted whole in
the source's order with their own numbering, one citation per block, a first sentence that answers; near-miss
items named and asked about; 不知道 offers a hand-off and does not open one."""

from __future__ import annotations

import pytest

from assistant.answer import ExtractiveComposer
from assistant.answerability import Answerability, Calibration, Verdict
from assistant.aspects import Aspect, asks_fact, detect_aspects, general_question
from assistant.engine import Assistant
from assistant.matter_match import near_miss
from assistant.models import Outcome
from kb.models import Kind, ScoreParts, SearchHit

A = Aspect


@pytest.mark.unit
@pytest.mark.parametrize(("question", "aspects"), [
    ("居住证续签要带什么", (A.MATERIALS,)),
    ("多久能拿到", (A.TIME_LIMIT,)),
    ("老年综合津贴一个月多少钱", (A.AMOUNT,)),  # what one receives, not what one pays
    ("失业金能领多久", (A.AMOUNT,)),  # the benefit's duration, not the processing time
    ("结婚登记要交钱吗", (A.FEE,)),
    ("补办身份证要交多少钱", (A.FEE,)),
    ("在哪办", (A.PLACE,)),
    ("几点开门", (A.PLACE,)),
    ("能不能网上办", (A.ONLINE,)),  # not 条件: "能不能办" is a weak cue
    ("低保需要什么条件", (A.CONDITIONS,)),
    ("老年综合津贴怎么申请", (A.STEPS,)),
    ("身份证丢了怎么补办", (A.STEPS,)),
    ("失业保险金的法规依据是哪些", (A.BASIS,)),
    ("要带什么材料，要多久", (A.MATERIALS, A.TIME_LIMIT)),
    ("我想开个小饭馆", ()),
])
def test_aspects_from_everyday_phrasing(question: str, aspects: tuple[Aspect, ...]) -> None:
    assert detect_aspects(question) == aspects


@pytest.mark.unit
def test_fact_questions_and_status_questions() -> None:
    assert asks_fact("开个体户执照几天能拿到") and asks_fact("宝宝报户口要带什么")
    assert not asks_fact("我想办居住证，要带什么")  # wanting it done: the application starts
    assert not asks_fact("开店一件事，营业执照已经办好了")  # "办好" alone is a weak cue
    assert general_question("低保申请多久有结果") and general_question("办个体户执照到哪个窗口")
    assert not general_question("我的申请到哪一步了") and not general_question("审到哪一步了")


def hit(section: str, text: str, idx: int, item: str = "guide-x", kind: Kind = Kind.GUIDE) -> SearchHit:
    return SearchHit(chunk_id=f"{item}:3:{idx}", item_id=item, version=3, kind=kind, title="测试事项", owner="sj-scjgj",
                     section=section, text=f"测试事项｜{section}：{text}", score=0.5, parts=ScoreParts(fused=0.5),
                     content_hash="h")


# chunking splits after ；and packs sentences with line breaks: the composer re-assembles the list items
ITEM = [
    hit("申请条件", "1. 本市户籍。\n2. 按年龄段享受不同标准：\n- 65至69周岁：每人每月75元；\n- 70至79周岁：每人每月150元。", 1),
    hit("申请材料", "1. 本人身份证原件（电子证照可替代）。\n2. 户口簿原件。\n3. 单位变更的，提交新的劳动合同；\n未变更的免交。", 2),
    hit("申请材料", "4. 《测试申请表（样表）》原件1份。\n5. 家属代办的，提交代办人身份证原件。", 3),
    hit("办理流程", "1. 申请：本人到窗口申请。\n2. 审核：核定领取期限和标准。\n3. 发放：按月发放。", 4),
    hit("办理时限", "法定时限15个工作日；\n本区承诺1个工作日。", 10),
    hit("收费标准", "不收费。", 11),
    hit("办理地点", "松江区行政服务中心（荣乐东路2377号）。", 12),
    hit("咨询电话", "021-12345", 13),
]


@pytest.mark.unit
def test_a_list_answer_keeps_source_order_numbering_and_one_citation() -> None:
    shuffled = [ITEM[3], ITEM[2], ITEM[0], ITEM[1], ITEM[4]]  # retrieval order is not the source's order
    a = ExtractiveComposer().compose_item([A.MATERIALS], shuffled)
    lines = a.text.splitlines()
    assert lines[0].startswith("办理测试事项需要准备本人身份证原件、户口簿原件、《测试申请表（样表）》等材料")
    numbered = [x for x in lines if x[:2] in {"1.", "2.", "3.", "4.", "5."}]
    assert [x[:2] for x in numbered] == ["1.", "2.", "3.", "4.", "5."]
    assert "3. 单位变更的，提交新的劳动合同；未变更的免交。" in lines  # one item, not two fragments
    body = a.text.split("来源：")[0]
    assert body.count("[1]") == 1 and numbered[-1].endswith("[1]")
    assert [c.item_id for c in a.citations] == ["guide-x"] and "guide-x v3" in a.text


@pytest.mark.unit
def test_first_sentence_answers_directly() -> None:
    c = ExtractiveComposer()
    assert c.compose_item([A.TIME_LIMIT], ITEM).text.startswith("测试事项的办理时限：法定时限15个工作日；本区承诺1个工作日。[1]")
    assert c.compose_item([A.FEE], ITEM).text.startswith("测试事项的收费：不收费。")
    amount = c.compose_item([A.AMOUNT], ITEM).text
    assert amount.startswith("测试事项的发放标准：按年龄段享受不同标准：65至69周岁：每人每月75元；70至79周岁：每人每月150元。")
    assert "核定" not in amount  # a step saying a standard is set is not the standard
    steps = c.compose_item([A.STEPS], ITEM).text
    assert steps.startswith("测试事项的办理流程：申请 → 审核 → 发放。")
    hours = c.compose_item([A.PLACE], ITEM, hours=True).text
    assert hours.startswith("办事指南没有写窗口开放时间") and "021-12345" in hours
    two = c.compose_item([A.MATERIALS, A.TIME_LIMIT], ITEM)
    blocks = two.text.split("来源：")[0]
    assert len(two.statements) == 2 and blocks.count("[1]") == 2  # one citation per block, not per line
    assert "5. 家属代办的，提交代办人身份证原件。[1]" in blocks


@pytest.mark.unit
def test_near_miss_between_look_alike_matters() -> None:
    miss = near_miss("个体户注销要多久", "企业简易注销登记")
    assert miss is not None and (miss.asked, miss.found) == ("个体工商户", "企业")
    assert near_miss("公司注销要多久", "企业简易注销登记") is None
    assert near_miss("公租房怎么申请", "住房公积金提取（租赁住房）") is not None
    assert near_miss("租公租房能提取公积金吗", "住房公积金提取（租赁住房）") is None  # names both: not decisive
    assert near_miss("居住证续签要带身份证吗", "上海市居住证签注（续签）") is None


@pytest.mark.unit
def test_answerability_thresholds() -> None:
    judge = Answerability(Calibration(weights=(0.0, 4.0, 4.0, 0.0), bias=-4.0, answer=0.6, clarify=0.35))
    hits = [hit("办理时限", "法定时限15个工作日。", 10, item="guide-medical-device-filing").model_copy(
        update={"title": "第二类医疗器械经营备案"})]
    assert judge.decide("第二类医疗器械经营备案要多久", hits).verdict == Verdict.ANSWER
    assert judge.decide("护照在哪里办", hits).verdict == Verdict.UNKNOWN
    assert judge.decide("第二类医疗器械经营备案要多久", hits, out_of_scope=True).verdict == Verdict.UNKNOWN
    assert judge.decide("随便问问", []).verdict == Verdict.UNKNOWN


# -- end to end, real embedder: these are about retrieval and the calibration fitted for it ---------------
@pytest.mark.e2e
def test_answers_through_the_assistant(real_assistant: Assistant) -> None:
    r = real_assistant.turn("身份证换领要多久")
    assert r.outcome == Outcome.ANSWERED and "15个工作日" in r.reply.splitlines()[0]
    assert "要带什么材料？" in [c.label for c in r.choices]  # related aspects offered
    r = real_assistant.turn("个体户注销要多久")  # only a 企业 guide: named and asked, not answered
    assert r.outcome == Outcome.CLARIFYING and not r.citations and "企业简易注销登记" in r.reply
    assert {c.value for c in r.choices} >= {"转人工"}
    r = real_assistant.turn("第二类医疗器械经营备案怎么办")  # a guide with no matter in the catalogue
    assert r.outcome == Outcome.ANSWERED and [c.item_id for c in r.citations] == ["guide-medical-device-filing"]
    r = real_assistant.turn("护照在松江哪里办")
    assert r.outcome == Outcome.ANSWERED and "不知道" in r.reply and not r.citations
    assert r.handoff_id is None and [c.value for c in r.choices] == ["转人工"]
    after = real_assistant.turn("转人工", session_id=r.session_id)
    assert after.outcome == Outcome.HANDED_OFF and after.handoff_id
