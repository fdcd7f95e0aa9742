"""Details people volunteer before they are asked, in their own words (issue #12).

Unit level (the slot filler over the sample matters, no model): card numbers typed in groups, an option of
the application said in a clause about the child, organisations read out of a sentence, the new value of a
change, a situation taken back and restated. Production wiring (real embedder, semantic rail): an
enterprise acting through its 经办人 still pre-fills from its own record, a thumbs-up consent, a record that
confirms what was said, and a "怎么补办" that is no second request.
"""

from __future__ import annotations

import datetime as dt

import pytest

from assistant.bundles import named_steps
from assistant.catalog import MatterRegistry
from assistant.engine import Assistant
from assistant.extractors import consent_answer, default_extractors
from assistant.models import Outcome, Provenance, Slot, SourceKind, TurnResult
from assistant.prefill import prefill
from assistant.profiles import ProfileStore
from assistant.slots import SlotFiller, detect_situations, revised_situations
from assistant.tone import set_aside_venting
from assistant.typos import join_spaced_words
from assistant.validators import default_validators
from assistant.values import is_name_field
from guardrails import pii
from tests.assistant.test_safety import say
from tests.conftest import SAMPLES

TODAY = dt.date(2026, 11, 27)
REG = MatterRegistry.from_folder(SAMPLES / "matters")
FILLER = SlotFiller(default_extractors(), default_validators(pii))
PROFILES = ProfileStore.from_folder(SAMPLES / "profiles")


def _proposed(matter_id: str, text: str, expected: str | None = None) -> dict[str, object]:
    m = REG.matter(matter_id)
    out = {}
    for f, v in FILLER.proposals(text, m, m.field(expected) if expected else None, TODAY):
        value, check = FILLER.check(f, v)
        if check.ok:
            out[f.name] = check.value
    return out


@pytest.mark.unit
def test_a_card_number_typed_in_groups_is_the_card_not_the_rent() -> None:
    got = _proposed("m-hpf-withdraw-rent", "公积金付房租 打到我工资卡里 6222 0212 3456 7890 128 就行")
    assert got.get("bank_card") == "6222021234567890128" and "monthly_rent" not in got
    # an English lead is no part of the number
    assert _proposed("m-hpf-withdraw-rent", "card no 6222 0212 3456 7890 128", expected="bank_card") == {
        "bank_card": "6222021234567890128"}


@pytest.mark.unit
def test_an_application_option_said_in_a_clause_about_the_child_counts() -> None:
    got = _proposed("m-social-security-card", "帮女儿办张社保卡 头一回办 做好了快递寄到家里")
    assert got.get("delivery") == "邮寄到家"


@pytest.mark.unit
def test_organisations_are_no_person_names_and_are_read_out_of_a_sentence() -> None:
    bank = REG.matter("m-employer-ss-reg").field("bank_name")
    assert not is_name_field(bank)
    assert _proposed("m-employer-ss-reg", "开户行是交通银行上海松江支行", expected="bank_name") == {
        "bank_name": "交通银行上海松江支行"}
    assert _proposed("m-seal-filing", "让嘉定那家上海样例刻章服务有限公司来刻", expected="engraver") == {
        "engraver": "上海样例刻章服务有限公司"}


@pytest.mark.unit
def test_the_new_value_of_a_change_goes_to_the_changed_field() -> None:
    m = REG.matter("m-company-change")
    got = _proposed("m-company-change", "准备从青浦迁过来 新地址是上海市松江区中山街道样例路9号")
    assert got.get("new_value") == "上海市松江区中山街道样例路9号" and "address" not in got
    assert detect_situations("准备从青浦迁过来", m, {}) == {"change_item": "address"}


@pytest.mark.unit
def test_payment_and_single_seal_options_in_everyday_words() -> None:
    assert _proposed("m-resident-medical-insurance", "费用直接从社保卡上扣").get("payment") == "社保卡代扣"
    assert _proposed("m-seal-filing", "只要重新刻一枚公章").get("seal_types") == "仅公章"


