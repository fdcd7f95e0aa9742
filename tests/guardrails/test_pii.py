"""PII recognisers: checksums (GB 11643, GB 32100, Luhn), formats, overlaps and redaction."""

from __future__ import annotations

import datetime as dt

import pytest

from guardrails.pii import (
    PiiKind,
    find_pii,
    id_check_char,
    luhn,
    redact,
    redact_value,
    valid_id_card,
    valid_mobile,
    valid_uscc,
)

pytestmark = pytest.mark.unit

# Synthetic numbers from samples/profiles (structurally valid, not real people).
ID_ZHENGSHI = "310117197506180713"
ID_X = "31011719951111113X"
USCC = "91310117MA1DEM0155"
USCC_GETI = "92310117MA7XC0056G"
BANK = "6222021234567890128"


@pytest.mark.parametrize("number", [ID_ZHENGSHI, ID_X, ID_X.lower(), "310117 19750618 0713", "320311199207080134"])
def test_valid_id_cards(number: str) -> None:
    assert valid_id_card(number)


@pytest.mark.parametrize(
    ("number", "why"),
    [
        ("310117197506180714", "wrong check digit"),
        ("310117197502300710", "30 February"),
        ("990117197506180713", "unknown province 99"),
        ("310117185006180713", "born before 1900"),
        ("31011719750618071", "17 characters"),
        ("31011719750618071A", "letter other than X"),
    ],
)
def test_invalid_id_cards(number: str, why: str) -> None:
    assert not valid_id_card(number), why


def test_id_birth_date_in_future_is_invalid() -> None:
    body = "310117" + "20991231" + "001"
    assert not valid_id_card(body + id_check_char(body))
    assert valid_id_card(body + id_check_char(body), today=dt.date(2100, 1, 1))


@pytest.mark.parametrize("code", [USCC, USCC_GETI, "91310117MA7DEM040X"])
def test_valid_uscc(code: str) -> None:
    assert valid_uscc(code)


@pytest.mark.parametrize("code", ["91310117MA1DEM0156", "91310117MA1DEM015", "91310117MA1DEMO155", "9I310117MA1DEM0155"])
def test_invalid_uscc(code: str) -> None:
    assert not valid_uscc(code)


def test_luhn() -> None:
    assert luhn("79927398713") and luhn(BANK) and luhn("6222 0212 3456 7890 128")
    assert not luhn("79927398714") and not luhn("6222021234567890127") and not luhn("abc")


@pytest.mark.parametrize("m", ["13800001008", "+86 138 0000 1008", "86-13800001008", "199-1234-5678"])
def test_valid_mobiles(m: str) -> None:
    assert valid_mobile(m)


@pytest.mark.parametrize("m", ["12800001008", "1380000100", "138000010089", "02112345678"])
def test_invalid_mobiles(m: str) -> None:
    assert not valid_mobile(m)


def test_find_pii_every_kind() -> None:
    text = (f"身份证{ID_ZHENGSHI}，手机138 0000 1008，卡号{BANK}，信用代码{USCC}，"
            "邮箱zhengshi.sample@example.com，护照E12345678，通行证C12345678。")
    kinds = [m.kind for m in find_pii(text)]
    assert kinds == [PiiKind.ID_CARD, PiiKind.MOBILE, PiiKind.BANK_CARD, PiiKind.USCC, PiiKind.EMAIL,
                     PiiKind.PASSPORT, PiiKind.HK_MACAU_PERMIT]
    for m in find_pii(text):
        assert text[m.start:m.end] == m.value


def test_id_card_is_not_also_a_bank_card_or_uscc() -> None:
    both = "310117197506181038"  # a valid id that also passes Luhn with a bank-card prefix
    assert valid_id_card(both) and luhn(both)
    matches = find_pii(f"号码{both}")
    assert [m.kind for m in matches] == [PiiKind.ID_CARD]


def test_checksum_kinds_only_count_when_valid() -> None:
    text = "订单号310117197506180714，流水6222021234567890127，代码91310117MA1DEM0156，日期20240101123456"
    assert find_pii(text) == []


def test_email_containing_a_mobile_is_one_email() -> None:
    assert [m.kind for m in find_pii("联系13800001008@163.com")] == [PiiKind.EMAIL]


def test_disability_card_number_masks_the_embedded_id() -> None:
    out = redact("残疾人证号31011719750618071343")
    assert ID_ZHENGSHI not in out and out == "残疾人证号[身份证号]"


def test_full_width_digits_are_found_with_original_offsets() -> None:
    text = "电话１３８００００１００８"
    (m,) = find_pii(text)
    assert m.kind == PiiKind.MOBILE and m.value == "１３８００００１００８"


def test_redact_labels() -> None:
    out = redact(f"我是样例郑十，身份证{ID_ZHENGSHI}，电话13800001008，邮箱a.b@example.com，卡{BANK}")
    assert out == "我是样例郑十，身份证[身份证号]，电话[手机号]，邮箱[电子邮箱]，卡[银行卡号]"


def test_redact_value_walks_json() -> None:
    value = {"q": f"身份证{ID_ZHENGSHI}", "list": ["13800001008", 3], "n": None}
    assert redact_value(value) == {"q": "身份证[身份证号]", "list": ["[手机号]", 3], "n": None}


def test_plain_numbers_are_not_pii() -> None:
    assert find_pii("承诺时限15个工作日，收费20元，2024年1月1日起施行，咨询电话12345") == []


def test_a_mistyped_id_after_an_id_cue_is_still_redacted() -> None:
    """A typo in one's own number is personal data too: redacted, so logs and the semantic rail never see it."""
    assert redact("身份证号码改成110101199003070000") == "身份证号码改成[身份证号]"
    assert redact("我身份证号是 310117197506180714，改一下") == "我身份证号是 [身份证号]，改一下"
    assert find_pii("订单号310117197506180714") == []  # no cue, bad check digit: not an id
