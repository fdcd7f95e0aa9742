"""Extractors propose slot values from a citizen's words; validators decide. Deterministic, no LLM.

Chinese numerals go through cn2an (一百二十平米 -> 120), dates understand 下个月 / 明年三月 / 2026年12月1日,
numbers read the unit in the field label (平方米, 万元, 元, 米, 吨). Built-ins are registered through
`ExtractorRegistry.register`, the same call a deployment uses for its own (keyed by validator name,
field name or field type).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
import warnings
from collections.abc import Callable
from typing import Any

import cn2an

from assistant.catalog import FormField
from assistant.choices import OptionText, pick
from guardrails.pii import valid_bank_card, valid_id_card
from kb.text import normalize

Extractor = Callable[[str, FormField, dt.date], Any]

_ID = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
_USCC = re.compile(r"(?<![0-9A-Za-z])[0-9A-Z]{18}(?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<!\d)1\d{2}[\s-]?\d{4}[\s-]?\d{4}(?!\d)")
_NUM = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)\s*(万|千)?")
_AREA_UNIT = re.compile(r"(\d+(?:\.\d+)?)\s*(?:平方米|平米|平方|㎡|m2|平)")
_FILLER_HEAD = re.compile(
    r"^(?:(?:不对|错了|不是|改一下|更正一下|更正|修改|改成|改为|应该是|应是|是|叫|为|在|住在|我叫|名字叫|名称叫|名称是|名字是|"
    r"就叫|我们叫|打算叫|准备叫|想叫|写|填|嗯|好的|好|那个|就是|"
    r"(?:她|他|伊|对方|我?的?(?:老婆|老公|爱人|妻子|丈夫|妈妈?|爸爸?|母亲|父亲|儿子|女儿|孩子|宝宝))(?:的名字|的姓名)?(?:叫|是))[，,：:\s]*)+"
)
_FILLER_TAIL = re.compile(r"[。！!？?，,；;~～\s]*(?:吧|呢|啊|呀|哈|哦|的吧|就行|就可以|谢谢)?[。！!？?，,；;~～\s]*$")
_ADDRESS_MARK = re.compile(r"[省市区县镇乡街道路弄巷号室村幢栋楼]")
_CN_MONTH = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10, "十一": 11, "十二": 12}
_YES = ("是的", "是", "对", "有", "需要", "要", "同意", "可以", "好的", "好", "嗯", "行")
_NO = ("不是", "否", "没有", "不需要", "不要", "不用", "不同意", "没", "无", "不")


def to_arabic(text: str) -> str:
    """Chinese numerals to digits (cn2an), quietly: cn2an warns on fragments it cannot parse."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return str(cn2an.transform(text, "cn2an"))
        except Exception:  # cn2an raises bare ValueError/KeyError on odd fragments; keep the text as is
            return text


def clean_value(text: str) -> str:
    text = normalize(text).strip()
    text = _FILLER_HEAD.sub("", text)
    return _FILLER_TAIL.sub("", text).strip(" “”\"'：:")


# -- identifiers ----------------------------------------------------------------------------------
def find_id_numbers(text: str) -> list[str]:
    return [m.upper() for m in _ID.findall(normalize(text))]


def find_uscc(text: str) -> list[str]:
    return [m for m in _USCC.findall(normalize(text).upper()) if not m.isdigit()]


_CARD = re.compile(r"(?<![0-9A-Za-z])\d{4}(?:[ \-]?\d){12,15}(?![0-9A-Za-z])")


def find_bank_cards(text: str) -> list[tuple[str, str]]:
    """Bank card numbers as typed ("6214 8300 1122 3343"): (as written, digits only); 16-19 digits passing Luhn,
    never a valid 身份证号."""
    out = []
    for m in _CARD.finditer(normalize(text)):
        digits = re.sub(r"[ \-]", "", m.group(0))
        if valid_bank_card(digits) and not (len(digits) == 18 and valid_id_card(digits)):
            out.append((m.group(0), digits))
    return out


