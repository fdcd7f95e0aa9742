"""Numeric facts in Chinese text: amounts, time limits, dates, percentages, in Arabic or Chinese numerals.

`numeric_facts("承诺时限十五个工作日，收费20元")` gives {("15", "工作日"), ("20", "元")}. Output rails compare
the facts of an answer with those of its cited sources, so "15个工作日" is grounded by "十五个工作日" and
"2024年1月1日" by "2024-01-01". Chinese numerals count only before a measure word (or as a date), so words
such as 一般, 统一, 一网通办 are not numbers.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import NamedTuple

_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
_CN_BIG = {"万": 10_000, "亿": 100_000_000}
_CN_NUM = "[零〇一二两三四五六七八九十百千万亿]"

# Units, longest first; each maps to a canonical unit so 天 and 日, 周岁 and 岁 compare equal.
_UNITS: tuple[tuple[str, str], ...] = (
    ("个工作日", "工作日"), ("工作日", "工作日"), ("个自然日", "日"), ("自然日", "日"), ("个小时", "小时"),
    ("小时", "小时"), ("分钟", "分钟"), ("个月", "月"), ("周岁", "岁"), ("岁", "岁"), ("星期", "周"), ("周", "周"),
    ("平方米", "平方米"), ("公里", "公里"), ("公斤", "公斤"), ("千克", "公斤"), ("万元", "万元"), ("元", "元"),
    ("天", "日"), ("日", "日"), ("年", "年"), ("个", "个"), ("份", "份"), ("次", "次"), ("张", "张"), ("项", "项"),
    ("件", "件"), ("人", "人"), ("户", "户"), ("倍", "倍"), ("%", "%"), ("％", "%"), ("页", "页"), ("级", "级"),
    ("类", "类"), ("条", "条"), ("款", "款"), ("档", "档"), ("岗", "岗"), ("名", "名"), ("家", "家"), ("本", "本"),
    ("套", "套"), ("米", "米"), ("吨", "吨"),
)
_UNIT_RE = "|".join(re.escape(u) for u, _ in _UNITS)
_UNIT_CANON = dict(_UNITS)

# Idioms with a numeral before a measure word that are not quantities.
_IDIOMS = re.compile(
    r"一次性|一件事|一网通办|一网统管|一窗|一站式|一门式|一人一档|一企一档|一证通办|一业一证|一次告知|一次办成|"
    r"一条龙|一户一|一人一|一码|一张网|一张表|一个窗口|一个部门|一件|一级|二级|三级|四级|一类|二类|三类|四类|"
    r"一年一|一月一|一季一|一事一|统一|唯一|之一|万一|一般|一律|一并|一起|一致|一定|一旦|一经|一些|一切|一同|"
    r"十分|百分之百|千万|万分"
)
_DATE_ARABIC = re.compile(r"(?<!\d)(\d{4})\s*(?:年|-|/|\.)\s*(\d{1,2})\s*(?:月|-|/|\.)\s*(\d{1,2})\s*日?(?!\d)")
_MONTH_ARABIC = re.compile(r"(?<!\d)(\d{4})\s*年\s*(\d{1,2})\s*月(?!\s*\d)")
_DATE_CN = re.compile(r"([〇零一二三四五六七八九]{4})年(" + _CN_NUM + r"{1,3})月(?:(" + _CN_NUM + r"{1,3})日)?")
_PERCENT_CN = re.compile(r"百分之(" + _CN_NUM + r"+(?:点[零〇一二三四五六七八九]+)?)")
_ARABIC = re.compile(r"(?<![\dA-Za-z.])(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?\s*(" + _UNIT_RE + r")?")
_CN = re.compile(r"(?<![零〇一二两三四五六七八九十百千万亿])(" + _CN_NUM + r"+)(" + _UNIT_RE + r")")
_ENUMERATOR = re.compile(r"(?m)^\s*(?:\d{1,2}[.、)）]|[（(]\d{1,2}[)）]|[（(][一二三四五六七八九十]{1,3}[)）]|[一二三四五六七八九十]{1,3}、)")
_CITATION = re.compile(r"\[[^\]\n]{0,80}?\bv\d+\]|【\d{1,3}】|\[\d{1,3}\]|\[[^\]\n]{1,60}\]\(\S+\)")


class Fact(NamedTuple):
    value: str  # canonical decimal string, or ISO date / month
    unit: str  # canonical unit, "date", "month", or "" when the number stands alone


def cn_to_int(s: str) -> int | None:
    """Chinese numeral string to int (十五 -> 15, 两万三千 -> 23000, 二〇二四 -> 2024); None if not a numeral."""
    if not s:
        return None
    if all(c in _CN_DIGITS for c in s) and len(s) > 1:  # digit-by-digit, e.g. 二〇二四
        return int("".join(str(_CN_DIGITS[c]) for c in s))
    total, section, digit = 0, 0, None
    for c in s:
        if c in _CN_DIGITS:
            digit = _CN_DIGITS[c]
        elif c in _CN_UNITS:
            section += (1 if digit is None else digit) * _CN_UNITS[c]
            digit = None
        elif c in _CN_BIG:
            section += digit or 0
            total += (section or 1) * _CN_BIG[c]
            section, digit = 0, None
        else:
            return None
    return total + section + (digit or 0)


def _canon(number: str) -> str:
    try:
        d = Decimal(number.replace(",", ""))
    except InvalidOperation:
        return number
    text = format(d.normalize(), "f")
    return text


def _money(value: str, unit: str) -> Fact:
    if unit == "万元":
        return Fact(_canon(str(Decimal(value) * 10_000)), "元")
    return Fact(value, unit)


def numeric_facts(text: str) -> set[Fact]:
    """Every numeric fact in text. List enumerators (1. / （一）) and citation markers are ignored."""
    text = _CITATION.sub(" ", text)
    text = _ENUMERATOR.sub(" ", text)
    facts: set[Fact] = set()
    spans: list[tuple[int, int]] = []

    def add(fact: Fact, span: tuple[int, int]) -> None:
        facts.add(fact)
        spans.append(span)

    def taken(span: tuple[int, int]) -> bool:
        return any(span[0] < e and s < span[1] for s, e in spans)

    for m in _DATE_ARABIC.finditer(text):
        y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
        if 1 <= mo <= 12 and 1 <= d <= 31:
            add(Fact(f"{y:04d}-{mo:02d}-{d:02d}", "date"), m.span())
    for m in _MONTH_ARABIC.finditer(text):
        if not taken(m.span()) and 1 <= int(m.group(2)) <= 12:
            add(Fact(f"{int(m.group(1)):04d}-{int(m.group(2)):02d}", "month"), m.span())
    for m in _DATE_CN.finditer(text):
        cy, cmo = cn_to_int(m.group(1)), cn_to_int(m.group(2))
        cd = cn_to_int(m.group(3)) if m.group(3) else None
        if cy and cmo and 1 <= cmo <= 12:
            add(Fact(f"{cy:04d}-{cmo:02d}-{cd:02d}", "date") if cd else Fact(f"{cy:04d}-{cmo:02d}", "month"),
                m.span())
    for m in _PERCENT_CN.finditer(text):
        whole, _, frac = m.group(1).partition("点")
        n = cn_to_int(whole)
        if n is not None:
            value = f"{n}.{''.join(str(_CN_DIGITS[c]) for c in frac)}" if frac else str(n)
            add(Fact(_canon(value), "%"), m.span())
    for m in _ARABIC.finditer(text):
        if taken(m.span()):
            continue
        value = _canon(m.group(1) + (m.group(2) or ""))
        unit = _UNIT_CANON.get(m.group(3) or "", "")
        add(_money(value, unit), m.span())
    masked = _IDIOMS.sub(lambda im: "\u25a1" * len(im.group(0)), text)  # same length keeps offsets
    for m in _CN.finditer(masked):
        if taken(m.span()):
            continue
        n = cn_to_int(m.group(1))
        if n is None:
            continue
        add(_money(str(n), _UNIT_CANON[m.group(2)]), m.span())
    return facts


def grounded(fact: Fact, sources: set[Fact]) -> bool:
    """A fact is grounded when the sources state the same value with the same unit; a bare number (no unit)
    needs only the value."""
    if fact in sources:
        return True
    if fact.unit == "":
        return any(s.value == fact.value for s in sources)
    if fact.unit == "month":  # "2024年1月" is grounded by a source date in that month
        return any(s.unit == "date" and s.value.startswith(fact.value) for s in sources)
    return False


def describe(fact: Fact) -> str:
    if fact.unit in ("date", "month"):
        return fact.value
    return f"{fact.value}{fact.unit}"
