"""The slot-filling state machine, situations, pre-review and the checklist (no model, no store)."""

from __future__ import annotations

import datetime as dt

import pytest

from assistant.catalog import MatterRegistry, Op
from assistant.extractors import default_extractors
from assistant.models import Provenance, Slot, SourceKind
from assistant.prereview import PreReviewer, check
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
    assert {u.field for u in updates if u.accepted} == {"shop_name", "mobile", "id_number"}
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