def find_mobiles(text: str) -> list[str]:
    return [re.sub(r"[\s-]", "", m) for m in _MOBILE.findall(normalize(text))]


def extract_id_card(text: str, f: FormField, today: dt.date) -> Any:
    found = find_id_numbers(text)
    if found:
        return found[0]
    digits = re.sub(r"[^\dXx]", "", normalize(text))
    return digits.upper() if len(digits) >= 15 else None


def extract_uscc(text: str, f: FormField, today: dt.date) -> Any:
    found = find_uscc(text)
    if found:
        return found[0]
    compact = re.sub(r"[^0-9A-Za-z]", "", normalize(text)).upper()
    return compact if len(compact) >= 15 else None


def extract_mobile(text: str, f: FormField, today: dt.date) -> Any:
    found = find_mobiles(text)
    if found:
        return found[0]
    digits = re.sub(r"\D", "", normalize(text))
    return digits or None  # a short number is proposed so the validator can say what is wrong


# -- numbers, areas, money ---------------------------------------------------------------------
def numbers(text: str) -> list[float]:
    """Every number in the text, Chinese numerals included; 万/千 multiply."""
    out: list[float] = []
    for m in _NUM.finditer(to_arabic(normalize(text))):
        value = float(m.group(1))
        if m.group(2) == "万":
            value *= 10_000
        elif m.group(2) == "千":
            value *= 1_000
        out.append(value)
    return out


def area(text: str) -> float | None:
    m = _AREA_UNIT.search(to_arabic(normalize(text)))
    return float(m.group(1)) if m else None


def money_yuan(text: str) -> float | None:
    t = to_arabic(normalize(text))
    m = re.search(r"(\d+(?:\.\d+)?)\s*(万元|万块|万|千元|千块|千|元|块钱|块)", t)
    if not m:
        return None
    value, unit = float(m.group(1)), m.group(2)
    return value * 10_000 if unit.startswith("万") else value * 1_000 if unit.startswith("千") else value


def _unit(f: FormField) -> str:
    m = re.search(r"（([^）]*)）", f.label)
    return m.group(1) if m else ""


_HOUSE_NUMBER = re.compile(r"\d+\s*(?:号|弄|室|栋|幢|楼|层|单元|街坊|路)")


def extract_number(text: str, f: FormField, today: dt.date) -> Any:
    original = normalize(text)
    text = _HOUSE_NUMBER.sub(" ", to_arabic(normalize(text)))  # 5号101室 is an address, not a quantity
    unit = _unit(f)
    counted = re.search(r"\d+\s*(个人|人|口|名|辆|份|台|岁)", text)
    if counted and counted.group(1)[-1] not in f.label and not re.search(r"元|块|钱|万", text):
        return None  # "两个人" is a headcount, never an amount of money or an area
    if "平方米" in unit:
        a = area(text)
        if a is not None:
            return _num(a)
    if unit.startswith("万") and "万" in original:
        found = numbers(original)
        return _num(found[0] / 10_000) if found else None
    if "元" in unit:
        yuan = money_yuan(text)
        if yuan is not None:
            return _num(yuan / 10_000 if unit.startswith("万") else yuan)
        nums = [n for n in _plain_numbers(text)]
        return _num(nums[0]) if nums else None
    total = _TOTAL.search(original)  # "4辆 哦不对 又订了一辆 一共5辆": the total, not the first or the added one
    if total and (found := numbers(total.group(1) + "个")):  # a lone 两 reads as a number before a unit
        return _num(found[0])
    nums = _plain_numbers(text)
    return _num(nums[0]) if nums else None


_TOTAL = re.compile(r"(?:一共|总共|合计|共计|总计|统共|一总|加起来|加在一起|总数)\s*(?:是|有|为)?\s*([\d.零〇一二两三四五六七八九十百千万]+)")