@pytest.mark.unit
def test_a_situation_taken_back_and_restated() -> None:
    m = REG.matter("m-residence-permit-reissue")
    assert revised_situations("搞错了 卡没丢 是消磁了刷不出来", m, {"reason": "lost"}) == {"reason": "damaged"}
    assert revised_situations("对 就是丢了", m, {"reason": "lost"}) == {}


@pytest.mark.unit
def test_a_word_every_option_claims_decides_nothing() -> None:
    m = REG.matter("m-hpf-withdraw-rent")
    assert detect_situations("在九亭租房 房东说合同备案好了", m, {}).get("housing_kind") == "market_filed"
    assert "housing_kind" not in detect_situations("在九亭租房", m, {})


@pytest.mark.unit
def test_a_means_of_payment_is_no_bundle_step() -> None:
    birth = REG.bundle("b-birth")
    assert len(named_steps(REG, birth, "交居民医保 钱从社保卡里扣")) == 1


@pytest.mark.unit
@pytest.mark.parametrize(("text", "answer"), [("👌", True), ("👍同意", True), ("🙏好的", True), ("🙅不同意", False)])
def test_consent_with_emoji(text: str, answer: bool) -> None:
    assert consent_answer(text) is answer


@pytest.mark.unit
def test_the_name_after_jiao_not_the_words_before_it() -> None:
    got = _proposed("m-rental-contract-filing", "我是房东 对方是位退休阿姨叫示例钱芳 身份证310117196510032030")
    assert got.get("counterparty_name") == "示例钱芳"
    assert got.get("counterparty_id_number") == "310117196510032030"


@pytest.mark.unit
def test_a_certificate_number_is_kept_as_issued() -> None:
    got = _proposed("m-rental-contract-filing", "我是租户 产权证号码沪（2021）松字不动产权第008812号")
    assert got.get("property_cert_number") == "沪(2021)松字不动产权第008812号"


@pytest.mark.unit
@pytest.mark.parametrize(("text", "side"), [("我是房东 房客是一对小夫妻 两个人都上班", "landlord"),
                                            ("我这边是租客，房东人在外地回不来", "tenant")])
def test_both_sides_named_the_one_i_am_decides(text: str, side: str) -> None:
    assert detect_situations(text, REG.matter("m-rental-contract-filing"), {}).get("applicant") == side


@pytest.mark.unit
def test_a_new_legal_representative_in_everyday_words() -> None:
    m = REG.matter("m-company-change")
    assert detect_situations("法人要换人了 老板年纪大了", m, {}) == {"change_item": "legal_rep"}
    got = _proposed("m-company-change", "法人要换人了 新的法人叫示例严冬")
    assert got.get("new_value") == "示例严冬" and "legal_rep" not in got
    got = _proposed("m-company-change", "我们要换法人，老板不干了，改成示例严冬")
    assert got.get("new_value") == "示例严冬" and "legal_rep" not in got


@pytest.mark.unit
def test_i_myself_is_no_name_of_the_legal_representative() -> None:
    assert "legal_rep" not in _proposed("m-seal-filing", "公章要重新刻 法人我自己来")


@pytest.mark.unit
def test_a_role_someone_else_takes_gets_their_details_and_not_my_record() -> None:
    m = REG.matter("m-company-reg")
    got = _proposed("m-company-reg", "开个小公司 法定代表人由我妈担任 她叫示例蒋红 身份证310117197002021524 跟我住一起")
    assert got.get("legal_rep") == "示例蒋红" and got.get("legal_rep_id_number") == "310117197002021524"
    said = {name: Slot(name=name, value=got[name], source=Provenance(kind=SourceKind.TURN, turn=0))
            for name in ("legal_rep", "legal_rep_id_number")}
    profile = PROFILES.get("c-sample-heqiang")
    report = prefill(m, profile, said, default_validators(pii), TODAY)
    assert "legal_rep_domicile" not in report.filled  # my ID card's address is not my mother's
    assert "mobile" in report.filled  # my own contact details still are mine
    lives_with_me = prefill(m, profile, said, default_validators(pii), TODAY, same_home=True)
    assert "legal_rep_domicile" in lives_with_me.filled and "legal_rep" not in lives_with_me.filled


