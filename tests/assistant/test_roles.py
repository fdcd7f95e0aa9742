"""Whose value is it: values said about another person never fill the applicant's fields (issue #12).

Cases come from conversations residents had with the assistant, where a partner's ID number overwrote the
applicant's own, "她" became the partner's name and "也没变" became an employer.
"""

from __future__ import annotations

import datetime as dt

import pytest

from assistant.catalog import MatterRegistry
from assistant.extractors import default_extractors
from assistant.models import Provenance, Slot, SourceKind
from assistant.roles import Person, clauses, field_person, is_not_a_value
from assistant.slots import SlotFiller
from assistant.validators import default_validators
from guardrails import pii
from tests.conftest import SAMPLES

pytestmark = pytest.mark.unit
TODAY = dt.date(2026, 11, 27)
REG = MatterRegistry.from_folder(SAMPLES / "matters")
MARRIAGE = REG.matter("m-marriage-registration")
BIRTH = REG.matter("m-birth-medical-cert")
RENEW = REG.matter("m-residence-permit-renew")
FILLER = SlotFiller(default_extractors(), default_validators(pii))
OWN_ID = "310117198803120113"
PARTNER_ID = "110101199003074477"


def own_slots() -> dict[str, Slot]:
    profile = Provenance(kind=SourceKind.PROFILE, profile_field="name")
    return {"name": Slot(name="name", value="测试何强", source=profile),
            "id_number": Slot(name="id_number", value=OWN_ID, source=profile)}


@pytest.mark.parametrize(("text", "people"), [
    ("她身份证110101199003074477", [Person.OTHER]),
    ("我叫何强，她叫张晓雨", [Person.APPLICANT, Person.OTHER]),
    ("我老婆叫李梅，身份证110101199003074477", [Person.OTHER, Person.OTHER]),
    ("我妈叫王秀英", [Person.MOTHER]),
    ("孩子叫何小宝，她是十月八号生的", [Person.CHILD, Person.CHILD]),
    ("单位也没变", [None]),
    ("阿拉屋里厢老头子退休了", [Person.APPLICANT]),
])
def test_each_clause_is_about_someone(text: str, people: list[Person | None]) -> None:
    assert [c.person for c in clauses(text)] == people


def test_fields_know_whose_they_are() -> None:
    persons = {f.name: field_person(f) for f in MARRIAGE.form}
    assert persons["id_number"] == Person.APPLICANT and persons["partner_id_number"] == Person.OTHER
    assert persons["partner_name"] == Person.OTHER
    birth = {f.name: field_person(f) for f in BIRTH.form}
    assert birth["father_name"] == Person.FATHER and birth["child_name"] == Person.CHILD


def test_a_partners_id_never_overwrites_the_applicants() -> None:
    slots = own_slots()
    updates = FILLER.fill(f"她身份证{PARTNER_ID}", MARRIAGE, slots, None, 3, TODAY)
    assert slots["id_number"].value == OWN_ID and slots["id_number"].source.kind == SourceKind.PROFILE
    assert "id_number" not in {u.field for u in updates}
    if "partner_id_number" in slots:
        assert slots["partner_id_number"].value == PARTNER_ID


def test_the_partners_name_goes_to_the_partners_field_and_never_as_a_pronoun() -> None:
    slots = own_slots()
    FILLER.fill("她叫张晓雨", MARRIAGE, slots, None, 3, TODAY)
    assert slots["partner_name"].value == "张晓雨" and slots["name"].value == "测试何强"
    slots = own_slots()
    [u] = FILLER.fill("她", MARRIAGE, slots, MARRIAGE.field("partner_name"), 4, TODAY)
    assert not u.accepted and "partner_name" not in slots and "对方姓名" in (u.reason or "")


def test_my_own_and_my_partners_values_in_one_message() -> None:
    slots: dict[str, Slot] = {}
    FILLER.fill(f"我叫何强，她叫张晓雨，她身份证{PARTNER_ID}", MARRIAGE, slots, MARRIAGE.field("name"), 2, TODAY)
    assert slots["name"].value == "何强" and slots["partner_name"].value == "张晓雨"
    assert "id_number" not in slots


def test_nothing_changed_keeps_the_value_and_its_source() -> None:
    source = Provenance(kind=SourceKind.PROFILE, profile_field="employer")
    slots = {"employer": Slot(name="employer", value="上海松江测试机械有限公司", source=source)}
    [u] = FILLER.fill("单位也没变", RENEW, slots, RENEW.field("employer"), 5, TODAY)
    assert u.accepted and slots["employer"].value == "上海松江测试机械有限公司" and slots["employer"].source == source


def test_nothing_changed_without_a_value_is_asked_again() -> None:
    slots: dict[str, Slot] = {}
    updates = FILLER.fill("也没变", RENEW, slots, RENEW.field("employer"), 5, TODAY)
    assert "employer" not in slots and all(not u.accepted for u in updates)


