"""Everyday 沪语 (Shanghainese) words read as Mandarin, so the dialogue understands "哪能办", "伊好领伐".

Only function words and common phrases are mapped (侬/阿拉/伊/啥/哪能/伐/勿/覅…), never names: 伊 becomes 他
only where a pronoun stands (at a clause start or before a verb), so 伊犁 or a name with 伊 stays. The
pipeline works on the mapped text; logs and traces keep what the person wrote (redacted).
"""

from __future__ import annotations

import re

_PHRASES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"哪能"), "怎么"),
    (re.compile(r"啥辰光"), "什么时候"),
    (re.compile(r"啥地方"), "哪里"),
    (re.compile(r"啥个|啥"), "什么"),
    (re.compile(r"阿拉"), "我"),
    (re.compile(r"侬"), "你"),
    (re.compile(r"伊拉"), "他们"),
    (re.compile(r"(?:(?<=^)|(?<=[，,。！!？?\s帮给让叫请跟和替同]))伊(?=[^犁斯朗甸万丽莉])"), "他"),
    (re.compile(r"覅"), "不要"),
    (re.compile(r"勿"), "不"),
    (re.compile(r"钞票|铜钿"), "钱"),
    (re.compile(r"几钿"), "多少钱"),
    (re.compile(r"号头"), "月"),
    (re.compile(r"老头子"), "老伴"),
    (re.compile(r"([^\s，,。！!？?])伐(?=[？?。！!\s]*$|[，,])"), r"\1吗"),
    (re.compile(r"好伐"), "好吗"),
    (re.compile(r"晓得"), "知道"),
    (re.compile(r"自家(?=办|来|去|弄|申请|填|跑)|我自家"), "我自己"),
    (re.compile(r"物事|事体"), "事情"),
    (re.compile(r"(?<![勾索])勒(?=上海|松江|本市|本地|外地|老家|屋里|这|那|[\u4e00-\u9fff]{1,3}(?:区|镇|街道|路|弄|里))"), "在"),
)


def to_mandarin(text: str) -> str:
    """The message with everyday 沪语 words in Mandarin (unchanged when it has none)."""
    if not any(ch in text for ch in "侬阿伊啥哪伐勿覅钞老晓物事钿号自铜勒"):
        return text
    for pattern, repl in _PHRASES:
        text = pattern.sub(repl, text)
    return text
