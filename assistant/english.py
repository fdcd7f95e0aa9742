"""English service words in a Chinese conversation ("我想renew一下我的居住证", "How much is the elderly
allowance per month?") read as the Chinese terms the catalogue and the guides use.

A curated glossary of government-service words and a few function phrases (how much, per month, next
month), matched case-insensitively on word boundaries, longest first. Other English words stay as they
are; names and addresses are never touched. Identification, choices and answers then work on Chinese.
"""

from __future__ import annotations

import functools
import re

GLOSSARY: dict[str, str] = {
    "residence permit": "居住证", "residence card": "居住证", "renewal": "续签", "renew": "续签", "extend": "续签",
    "id card": "身份证", "identity card": "身份证", "lost": "丢了", "replacement": "补办", "replace": "补办",
    "reissue": "补办", "social security card": "社保卡", "social security": "社保", "social insurance": "社保",
    "medical insurance": "医保", "health insurance": "医保", "housing fund": "公积金", "provident fund": "公积金",
    "marriage registration": "结婚登记", "get married": "结婚登记", "marry": "结婚", "married": "结婚",
    "divorce": "离婚", "business license": "营业执照", "business licence": "营业执照", "open a shop": "开店",
    "open a restaurant": "开饭馆", "restaurant": "饭馆", "elderly allowance": "老年综合津贴",
    "senior allowance": "老年综合津贴", "old age allowance": "老年综合津贴", "pension": "养老金",
    "retirement": "退休", "retire": "退休", "unemployment benefits": "失业金", "unemployment benefit": "失业金",
    "birth certificate": "出生证", "hukou": "户口", "household registration": "户口", "passport": "护照",
    "how much": "多少钱", "per month": "每月", "a month": "每月", "monthly": "每月", "application": "申请",
    "apply for": "申请", "apply": "申请", "expires": "到期", "expire": "到期", "expired": "过期了",
    "next month": "下个月", "tax": "税务", "rent": "房租", "rental": "租赁", "landlord": "房东", "tenant": "租客",
    "company": "公司", "registration": "登记", "register": "登记", "newborn": "新生儿", "baby": "宝宝",
    "wife": "老婆", "husband": "老公", "girlfriend": "女朋友", "boyfriend": "男朋友", "fiancee": "未婚妻",
    "fiancée": "未婚妻", "fiance": "未婚夫", "foreigner": "外国人", "disability": "残疾", "mother-in-law": "婆婆",
    "mother": "母亲", "father": "父亲", "how long": "要多久", "where": "在哪里", "documents": "材料",
    "materials": "材料", "what do i need": "要带什么",
}


@functools.lru_cache(maxsize=1)
def _pattern() -> re.Pattern[str]:
    words = sorted(GLOSSARY, key=len, reverse=True)
    return re.compile(r"(?<![A-Za-z])(" + "|".join(re.escape(w) for w in words) + r")(?![A-Za-z])", re.IGNORECASE)


def gloss_english(text: str) -> str:
    """The message with known English service words in Chinese (unchanged when it has no Latin letters)."""
    if not re.search(r"[A-Za-z]{3}", text):
        return text
    return _pattern().sub(lambda m: GLOSSARY[m.group(1).lower()], text)


# -- answering an English question -------------------------------------------------------------------------
HOTLINE = "For help in English, call the Shanghai foreign-language hotline 962288."
_FACTS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"法定时限(\d+)个?工作日"), "legal time limit {0} working day(s)"),
    (re.compile(r"法定时限(\d+)日"), "legal time limit {0} days"),
    (re.compile(r"承诺(?:时限)?(?:自受理之日起)?(\d+)个工作日"), "promised within {0} working day(s)"),
    (re.compile(r"(即时办结|当场办结|即时备案)"), "can be done on the spot"),
    (re.compile(r"(不收费)"), "free of charge"),
    (re.compile(r"(\d+)元"), "fee {0} yuan"),
    (re.compile(r"(\d+)个工作日"), "{0} working day(s)"),
)


def is_english(text: str) -> bool:
    """A message written in English: at least three Latin words and no more than a few Chinese characters."""
    return len(re.findall(r"[A-Za-z]{2,}", text)) >= 3 and len(re.findall(r"[\u4e00-\u9fff]", text)) <= 4


def key_facts(text: str) -> list[str]:
    """Time limits and fees the Chinese answer states, in English (numbers copied, nothing inferred)."""
    out: list[tuple[int, str]] = []
    taken: list[tuple[int, int]] = []
    for pattern, template in _FACTS:
        for m in pattern.finditer(text):
            if any(a < m.end() and m.start() < b for a, b in taken):
                continue  # part of a fact already read ("法定时限15个工作日" is not also "15 working day(s)")
            taken.append(m.span())
            fact = template.format(*m.groups())
            if fact not in (f for _, f in out):
                out.append((m.start(), fact))
    return [f for _, f in sorted(out)][:4]


def english_answer(chinese: str, title: str) -> str:
    """An honest English frame around an answer quoted from a Chinese guide (no English version is stored)."""
    lines = [f"This answer is quoted from the Chinese service guide “{title}” (no English version yet; the text "
             "below is in Chinese, with its source)."]
    facts = key_facts(chinese.partition("来源：")[0])
    if facts:
        lines.append("Key facts: " + "; ".join(facts) + ".")
    return "\n".join([*lines, chinese, HOTLINE])


ENGLISH_UNKNOWN = ("Sorry, I could not find a reliable answer in the district's service guides and policies. "
                   "You can ask for an online agent (reply “转人工”), or call the foreign-language hotline 962288 "
                   "or the 12345 government service hotline.")