@pytest.mark.unit
def test_my_mothers_is_no_swearing() -> None:
    assert set_aside_venting("我妈的社保卡找不到了") == ("我妈的社保卡找不到了", False)
    assert set_aside_venting("妈的 社保卡又丢了")[1]
    assert not set_aside_venting("我是他妈妈 替他来办")[1]


@pytest.mark.unit
def test_i_am_the_childs_mother_fills_the_mothers_fields() -> None:
    got = _proposed("m-birth-medical-cert", "我是孩子妈妈 我叫示例宋佳 身份证310117199506200269 孩子他爸叫样例高远")
    assert got.get("name") == "示例宋佳" and got.get("id_number") == "310117199506200269"
    got = _proposed("m-birth-medical-cert", "宝宝上礼拜出生的 我是孩子爸爸 我叫样例高远 身份证320102199310010372")
    assert got.get("father_name") == "样例高远" and got.get("father_id_number") == "320102199310010372"
    assert "name" not in got and "id_number" not in got


@pytest.mark.unit
def test_an_address_starts_at_its_region() -> None:
    got = _proposed("m-disability-card", "我现在户口落在上海市松江区永丰街道样例路8号", expected="hukou_address")
    assert got.get("hukou_address") == "上海市松江区永丰街道样例路8号"


@pytest.mark.unit
def test_words_typed_one_by_one_are_read_as_sentences() -> None:
    assert join_spaced_words("我 是 公司 的 会计 我 叫 示例安娜 我们 公司 要 开 发票") == \
        "我是公司的会计，我叫示例安娜，我们公司要开发票"
    assert join_spaced_words("电话 138 0000 5203") == "电话 138 0000 5203"  # digit groups stay
    assert join_spaced_words("河南的呀 内地 伊叫王小美") == "河南的呀 内地 伊叫王小美"  # phone spacing stays


@pytest.mark.unit
def test_invoices_counted_in_zhang_next_to_their_number() -> None:
    assert _proposed("m-new-taxpayer", "开票的话一个月大概三十张", expected="tax_officer_name").get("invoice_monthly_qty") == 30


@pytest.mark.unit
def test_gender_follows_from_the_id_number_and_one_address_serves_both() -> None:
    m = REG.matter("m-disability-card")
    slots: dict[str, Slot] = {}
    FILLER.fill("名字叫示例葛宇 身份证310117200807160198", m, slots, m.field("name"), 1, TODAY, for_other=True)
    assert slots["gender"].value == "男"
    FILLER.fill("户籍跟住的地方一样 都是上海市松江区方松街道示例路300弄3号402室", m, slots, m.field("hukou_address"), 2, TODAY,
                for_other=True)
    assert slots["hukou_address"].value == slots["address"].value == "上海市松江区方松街道示例路300弄3号402室"
    FILLER.fill("我是他妈妈 我叫示例葛丽 手机13800004402", m, slots, m.field("mobile"), 3, TODAY, for_other=True)
    assert slots["guardian_name"].value == "示例葛丽" and slots["mobile"].value == "13800004402"
    assert slots["name"].value == "示例葛宇"


def _slot(r: TurnResult, name: str) -> tuple[object, SourceKind | None]:
    s = next((s for s in r.slots if s.name == name), None)
    return (s.value, s.source.kind) if s else (None, None)


