"""Aspect answers from one knowledge item: the sections that answer the asked aspect, in the source's order,
lists complete with their own numbering, a first sentence that answers directly, one citation per block.

The item's chunks are re-assembled into its sections (chunking split them into sentences); a line that does
not start with a list marker continues the line before it, so "3. 单位变了的提交…；未变化的免交。" stays one item.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from assistant.aspects import ANSWER_SECTIONS, LABELS, SECTIONS, Aspect
from kb.models import SearchHit

_MARKER = re.compile(r"^\s*(?:\d{1,2}[.、．)）]|[（(]\d{1,2}[)）]|[（(][一二三四五六七八九十]{1,3}[)）]|[-·•]\s*)")
_NUMBERED = re.compile(r"^\s*(?:\d{1,2}[.、．)）]|[（(]\d{1,2}[)）])\s*")
_MONEY = re.compile(r"\d+(?:\.\d+)?\s*(?:元|万元)|每人每月|每月\d|领取期限|最长\d+个月")
_PAID = re.compile(r"打入|发放至|发放到|到账|账户|按月发放|打到")
_DOING = re.compile(r"申请|办理|提交|登录|签注|申报|填报|预约")
_ONLINE = re.compile(r"随申办|一网通办|网上|线上|全程网办|在线|电子税务局|App|APP|客户端|小程序|网上业务系统")
_CONDITIONAL = re.compile(r"^[^，,：:]{0,14}的[，,]")  # "家属代办的，提交…": a material only some need


@dataclass
class Section:
    heading: str
    lines: list[str]
    hits: list[SearchHit] = field(default_factory=list)


@dataclass
class Block:
    """One answered part: its first sentence, the source lines it quotes (may be none) and the item it cites."""

    lead: str
    lines: list[str]
    hits: list[SearchHit]


def body(hit: SearchHit) -> str:
    """A chunk's text without its `title｜section：` prefix."""
    head, sep, rest = hit.text.partition("：")
    return rest if sep and "｜" in head else hit.text


def _index(hit: SearchHit) -> int:
    tail = hit.chunk_id.rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def sections_of(hits: Sequence[SearchHit]) -> dict[str, Section]:
    """The item's sections in source order, each with its lines re-assembled from the chunks."""
    out: dict[str, Section] = {}
    for h in sorted({h.chunk_id: h for h in hits}.values(), key=_index):
        sec = out.setdefault(h.section, Section(h.section, []))
        sec.hits.append(h)
        for raw in body(h).split("\n"):
            line = raw.strip()
            if not line:
                continue
            if sec.lines and not _MARKER.match(line):
                sec.lines[-1] += line
            else:
                sec.lines.append(line)
    return out


def _strip(line: str) -> str:
    return _NUMBERED.sub("", line).strip()


def _sentence(text: str) -> str:
    text = text.strip().rstrip("；;，,")
    return text if text.endswith(("。", "！", "？", "：")) else text + "。"


def _inline(lines: Sequence[str]) -> str:
    """A short list said in one sentence, sub-items after their item ("标准：65至69周岁：每人每月75元；…")."""
    text = ""
    for line in lines:
        sub = line.lstrip().startswith(("-", "·", "•"))
        bit = re.sub(r"^\s*[-·•]\s*", "", _strip(line)).rstrip("。；;，,")
        if not text:
            text = bit
        elif text.endswith("：") and sub:
            text += bit
        else:
            text += f"；{bit}"
    return _sentence(text)


def _head(line: str) -> str:
    """What a material is called: the item up to its first explanation ("本人居民身份证原件（电子证照可替代）")."""
    line = _strip(line)
    head = re.split(r"[（(，,；;。：:]", line, maxsplit=1)[0].strip()
    if head.count("《") > head.count("》"):  # "《个体工商户登记（备案）申请书》": the title is one name
        head = line[: line.index("》", len(head)) + 1] if "》" in line[len(head):] else head.replace("《", "")
    return head


def _label(line: str) -> str | None:
    """A step's name ("1. 申请：本人到…" -> 申请), when the step is written that way."""
    m = re.match(r"^([^：:，,。]{1,8})[：:]", _strip(line))
    return m.group(1) if m else None