@pytest.mark.parametrize("value", ["她", "变更后", "也没变", "同上", "跟档案一样", "对方"])
def test_pronouns_and_filler_are_not_values(value: str) -> None:
    assert is_not_a_value(value)


@pytest.mark.parametrize("value", ["张晓雨", "上海松江测试机械有限公司", "120"])
def test_real_values_are_values(value: str) -> None:
    assert not is_not_a_value(value)


# -- session 4: relatives, role fields, households, codes, field names said twice ---------------------
HPF = REG.matter("m-hpf-withdraw-rent")
ELDER = REG.matter("m-elderly-allowance")
COMPANY = REG.matter("m-company-reg")
DIBAO = REG.matter("m-dibao")
NEW_PERMIT = REG.matter("m-residence-permit-new")
COUSIN_ID = "410105199207100629"


def test_a_relatives_details_fill_nothing_and_the_applicants_own_clause_answers() -> None:
    slots: dict[str, Slot] = {}
    FILLER.fill(f"我表姐也住这里，她身份证{COUSIN_ID}，我是9月1号登记的居住", NEW_PERMIT, slots,
                NEW_PERMIT.field("residence_since"), 5, TODAY)
    assert slots["residence_since"].value == dt.date(2026, 9, 1)
    assert COUSIN_ID not in {str(s.value) for s in slots.values()}


def test_a_colleague_fills_the_role_field_named_for_them_only() -> None:
    slots = {"liaison_name": Slot(name="liaison_name", value="样例何强", source=Provenance(kind=SourceKind.PROFILE))}
    FILLER.fill("联络员换成我同事测试陈小青", COMPANY, slots, None, 9, TODAY)
    assert slots["liaison_name"].value == "测试陈小青"
    slots = {}
    FILLER.fill("我同事电话13800002222", COMPANY, slots, None, 9, TODAY)
    assert "mobile" not in slots


def test_a_family_members_income_counts_for_the_household() -> None:
    slots: dict[str, Slot] = {}
    FILLER.fill("我妈退休金每月2800，我没收入", DIBAO, slots, DIBAO.field("monthly_income"), 6, TODAY)
    assert slots["monthly_income"].value == 2800


@pytest.mark.parametrize(("text", "value"), [
    ("卡号 6222 0200 0000 0000 000", "6222020000000000000"),
    ("卡号输错了，是6222020000000000001", "6222020000000000001"),
    ("工行的卡 6222-0200-0000-0000-123", "6222020000000000123"),
])
def test_a_code_is_the_code_itself(text: str, value: str) -> None:
    slots: dict[str, Slot] = {}
    FILLER.fill(text, HPF, slots, HPF.field("bank_card"), 5, TODAY)
    assert slots["bank_card"].value == value


def test_a_bare_id_answers_the_asked_partner_field_and_never_corrects_the_applicants() -> None:
    slots = own_slots()
    FILLER.fill(f"不好意思抄错了，是{PARTNER_ID}", MARRIAGE, slots, MARRIAGE.field("partner_id_number"), 7, TODAY)
    assert slots["partner_id_number"].value == PARTNER_ID and slots["id_number"].value == OWN_ID


def test_a_field_named_twice_or_by_its_qualifier_is_the_right_one() -> None:
    slots = {"mobile": Slot(name="mobile", value="13800001005", source=Provenance(kind=SourceKind.PROFILE))}
    FILLER.fill("电话号码不对，现在用13800005555", ELDER, slots, None, 4, TODAY)
    assert slots["mobile"].value == "13800005555" and "id_number" not in slots
    slots = {"birth_date": Slot(name="birth_date", value=dt.date(1995, 11, 11), source=Provenance(kind=SourceKind.PROFILE))}
    FILLER.fill("预约日期改成12月20号", MARRIAGE, slots, None, 8, TODAY)
    assert slots["appointment_date"].value == dt.date(2026, 12, 20) and slots["birth_date"].value == dt.date(1995, 11, 11)


@pytest.mark.parametrize(("text", "value"), [("店名叫上海松江阿三面馆", "上海松江阿三面馆"), ("就叫上海松江测试小饭馆", "上海松江测试小饭馆")])
def test_the_words_that_introduce_a_name_are_not_part_of_it(text: str, value: str) -> None:
    shop = REG.matter("m-individual-business-reg")
    slots: dict[str, Slot] = {}
    FILLER.fill(text, shop, slots, shop.field("shop_name"), 6, TODAY)
    assert slots["shop_name"].value == value


