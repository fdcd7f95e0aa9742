"""Which shown option a free reply picks: "还在原来那家上班" is 单位未变, "我们俩都是头婚" is 初婚, "车都买好了" is
已购置车辆, "我跟我妈两个人一起过" is 多人家庭, "不要邮寄，我自己去窗口拿" is 窗口领取.

People rarely answer with the option's words. The reading goes, first decisive step wins:
1. an ordinal reply ("1", "第二个", "选2");
2. the option's label said in full;
3. keywords — the option's own (catalogue `keywords`) and the everyday ways of saying them (`CONCEPTS`, a
   curated list of near-synonyms such as 头婚 = 初婚 = 第一次结婚); a keyword right after a negation
   ("不是我自己辞职的", "不要全套") counts against its option, not for it;
4. the shape of a pair of options: unchanged vs changed (未变/有变化), done vs planned (已/拟), one vs several
   (单人/多人) read from negation, completion and count words in the reply;
5. the longest shared part of the reply and a label (at least two characters, strictly the longest).
Nothing decisive → None, and the dialogue asks again with the choices shown.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

# Near-synonyms people use for option words. When an option's label or keyword contains a member of a
# group, every member becomes a keyword of that option. Groups hold expressions of one meaning only.
CONCEPTS: tuple[tuple[str, ...], ...] = (
    ("第一次", "头一次", "头一回", "首次", "初次", "新办", "没办过", "从来没办过", "以前没办过", "首套"),
    ("初婚", "头婚", "第一次结婚", "没结过婚", "没结过", "都是第一次"),
    ("再婚", "二婚", "离过婚", "离异", "结过婚"),
    ("我自己", "我自己来", "自己来", "自己去", "自己办", "我本人", "本人", "亲自", "自己跑", "我去办"),
    ("代办", "代为", "帮忙办", "替我办", "让人代", "委托"),
    ("没搬", "没有搬", "没搬家", "还住原来", "还住在原来", "住址没变", "地址没变", "还是原来的地址", "住的地方没变",
     "老地方", "还住这"),
    ("没变", "没变化", "没有变", "没有变化", "不变", "一样", "没换", "没有换", "还在原", "还是原来", "原来那家",
     "原来的单位", "照旧", "老样子", "还是那家", "同一家"),
    ("换工作", "换了工作", "跳槽", "换单位", "换了单位", "新单位", "换了公司", "新公司上班", "换了一家", "跳到",
     "另一家", "换到"),
    ("坏了", "断了", "断成", "断掉", "掰断", "裂了", "裂开", "折断", "碎了", "磨损", "损坏", "消磁", "读不出", "刷不了", "刷不出"),
    ("迁址", "迁入", "迁到", "迁来", "迁过来", "迁移", "搬迁", "迁往"),
    ("搬家了", "搬了", "搬走了", "换了地方", "地址变了", "住址变了", "搬到", "搬过", "搬家", "搬去"),
    ("已经买了", "买好了", "已经买好", "已购置", "已经有车", "车都有", "车到了", "已经到了", "车买了"),
    ("准备买", "还没买", "打算买", "计划买", "要去买", "拟购"),
    ("租的", "租来的", "租了", "租赁", "租房", "租用", "租下"),
    ("自有", "自己的房", "自家的", "自家房", "自己家的", "自己房子", "买的", "买下的", "自己买的", "产权是我"),
    ("结婚了", "已婚", "领证了", "领过证", "有老婆", "有老公", "有爱人"),
    ("单身", "未婚", "没结婚", "还没结婚", "没对象"),
    ("丢了", "掉了", "丢失", "遗失", "找不到", "不见了", "被偷", "弄丢", "丢的", "丢在", "丢哪", "掉哪", "掉在"),
    ("坏了", "损坏", "断了", "折了", "烂了", "碎了", "读不出"),
    ("到期", "过期", "快到期", "要到期", "到期了"),
    ("最低", "下限", "最少", "最便宜", "最低档", "最低那档"),
    ("最高", "上限", "最多", "最高档"),
    ("窗口", "自己去拿", "自己去取", "现场领", "窗口拿", "窗口领", "网点", "自己去领"),
    ("邮寄", "寄到家", "寄到", "快递", "寄给我", "寄过来", "邮过来"),
    ("一个人", "就我", "只有我", "就我自己", "就我一个", "独居", "单人"),
    ("有员工", "招了人", "有职工", "有人了", "已经招了"),
    ("我辞职", "辞职", "自己走的", "主动离职", "自己不干了", "自己提的离职"),
    ("裁员", "被裁", "裁的", "裁掉", "辞退", "开除", "被炒", "优化", "公司解除", "公司让我走", "倒闭"),
    ("合同到期", "合同期满", "不续签", "合同到了", "到期不续"),
    ("有结婚证", "结婚证在", "结婚证还在", "证在的", "证还在"),
    ("随妈妈", "随母", "跟妈妈", "落在妈妈", "跟着妈妈"),
    ("随爸爸", "随父", "跟爸爸", "跟他爸", "落在爸爸", "跟着爸爸"),
    ("外国", "老外", "外籍", "外国人", "国外"),
    ("内地", "大陆", "中国人", "国内"),
    ("社会平均", "社平", "平均工资", "中间那档", "中间档"),
    ("出租人", "房东", "业主", "租给", "租出去", "出租给", "我是出租", "我是产权人", "产权是我的"),
    ("承租人", "租客", "房客", "我是承租", "我租的房"),
    ("直接", "直租", "房东直租", "直接租", "跟房东签", "直接跟我签", "直接签", "直接租给"),
    ("转租", "二房东", "二手房东", "转租给", "分租"),
    ("上海户口", "户口在上海", "户口在松江", "户口就在上海", "户口在本市", "本地户口", "上海本地人", "户籍在上海"),
)

# Groups that join an option only when one of its words is exactly a member: 期满 inside 劳动合同期满 is not a
# (房东 inside 二房东 is no landlord)
# document's validity ("身份证过期了" does not answer how a labour contract ended).
_GAP = r"[^不没未非别无，,。！!？?；;\s\d]{1,2}"
_EXACT_ONLY = frozenset({"到期", "出租人", "承租人"})

# "不是我自己辞职的", "不要全套", "没有外地的": the keyword after it is what the person rules out.
_NEGATOR = re.compile(r"(?:不是|并不是|不要|不用|不想|并非|别|非|没有|没|未|不)$")
_NOT_NEGATING = frozenset("见错少过管久好到然")
_ORDINAL = re.compile(r"(?:第|选)?\s*(\d{1,2})\s*(?:个|项|种|号|条)?")
_NEG_LABEL = re.compile(r"未|没有?|不涉及|不需要|暂不|暂时没有|^无|只在本市")
_NEG_CUE = re.compile(r"没|未|不|无|还在|还是|原来|原先|一样|照旧|老样子|同一|依旧|仍然|仍")
_CHANGE_CUE = re.compile(r"换了|变了|搬了|搬到|新的|跳槽|改了")
_DONE_LABEL = re.compile(r"^已|已经")
_PLAN_LABEL = re.compile(r"^拟|准备|打算|^未")
_DONE_CUE = re.compile(r"好了|已经|过了|都有|到了|了$|了[，,。！!]")
_PLAN_CUE = re.compile(r"还没|没有|准备|打算|计划|想要|要去|正在")
_ONE_LABEL = re.compile(r"^(?:单|一名|一个|独)")
_MANY_LABEL = re.compile(r"^(?:多|几)")
_MANY_CUE = re.compile(r"(?:[2-9]|两|二|三|四|五|六|几)\s*(?:个人|口人?|名|位|个)|我和|我跟|和我|跟我|一起|全家|一家")
_ONE_CUE = re.compile(r"一个人|就我|只有我|我一个|独自|独居|单身")


@dataclass(frozen=True)
class OptionText:
    label: str
    keywords: tuple[str, ...] = field(default=())


def label_parts(label: str) -> tuple[str, ...]:
    """Keywords a label gives by itself: its head before a bracket ("未婚（或离异、丧偶）" → 未婚), and
    "仅X" said as "只要X"/"只X"."""
    head = re.split(r"[（(]", label)[0].strip()
    parts = [label, head] if head and head != label else [label, label]
    m = re.match(r"仅(.+)", head)
    if m:
        parts += [f"只要{m.group(1)}", f"只{m.group(1)}", f"就{m.group(1)}", f"一个{m.group(1)}", f"一枚{m.group(1)}"]
    m = re.match(r"(.{2,})代扣$", head)
    if m:  # "社保卡代扣" is said "从社保卡里扣"
        parts += [f"{m.group(1)}里扣", f"{m.group(1)}上扣", f"{m.group(1)}扣", f"{m.group(1)}自动扣"]
    stem = re.sub(r"(?:服务|销售|制售|行业|业)$", "", head)
    if stem != head and len(stem) >= 2:
        parts.append(stem)  # "做餐饮" is 餐饮服务
    return tuple(p for p in parts if len(p) >= 2)


def expanded(words: Sequence[str]) -> tuple[str, ...]:
    """The words and their everyday near-synonyms (`CONCEPTS`): a group joins when one of its members is
    one of the words or a part of one ("首次刻制" brings 第一次, 头一回 …)."""
    out = [w for w in words if w]
    for group in CONCEPTS:
        exact = group[0] in _EXACT_ONLY
        if any((g == w if exact else _part_of(g, w)) for w in out[: len(words)] for g in group):
            out.extend(g for g in group if g not in out)
    return tuple(out)


def _part_of(member: str, word: str) -> bool:
    """`member` is the word or an unnegated part of it: 换工作 is part of 换了工作, not of 没换工作."""
    if member == word:
        return True
    at = word.find(member) if len(member) >= 2 else -1
    return at >= 0 and not _NEGATOR.search(word[:at])


def _negated(text: str, start: int) -> bool:
    """Whether the word at `start` follows a negation in the same clause ("不是我自己辞职" for 我自己/辞职);
    不 inside a word (不见了, 不错, 不少) negates nothing."""
    head = re.split(r"[，,。.！!？?；;\s]", text[:start])[-1]
    return any(_NEGATOR.search(head[:cut]) and head[cut:cut + 1] not in _NOT_NEGATING
               for cut in range(len(head), max(-1, len(head) - 6), -1))


def keyword_scores(text: str, options: Sequence[OptionText], own_bonus: float = 0.0) -> tuple[dict[str, float], set[str]]:
    """Per option the longest keyword said for it, and the options whose keywords were said negated.
    Words of the message that every option claims ("租房" for three kinds of tenancy) decide nothing and are
    not counted when some option has another word."""
    hits: dict[str, dict[tuple[int, int], float]] = {}
    ruled_out: set[str] = set()
    for opt in options:
        words = (opt.label, *expanded((*label_parts(opt.label)[1:], *opt.keywords)))
        # "备案了" is said "备案过了": a keyword also counts without its trailing aspect particle
        stems = tuple(w[:-1] for w in words if len(w) >= 3 and w[-1] in "了过的好" and w[:-1] not in words)
        for word in (*words, *stems):
            if len(word) < 2 and not word.isdigit():
                continue
            pattern = re.escape(word) + (r"(?=[过了好的]{1,2})" if word in stems else "")  # a stem only as 备案过了
            if word in stems and len(word) == 2:
                pattern += f"|{re.escape(word[0])}[了过]{re.escape(word[1])}"  # "领证了" said "领了证的", "结过婚"
            if len(word) >= 4 and word not in stems:
                # "户口就在松江" says 户口在松江: one short insertion (never a negation) inside a long keyword
                pattern = "|".join([pattern] + [re.escape(word[:k]) + _GAP + re.escape(word[k:]) for k in range(2, len(word) - 1)])
            own = word in opt.keywords or word in label_parts(opt.label)
            for m in re.finditer(pattern, text):
                starts_negative = bool(re.match(r"没|未|不|无|还没|暂", word))
                if not starts_negative and _negated(text, m.start()):
                    ruled_out.add(opt.label)
                else:  # said in passing, the option's own words weigh a little more than near-synonyms
                    spans = hits.setdefault(opt.label, {})
                    spans[m.span()] = max(spans.get(m.span(), 0), len(word) + (own_bonus if own else 0))
    shared = set.intersection(*(set(h) for h in hits.values())) if len(hits) == len(options) > 1 else set()
    scores: dict[str, float] = {}
    for label, spans in hits.items():
        own_spans = [v for span, v in spans.items() if span not in shared]
        scores[label] = max(own_spans or spans.values())
    if shared and any(set(h) - shared for h in hits.values()):
        scores = {label: v for label, v in scores.items() if set(hits[label]) - shared}
    return scores, ruled_out


def _by_shape(text: str, options: Sequence[OptionText]) -> str | None:
    """A two-option question answered by its shape: unchanged/changed, done/planned, one/several."""
    if len(options) != 2:
        return None
    a, b = options
    neg = [o for o in options if _NEG_LABEL.search(o.label)]
    if len(neg) == 1:
        other = b if neg[0] is a else a
        if _CHANGE_CUE.search(text) and not re.search(r"没|未|不", text):
            return other.label
        if _NEG_CUE.search(text) and not _CHANGE_CUE.search(text):
            return neg[0].label
    done = [o for o in options if _DONE_LABEL.search(o.label)]
    plan = [o for o in options if _PLAN_LABEL.search(o.label)]
    if len(done) == 1 and len(plan) == 1:
        if _PLAN_CUE.search(text):
            return plan[0].label
        if _DONE_CUE.search(text):
            return done[0].label
    one = [o for o in options if _ONE_LABEL.search(o.label)]
    many = [o for o in options if _MANY_LABEL.search(o.label)]
    if len(one) == 1 and len(many) == 1:
        if _ONE_CUE.search(text) and not _MANY_CUE.search(text):
            return one[0].label
        if _MANY_CUE.search(text):
            return many[0].label
    return None


def longest_common(a: str, b: str) -> int:
    """Length of the longest common substring (both short, so the quadratic scan is fine)."""
    best = 0
    for i in range(len(a)):
        for j in range(i + best + 1, len(a) + 1):
            if a[i:j] in b:
                best = j - i
            else:
                break
    return best


def said_in_passing(text: str, options: Sequence[OptionText]) -> str | None:
    """The option a message names in passing ("头一回办", "到网点自己拿"): by label or keyword only, negation
    respected, never by ordinal, shape or overlap — the message was not an answer to this question."""
    if not options:
        return None
    scores, ruled_out = keyword_scores(text, options, own_bonus=0.5)
    for label in ruled_out:
        scores.pop(label, None)
    ranked = sorted(scores.items(), key=lambda kv: -kv[1])
    if ranked and (len(ranked) == 1 or ranked[0][1] > ranked[1][1]):
        return ranked[0][0]
    return None


def pick(text: str, options: Sequence[OptionText], ordinal_text: str | None = None) -> str | None:
    """The label of the option the reply picks, or None when nothing decides it (see the module doc)."""
    if not options:
        return None
    labels = [o.label for o in options]
    m = _ORDINAL.fullmatch((ordinal_text if ordinal_text is not None else text).strip())
    if m and 1 <= int(m.group(1)) <= len(options):
        return labels[int(m.group(1)) - 1]
    for label in sorted(labels, key=len, reverse=True):
        at = text.find(label)
        if at >= 0 and not _negated(text, at):
            return label
    scores, ruled_out = keyword_scores(text, options)
    for label in ruled_out:
        scores.pop(label, None)
    if scores:
        ranked = sorted(scores.items(), key=lambda kv: -kv[1])
        if len(ranked) == 1 or ranked[0][1] > ranked[1][1]:
            return ranked[0][0]
    remaining = [o for o in options if o.label not in ruled_out]
    if ruled_out and len(remaining) == 1:
        return remaining[0].label  # "不是住宅" when the other option is 商铺
    shaped = _by_shape(text, remaining if len(remaining) == 2 else options)
    if shaped is not None:
        return shaped
    overlap = sorted(((longest_common(o.label, text), o.label) for o in remaining), reverse=True)
    if overlap and overlap[0][0] >= 2 and (len(overlap) == 1 or overlap[0][0] > overlap[1][0]):
        return overlap[0][1]
    return None
