"""Conversations as residents have them (issue #12), through the production wiring: status queries,
negation, other people's details, "没变", ID typos. Written from what people said, not from the extractor."""

from __future__ import annotations

import pytest

from assistant.engine import Assistant
from assistant.models import Outcome, TurnResult
from tests.assistant.test_safety import say

pytestmark = pytest.mark.e2e


def slots(r: TurnResult) -> dict[str, object]:
    return {s.name: s.value for s in r.slots}


def test_asking_for_progress_never_starts_an_application(real_assistant: Assistant) -> None:
    [r] = say(real_assistant, ["我的申请到哪一步了"])
    assert r.outcome == Outcome.ANSWERED and r.matter is None and r.application is None
    assert "没有查到" in r.reply and "转人工" in r.reply


def test_progress_after_submitting_names_the_matter_and_a_chinese_status(real_assistant: Assistant) -> None:
    turns = say(real_assistant, ["居住证快到期了帮我续签", "没搬家", "没换工作", "同意", "确认提交", "审到哪一步了"],
                profile="c-test-wujiu")
    assert turns[4].outcome == Outcome.SUBMITTED
    last = turns[-1]
    assert last.outcome == Outcome.ANSWERED and last.application is None
    assert "上海市居住证签注（续签）" in last.reply and turns[4].application.id in last.reply  # type: ignore[union-attr]
    assert "submitted" not in last.reply and "awaiting" not in last.reply


def test_not_this_matter_but_that_one(real_assistant: Assistant) -> None:
    [r] = say(real_assistant, ["不是低保！我想开个小店，帮我办登记吧"], profile="c-test-zhangsan")
    assert r.matter is None or r.matter.id != "m-dibao"
    assert "低保" not in r.reply.split("。")[0]


def test_a_partners_details_fill_the_partners_fields_only(real_assistant: Assistant) -> None:
    turns = say(real_assistant, ["我要和女朋友去领结婚证", "内地居民", "同意", "她叫张晓雨，她身份证110101199003074477"],
                profile="c-sample-heqiang")
    own = slots(turns[2])
    now = slots(turns[-1])
    assert now.get("partner_name") == "张晓雨"
    assert now.get("id_number") == own.get("id_number") and now.get("name") == own.get("name")


def test_a_wrong_check_digit_asks_to_recheck_and_is_not_refused(real_assistant: Assistant) -> None:
    turns = say(real_assistant, ["居住证快到期了帮我续签", "没搬家", "没换工作", "同意", "身份证号码改成110101199003070000"],
                profile="c-test-wujiu")
    last = turns[-1]
    assert last.outcome == Outcome.AWAITING_CONFIRMATION and "校验位不正确" in last.reply
    assert slots(last)["id_number"] == slots(turns[3])["id_number"]


def test_follow_up_questions_stay_on_the_matter_just_answered(real_assistant: Assistant) -> None:
    first, amount, how_long, other = say(real_assistant, ["老年综合津贴怎么申请", "一个月多少钱", "要多久", "社保卡丢了怎么补"],
                                         profile="c-test-zhouba")
    assert first.matter and first.matter.id == "m-elderly-allowance"
    assert amount.outcome == Outcome.ANSWERED and "每月75元" in amount.reply and "不收费" not in amount.reply
    assert how_long.outcome == Outcome.ANSWERED and "5个工作日" in how_long.reply  # a question, not a "要" to start
    assert other.outcome == Outcome.ANSWERED and "社会保障卡" in other.reply  # a new matter named: it moves on


def test_a_bundle_skips_a_step_whose_certificate_is_already_held(real_assistant: Assistant) -> None:
    [r] = say(real_assistant, ["宝宝出生了要办哪些证，一起办"], profile="c-sample-wangfang")
    assert r.matter and r.matter.id == "m-hukou-birth-registration"  # 出生医学证明 is in her e-licences
    assert "已跳过" in r.reply and "bundle.skip:m-birth-medical-cert:elicence" in r.trace.rules


