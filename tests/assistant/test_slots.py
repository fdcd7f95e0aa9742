"""The slot-filling state machine, situations, pre-review and the checklist (no model, no store)."""

from __future__ import annotations

import datetime as dt

import pytest

from assistant.catalog import MatterRegistry, Op
from assistant.extractors import default_extractors
from assistant.models import Provenance, Slot, SourceKind
from assistant.prereview import PreReviewer, check, derived
from assistant.slots import SlotFiller, answer_situation, detect_situations, needed_fields, next_field, open_situations
from assistant.validators import default_validators
from guardrails import pii
from tests.conftest import SAMPLES

pytestmark = pytest.mark.unit
TODAY = dt.date(2026, 11, 27)
REG = MatterRegistry.from_folder(SAMPLES / "matters")
SHOP = REG.matter("m-individual-business-reg")
FILLER = SlotFiller(default_extractors(), default_validators(pii))


def _fill(text: str, slots: dict, expected: str | None = None, turn: int = 1):
    return FILLER.fill(text, SHOP, slots, SHOP.field(expected) if expected else None, turn, TODAY)


def test_answer_to_the_asked_field_then_correction_then_failed_correction() -> None:
    slots: dict[str, Slot] = {}
    [u] = _fill("四十平米", slots, expected="area_sqm", turn=3)
    assert u.accepted and slots["area_sqm"].value == 40 and slots["area_sqm"].source == Provenance(kind=SourceKind.TURN, turn=3)
    [u] = _fill("不对，面积是120平米", slots, turn=4)
    assert u.accepted and u.correction and u.previous == 40 and slots["area_sqm"].value == 120
    [u] = _fill("面积改成两万平米", slots, turn=5)
    assert not u.accepted and "超出了允许范围" in (u.reason or "")
    assert slots["area_sqm"].value == 120 and slots["area_sqm"].source.turn == 4  # the earlier valid value stays


def test_several_fields_in_one_message_and_identifier_routing() -> None:
    slots: dict[str, Slot] = {}
    updates = _fill("名称叫上海松江测试面馆，电话13800001234，身份证310117198803120113", slots, expected="shop_name")
    # 性别 follows from the ID number (17th digit 1: 男), it is not asked again
    assert {u.field for u in updates if u.accepted} == {"shop_name", "mobile", "id_number", "gender"}
    assert slots["gender"].value == "男"
    assert slots["shop_name"].value == "上海松江测试面馆"


def test_bad_checksum_is_rejected_with_a_reason() -> None:
    slots: dict[str, Slot] = {}
    [u] = _fill("310117198803120112", slots, expected="id_number")
    assert not u.accepted and "校验位" in (u.reason or "") and "id_number" not in slots


def test_address_out_of_turn_is_not_read_as_a_number() -> None:
    slots: dict[str, Slot] = {}
    assert _fill("上海市松江区方松街道样例路5号101室", slots, expected="area_sqm") == []  # two address fields: ambiguous
    assert "area_sqm" not in slots


def test_situations_only_deciding_ones_are_asked_and_keywords_settle_them() -> None:
    assert [s.id for s in open_situations(SHOP, {})] == ["premises", "premises_use", "handler"]
    assert detect_situations("我在松江租了个沿街门面", SHOP, {}) == {"premises": "rented", "premises_use": "commercial"}
    assert answer_situation("2", SHOP.situation("premises")) == "rented"
    renew = REG.matter("m-residence-permit-renew")
    assert answer_situation("没换工作", renew.situation("employer_changed")) == "same"


def test_conditional_fields_are_needed_only_when_their_rule_applies() -> None:
    taxes = REG.matter("m-new-taxpayer")
    assert "invoice_monthly_qty" not in [f.name for f in needed_fields(taxes, {"invoice": "not_now"}, {})]
    assert "invoice_monthly_qty" in [f.name for f in needed_fields(taxes, {"invoice": "need"}, {})]
    assert next_field(SHOP, {}, {}).name == "operator_name"


@pytest.mark.parametrize(("op", "value", "expected", "ok"), [
    (Op.GTE, 40, 15, True), (Op.GTE, 12, 15, False), (Op.LTE, "3", 2, False), (Op.EQ, "本市", "本市", True),
    (Op.NE, "residential", "residential", False), (Op.IN, "零售", ["零售", "其他"], True), (Op.NOT_IN, "零售", ["零售"], False),
    (Op.CONTAINS, "上海市松江区", "松江区", True), (Op.EXISTS, None, True, False), (Op.EXISTS, "x", True, True),
    (Op.BETWEEN, 5, [1, 10], True), (Op.GT, None, 0, None), (Op.GT, "abc", 0, None),
])
def test_prereview_operators(op: Op, value: object, expected: object, ok: bool | None) -> None:
    assert check(op, value, expected) is ok


