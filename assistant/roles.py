"""Whose value is it: the person each form field belongs to, and the person each part of a message is about.

A citizen fills a form about themselves, but talks about others too: "她身份证34010419980315002X" in a
marriage registration is the partner's number, "我妈叫王秀英" is the mother's name. A value said about
another person fills that person's field (对方姓名, 父亲姓名, 新生儿姓名) or nothing; it never overwrites
the applicant's own. Pronouns, relation words and filler ("她", "变更后", "也没变") are never values.

Pure functions over text and the form schema; the slot filler (assistant/slots.py) uses them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from assistant.catalog import FormField


class Person(StrEnum):
    """Who a field or a clause is about."""

    APPLICANT = "applicant"  # 本人 (or the enterprise the applicant acts for)
    OTHER = "other"  # 对方: spouse, partner, the other party of a contract
    FATHER = "father"
    MOTHER = "mother"
    CHILD = "child"
    AGENT = "agent"  # 代办人, 监护人 of the person the matter is for
    RELATIVE = "relative"  # anyone else (表姐, 同事, 邻居): no field of the form is theirs unless it names their role


PERSON_LABELS: dict[Person, str] = {
    Person.APPLICANT: "您本人", Person.OTHER: "对方", Person.FATHER: "父亲", Person.MOTHER: "母亲",
    Person.CHILD: "孩子", Person.AGENT: "代办人", Person.RELATIVE: "其他人",
}

# Field labels that name whose field it is. The applicant's own fields carry no such word (or name the
# applicant explicitly: 申请人（监护人）姓名 is the applicant, who is the guardian).
_FIELD_PERSON: tuple[tuple[Person, re.Pattern[str]], ...] = (
    (Person.APPLICANT, re.compile(r"申请人|申领人|申报人|经营者|法定代表人")),
    (Person.OTHER, re.compile(r"对方|配偶|男方|女方|当事人")),
    (Person.CHILD, re.compile(r"新生儿|子女|孩子|儿童|婴儿|参保人")),
    (Person.FATHER, re.compile(r"父亲")),
    (Person.MOTHER, re.compile(r"母亲")),
    (Person.AGENT, re.compile(r"代办人|受托人|监护人")),
)

# Mentions of a person in a message, searched in order; the first mention in a clause decides.
_MENTIONS: tuple[tuple[Person, str], ...] = (
    (Person.FATHER, r"我爸爸?|我父亲|我老爸|孩子(他|的)?爸爸?|我爹|阿拉爷|伊拉爷"),
    (Person.MOTHER, r"我妈妈?|我母亲|我老妈|孩子(他|的)?妈妈?|我娘|阿拉姆妈|阿拉娘"),
    (Person.CHILD, r"(我|我们|我家|阿拉)?(的)?(孩子|小孩|儿子|女儿|宝宝|宝贝|新生儿|囡囡|小囡|娃|闺女)"),
    (Person.OTHER, r"(我|我的)?(老婆|老公|老伴|爱人|妻子|丈夫|媳妇|先生|太太|男朋友|女朋友|男友|女友|未婚妻|未婚夫|另一半|男方|女方|"
                   r"对象|对方|配偶|房东|租客|承租人|出租人)"),
    (Person.AGENT, r"代办人|委托人|受托人"),
    (Person.RELATIVE, r"(我|我的)?(表姐|表哥|表妹|表弟|堂姐|堂哥|堂妹|堂弟|姐姐|哥哥|妹妹|弟弟|姐夫|嫂子|同事|朋友|室友|"
                      r"邻居|亲戚|舅舅|阿姨|叔叔|姑姑|姨妈|婆婆|公公|岳母|岳父|丈母娘|老丈人|爷爷|奶奶|外公|外婆|同学|老板)"),
    (Person.APPLICANT, r"我本人|本人|我自己|我(?!们?的?(爸|妈|父|母|老|爱|儿|女|孩|家|媳|先|太|男|女|宝|囡|娃|娘|爹|闺|表|堂|姐|哥|妹|弟|同|朋|室|邻|亲|舅|阿|叔|姑|姨|婆|公|岳|丈|爷|奶|外))|侬|阿拉"),
)
_OWN_ACTION = re.compile(r"(想|要|我们|咱们|咱|准备|打算|预约|约|希望|麻烦|请|帮我|我俩|俩人|日子|定在)")
# Fields about a person (name, ID, phone, birth…): only that person's clauses fill them. Other fields (产权证号,
# 面积, 坐落) may be given in a clause about someone else when the clause names the field.
PERSONAL_FIELD = re.compile(r"姓名|名字|身份证|证件号|电话|手机|出生|性别|户籍|户口|婚姻|民族|职业|工作单位|住址|住所|邮箱")
PRONOUN_LEAD = _PRONOUN = re.compile(r"^[，,。；;\s]*(她|他|伊|ta)(?!们)")
# Phone typing uses a space as a comma ("河南的呀 内地 伊叫王小美 身份证…"): a space before a Han character splits
# ("身份证 3203…" stays together, "…0134 宝宝名字叫…" does not).
_CLAUSE = re.compile(r"[，,。；;！!？?\n]+|\s{2,}|(?<=\S)\s+(?=[\u4e00-\u9fff])")

# Fields that name a role another person may hold (企业联络员姓名, 紧急联系人电话): a clause about a colleague
# or a relative may fill them when it names the role ("联络员换成我同事陈小青").
ROLE_FIELD = re.compile(r"联络员|联系人|经办人|股东|发起人|监事|董事|财务负责人|办税人员")
# Fields about the whole household (家庭月收入合计, 共同生活家庭人口数): what a family member earns counts there.
HOUSEHOLD_FIELD = re.compile(r"家庭|共同生活|全家|全户")
FAMILY = frozenset({Person.OTHER, Person.FATHER, Person.MOTHER, Person.CHILD})

# Words that are never a value of a field: pronouns, relation words, echoes of a field label, filler.
NOT_A_VALUE = re.compile(
    r"^(我|你|您|他|她|它|伊|侬|阿拉|ta|本人|自己|我本人|就是我本人?|是我本人|我自己|就是我自己?|就我|对方|配偶|爱人|老公|老婆|妻子|丈夫|孩子|儿子|女儿|变更后|变更前|变更|"
    r"也?没变化?|也?没有变化?|不变|也?没换|一样|一样的|同上|同前|跟(档案|以前|原来|之前|上次)一样|和(档案|以前|原来|之前|上次)一样|"
    r"是的|对|对的|好的?|嗯+|没有|无|不知道|不清楚|这个|那个|啥|什么)$",
    re.IGNORECASE,
)
# "Nothing changed": keep (and confirm) the value already on the form.
UNCHANGED = re.compile(r"(也|都|还)?(没|没有|未|勿)(变|变化|换|改|动)|不变|一样|同上|同前|还是(原来|以前|之前|老)的?|还在原|照旧|跟(档案|以前|原来|之前|上次)一样")


def field_person(f: FormField) -> Person:
    """The person a form field is about, from its label (and its prefill: a field filled from the citizen's
    own profile or e-licence is the applicant's)."""
    for person, pattern in _FIELD_PERSON:
        if pattern.search(f.label):
            return person
    if f.name.startswith("child_"):
        return Person.CHILD  # a bare "性别" on a birth form is the child's, whatever its label says
    return Person.APPLICANT


@dataclass(frozen=True)
class Clause:
    text: str
    person: Person | None  # None: the clause names nobody (it answers the question asked)


def clauses(text: str) -> list[Clause]:
    """Split a message at punctuation and attribute each part to the person it is about.

    A pronoun (她/他/伊) refers to the last other person named in the message, else to 对方; a clause that names
    nobody continues the previous clause's person ("我老婆叫李梅，身份证…" is all about her)."""
    out: list[Clause] = []
    last_other: Person | None = None
    current: Person | None = None
    for part in (p for p in _CLAUSE.split(text) if p and p.strip()):
        person = mentioned_person(part)
        if person is None and _PRONOUN.search(part):
            person = last_other or Person.OTHER
        if person is None and not _OWN_ACTION.match(part.strip()):
            person = current  # "想约12月12号" after "她叫…" is what we want, not about her
        if person is not None and person != Person.APPLICANT:
            last_other = person
        current = person
        out.append(Clause(part, person))
    return out


def mentioned_person(text: str) -> Person | None:
    """The person named first in the text, if any."""
    best: tuple[int, Person] | None = None
    for person, pattern in _MENTIONS:
        m = re.search(pattern, text)
        if m and (best is None or m.start() < best[0]):
            best = (m.start(), person)
    return best[1] if best else None


def fields_of(form: Sequence[FormField], person: Person) -> list[FormField]:
    return [f for f in form if field_person(f) == person]


def is_not_a_value(value: object) -> bool:
    """A pronoun, relation word or filler offered as a value."""
    return isinstance(value, str) and bool(NOT_A_VALUE.match(value.strip(" 。，,.!！?？~")))