@pytest.mark.e2e
def test_an_enterprise_acting_through_its_clerk_prefills_from_its_own_record(real_assistant: Assistant) -> None:
    turns = say(real_assistant, ["单位公章被人偷了 要补刻 公司派行政去代办", "好的同意"], profile="e-demo-catering")
    assert turns[0].matter is not None and turns[0].matter.id == "m-seal-filing"
    assert _slot(turns[1], "company_name") == ("上海示例餐饮管理有限公司", SourceKind.PROFILE)
    assert "prefill.for_other" not in turns[1].trace.rules


@pytest.mark.e2e
def test_a_record_that_confirms_what_was_said_becomes_its_source(real_assistant: Assistant) -> None:
    turns = say(real_assistant, ["公司要办社保开户 目前员工3个", "可以"], profile="e-demo-xinchuang")
    assert _slot(turns[0], "employees") == (3, SourceKind.TURN)
    assert _slot(turns[1], "employees") == (3, SourceKind.PROFILE)


@pytest.mark.e2e
def test_how_to_reissue_after_a_story_is_no_second_request(real_assistant: Assistant) -> None:
    [r] = say(real_assistant, ["社保卡找不到了 下礼拜还要去医院配药 怎么补办呀"], profile="c-test-zhangsan")
    assert r.outcome == Outcome.COLLECTING and r.matter is not None and r.matter.id == "m-social-security-card"
    assert not any(rule.startswith("identify.queued") for rule in r.trace.rules), r.trace.rules


@pytest.mark.e2e
def test_a_relative_typing_on_the_beneficiarys_account_is_the_agent(real_assistant: Assistant) -> None:
    turns = say(real_assistant, ["替我妈申请老年综合津贴 我是她女儿示例孙梅 这是用我妈的账号登的", "同意"],
                profile="c-demo-sunqi")
    assert turns[0].matter is not None and turns[0].matter.id == "m-elderly-allowance"
    assert _slot(turns[1], "name") == ("示例孙七", SourceKind.PROFILE)
    assert _slot(turns[1], "agent_name") == ("示例孙梅", SourceKind.TURN)


@pytest.mark.unit
def test_a_count_corrected_in_one_breath_takes_the_total() -> None:
    got = _proposed("m-road-freight-permit", "3辆 不对 后来又添了一辆 总共四辆车", expected="vehicle_count")
    assert got.get("vehicle_count") == 4
    assert _proposed("m-road-freight-permit", "一共两辆", expected="vehicle_count").get("vehicle_count") == 2


@pytest.mark.unit
def test_the_employer_speaking_is_not_the_employer_field() -> None:
    got = _proposed("m-pension-claim", "退休时间填错了 我们厂里人事说7月1号起算", expected="retire_date")
    assert "employer" not in got
    got = _proposed("m-pension-claim", "日期不对 单位讲从2026年7月1日开始", expected="retire_date")
    assert got.get("retire_date") in ("2026-07-01", dt.date(2026, 7, 1)) and "employer" not in got


@pytest.mark.unit
def test_an_option_is_known_by_its_head_word() -> None:
    assert _proposed("m-food-business-license", "热食", expected="business_items").get("business_items") == "热食类食品制售"
    assert _proposed("m-food-business-license", "我们主要卖散装食品").get("business_items") == "散装食品销售"
    m = REG.matter("m-food-business-license")
    assert detect_situations("就卖点快餐 热食为主", m, {}).get("business_type") == "catering"


@pytest.mark.unit
def test_a_foreign_residents_frustration_and_acknowledgements() -> None:
    """From a persona walk (a Spanish engineer): "this is so confusing!!" was refused as an attack, and "ok"
    typed at the employer question became the employer."""
    assert set_aside_venting("this is so confusing!!") == ("", True)
    assert set_aside_venting("so confusing, how long 居住证 renew?") == ("how long 居住证 renew?", True)
    assert set_aside_venting("my card is not working") == ("my card is not working", False)
    assert "employer" not in _proposed("m-residence-permit-renew", "ok", expected="employer")
    assert "employer" not in _proposed("m-residence-permit-renew", "好的", expected="employer")
