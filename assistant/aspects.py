"""What a question asks about a matter (its aspect: 材料, 时限, 费用, 金额…) and where a guide answers it.

Catalogue-independent: the patterns say how residents ask ("要带什么" is 材料, "多久能拿到" is 时限, "一个月多少钱"
is 金额/标准 and not 费用, "几点开门" is 地点), the section map says which headings of 办事指南, 政策 and 常见问答
answer each aspect. A weak cue ("怎么办" for 流程, "能不能办" for 条件) counts only when no other aspect is asked:
"能不能网上办" asks for the online entrance, not the conditions.
"""

from __future__ import annotations

import re
from enum import StrEnum

from kb.text import normalize


class Aspect(StrEnum):
    CONDITIONS = "条件"
    MATERIALS = "材料"
    STEPS = "流程"
    TIME_LIMIT = "时限"
    FEE = "费用"
    AMOUNT = "金额"
    PLACE = "地点"
    ONLINE = "线上"
    BASIS = "依据"
    PHONE = "电话"
    PAYMENT = "发放"  # where and how the money arrives ("钱打到哪里")


# Headings that answer each aspect, most specific first (guides, policies, FAQs and review points).
SECTIONS: dict[Aspect, tuple[str, ...]] = {
    Aspect.CONDITIONS: ("适用对象", "申请条件", "办理条件", "支持对象", "申报条件"),
    Aspect.MATERIALS: ("申请材料",),
    Aspect.STEPS: ("办理流程", "兑现方式"),
    Aspect.TIME_LIMIT: ("办理时限",),
    Aspect.FEE: ("收费标准",),
    Aspect.AMOUNT: ("补贴标准", "发放标准", "待遇标准", "补助标准", "支持内容"),
    Aspect.PLACE: ("办理地点",),
    Aspect.ONLINE: ("办理流程", "办理地点", "兑现方式", "申请材料"),  # lines naming an online channel
    Aspect.BASIS: ("设定依据", "政策依据", "审查依据"),
    Aspect.PHONE: ("咨询电话",),
    Aspect.PAYMENT: ("办理流程", "申请材料", "兑现方式"),  # lines saying where the money goes
}
ANSWER_SECTIONS = ("答复",)  # an FAQ's answer answers whatever its question asks

# Label used in replies ("居住证签注的办理时限：…").
LABELS: dict[Aspect, str] = {
    Aspect.CONDITIONS: "办理条件", Aspect.MATERIALS: "申请材料", Aspect.STEPS: "办理流程",
    Aspect.TIME_LIMIT: "办理时限", Aspect.FEE: "收费", Aspect.AMOUNT: "发放标准", Aspect.PLACE: "办理地点",
    Aspect.ONLINE: "线上办理", Aspect.BASIS: "设定依据", Aspect.PHONE: "咨询电话", Aspect.PAYMENT: "发放方式",
}

# Follow-up questions offered after an answer, phrased the way a resident would ask them.
FOLLOW_UPS: dict[Aspect, str] = {
    Aspect.MATERIALS: "要带什么材料？", Aspect.TIME_LIMIT: "要多久能办好？", Aspect.PLACE: "在哪里办？",
    Aspect.CONDITIONS: "需要什么条件？", Aspect.FEE: "要交钱吗？", Aspect.STEPS: "办理流程是怎样的？",
    Aspect.ONLINE: "能在网上办吗？", Aspect.AMOUNT: "标准是多少？",
}

_AMOUNT = (r"(一个月|每月|每个月|每年|一年|能|可以)(能|好|可以)?(领|发|拿|补|给)?(多少|几多)|(领|发|补贴|补助|津贴|给|拿|补)(多少|几多)|"
           r"多少钱一个月|标准是多少|什么标准|哪个档|几档|金额|(津贴|补贴|补助|养老金|失业金|救助金|低保金?)[^，,。？?]{0,12}(多少|几多)|"
           r"(多少|几多)[^，,。？?]{0,40}(每月|一个月|每个月)|能(领|拿)(多久|几个月|几年)|(领|发)(多久|几个月)")