@pytest.mark.parametrize(("text", "matter"), [
    ("开店一件事，营业执照已经办好了", "m-food-business-license"),
    ("开店一件事，从户外招牌开始办", "m-shop-sign"),
])
def test_a_bundle_starts_where_the_person_is(real_assistant: Assistant, text: str, matter: str) -> None:
    [r] = say(real_assistant, [text], profile="c-test-zhangsan")
    assert r.matter and r.matter.id == matter and r.outcome == Outcome.COLLECTING


def test_a_licence_not_issued_yet_is_pending_not_a_loop(real_assistant: Assistant) -> None:
    turns = say(real_assistant, [
        "我想开个小饭馆，个体执照、食品许可、招牌一起办", "租的门面", "本人办理", "同意", "上海松江测试面馆",
        "经营场所地址是上海市松江区方松街道样例路5号101室，面积35平方米", "餐饮服务", "确认提交", "继续办理",
        "餐饮，现场炒菜", "还没有，营业执照还没下来", "3个人", "热食类食品制售", "确认提交"], profile="c-test-zhangsan")
    pending = turns[10]
    assert "工作人员补充" in pending.reply and "统一社会信用代码" in pending.reply
    assert {s.name: s.source.kind.value for s in pending.slots}["uscc"] == "pending"
    last = turns[-1]
    assert last.outcome == Outcome.SUBMITTED and last.application is not None
    assert last.application.status == "awaiting_staff_review"  # staff complete the pending value


def test_saying_a_step_is_done_mid_bundle_moves_on(real_assistant: Assistant) -> None:
    turns = say(real_assistant, ["开店一件事", "这一项已经办好了"], profile="c-test-zhangsan")
    assert turns[0].matter and turns[0].matter.id == "m-individual-business-reg"
    assert turns[1].matter and turns[1].matter.id == "m-food-business-license" and "本人声明" in turns[1].reply


def test_a_migrant_worker_typing_fast_with_typos_two_requests_and_venting(real_assistant: Assistant) -> None:
    """小刘 on his phone: typos (居主证, 续前, 社宝卡), two requests in one message, a non-choice answer, venting,
    a new address that must not overwrite the registered one."""
    turns = say(real_assistant, [
        "我居主证快到期了要续前 还有社宝卡丢了要补办", "搬家了", "换了工作", "同意",
        "新地址是松江区泗泾镇泗宝路88弄5号302室", "你们这什么破系统 说人话"], profile="c-test-wujiu")
    first, moved, _, consent, address, vent = turns
    assert first.matter and first.matter.id == "m-residence-permit-renew"
    assert "社会保障卡" in first.reply and "identify.queued:m-social-security-card" in first.trace.rules
    assert moved.outcome == Outcome.COLLECTING and moved.matter and moved.matter.id == "m-residence-permit-renew"
    registered = slots(consent)["address"]
    assert slots(address)["address"] == registered  # the registered address is kept
    assert slots(address)["new_address"] == "松江区泗泾镇泗宝路88弄5号302室"
    assert vent.outcome != Outcome.REFUSED and "抱歉让您着急了" in vent.reply and "我们继续办理" in vent.reply


@pytest.mark.parametrize("text", ["同意", "好的", "1"])
def test_a_bare_yes_or_number_never_starts_a_matter(real_assistant: Assistant, text: str) -> None:
    [r] = say(real_assistant, [text])
    assert r.matter is None and r.outcome == Outcome.ANSWERED and "想办理或咨询的事项" in r.reply


def test_shanghainese_granny_asks_for_her_husband(real_assistant: Assistant) -> None:
    turns = say(real_assistant, ["侬好 阿拉老头子72岁了 伊好领老年综合津贴伐", "一个月多少钞票", "哪能办"])
    assert all(t.outcome == Outcome.ANSWERED for t in turns), [t.reply[:40] for t in turns]
    assert turns[0].matter and turns[0].matter.id == "m-elderly-allowance"
    assert "每月150元" in turns[1].reply  # 70-79周岁
    assert "申请" in turns[2].reply