def _plain_numbers(text: str) -> list[float]:
    t = to_arabic(normalize(text))
    return [float(m.group(1)) for m in re.finditer(r"(?<![\d.])(\d+(?:\.\d+)?)", t)]


def _num(x: float) -> int | float:
    return int(x) if x == int(x) else round(x, 4)


# -- dates ---------------------------------------------------------------------------------------
def _add_months(day: dt.date, months: int) -> dt.date:
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def parse_date(text: str, today: dt.date) -> dt.date | None:
    """Absolute and relative Chinese dates. A month without a day means its first day."""
    t = to_arabic(normalize(text)).replace(" ", "")
    m = re.search(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})[日号]?", t)
    if m:
        return _safe_date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    m = re.search(r"(?<!\d)(\d{4})(\d{2})(\d{2})(?!\d)", t)
    if m:
        return _safe_date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    simple = {"今天": 0, "今日": 0, "明天": 1, "后天": 2, "大后天": 3, "昨天": -1, "前天": -2}
    for word, delta in sorted(simple.items(), key=lambda kv: -len(kv[0])):
        if word in t:
            return today + dt.timedelta(days=delta)
    day_m = re.search(r"(\d{1,2})[日号]", t)
    day = int(day_m.group(1)) if day_m else 1
    rel = {"下下个月": 2, "下个月": 1, "下月": 1, "这个月": 0, "本月": 0, "上个月": -1, "上月": -1}
    for word, delta in sorted(rel.items(), key=lambda kv: -len(kv[0])):
        if word in t:
            base = _add_months(today.replace(day=1), delta)
            return _safe_date(base.year, base.month, day)
    years = {"明年": 1, "后年": 2, "今年": 0, "去年": -1, "前年": -2}
    year = today.year
    for word, delta in years.items():
        if word in t:
            year = today.year + delta
            break
    lone = re.search(r"(?<!\d)((?:19|20)\d{2})年(?!\d{1,2}月)", t)  # "7月15号 2025年的": the year said apart
    if lone:
        year = int(lone.group(1))
    m = re.search(r"(?<!\d)(\d{4})年(\d{1,2})月", t)
    if m:
        return _safe_date(int(m.group(1)), int(m.group(2)), day)
    m = re.search(r"(?<!\d)(\d{1,2})月", t)
    if m:
        return _safe_date(year, int(m.group(1)), day)
    m = re.search(r"(\d{4})-(\d{1,2})(?!-)", t)
    if m:
        return _safe_date(int(m.group(1)), int(m.group(2)), 1)
    return None


def _safe_date(y: int, m: int, d: int) -> dt.date | None:
    try:
        return dt.date(y, m, d)
    except ValueError:
        return None


def extract_date(text: str, f: FormField, today: dt.date) -> Any:
    found = parse_date(text, today)
    return found if found is not None else clean_value(text) or None


# -- enumerations, booleans, text, addresses -------------------------------------------------------
def choose_option(text: str, options: tuple[str, ...] | list[str], keywords: dict[str, tuple[str, ...]] | None = None) -> str | None:
    """The option the text names: by ordinal, label, keyword and near-synonym, or the options' shape
    (see assistant/choices.py)."""
    raw = normalize(text)
    ordinal = clean_value(to_arabic(raw)) or raw  # only for ordinals: cn2an turns 零售 into 0售
    return pick(raw, [OptionText(o, tuple((keywords or {}).get(o, ()))) for o in options], ordinal_text=ordinal)


# What people call an option ("建行" is 中国建设银行, "上海户口" is 本市): a keyword for every option it names.
OPTION_SYNONYMS: dict[str, tuple[str, ...]] = {
    "建设银行": ("建行",), "工商银行": ("工行",), "农业银行": ("农行",), "中国银行": ("中行",), "交通银行": ("交行",),
    "招商银行": ("招行",), "浦发银行": ("浦发",), "农村商业银行": ("农商行", "农商银行"), "上海银行": ("上银",),
    "本市": ("上海户口", "上海户籍", "本地人", "上海人", "本市户口", "本市户籍"),
    "外省市": ("外地户口", "外省", "外地人", "老家户口", "非本市"),
}


