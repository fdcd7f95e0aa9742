"""Extractors propose values from Chinese text (table-driven)."""

from __future__ import annotations

import datetime as dt

import pytest

from assistant.catalog import FieldType, FormField, ValidatorSpec
from assistant.extractors import (
    area,
    choose_option,
    consent_answer,
    default_extractors,
    find_id_numbers,
    find_mobiles,
    find_uscc,
    looks_like_address,
    mentioned_fields,
    money_yuan,
    numbers,
    parse_date,
    yes_no,
)

pytestmark = pytest.mark.unit
TODAY = dt.date(2026, 11, 27)


@pytest.mark.parametrize(("text", "expected"), [
    ("面积是一百二十平米", [120.0]), ("两百平方米", [200.0]), ("一万二", [12000.0]), ("1.5万元", [15000.0]),
    ("八十八点五平方米", [88.5]), ("三千五百元", [3500.0]), ("没有数字", []),
])
def test_numbers_with_chinese_numerals(text: str, expected: list[float]) -> None:
    assert numbers(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("40平", 40.0), ("四十平米左右", 40.0), ("不对，面积是120平米", 120.0), ("大概35平方米", 35.0), ("㎡", None),
    ("八十八点五平方米", 88.5), ("两万平米", 20000.0),
])
def test_area(text: str, expected: float | None) -> None:
    assert area(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("月租金三千五百元", 3500.0), ("5万", 50000.0), ("两千块", 2000.0), ("1.2万元", 12000.0), ("没钱", None),
])
def test_money(text: str, expected: float | None) -> None:
    assert money_yuan(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-12-01", dt.date(2026, 12, 1)), ("2026年12月1日", dt.date(2026, 12, 1)), ("二〇二六年十二月一日", dt.date(2026, 12, 1)),
    ("2026/3/5", dt.date(2026, 3, 5)), ("20261201", dt.date(2026, 12, 1)),
    ("下个月", dt.date(2026, 12, 1)), ("下个月1号", dt.date(2026, 12, 1)), ("上个月15号丢的", dt.date(2026, 10, 15)),
    ("明年三月", dt.date(2027, 3, 1)), ("明年3月10日", dt.date(2027, 3, 10)), ("明天", dt.date(2026, 11, 28)),
    ("昨天", dt.date(2026, 11, 26)), ("今年9月", dt.date(2026, 9, 1)), ("2月30日", None), ("随便", None),
])
def test_dates(text: str, expected: dt.date | None) -> None:
    assert parse_date(text, TODAY) == expected


def test_identifiers_are_found_in_text() -> None:
    assert find_id_numbers("我的身份证是310117198803120113，电话13800001001") == ["310117198803120113"]
    assert find_mobiles("电话 138 0000 1001 谢谢") == ["13800001001"]
    assert find_mobiles("身份证310117198803120113") == []  # an id number is not a mobile
    assert find_uscc("代码92310117MA7XC0056G") == ["92310117MA7XC0056G"]


@pytest.mark.parametrize(("text", "expected"), [
    ("上海市松江区方松街道样例路5号101室", True), ("松江区九亭镇样例路900弄9号803室", True),
    ("上个月15号丢的", False), ("上海松江测试小饭馆", False), ("样例路", False),
])
def test_address_shape(text: str, expected: bool) -> None:
    assert looks_like_address(text) is expected


@pytest.mark.parametrize(("text", "expected"), [
    ("餐饮", "餐饮服务"), ("第二个", "食品销售"), ("2", "食品销售"), ("我们做零售", "零售"), ("不知道", None),
])
def test_enum_options(text: str, expected: str | None) -> None:
    assert choose_option(text, ("餐饮服务", "食品销售", "零售", "服务业", "其他")) == expected


def test_longest_keyword_wins_for_negations() -> None:
    kw = {"same": ("没换工作", "还在原单位"), "changed": ("换工作", "跳槽")}
    assert choose_option("没换工作", list(kw), kw) == "same"
    assert choose_option("我换工作了", list(kw), kw) == "changed"


@pytest.mark.parametrize(("text", "yes", "consent"), [
    ("同意", True, True), ("好的", True, True), ("可以", True, True), ("不同意", False, False), ("不用了", False, False),
    ("要开票", True, None), ("嗯", True, True), ("随便聊聊", None, None),
])
def test_yes_no_and_consent(text: str, yes: bool | None, consent: bool | None) -> None:
    assert yes_no(text) is yes
    assert consent_answer(text) is consent


FORM = (
    FormField(name="area_sqm", label="经营面积（平方米）", type=FieldType.NUMBER, validator=ValidatorSpec(name="range", args=(1, 10000))),
    FormField(name="mobile", label="联系电话", type=FieldType.STRING, validator=ValidatorSpec(name="mobile")),
    FormField(name="address", label="经营场所地址", type=FieldType.ADDRESS),
    FormField(name="shop_name", label="拟定名称", type=FieldType.STRING),
    FormField(name="capital", label="注册资本（万元）", type=FieldType.NUMBER),
    FormField(name="rent", label="月租金（元）", type=FieldType.NUMBER),
    FormField(name="start", label="参保起始月份", type=FieldType.DATE),
)


def test_mentioned_fields_by_label_and_synonym() -> None:
    found = [f.name for f, _, _ in mentioned_fields("不对，面积是120平米，手机改成13800001234", FORM)]
    assert found == ["area_sqm", "mobile"]


@pytest.mark.parametrize(("field", "text", "expected"), [
    ("area_sqm", "大概四十平", 40), ("area_sqm", "样例路5号101室", None), ("capital", "一百万", 100), ("capital", "50", 50),
    ("rent", "三千五", 3500), ("rent", "月租2000块", 2000), ("start", "明年三月", dt.date(2027, 3, 1)),
    ("shop_name", "就叫上海松江测试小饭馆吧", "上海松江测试小饭馆"), ("address", "地址是松江区样例路5号", "松江区样例路5号"),
])
def test_field_extractors(field: str, text: str, expected: object) -> None:
    f = next(x for x in FORM if x.name == field)
    assert default_extractors().extract(text, f, TODAY) == expected


COUNT = FormField(name="vehicle_count", label="车辆数（辆）", type=FieldType.NUMBER)


@pytest.mark.parametrize(("text", "expected"), [
    ("三辆 哦不对 上个月又添了两辆 总共5辆", 5),
    ("老早有2部 后来又买了1部 加起来3部", 3),
    ("伊拉讲一共是七辆车", 7),
    ("6辆", 6),
])
def test_a_total_said_wins_over_the_first_count(text: str, expected: int) -> None:
    assert default_extractors().extract(text, COUNT, TODAY) == expected
