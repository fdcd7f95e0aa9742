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
from assistant.models import Outcome, SourceKind, TurnResult
from assistant.slots import SlotFiller, detect_situations, revised_situations
from assistant.validators import default_validators
from assistant.values import is_name_field
from guardrails import pii
from tests.conftest import SAMPLES

TODAY = dt.date(2026, 11, 27)
REG = MatterRegistry.from_folder(SAMPLES / "matters")
FILLER = SlotFiller(default_extractors(), default_validators(pii))


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


def say(a: Assistant, lines: list[str], profile: str | None = None) -> list[TurnResult]:
    out: list[TurnResult] = []
    session = None
    for line in lines:
        r = a.turn(line, session_id=session, profile_id=profile, principal_id=profile)
        session = r.session_id
        out.append(r)
    return out


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