_OPTION_TAIL = re.compile(r"(?:类)?(?:食品)?(?:制售|销售|服务|经营)$")


def option_keywords(options: tuple[str, ...] | list[str]) -> dict[str, tuple[str, ...]]:
    """Everyday names of options: bank short names and the like, and an option's head word when the options
    differ by it ("热食类食品制售" is 热食, "散装食品销售" is 散装食品), if no other option shares it."""
    heads = {opt: h for opt in options if len(h := _OPTION_TAIL.sub("", opt.split("类")[0] if "类" in opt else opt)) >= 2
             and h != opt}
    out = {}
    for opt in options:
        words = [w for name, ws in OPTION_SYNONYMS.items() if name in opt for w in ws]
        head = heads.get(opt)
        if head and not any(head in other for other in options if other != opt):
            words.append(head)
        out[opt] = tuple(words)
    return out


# "男宝宝", "生了个闺女", "伊是小姑娘": how people say a child's sex; only for a child's 性别 field
_CHILD_SEX_WORDS: dict[str, tuple[str, ...]] = {
    "男": ("男孩", "男宝", "男娃", "男小孩", "男小囡", "儿子", "小子", "带把"),
    "女": ("女孩", "女宝", "女娃", "女小孩", "女小囡", "女儿", "闺女", "千金", "小姑娘"),
}


def field_option_keywords(f: FormField) -> dict[str, tuple[str, ...]]:
    """The words that name each option of `f`: the shared synonyms, and for a child's sex the usual words."""
    words = option_keywords(f.options)
    if "性别" in f.label and ("child" in f.name or "子女" in f.label or "新生儿" in f.label):
        words = {o: (*w, *_CHILD_SEX_WORDS.get(o, ())) for o, w in words.items()}
    return words


def extract_enum(text: str, f: FormField, today: dt.date) -> Any:
    return choose_option(text, f.options, field_option_keywords(f)) or clean_value(text) or None


def yes_no(text: str) -> bool | None:
    t = clean_value(text) or normalize(text)
    for word in _NO:
        if t.startswith(word):
            return False
    for word in _YES:
        if t.startswith(word):
            return True
    return None


_CONSENT_NO = re.compile(r"^(?:不同意|不可以|不行|不允许|拒绝|不要|不用|不需要|算了|否|不(?=$|[，,。！!\s]))")  # 不好意思 is no answer
_CONSENT_YES = re.compile(r"^(?:同意|可以|好的?|行|允许|授权|是的?|没问题|嗯|ok|OK|确认)")


def consent_answer(text: str) -> bool | None:
    """Consent needs an explicit word: 同意/可以/好/授权… or 不同意/不行/拒绝…; anything else is asked again."""
    t = normalize(text).strip(" ，,。！!")
    if t and re.fullmatch(r"[👍👌🙆✅☑✔️\s]+", t):
        return True  # a thumbs-up alone is a yes
    t = re.sub(r"^[^\u4e00-\u9fff0-9A-Za-z]+", "", t)  # "👍同意", "🙏好的"
    if _CONSENT_NO.match(t):
        return False
    if _CONSENT_YES.match(t):
        return True
    return None


def extract_boolean(text: str, f: FormField, today: dt.date) -> Any:
    return yes_no(text)


def extract_address(text: str, f: FormField, today: dt.date) -> Any:
    value = clean_value(re.sub(r"^.*?(?:地址|地点|住所|场所|住址|坐落)(?:是|为|在|改成|改为)?[：:，,\s]*", "", normalize(text)))
    value = re.sub(r"^(?:在|位于)", "", value)
    return value or None


_PLACE = re.compile(r"[省市区县镇乡街道路弄巷村]")