def test_a_rude_but_real_question_is_answered(real_assistant: Assistant) -> None:
    [r] = say(real_assistant, ["你们这帮废物，我就想问社保卡怎么补"])
    assert r.outcome == Outcome.ANSWERED and "抱歉让您着急了" in r.reply and "社会保障卡" in r.reply


@pytest.mark.unit
@pytest.mark.parametrize(("typed", "meant"), [
    ("我居主证快到期了要续前", "我居住证快到期了要续签"), ("社宝卡丢了", "社保卡丢了"), ("营业执招怎么办", "营业执照怎么办"),
    ("暂不办理", "暂不办理"), ("不办了", "不办了"), ("我叫王居住", "我叫王居住"),
])
def test_homophone_typos_of_service_words_only(typed: str, meant: str) -> None:
    from assistant.typos import fix_typos

    assert fix_typos(typed) == meant


def test_applying_for_ones_husband_never_fills_his_form_with_ones_own_profile(real_assistant: Assistant) -> None:
    """沈阿婆, logged in, applies for her husband: her profile fills only 代办人姓名; his name and ID come from
    what she says about him (老头子叫沈国强)."""
    turns = say(real_assistant, ["老年综合津贴 家属代办", "同意", "老头子叫沈国强 身份证310227195403150019"],
                profile="c-test-zhangsan")
    after_consent, after_his_details = slots(turns[1]), slots(turns[2])
    assert after_consent.get("agent_name") == "测试张三"
    assert "name" not in after_consent and "id_number" not in after_consent and "birth_date" not in after_consent
    assert after_his_details["name"] == "沈国强" and after_his_details["id_number"] == "310227195403150019"


def test_a_sentence_is_never_stored_as_an_address_or_a_company(real_assistant: Assistant) -> None:
    turns = say(real_assistant, [
        "居住证快到期了帮我续签", "搬家了", "换了工作", "同意",
        "新地址泗泾镇泗通路188弄12号302 工作也换了原来在闪送骑士现在在飞毛腿配送",
        "单位就写上海飞毛腿配送服务有限公司 你把我说的废话都填进去了"], profile="c-test-wujiu")
    values = slots(turns[-1])
    assert values["new_address"] == "泗泾镇泗通路188弄12号302"
    assert values["employer"] == "上海飞毛腿配送服务有限公司"


def test_the_shop_address_is_not_the_home_address(real_assistant: Assistant) -> None:
    turns = say(real_assistant, ["我想开个小饭馆", "租的",
                                 "店在中山街道中山中路88号 我家住在泗泾镇江川北路12弄5号302"], profile="c-test-zhangsan")
    assert slots(turns[-1]).get("address") in (None, "中山街道中山中路88号")


@pytest.mark.unit
@pytest.mark.parametrize(("said", "options", "picked"), [
    ("建行", ("中国工商银行", "中国建设银行", "上海银行"), "中国建设银行"),
    ("农商行吧", ("中国建设银行", "上海农村商业银行"), "上海农村商业银行"),
    ("阿拉松江本地人 上海户口", ("本市", "外省市"), "本市"),
])
def test_options_by_the_names_people_use(said: str, options: tuple[str, ...], picked: str) -> None:
    from assistant.extractors import choose_option, option_keywords

    assert choose_option(said, options, option_keywords(options)) == picked


def test_continue_with_a_matter_is_not_its_renewal(real_assistant: Assistant) -> None:
    [r] = say(real_assistant, ["继续办食品经营许可"], profile="c-test-zhangsan")
    assert r.matter is None or r.matter.id != "m-food-license-change"


def test_progress_of_an_unsubmitted_form_says_how_far_it_got(real_assistant: Assistant) -> None:
    turns = say(real_assistant, ["我要申请老年综合津贴", "本人办理", "刚刚那个办到哪一步了"])
    assert turns[-1].outcome == Outcome.ANSWERED and "还没有提交" in turns[-1].reply and "我们继续办理" in turns[-1].reply
