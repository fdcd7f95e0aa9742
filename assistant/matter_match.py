"""Whether the best item is about the matter asked, or a near-miss (个体户 asked, 企业 answered; 居住证 asked,
身份证 answered). Catalogue-independent contrast sets: each is a list of mutually exclusive groups of words; a
question naming one group answered by an item whose title names another group of the same set is a near-miss,
and the assistant says which matter it found and asks instead of answering the wrong one.
"""

from __future__ import annotations

from dataclasses import dataclass

from kb.text import normalize

# Each set: groups that look alike to retrieval but are different matters. The first word of a group is how
# the reply names it.
CONTRASTS: tuple[tuple[tuple[str, ...], ...], ...] = (
    (("个体工商户", "个体户", "个体经营", "个体"), ("企业", "公司", "有限责任公司")),
    (("护照", "港澳通行证", "台湾通行证", "签证"), ("居民身份证", "身份证")),
    (("居住证",), ("居民身份证", "身份证")),
    (("离婚",), ("结婚",)),
    (("退休提取", "退休"), ("租赁提取", "租房", "租赁住房")),
    (("职工医保", "职工医疗保险", "单位医保"), ("城乡居民", "居民医保", "居保")),
    (("灵活就业", "自由职业"), ("用人单位", "单位参保", "单位社会保险")),
    (("补领", "补办", "丢了", "遗失"), ("新办", "首次")),
    (("公积金",), ("社会保险", "社保")),
    (("公租房", "公共租赁住房", "廉租房"), ("公积金",)),
)


@dataclass(frozen=True)
class NearMiss:
    asked: str  # how the question names its matter ("个体工商户")
    found: str  # what the item is about instead ("企业")


def _group(text: str, groups: tuple[tuple[str, ...], ...]) -> int | None:
    hits = [n for n, g in enumerate(groups) if any(w in text for w in g)]
    return hits[0] if len(hits) == 1 else None  # a text naming both groups is not decisive


def near_miss(question: str, title: str) -> NearMiss | None:
    """The contrast between what is asked and the item's title, if the title is about something else."""
    q, t = normalize(question), normalize(title)
    for groups in CONTRASTS:
        asked = _group(q, groups)
        if asked is None or any(w in t for w in groups[asked]):
            continue
        found = _group(t, groups)
        if found is not None and found != asked:
            return NearMiss(asked=groups[asked][0], found=groups[found][0])
    return None