def looks_like_address(value: str) -> bool:
    """At least two kinds of address marks, one of them a place (区, 镇, 路…): 样例路5号 yes, 上个月15号 no."""
    marks = set(_ADDRESS_MARK.findall(value))
    return len(value) >= 6 and len(marks) >= 2 and bool(_PLACE.search(value))


CODE_LABEL = re.compile(r"(?:卡号|账号|编号|号码|证号|代码)$")
# spaces and dashes join digit groups only ("6217 0012 …"), never words ("card number 6217…")
_CODE = re.compile(r"(?<![0-9A-Za-z])[0-9A-Za-z](?:[0-9A-Za-z]|(?<=\d)[ \-](?=\d)){5,39}(?![0-9A-Za-z])")
# a certificate number as issued: region, (year), kind, 第…号 ("沪(2019)松字不动产权第012345号", "沪房地松字(2005)第0123号")
_CERT_NO = re.compile(r"[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼][\u4e00-\u9fff]{0,5}[(（]\d{4}[)）][\u4e00-\u9fff]{0,10}第?[0-9A-Za-z]{3,}号")
# "店名叫…", "名字是…", "就叫…": the words that introduce a value, not part of it
_VALUE_LEAD = re.compile(r"^(?:[\u4e00-\u9fff]{0,5}?(?:名字|名称|店名|公司名|企业名|字号|名))?(?:就|还)?(?:叫做|叫|是|为|写|填|选的是|选|用)[：:\s]*")


def extract_text(text: str, f: FormField, today: dt.date) -> Any:
    t = normalize(text)
    core = re.sub(r"（.*?）", "", f.label)
    t = re.sub(rf"^.*?{re.escape(core)}(?:是|为|叫|改成|改为|应该是)?[：:，,\s]*", "", t) if core and core in t else t
    if CODE_LABEL.search(core):
        cert = _CERT_NO.findall(t)
        if cert:
            return cert[-1].replace("（", "(").replace("）", ")")  # "沪(2019)松字不动产权第012345号" is the number, not its digits
        # 卡号, 证件号码, 编号: the code itself, spaces and dashes dropped ("卡号 6222 0200 …", "抄错了，是3401…")
        codes = [c for c in (m.group(0) for m in _CODE.finditer(t)) if sum(ch.isdigit() for ch in c) >= 4]
        if codes:
            return re.sub(r"[ \-]", "", codes[-1]).upper()
    value = clean_value(t)
    if value and _ACK_ONLY.fullmatch(value):
        return None  # "ok", "好的", "嗯嗯" answer nothing: the question stays open
    stripped = _VALUE_LEAD.sub("", value) if value else value
    return (stripped or value) or None


_ACK_ONLY = re.compile(r"(?i)(?:ok(?:ay)?|yes|yeah|yep|sure|fine|thanks?|thank you|好的?|好吧|嗯+|哦+|噢|行|可以|对|是的?|收到|明白|知道了|谢谢)"
                       r"[\s!！。.,，~]*")


class ExtractorRegistry:
    """Extractors by key; lookup order: field name, validator name, field type."""

    def __init__(self) -> None:
        self._fns: dict[str, Extractor] = {}

    def register(self, key: str, fn: Extractor) -> None:
        self._fns[key] = fn

    def for_field(self, f: FormField) -> Extractor:
        for key in (f"field:{f.name}", f"validator:{f.validator.name}" if f.validator else "", f"type:{f.type.value}"):
            if key and key in self._fns:
                return self._fns[key]
        return extract_text

    def extract(self, text: str, f: FormField, today: dt.date) -> Any:
        return self.for_field(f)(text, f, today)


def default_extractors() -> ExtractorRegistry:
    """The built-in extractors, registered exactly like a deployment registers its own."""
    reg = ExtractorRegistry()
    reg.register("validator:id_card", extract_id_card)
    reg.register("validator:uscc", extract_uscc)
    reg.register("validator:mobile", extract_mobile)
    reg.register("type:number", extract_number)
    reg.register("type:integer", extract_number)
    reg.register("type:date", extract_date)
    reg.register("type:enum", extract_enum)
    reg.register("type:boolean", extract_boolean)
    reg.register("type:address", extract_address)
    reg.register("type:string", extract_text)
    return reg


