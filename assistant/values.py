"""Typed value checks before a value reaches a form: a name is a name, an address an address, never a sentence.

People answer in sentences ("老头子叫沈国强 身份证…", "店在中山中路88号 我家住在泗泾…", "就写上海飞毛腿配送服务
有限公司 你把我说的废话都填进去了"). `tidy` keeps the value the field asks for, or returns a reason to ask again;
the field's validator still decides afterwards.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.catalog import FormField

CHATTER = re.compile(r"我|你|您|她|他|说了|不是|废话|啊|吧|呢|吗|嘛|呀|搞错|前面|多了|别|跟你|怎么|什么|干嘛|对吧|知道|不对|勿|伊|侬")
_NAME_AFTER = re.compile(r"(?:叫|名字是|名字叫|姓名是|姓名为|大名|名叫|就是|是|改成|改为|填)\s*([\u4e00-\u9fff·]{2,6})")
# the cues that introduce nothing but a name: "租客是个小伙子叫测试马骏" names 测试马骏, not "个小伙子叫测"
_NAME_AFTER_STRONG = re.compile(r"(?:叫|名字是|名字叫|姓名是|姓名为|大名|名叫)\s*([\u4e00-\u9fff·]{2,6})")
_NAME = re.compile(r"[\u4e00-\u9fff·]{2,6}|[A-Za-z][A-Za-z .'-]{1,40}")
_CLAUSE = re.compile(r"[，,。；;！!？?\s]+")
_LEAD = re.compile(r"^(?:就写|就填|写|填|是|为|就是|改成|改为|应该是)")
_ORG_END = re.compile(r".*?(?:有限责任公司|股份有限公司|有限公司|公司|集团|中心|厂|店|馆|局|院|所|学校|医院|银行|合作社|站)")
_ADDRESS_END = re.compile(r".*(?:\d+|[一二三四五六七八九十百零〇]+)(?:号|弄|室|栋|幢|楼|单元)(?:\d+(?:室|号)?)?")
_HOME_CUE = re.compile(r"家|住在|住址|户籍|户口")
_BUSINESS_CUE = re.compile(r"店|铺|经营|场所|公司|门面|设在|开在")
_ADDRESS_LEAD = re.compile(r"^(?:[^\d\u4e00-\u9fff]*)(?:店在|店开在|铺子在|门面在|我家住在|我家在|家住在|家住|住在|地址是|地址在|地址|"
                           r"经营场所是|经营场所在|经营场所|新地址是|新地址|在)")


@dataclass(frozen=True)
class Tidied:
    value: object
    reason: str | None = None  # set when the value must be asked again


def is_name_field(f: FormField) -> bool:
    return f.label.endswith(("姓名", "负责人）", "法定代表人")) or "姓名" in f.label or (
        f.name.endswith("_name") and not re.search(r"名称|银行|单位|机构|网点|公司|企业", f.label))  # 开户银行 is no person


def tidy(f: FormField, value: object) -> Tidied:
    """The part of a free-text answer that is the field's value."""
    if not isinstance(value, str):
        return Tidied(value)
    text = value.strip()
    if f.type.value == "address":
        return _address(f, text)
    if f.type.value != "string" or f.validator is not None and f.validator.name in ("id_card", "uscc", "mobile"):
        return Tidied(value)
    if is_name_field(f):
        return _name(f, text)
    return _text(f, text)


# "租客测试林小北", "换成我同事陈小青", "她叫…": who the person is, said before the name
_RELATION_LEAD = re.compile(
    r"^(?:换成|改成|改为|换为|我就是|我是|就是|是)?(?:我们的?|我的?|他的?|她的?)?(?:孩子(?:他|的)?(?:爸爸|妈妈|爸|妈)|新的?法人|新法定代表人|男方|女方|"
    r"会计|出纳|财务|行政|人事|文员|员工|经理|主管|同事|朋友|租客|房东|承租人|出租人|承租方|出租方|甲方|乙方|对方单位|对方|老婆|老公|爱人|妻子|丈夫|"
    r"媳妇|女朋友|男朋友|对象|未婚妻|未婚夫|表姐|表哥|表妹|表弟|姐姐|哥哥|妹妹|弟弟|室友|邻居|亲戚|联络员|经办人|股东|"
    r"代办人|监护人|孩子|儿子|女儿|宝宝|母亲|父亲|妈妈|爸爸|我妈|我爸|老伴|老头子|老太婆)?(?:叫|是|名叫|名字叫)?")