def test_prereview_findings_explain_and_cite() -> None:
    slots = {"business_scope": Slot(name="business_scope", value="餐饮服务", source=Provenance(kind=SourceKind.TURN, turn=1))}
    [f] = PreReviewer(None).review(SHOP, {"premises_use": "residential"}, slots)
    assert not f.ok and f.rule_id == "pr-no-catering-in-residence" and "不得使用住宅" in f.explanation
    assert f.citation is None and "暂不可用" in f.explanation  # without a knowledge base there is nothing to cite


def test_plausibility_rules_check_age_at_a_date_and_the_town_of_an_address() -> None:
    pension = REG.matter("m-pension-claim")
    turn = Provenance(kind=SourceKind.TURN, turn=1)
    young = {"gender": Slot(name="gender", value="男", source=turn),
             "birth_date": Slot(name="birth_date", value=dt.date(1970, 5, 1), source=turn),
             "retire_date": Slot(name="retire_date", value=dt.date(2026, 12, 1), source=turn)}
    findings = {f.rule_id: f for f in PreReviewer(None).review(pension, {}, young, TODAY)}
    assert not findings["pr-retire-age-male"].ok and "56周岁" in findings["pr-retire-age-male"].explanation
    assert "pr-retire-age-female" not in findings and findings["pr-retire-age-plausible"].ok
    allowance = REG.matter("m-elderly-allowance")
    early = {"birth_date": Slot(name="birth_date", value=dt.date(1962, 6, 1), source=turn)}
    found = {f.rule_id: f for f in PreReviewer(None).review(allowance, {}, early, TODAY)}
    assert not found["pr-age-65"].ok and "64周岁" in found["pr-age-65"].explanation
    home = {"hukou_address": Slot(name="hukou_address", value="上海市松江区中山街道中山中路1号", source=turn)}
    assert derived("town@hukou_address", home, TODAY) == "中山街道"  # scopes 街镇-level rules: when: {town@…: [...]}


def test_an_original_to_be_returned_is_never_waived_by_its_e_licence() -> None:
    from assistant.checklist import build_checklist
    from assistant.profiles import ELicence, Profile, ProfileKind

    licence = ELicence(type="business_license", name="营业执照", number="91310117MA1DEM0156", holder="测试公司",
                       issuer="松江区市场监督管理局", issued_on=dt.date(2020, 1, 1))
    company = Profile(id="e-test", kind=ProfileKind.ENTERPRISE, name="测试公司", elicences=(licence,))
    items = {c.id: c for c in build_checklist(REG.matter("m-company-deregistration"), {}, {}, company, TODAY)}
    assert items["business_license"].status.value == "required" and "原件须交回" in (items["business_license"].note or "")


def test_a_reply_that_fits_another_empty_field_fills_that_one_and_never_overwrites() -> None:
    m = REG.matter("m-unemployment-benefit")
    slots: dict[str, Slot] = {}
    [u] = FILLER.fill("上个月28号走的", m, slots, m.field("id_number"), 3, TODAY)  # asked the ID, told the leaving day
    assert u.field == "separation_date" and u.accepted and "id_number" not in slots
    kept = Slot(name="separation_date", value=slots["separation_date"].value, source=Provenance(kind=SourceKind.TURN, turn=3))
    slots = {"separation_date": kept}
    assert FILLER.fill("上个月20号走的", m, slots, m.field("id_number"), 4, TODAY) == []  # a said value is not replaced
    assert slots["separation_date"] == kept


def test_a_relation_word_then_a_name_is_that_persons_name_but_a_story_is_not() -> None:
    m = REG.matter("m-marriage-registration")
    props = {f.name: v for f, v in FILLER.proposals("女方示例陆雯 身份证310117199808080020", m, None, TODAY)}
    assert FILLER.check(m.field("partner_name"), props["partner_name"])[1].value == "示例陆雯"
    assert props["partner_id_number"] == "310117199808080020" and "name" not in props
    birth = REG.matter("m-birth-medical-cert")
    assert "child_name" not in {f.name for f, _ in FILLER.proposals("宝宝出生了", birth, None, TODAY)}
