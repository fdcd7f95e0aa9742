"""Frustration and profanity are met with an apology and the conversation goes on (never a refusal).

"你们这帮废物…我就想问社保卡怎么补": the venting is set aside and the question answered; a message that is
only venting ("说人话！") gets a short apology and the pending question again, put simply.
"""

from __future__ import annotations

import re

VENTING = re.compile(
    r"(你们?(这帮|这些|这群)?(人|废物|垃圾|蠢货|骗子)?(真是|简直|就是)?)?(废物|垃圾|什么破(系统|玩意|东西)?|破系统|烂系统|"
    r"什么玩意儿?|什么鬼|说人话|听不懂人话|听不懂吗|听得懂吗|气死(我)?了?|烦死(我)?了?|有病吧?|坑人|骗人|搞什么(鬼|名堂)?|"
    r"太(慢|差|烂)了?|傻[逼子]?|蠢|他妈(?!妈)的?|(?<![我你她老阿姆])妈的|tmd|卧槽|靠(?![谱近着边自得住])|"
    # English, from foreign residents: "this is so confusing!!" is frustration, not an attack on the assistant
    r"(?:this is|this|it'?s|it is|so|very|too)\s+(?:so\s+|really\s+|very\s+)?(?:confusing|frustrating|annoying|stupid|useless|ridiculous)|"
    r"\bwtf\b|what the (?:hell|heck)|\bdamn(?: it)?\b|\bshit\b)[!！。，,\s]*",
    re.IGNORECASE,
)
APOLOGY = "抱歉让您着急了，我尽量说简单些。"


def set_aside_venting(text: str) -> tuple[str, bool]:
    """(what the message asks once the venting is taken out, whether there was venting)."""
    rest = VENTING.sub(" ", text)
    vented = rest != text
    rest = re.sub(r"^[\s，,。！!？?…~]+|[\s，,~]+$", "", re.sub(r"\s{2,}", " ", rest))
    rest = re.sub(r"^(我就?(是)?想问(一下|问)?|我只想问|就想问|我就问|我问你)[，,：:\s]*", "", rest) if vented else rest
    if vented and len(re.findall(r"[\u4e00-\u9fffA-Za-z]", re.sub(r"你们|这个|这|那|啊|吧|呢|了", "", rest))) < 2:
        rest = ""  # nothing but venting
    return rest, vented