# -- which field does the citizen talk about? ----------------------------------------------------
_GENERIC_SUFFIXES = ("面积", "地址", "地点", "电话", "名称", "姓名", "日期", "号码", "人数", "住所", "方式", "类别",
                     "项目", "租金", "收入", "高度", "宽度", "单位", "银行", "月份", "种类", "原因", "内容", "编号", "账号",
                     "卡号")
_NAME_WORDS = ("名字", "店名", "公司名", "企业名", "字号", "店铺名", "公司名字", "企业名字", "店名字", "公司名称")
# Role nouns in a label ("企业联络员姓名" is named as 联络员): the role alone names the field.
_ROLE_NOUN = re.compile(r"(联络员|联系人|经办人|代办人|监护人|受托人|股东|发起人|监事|董事|财务负责人|办税人员)")
_SYNONYMS = {"mobile": ("手机", "电话", "联系方式"), "id_card": ("身份证",), "uscc": ("信用代码", "税号")}


def field_keywords(f: FormField) -> list[str]:
    core = re.sub(r"（.*?）", "", f.label).strip()
    words = {core}
    words.update(alt for alt in re.findall(r"（(.*?)）$", f.label)
                 if 2 <= len(alt) <= 6 and re.fullmatch(r"[\u4e00-\u9fff]+", alt) and alt not in ("平方米", "万元", "元", "米", "吨"))
    for suffix in _GENERIC_SUFFIXES:
        if core.endswith(suffix):
            words.add(suffix)
    if f.validator and f.validator.name in _SYNONYMS:
        words.update(_SYNONYMS[f.validator.name])
    if core.endswith("名称"):
        words.update(_NAME_WORDS)
    if f.type.value == "date" and core.endswith("日期") and len(core) >= 5:
        words.add(core[:-2])  # "居住登记是今年3月16号办的" names 居住登记日期
    role = _ROLE_NOUN.search(core)
    if role:
        words.update((role.group(1), role.group(1).replace("人员", "员")))  # 办税人员 is said 办税员
    if "法定代表人" in core:
        words.add(core.replace("法定代表人", "法人"))  # 法定代表人 is said 法人
    if "不动产权证" in core:
        words.update(("房产证号", "房产证", "产权证号", "产证号"))
    if core.endswith("证件号码"):
        words.update(("护照号", "护照号码", "证件号"))
    if core.endswith("租金"):
        words.update(("房租", "每月房租", "每个月房租"))
    if core.endswith("银行"):
        words.add("开户行")
    if core.endswith("住所"):
        words.add("地址")  # 公司住所 is said 地址
    if core.endswith("企业") and len(core) >= 4:
        words.update(core[:-2] + w for w in ("店", "公司", "厂"))  # 刻章企业 is said 刻章店
    if core.startswith("新") and core.endswith(("地址", "住址", "住所")):
        words.update(("搬到", "搬去", "新家"))
    # "新地址是…" names the new-address field, never the registered one: qualified labels get qualified words.
    for prefix in ("新", "变更后的", "变更后", "原"):
        if core.startswith(prefix):
            words.update(prefix + s for s in _GENERIC_SUFFIXES + ("住址",) if core.endswith(s) or s in ("住址", "地址") and core.endswith("地址"))
            if prefix.startswith("变更后"):
                words.update(("变更后", "新"))
    return sorted((w for w in words if len(w) >= 2), key=len, reverse=True)


# Names of procedures that contain a field word: "名称自主申报已经通过了" names no 名称 field.
_PROCEDURE_NAMES = re.compile(r"名称自主申报|名称预先核准|名称核准|名称申报|名称登记|地址核查|居住登记满")


