"""Phone typing: homophone typos of government terms (居主证, 社宝卡, 续前, 营业执招) read as the term meant.

A window of the message whose toneless pinyin equals a known term's, but whose characters differ in at most
half the places, is replaced by the term. Only a curated vocabulary of service words is corrected, so names
and addresses are never touched (a name is not in the vocabulary).
"""

from __future__ import annotations

import functools
import re

from pypinyin import Style, lazy_pinyin

TERMS: tuple[str, ...] = (
    "居住证", "社保卡", "身份证", "户口本", "户口", "营业执照", "公积金", "养老金", "失业金", "低保", "医保", "社保",
    "续签", "补办", "补领", "换领", "签注", "备案", "登记", "注销", "执照", "许可证", "津贴", "补贴", "结婚证", "离婚",
    "出生证", "出生医学证明", "残疾人证", "居住登记", "个体户", "退休", "驾驶证", "护照", "港澳通行证", "不动产",
    "房产证", "租房", "纳税", "发票", "刻章", "招牌", "新生儿", "社区事务受理服务中心",
)


# Function words are never a typo of a term: "不办" is not 补办, "没" is not 梅.
_KEEP = frozenset("不没是了的在有也都就还要想我你他她它们这那")
# Real words that sound like a term: 承租方/出租方 (the parties of a lease) are not 租房.
_REAL = frozenset({"租方"})


@functools.lru_cache(maxsize=1)
def _index() -> dict[int, dict[str, str]]:
    """Term length -> toneless pinyin of the term -> the term."""
    out: dict[int, dict[str, str]] = {}
    for term in TERMS:
        out.setdefault(len(term), {}).setdefault(" ".join(lazy_pinyin(term, style=Style.NORMAL)), term)
    return out


def fix_typos(text: str) -> str:
    """The message with homophone typos of known terms corrected (unchanged when there are none)."""
    index = _index()
    chars = list(text)
    pinyin = [p for ch in text for p in (lazy_pinyin(ch, style=Style.NORMAL) if "\u4e00" <= ch <= "\u9fff" else ["?"])]
    if len(pinyin) != len(chars):  # non-Han runs collapsed differently: leave the text alone
        return text
    i = 0
    while i < len(chars):
        for n in sorted(index, reverse=True):
            if i + n > len(chars):
                continue
            window = "".join(chars[i:i + n])
            term = index[n].get(" ".join(pinyin[i:i + n]))
            if term is None or term == window or window in _REAL or any(ch in _KEEP for ch in window):
                continue
            differ = sum(a != b for a, b in zip(window, term, strict=True))
            if differ <= max(1, n // 2):
                chars[i:i + n] = list(term)
                i += n - 1
                break
        i += 1
    return "".join(chars)


_PRONOUN_START = re.compile(r"^(?:我|你|您|他|她|伊|侬|阿拉)")


def join_spaced_words(text: str) -> str:
    """"我 是 公司 的 办税 人员 我 叫 示例安娜": a learner (or a phone's word keyboard) puts a space between every
    word. Such a message is read with the spaces dropped, a new sentence at each pronoun that starts a word;
    spaces between digit groups ("138 0000 5203") and ordinary phone spacing ("河南的呀 内地 伊叫王小美") stay."""
    tokens = text.split()
    han = [t for t in tokens if re.fullmatch(r"[\u4e00-\u9fff]+", t)]
    if len(tokens) < 6 or len(han) < 5 or sum(len(t) <= 2 for t in han) < 0.75 * len(han):
        return text
    out = tokens[0]
    for prev, tok in zip(tokens, tokens[1:], strict=False):
        if _PRONOUN_START.match(tok) and not re.search(r"[的是叫和跟给帮替让]$", prev):
            out += "，" + tok
        elif re.search(r"[\u4e00-\u9fff]$", prev) or re.match(r"[\u4e00-\u9fff]", tok):
            out += tok
        else:
            out += " " + tok
    return out
