"""Scope by place and audience: knowledge a 街镇 (sub-district or town) publishes applies to that 街镇's residents.

An answer quoting a 方松街道 guide says so; to a resident of another 街镇 (from the question, "我在中山街道", or
from the profile's 户籍 or home address) it says first that the guide is not theirs and where to ask instead. An
answer from a guide for 个人 to an enterprise session (or for 法人 to a citizen) says whom the guide is for.
"""

from __future__ import annotations

import re

from assistant.context import Deps, TurnContext
from assistant.profiles import ProfileKind
from kb.models import Audience, Level

TOWN = re.compile(r"^([\u4e00-\u9fff]{2,4}?(?:街道|镇))")


def town_of(text: str) -> str | None:
    """"上海市松江区方松街道示例路1号" / "松江区方松街道社区事务受理服务中心" -> "方松街道"."""
    rest = text.split("区", 1)[1] if "区" in text else text
    m = TOWN.match(rest)
    return m.group(1) if m else None


def towns(units: dict[str, str]) -> dict[str, str]:
    """Town name -> the name of its unit (the 社区事务受理服务中心 to ask)."""
    out: dict[str, str] = {}
    for name in units.values():
        if (town := town_of(name)) is not None:
            out.setdefault(town, name)
    return out


def resident_town(deps: Deps, ctx: TurnContext, known: dict[str, str]) -> tuple[str, str] | None:
    """(town, how we know) for the person asking: a town the question names, else the profile's 户籍 or home."""
    named = [t for t in known if t in ctx.text]
    if named:
        return named[0], "您说在"
    s = ctx.state
    if s.profile_id is None or not deps.identity.may_read_profile(s):
        return None
    profile = deps.profiles.get(s.profile_id)
    if profile.kind != ProfileKind.CITIZEN:
        return None
    for field, how in (("hukou_address", "您的户籍在"), ("address", "您住在")):
        value = profile.get(field)
        if isinstance(value, str) and "松江区" in value and (town := town_of(value)) is not None:
            return town, how
    return None


def scope_note(deps: Deps, ctx: TurnContext, item_id: str) -> tuple[str, bool] | None:
    """(note, goes first) about where and for whom the cited item applies; None when it applies as it is."""
    live = deps.knowledge.live().get(item_id)
    if live is None:
        return None
    notes: list[str] = []
    first = False
    units = deps.units() if live.level == Level.TOWN else {}
    if live.level == Level.TOWN and (town := town_of(units.get(live.owner, ""))) is not None:
        known = towns(units)
        person = resident_town(deps, ctx, known)
        unit = units.get(live.owner, town)
        if person is None:
            ctx.rules.append(f"scope.town:{town}:unknown")
            notes.append(f"提示：以上内容由{unit}发布，适用于{town}的居民；其他街镇请向所在街镇的社区事务受理服务中心咨询，要求可能不同。")
        elif person[0] != town:
            ctx.rules.append(f"scope.town:{town}:other:{person[0]}")
            where = known.get(person[0], f"{person[0]}社区事务受理服务中心")
            notes.append(f"请注意：下面的内容来自{unit}，只适用于{town}。{person[1]}{person[0]}，"
                         f"具体条件和办理地点请向{where}咨询，可能与下面不同。")
            first = True
        else:
            ctx.rules.append(f"scope.town:{town}:same")
    kind = _profile_kind(deps, ctx)
    wanted = Audience.ENTERPRISE if kind == ProfileKind.ENTERPRISE else Audience.PERSON if kind else None
    if wanted is not None and live.audience and wanted not in live.audience:
        ctx.rules.append(f"scope.audience:{live.audience[0].value}")
        notes.append(f"提示：这份指南面向{'、'.join(a.value for a in live.audience)}办理，"
                     f"{'以单位身份' if wanted == Audience.ENTERPRISE else '以个人身份'}办理的要求可能不同。")
    return ("\n".join(notes), first) if notes else None


def _profile_kind(deps: Deps, ctx: TurnContext) -> ProfileKind | None:
    s = ctx.state
    if s.profile_id is None or not deps.identity.may_read_profile(s):
        return None
    return deps.profiles.get(s.profile_id).kind


def with_scope(deps: Deps, ctx: TurnContext, item_id: str, text: str) -> str:
    """The answer text with its scope note: first when the guide is another 街镇's, else before the sources."""
    note = scope_note(deps, ctx, item_id)
    if note is None:
        return text
    line, first = note
    if first:
        return f"{line}\n{text}"
    head, sep, sources = text.partition("\n来源：")
    return f"{head}\n{line}{sep}{sources}"