_FEE_WORDS = r"收费|费用|手续费|工本费|要钱|花钱|交钱|付钱|收钱|要不要钱|交费|缴费吗|免费"
# (aspect, strong cue, weak cue): a weak cue counts only when no strong cue of another aspect is found
PATTERNS: tuple[tuple[Aspect, str, str], ...] = (
    (Aspect.AMOUNT, _AMOUNT, ""),
    (Aspect.PAYMENT, r"打到哪|发到哪|打在哪|怎么发|怎么领钱|到账|打到|打进|发钱|发到|钱.{0,3}(?:给到|打给)", ""),
    (Aspect.FEE, _FEE_WORDS + r"|多少钱", ""),
    (Aspect.TIME_LIMIT, r"多久|多长时间|几天|时限|多快|什么时候能|几个工作日|办好要|能拿到|拿到证|当场|要等|等多久|几号能", r"办好"),
    (Aspect.MATERIALS, r"材料|带什么|带啥|准备什么|准备啥|要带|需要哪些东西|提交什么|交什么|拿什么|资料|要哪些东西|啥东西|什么东西",
     r"证件"),
    (Aspect.ONLINE, r"网上|线上|在线|手机上|随申办|一网通办|不用跑|不去现场|不到现场|app|App|APP|小程序|网办|电脑上", ""),
    (Aspect.PLACE, r"在哪|地点|地址|哪里办|去哪|哪个窗口|窗口在|几点|开门|上班时间|办公时间|哪儿办|到哪|什么地方", ""),
    (Aspect.CONDITIONS, r"条件|资格|符合|要求|谁可以|哪些人|什么人|够不够|有没有资格|能领吗|可以领吗|能享受|满足",
     r"能不能办|可以办吗|能办吗|能不能申请|可以申请吗|能申请吗"),
    (Aspect.STEPS, r"流程|步骤|程序|手续|怎么操作|怎么走|先做什么", r"怎么办|如何办|怎么申请|如何申请|怎么弄|咋办|咋弄|怎么领|怎样办|哪能办|怎么补|怎么换|怎么续|怎么提取|怎么交"),
    (Aspect.BASIS, r"依据|法规|哪条|政策文件|文号|根据什么|哪个文件", r"规定"),
    (Aspect.PHONE, r"电话|热线|咨询", ""),
)
_COMPILED = tuple((a, re.compile(s), re.compile(w) if w else None) for a, s, w in PATTERNS)
_HOURS = re.compile(r"几点|开门|上班时间|办公时间|开放时间|周末|星期|礼拜")
_FEE_ONLY = re.compile(_FEE_WORDS)


def detect_aspects(question: str, strong_only: bool = False) -> tuple[Aspect, ...]:
    """The aspects a question asks, in the order the question asks them (`strong_only`: no weak cues)."""
    q = normalize(question)
    strong: list[tuple[int, int, Aspect]] = []
    weak: list[tuple[int, int, Aspect]] = []
    for aspect, pattern, soft in _COMPILED:
        m = pattern.search(q)
        if m:
            strong.append((m.start(), m.end(), aspect))
        elif soft is not None and (w := soft.search(q)):
            weak.append((w.start(), w.end(), aspect))
    # a cue inside an earlier aspect's phrase is part of it: "能领多久" asks the 标准, not the 时限
    inside = {a for s, e, a in strong for s2, e2, a2 in strong if a2 != a and s2 <= s and e <= e2 and (s2, e2) != (s, e)}
    found = [a for _, _, a in sorted(strong, key=lambda x: x[0]) if a not in inside]
    if Aspect.AMOUNT in found and Aspect.FEE in found and not _FEE_ONLY.search(q):
        found.remove(Aspect.FEE)  # "一个月多少钱" asks what one receives, not what one pays
    if not found and not strong_only:
        found = [a for _, _, a in sorted(weak, key=lambda x: x[0])]
    return tuple(dict.fromkeys(found))


def asks_hours(question: str) -> bool:
    return bool(_HOURS.search(normalize(question)))


def sections_for(aspects: tuple[Aspect, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(s for a in aspects for s in SECTIONS[a]))


# Cues of wanting it done now, not just asking about it ("我想办居住证，要带什么" starts the application).
EXPLICIT_APPLY = re.compile(r"我想|我要|想办|要办|给我办|给我弄|帮我(?!算|查|看|问|想|说|解释|分析)|我准备|打算|现在办|开始办|在线办|申请一下")
_MINE = re.compile(r"我的|我那|我们的|我提交|我交的|我申请的|交上去|递上去|提交的|哪一步|哪步|进度|状态|批了没|通过了没")


def asks_fact(question: str) -> bool:
    """A question about a fact of a matter (时限, 材料, 费用, 地点…; not only "怎么办") without asking to start:
    "开个体户执照几天能拿到", "宝宝报户口要带什么" are answered, not started."""
    q = normalize(question)
    clauses = [c for c in re.split(r"[，,。；;！!？?\s]+", q) if c]
    if len(clauses) > 2 or len(q) > 40:
        return False  # a story with details ("…合同也拿去备案了…要准备啥") is someone setting out to do it
    return any(a != Aspect.STEPS for a in detect_aspects(q, strong_only=True)) and not EXPLICIT_APPLY.search(q)


def general_question(question: str) -> bool:
    """About a matter in general ("低保申请多久有结果", "到哪个窗口"), not about one's own application."""
    q = normalize(question)
    return bool({Aspect.TIME_LIMIT, Aspect.PLACE} & set(detect_aspects(q, strong_only=True))) and not _MINE.search(q)