_FIELD_NOUN = re.compile(r"叫|名字|老伴|电话|手机|身份证|证件|号码|地址|住址|姓名|日期|生日|户口|单位|面积|邮箱|银行|卡号")
_ROLE_VERB_LEAD = re.compile(r"^(?:让|请|由|就写|写|填|就是|是|叫)+")
_ROLE_VERB_TAIL = re.compile(r"(?:来当|来做|来担任|担任|当|来办|负责|就行|吧)+$")


# Common surnames (单姓 and 复姓): a relation word followed by a word that starts with none of them is not a name
# ("宝宝出生了", "他是智力残疾"). The sample data's synthetic names carry a 示例/样例/测试 prefix.
_SURNAMES = set(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金"
    "石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章"
    "鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解"
    "牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑"
    "郎甄丛仲虞敖巩明佘池查麻苑迟邝封")
_COMPOUND_SURNAMES = ("欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "令狐", "慕容", "尉迟", "公孙", "司徒", "夏侯", "端木")


def looks_like_person_name(text: str) -> bool:
    core = re.sub(r"^(?:示例|样例|测试)", "", text)
    if not re.fullmatch(r"[\u4e00-\u9fff·]{2,5}", core) or re.search(r"[了的过着吗呢吧啊呀]$", core):
        return False
    return core.startswith(_COMPOUND_SURNAMES) or core[0] in _SURNAMES


def relation_and_name(text: str) -> str | None:
    """The name in a clause that is only a relation word and a name ("女方示例林晓", "男方叫示例许明")."""
    lead = _RELATION_LEAD.match(text.strip())
    rest = text.strip()[lead.end():] if lead else ""
    if lead and not _NO_RELATION.fullmatch(lead.group(0)) and looks_like_person_name(rest) and "的" not in rest \
            and not CHATTER.search(rest) and not _FIELD_NOUN.search(rest):
        return rest
    return None


# a lead without a relation word ("我是", "是"): "我是房东" names a role, not a person
_NO_RELATION = re.compile(r"(?:换成|改成|改为|换为|我就是|我是|就是|是)?(?:我们的?|我的?|他的?|她的?)?(?:叫|是|名叫|名字叫)?")


_ORG = re.compile(r"[\u4e00-\u9fff（）()]{2,40}(?:有限责任公司|股份有限公司|有限公司|公司|厂|店|中心|合作社|事务所|工作室|集团|银行|学校|"
                  r"医院|协会|商行|分公司)")


_NOT_NAME = re.compile(r"本人|自己|[办去来做当]$")  # "我本人去办" names nobody


def _name(f: FormField, text: str) -> Tidied:
    if "名称" in f.label:  # 姓名（名称）: a company may be the other party ("承租方上海示例餐饮管理有限公司")
        org = _ORG.fullmatch(_RELATION_LEAD.sub("", text.strip(), count=1))
        if org:
            return Tidied(org.group(0))
    lead = _RELATION_LEAD.match(text)
    if lead and lead.group(0) and re.fullmatch(r"[\u4e00-\u9fff·]{2,6}", text[lead.end():]) \
            and not CHATTER.search(text[lead.end():]) and not _NOT_NAME.search(text[lead.end():]):
        return Tidied(text[lead.end():])  # "对方示例马骏", "孩子爸爸测试郑强"
    if _NAME.fullmatch(text) and not CHATTER.search(text) and not re.search(r"叫|名字|姓名|大名", text):
        return Tidied(text)
    first = re.match(r"^([\u4e00-\u9fff·]{2,4})(?:[，,。；;\s]+)", text)
    if first and not CHATTER.search(first.group(1)) and not _FIELD_NOUN.search(first.group(1)) \
            and looks_like_person_name(first.group(1)):
        return Tidied(first.group(1))  # "孙琪 琪是王字旁的琪", "王小美 刚刚讲过了": the name comes first
    bare = _RELATION_LEAD.sub("", text, count=1)
    if bare != text and re.fullmatch(r"[\u4e00-\u9fff·]{2,6}", bare) and not CHATTER.search(bare) \
            and not _NOT_NAME.search(bare):
        return Tidied(bare)
    found = [m.group(1) for m in _NAME_AFTER_STRONG.finditer(text) if not CHATTER.search(m.group(1))] \
        or [m.group(1) for m in _NAME_AFTER.finditer(text) if not CHATTER.search(m.group(1))]
    if found:
        return Tidied(found[-1])  # "我叫沈阿婆 大名王秀英": the last one said
    # "让示例许诺来当", "代办人就写我，示例孙小龙": the clause that is only a name, once role verbs are dropped
    for clause in reversed([c for c in _CLAUSE.split(text) if c]):
        core = _ROLE_VERB_TAIL.sub("", _ROLE_VERB_LEAD.sub("", _RELATION_LEAD.sub("", clause, count=1)))
        if re.fullmatch(r"[\u4e00-\u9fff·]{2,6}", core) and not CHATTER.search(core) and not _FIELD_NOUN.search(core) \
                and not _NOT_NAME.search(core):
            return Tidied(core)
    return Tidied(text, f"“{text[:20]}”不像{f.label}，请只告诉我{f.label}，比如“张三”")


_LABEL_ONLY = re.compile(r"^[\u4e00-\u9fff]{0,6}?(?:号码|卡号|账号|编号|证号|名字|姓名|名称|地址|电话|日期)(?:是|为|叫)?[：:]?$")


# A registered company's name starts with its region ("上海示例印章制作有限公司"): found inside a sentence
_REGISTERED = re.compile(r"(?:上海|松江|[\u4e00-\u9fff]{2}(?:省|市))[\u4e00-\u7683\u7685-\u9fff（）()]{2,30}?"
                         r"(?:有限责任公司|股份有限公司|有限公司|分公司|事务所|合作社)")
_ORG_FIELD = re.compile(r"企业|公司|单位|机构|店$|厂$")


CHANGED_TO = re.compile(r"(?:换成|改成|改为|变更为|变成|换为)\s*([^，,。；;！!？?\s]{2,40})")


def _text(f: FormField, text: str) -> Tidied:
    changed = CHANGED_TO.findall(text)
    if changed and f.label.startswith(("变更后", "新")):
        text = changed[-1]  # "周总不做了，换成示例吴敏": what it becomes
    if _LABEL_ONLY.fullmatch(text):
        return Tidied(text, f"没能从这句话里找到{f.label}，请只告诉我{f.label}本身")  # "社保卡号是" names, gives nothing
    if _ORG_FIELD.search(f.label) and not _ORG.fullmatch(text):
        registered = _REGISTERED.findall(text)
        if len(registered) == 1:
            return Tidied(registered[0])  # "找松江的上海示例印章制作有限公司刻" → the company
    lead = _RELATION_LEAD.match(text)
    if lead and lead.group(0) and re.fullmatch(r"[\u4e00-\u9fff·]{2,6}", text[lead.end():]):
        return Tidied(text[lead.end():])  # "新法人示例吴敏" → 示例吴敏
    if not CHATTER.search(text) and len(text) <= 40:
        return Tidied(text)
    clean = [c for c in (_LEAD.sub("", c) for c in _CLAUSE.split(text) if c) if c and not CHATTER.search(c)]
    named = [m.group(0) for m in (_ORG_END.match(c) for c in clean) if m]
    if named or clean:
        return Tidied((named or clean)[-1] if named else clean[0])
    return Tidied(text, f"没能从这句话里找到{f.label}，请只告诉我{f.label}本身")


_PLACE_CH = r"(?:(?![在住到是的了我她他伊家户口现])[\u4e00-\u9fff])"
_ADDRESS_START = re.compile(rf"(?:上海市|上海|{_PLACE_CH}{{2,3}}省|{_PLACE_CH}{{2,3}}市|{_PLACE_CH}{{2}}区)"
                            r"(?=[\u4e00-\u9fff]{0,12}(?:区|县|镇|街道|路|街|弄|村))")


def _address(f: FormField, text: str) -> Tidied:
    clauses = [c for c in _CLAUSE.split(text) if c and re.search(r"路|街|弄|巷|村|镇|号|区", c)]
    if not clauses:
        return Tidied(value=text)
    wants_home = bool(re.search(r"居住|住址|住所|户籍|邮寄|联系地址|现住", f.label)) and not _BUSINESS_CUE.search(f.label)
    preferred = _HOME_CUE if wants_home else _BUSINESS_CUE
    other = _BUSINESS_CUE if wants_home else _HOME_CUE
    chosen = next((c for c in clauses if preferred.search(c)), None) or next(
        (c for c in clauses if not other.search(c)), clauses[0])
    chosen = _ADDRESS_LEAD.sub("", re.split(r"[：:]", chosen)[-1])  # "应该寄到店里：上海市…" → the address
    start = _ADDRESS_START.search(chosen)
    if start and start.start() > 0:
        chosen = chosen[start.start():]  # "她户口在上海市…", "现在住上海市…": the address starts at its region
    m = _ADDRESS_END.match(chosen)
    return Tidied(m.group(0) if m else chosen)