def mentioned_fields(text: str, form: tuple[FormField, ...]) -> list[tuple[FormField, int, int]]:
    """Fields named in the text with the span of the best keyword, longest keyword first per position."""
    t = _PROCEDURE_NAMES.sub(lambda m: "＿" * len(m.group(0)), normalize(text))  # same length: spans stay valid
    found: list[tuple[FormField, int, int]] = []
    taken: list[tuple[int, int]] = []
    candidates = sorted(((len(k), f, k) for f in form for k in field_keywords(f)), key=lambda x: -x[0])
    for _, f, k in candidates:
        pos = t.find(k)
        again = t.find(k, pos + len(k)) if pos >= 0 else -1
        if again >= 0 and re.search(r"新的?$", t[max(0, again - 2):again]):
            pos = again  # "公司法人要换了…新法人是…": the mention that carries the value
        if pos < 0 or any(f is g for g, _, _ in found):
            continue
        span = (pos, pos + len(k))
        if any(a < span[1] and span[0] < b for a, b in taken):
            continue
        if re.match(r"(?:领导|那边|这边|人事|里)?(?:说|讲|告诉我|通知我?|叫我|的人说)", t[span[1]:span[1] + 5]) \
                and f.type not in ("date",) and not re.search(r"名称|单位名称", k):
            continue  # "单位说从6月1号开始算": 单位 speaks here, it is not the 所在单位 field
        if f.validator and f.validator.name in ("mobile", "id_card") and k in ("手机", "电话") \
                and not re.match(r"\s*也?(?:号码?|是|为|改|换|[：:]|\d|不对|错)", t[span[1]:span[1] + 4]):
            continue  # "上海松江示例手机维修店": 手机 in a name is not the phone field
        if k in _GENERIC_SUFFIXES:
            # "预约日期" is 预约登记日期, not 出生日期: among the fields ending in the same word, the one whose label
            # shares the words said before it
            rivals = [g for _, g, kk in candidates if kk == k and not any(g is h for h, _, _ in found)]
            before = t[max(0, pos - 4):pos] + t[pos + len(k):pos + len(k) + 10]  # the words around it
            # ties: the plainest label (公司住所 before 法定代表人住所)
            # ties: a label that ends in the word itself, then the plainest label (公司住所 before 法定代表人住所)
            scored = sorted(((sum(ch in g.label for ch in set(before)), not re.sub(r"（.*?）", "", g.label).endswith(k),
                              len(g.label), n, g) for n, g in enumerate(rivals)), key=lambda x: (-x[0], x[1], x[2], x[3]))
            if scored and (scored[0][0] > 0 or k == "地址"):
                f = scored[0][4]
            elif len(rivals) > 1:
                continue  # "日期不对" on a form with 出生日期 and 申请退休日期: which one is not said
        if re.search(r"(?:新的?|换|换个|改|更换|变更后的?)$", t[max(0, pos - 4):pos]) \
                and not re.search(r"新|变更后|拟", f.label):
            # "新地址…", "新法人…": the value after the change goes to 变更后内容, not the current one
            changed = next((g for g in form if (g.label.startswith("变更后") or g.label.startswith("新") and k in g.label)
                            and not any(g is h for h, _, _ in found)), None)
            adjacent = next(((g, a, b) for g, a, b in found if b == pos and g.label.startswith(("变更后", "新"))), None)
            if changed is None and adjacent is not None:
                found.remove(adjacent)  # "变更后法人就是…": one mention of the changed field, not two
                changed = adjacent[0]
            f = changed or f
        taken.append(span)
        found.append((f, span[0], span[1]))
    # "电话号码" is one field named twice: a generic word right after another mention adds nothing
    ends = {end for _, _, end in found}
    found = [(f, a, b) for f, a, b in found if not (a in ends and t[a:b] in _GENERIC_SUFFIXES)]
    return sorted(found, key=lambda x: x[1])
