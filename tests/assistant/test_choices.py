"""Free replies to a shown choice, as residents give them (assistant/choices.py), and English service words."""

from __future__ import annotations

import pytest

from assistant.choices import OptionText, expanded, pick
from assistant.english import gloss_english

UNIT = [OptionText("单位未变", ("没换工作", "还在原单位", "没变")), OptionText("换了单位", ("换工作", "跳槽", "新单位"))]
ADDRESS = [OptionText("地址未变", ("没搬", "没变", "一样")), OptionText("已搬家，地址有变化", ("搬家了", "换了地方"))]
MARRIAGE = [OptionText("初婚", ("第一次", "初婚", "没结过")), OptionText("离婚后再婚", ("离过婚", "再婚", "二婚")),
            OptionText("丧偶后再婚", ("丧偶", "去世", "走了"))]
WHO = [OptionText("本人办理", ("我自己", "本人")), OptionText("委托他人代办", ("代办", "委托", "帮我办"))]
HOUSEHOLD = [OptionText("单人户", ("一个人", "独居")), OptionText("多人家庭", ("一家", "全家"))]
VEHICLES = [OptionText("已购置车辆", ("已经买了", "有车")), OptionText("拟购置车辆", ("准备买", "还没买"))]
SICK = [OptionText("没有", ("没有", "都健康")), OptionText("有重残或重病人员", ("残疾", "重病", "大病"))]
LEAVING = [OptionText("劳动合同期满终止", ("合同到期",)), OptionText("单位解除或裁员", ("被辞退", "裁员")),
           OptionText("本人主动辞职", ("我辞职", "辞职"))]
SEALS = [OptionText(x) for x in ("全套（公章、财务专用章、发票专用章、合同专用章、法定代表人名章）", "仅公章", "仅财务专用章", "其他")]
BASE = [OptionText(x) for x in ("缴费基数下限", "社会平均工资", "缴费基数上限", "其他（在上下限之间自选）")]
PICKUP = [OptionText("窗口领取"), OptionText("邮寄到家")]


@pytest.mark.parametrize(("text", "options", "expected"), [
    # unchanged / changed, said without the option's words
    ("还在原来那家上班", UNIT, "单位未变"), ("单位没换", UNIT, "单位未变"), ("还是老单位", UNIT, "单位未变"),
    ("工作换了", UNIT, "换了单位"), ("去年跳到另一家公司了", UNIT, "换了单位"),
    ("住的地方没动", ADDRESS, "地址未变"), ("还住老地方", ADDRESS, "地址未变"), ("搬过一次家", ADDRESS, "已搬家，地址有变化"),
    ("搬了，搬到泗泾镇样例路88弄8号", ADDRESS, "已搬家，地址有变化"), ("没搬家", ADDRESS, "地址未变"),
    # near-synonyms
    ("我们俩都是头婚", MARRIAGE, "初婚"), ("她前夫去世了", MARRIAGE, "丧偶后再婚"), ("我亲自去", WHO, "本人办理"),
    ("我自己来", WHO, "本人办理"), ("最低那档", BASE, "缴费基数下限"),
    # a negated keyword counts against its option
    ("不是我自己辞职的！是公司裁的", LEAVING, "单位解除或裁员"), ("家里没有重病的", SICK, "没有"),
    ("不要全套，只要公章", SEALS, "仅公章"), ("不要邮寄，我自己去窗口拿", PICKUP, "窗口领取"),
    # done / planned, one / several
    ("车都买好了", VEHICLES, "已购置车辆"), ("车还没买呢", VEHICLES, "拟购置车辆"),
    ("我跟我妈两个人一起过", HOUSEHOLD, "多人家庭"), ("三口人", HOUSEHOLD, "多人家庭"), ("就我一个", HOUSEHOLD, "单人户"),
    # nothing decisive: asked again, never guessed
    ("我是二婚她是头婚", MARRIAGE, None), ("随便", UNIT, None), ("嗯", WHO, None),
])
def test_free_replies_pick_the_option_meant(text: str, options: list[OptionText], expected: str | None) -> None:
    assert pick(text, options) == expected


def test_ordinals_pick_by_position_only_when_the_reply_is_an_ordinal() -> None:
    assert pick("第二个", MARRIAGE, ordinal_text="2") == "离婚后再婚"
    assert pick("3", MARRIAGE, ordinal_text="3") == "丧偶后再婚"
    assert pick("9", MARRIAGE, ordinal_text="9") is None


def test_a_negated_part_of_a_keyword_does_not_bring_its_opposite() -> None:
    # 没换工作 must not pull in the 换工作 group (which would rule out its own option)
    words = expanded(("没换工作",))
    assert "跳槽" not in words and "没换" in words


@pytest.mark.parametrize(("text", "expected"), [
    ("Hi，我想renew一下我的居住证，it expires next month", "Hi，我想续签一下我的居住证，it 到期 下个月"),
    ("How much is the Elderly Allowance per month?", "多少钱 is the 老年综合津贴 每月?"),
    ("我的ID card丢了", "我的身份证丢了"),
    ("renewal不是rental", "续签不是租赁"),
    ("张三 Zhang San 你好", "张三 Zhang San 你好"),  # names and other words stay
])
def test_english_service_words_are_read_as_the_chinese_terms(text: str, expected: str) -> None:
    assert gloss_english(text) == expected