def lead_for(aspect: Aspect, title: str, lines: Sequence[str]) -> tuple[str, list[str]]:
    """The first sentence for an aspect and the lines still to quote after it."""
    label = LABELS[aspect]
    if not lines:
        return "", []
    top = [line for line in lines if not line.lstrip().startswith(("-", "·", "•"))]
    if len(lines) == 1 or (aspect in (Aspect.TIME_LIMIT, Aspect.FEE, Aspect.PLACE, Aspect.AMOUNT, Aspect.PHONE,
                                      Aspect.BASIS) and sum(len(x) for x in lines) <= 160):
        return f"{title}的{label}：{_inline(lines)}", []
    if aspect == Aspect.MATERIALS:
        heads = [h for line in top if not _CONDITIONAL.match(_strip(line)) and (h := _head(line))]
        if heads:
            more = "等" if len(heads) > 4 or len(heads) < len(top) else ""
            return f"办理{title}需要准备{'、'.join(heads[:4])}{more}材料，明细如下：", list(lines)
    if aspect == Aspect.STEPS:
        labels = [_label(line) for line in top]
        if all(labels):
            return f"{title}的办理流程：{' → '.join(x for x in labels if x)}。具体如下：", list(lines)
    if aspect == Aspect.CONDITIONS:
        return f"{title}需要符合以下条件：", list(lines)
    return f"{title}的{label}如下：", list(lines)


def _amount_lines(sections: dict[str, Section]) -> tuple[list[str], list[SearchHit]]:
    """Lines that state a standard or an amount, each with its sub-items, from any section."""
    for heading in SECTIONS[Aspect.AMOUNT]:
        if heading in sections:
            return sections[heading].lines, sections[heading].hits
    out: list[str] = []
    hits: list[SearchHit] = []
    for sec in sections.values():
        if sec.heading == "办理流程":
            continue  # "核定领取期限和标准" says that a standard is set, not what it is
        for n, line in enumerate(sec.lines):
            is_sub = line.lstrip().startswith(("-", "·", "•"))
            subs = []
            for nxt in sec.lines[n + 1:]:
                if not nxt.lstrip().startswith(("-", "·", "•")):
                    break
                subs.append(nxt)
            if is_sub:
                continue
            if _MONEY.search(line) or any(_MONEY.search(s) for s in subs):
                out.extend([line, *subs])
                hits.extend(h for h in sec.hits if h.chunk_id not in {x.chunk_id for x in hits})
    return out, hits


def blocks_for(aspect: Aspect, title: str, sections: dict[str, Section], hours: bool = False) -> list[Block]:
    """The blocks answering one aspect from one item's sections; empty when the item does not say."""
    if aspect == Aspect.AMOUNT:
        lines, hits = _amount_lines(sections)
        if not lines:
            return []
        lead, rest = lead_for(aspect, title, lines)
        return [Block(lead, rest, hits)]
    if aspect == Aspect.PAYMENT:
        found = [(s, line) for heading in SECTIONS[aspect] if (s := sections.get(heading))
                 for line in s.lines if _PAID.search(line)]
        if not found:
            return []
        sec, line = found[0]
        rest = [x for _, x in found[1:]]
        return [Block(f"{title}的发放方式：{_sentence(_strip(line))}", [_strip(x) for x in rest[:2]],
                      list({h.chunk_id: h for s2, _ in found for h in s2.hits}.values()))]
    if aspect == Aspect.ONLINE:
        found = [(s, line) for heading in SECTIONS[aspect] if (s := sections.get(heading))
                 for line in s.lines if _ONLINE.search(line)]
        if not found:
            place = sections.get("办理地点")
            if place is None:
                return []
            return [Block(f"{title}的办事指南没有写线上办理方式，办理地点：{_inline(place.lines)}", [], place.hits)]
        sec, line = next(((s, x) for s, x in found if _DOING.search(x)), found[0])  # where one applies online
        return [Block(f"可以线上办理：{_sentence(_strip(line))}", [], sec.hits)]
    headings = [h for h in SECTIONS[aspect] if h in sections]
    if not headings:
        return []
    if aspect == Aspect.CONDITIONS and len(headings) > 1 and len(sections[headings[0]].lines) == 1:
        who, cond = sections[headings[0]], sections[headings[1]]
        lead = f"{title}适用于：{_sentence(_strip(who.lines[0]))}"
        return [Block(lead, [], who.hits), Block("需要符合以下条件：", cond.lines, cond.hits)]
    sec = sections[headings[0]]
    lead, rest = lead_for(aspect, title, sec.lines)
    blocks = [Block(lead, rest, sec.hits)]
    if aspect == Aspect.PLACE and hours:
        phone = sections.get("咨询电话")
        said = " ".join(sec.lines)
        if not re.search(r"\d{1,2}[:：]\d{2}|\d{1,2}点|工作日|周[一二三四五六日]", said):
            note = "办事指南没有写窗口开放时间，建议出发前电话确认"
            blocks = [Block(f"{note}。{lead}", rest, sec.hits)]
            if phone is not None:
                blocks.append(Block(f"咨询电话：{_inline(phone.lines)}", [], phone.hits))
    return blocks


def answer_blocks(sections: dict[str, Section]) -> list[Block]:
    """An FAQ's own answer: its 答复 in full, first sentence first."""
    for heading in ANSWER_SECTIONS:
        if heading in sections:
            lines = sections[heading].lines
            return [Block(lines[0], lines[1:], sections[heading].hits)]
    return []