def test_a_partners_details_typed_with_spaces_never_reach_the_applicants_fields() -> None:
    """Found by a persona walking the live server: "河南的呀 内地 伊叫王小美 身份证… 电话…" put her ID and phone
    into the applicant's fields and "电话" into 对方姓名."""
    from assistant.dialect import to_mandarin

    slots = own_slots()
    text = to_mandarin(f"河南的呀 内地 伊叫王小美 身份证{PARTNER_ID} 电话13800003456")
    FILLER.fill(text, MARRIAGE, slots, MARRIAGE.field("partner_name"), 3, TODAY)
    assert slots["partner_name"].value == "王小美" and slots["partner_id_number"].value == PARTNER_ID
    assert slots["id_number"].value == OWN_ID and "mobile" not in slots


@pytest.mark.parametrize(("matter", "field", "text", "value"), [
    # found on the live server: the correction after 哦不对 / 不对 is the value, and the year said apart counts
    ("m-residence-permit-renew", "permit_expires_on", "下个月15号到期 哦不对 是7月15号 2025年的", dt.date(2025, 7, 15)),
    ("m-individual-business-reg", "area_sqm", "大概60平 不对 合同上写的是58.5平方", 58.5),
    # a name comes first, its explanation after; a number said with its own label
    ("m-elderly-allowance", "name", "孙琪 琪是王字旁的琪 身份证31011719520308002X", "孙琪"),
    ("m-elderly-allowance", "ss_card_number", "社保卡号是31011719520308002X", "31011719520308002X"),
    ("m-marriage-registration", "partner_name", "王小美 刚刚讲过了 你记性不好", "王小美"),
])
def test_what_people_say_around_a_value_is_not_the_value(matter: str, field: str, text: str, value: object) -> None:
    m = REG.matter(matter)
    slots: dict[str, Slot] = {}
    FILLER.fill(text, m, slots, m.field(field), 3, TODAY)
    assert slots[field].value == value


def test_a_label_without_its_value_is_asked_again() -> None:
    m = REG.matter("m-elderly-allowance")
    slots: dict[str, Slot] = {}
    [u] = FILLER.fill("社保卡号是", m, slots, m.field("ss_card_number"), 3, TODAY)
    assert not u.accepted and "ss_card_number" not in slots


def test_a_busy_owner_gives_several_values_in_one_message() -> None:
    """"店名就叫…，三十平，做餐饮，店在…路12号": each clause goes to the field its value's shape fits."""
    shop = REG.matter("m-individual-business-reg")
    slots: dict[str, Slot] = {}
    FILLER.fill("店名就叫上海松江示例面馆，三十平，做餐饮，店在上海市松江区方松街道样例路12号", shop, slots,
                shop.field("shop_name"), 5, TODAY)
    assert slots["shop_name"].value == "上海松江示例面馆" and slots["area_sqm"].value == 30
    assert slots["address"].value == "上海市松江区方松街道样例路12号" and "domicile" not in slots


def test_a_name_containing_a_field_word_stays_whole_and_a_negated_value_is_replaced() -> None:
    shop = REG.matter("m-individual-business-reg")
    slots: dict[str, Slot] = {}
    FILLER.fill("名字叫上海松江示例手机维修店，二十五平方", shop, slots, shop.field("shop_name"), 5, TODAY)
    assert slots["shop_name"].value == "上海松江示例手机维修店" and "mobile" not in slots
    FILLER.fill("面积不是40，是60平", shop, slots, None, 6, TODAY)
    assert slots["area_sqm"].value == 60


def test_details_typed_with_spaces_go_to_the_person_each_part_is_about() -> None:
    """From the second held-out set: 男方/女方 are the other party; a number followed by a space and a new
    subject ends that person's clause ("…0134 宝宝名字叫…")."""
    divorce = REG.matter("m-divorce-registration")
    slots: dict[str, Slot] = {}
    FILLER.fill("男方叫示例高峰 身份证31011719850620031X", divorce, slots, divorce.field("spouse_name"), 3, TODAY)
    assert slots["spouse_name"].value == "示例高峰" and slots["spouse_id_number"].value == "31011719850620031X"
    slots = {}
    FILLER.fill("孩子爸爸样例李四 身份证320311199207080134 宝宝名字叫样例李小宝", BIRTH, slots, BIRTH.field("father_name"), 3, TODAY)
    assert slots["father_name"].value == "样例李四" and slots["father_id_number"].value == "320311199207080134"
    assert slots["child_name"].value == "样例李小宝"


def test_a_bare_corrected_date_on_the_confirmation_screen_replaces_the_one_said() -> None:
    permit = REG.matter("m-residence-permit-new")
    slots = {"residence_since": Slot(name="residence_since", value=dt.date(2026, 3, 15),
                                     source=Provenance(kind=SourceKind.TURN, turn=3))}
    FILLER.fill("不是15号 是3月18号 我看了下回执", permit, slots, None, 4, TODAY)
    assert slots["residence_since"].value == dt.date(2026, 3, 18)
