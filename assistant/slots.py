"""Slot filling as a deterministic state machine over a matter's form schema.

Extractors propose, validators decide. A proposal that validates replaces the value (a correction
such as "不对，面积是120平米"); one that fails keeps the earlier valid value and says why. Which field a
phrase is about comes from the field named in it, from the shape of an identifier (身份证号, mobile,
统一社会信用代码), or else from the question that was just asked.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from pydantic import BaseModel, ConfigDict

from assistant.catalog import FormField, Matter, Op, Situation, ValidatorSpec
from assistant.choices import OptionText, keyword_scores, said_in_passing
from assistant.extractors import (
    CODE_LABEL,
    ExtractorRegistry,
    choose_option,
    clean_value,
    field_option_keywords,
    find_bank_cards,
    find_id_numbers,
    find_mobiles,
    find_uscc,
    looks_like_address,
    mentioned_fields,
    parse_date,
    to_arabic,
)
from assistant.models import Provenance, Slot, SourceKind
from assistant.roles import (
    FAMILY,
    HOUSEHOLD_FIELD,
    PERSONAL_FIELD,
    PRONOUN_LEAD,
    ROLE_FIELD,
    UNCHANGED,
    Clause,
    Person,
    clauses,
    field_person,
    is_not_a_value,
    mentioned_person,
)
from assistant.validators import Validation, ValidatorRegistry
from assistant.values import CHANGED_TO, relation_and_name, tidy
from kb.text import normalize

CORRECTION = re.compile(r"不对|错了|搞错|改成|改为|改一下|更正|修改|应该是|不是.*是|重新填|换成")


class SlotUpdate(BaseModel):
    """What one proposal did to a slot."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    field: str
    label: str
    accepted: bool
    value: Any = None
    previous: Any = None
    reason: str | None = None
    correction: bool = False


def condition_holds(when: dict[str, tuple[str, ...]], situations: dict[str, str], slots: dict[str, Slot]) -> bool:
    """`when` holds when every key (a situation or a form field) has one of the listed values."""
    for key, values in when.items():
        current = situations.get(key)
        if current is None and key in slots:
            current = slots[key].value
        if current is None or str(current) not in values:
            return False
    return True


def needed_fields(matter: Matter, situations: dict[str, str], slots: dict[str, Slot]) -> list[FormField]:
    """Required fields, plus optional ones an applicable pre-review rule checks (代办人姓名, 发票份数)."""
    wanted: set[str] = {f.name for f in matter.form if f.required}
    for rule in matter.prereview:
        if rule.when and condition_holds(rule.when, situations, slots) or rule.check.op == Op.EXISTS and not rule.when:
            wanted.add(rule.check.field)
    return [f for f in matter.form if f.name in wanted]


def next_field(matter: Matter, situations: dict[str, str], slots: dict[str, Slot]) -> FormField | None:
    return next((f for f in needed_fields(matter, situations, slots) if f.name not in slots), None)


def open_situations(matter: Matter, situations: dict[str, str]) -> list[Situation]:
    """Deciding situations not answered yet: only these are asked."""
    return [s for s in matter.deciding_situations() if s.id not in situations]


def answer_situation(text: str, situation: Situation) -> str | None:
    """The option value the citizen picked: by value, label, keyword or ordinal."""
    labels = {o.label: o.value for o in situation.options}
    keywords = {o.label: (o.value, *o.keywords) for o in situation.options}
    picked = choose_option(text, list(labels), keywords)
    return labels[picked] if picked else None


def detect_situations(text: str, matter: Matter, known: dict[str, str]) -> dict[str, str]:
    """Situations the citizen settled in passing ("租了个门面"): only unambiguous keyword hits count."""
    t = normalize(text)
    found: dict[str, str] = {}
    for s in matter.deciding_situations():
        if s.id in known:
            continue
        labels = {o.label: o.value for o in s.options}
        options = [OptionText(o.label, (o.value, *o.keywords)) for o in s.options]
        picked = said_in_passing(t, options)
        if picked is None:
            # "我是房东 租客是个小伙子…": both sides named, the one the citizen says they are decides
            picked = next((p for c in clauses(t) if _SELF.match(c.text.strip())
                           for p in [said_in_passing(c.text, options)] if p is not None), None)
        if picked is not None:
            found[s.id] = labels[picked]
    return found


_SELF_VALUE = re.compile(r"(?:就是|是)?(?:我本人|我自己|本人|我)(?:亲自)?(?:去|来)?(?:办|办理|当|担任|做)?")
_SELF = re.compile(r"^(?:我|我们|本人|阿拉|俺)(?:就|这边|自己)?是")


_REVISE_CUE = re.compile(r"不是|不对|说错|搞错|弄错|其实|找到了")


def revised_situations(text: str, matter: Matter, known: dict[str, str]) -> dict[str, str]:
    """Situations the citizen takes back and restates ("不是丢了 是卡断成两截了"): the settled option said negated
    or a correction cue, and another option named."""
    t = normalize(text)
    found: dict[str, str] = {}
    for s in matter.deciding_situations():
        current = known.get(s.id)
        if current is None:
            continue
        options = [OptionText(o.label, (o.value, *o.keywords)) for o in s.options]
        labels = {o.label: o.value for o in s.options}
        was = next((o.label for o in s.options if o.value == current), None)
        _scores, ruled_out = keyword_scores(t, options)
        if was not in ruled_out and not _REVISE_CUE.search(t):
            continue
        picked = said_in_passing(t, [o for o in options if o.label != was])
        if picked is not None and labels[picked] != current:
            found[s.id] = labels[picked]
    return found


class SlotFiller:
    """Turns one message into slot updates for a matter's form."""

    def __init__(self, extractors: ExtractorRegistry, validators: ValidatorRegistry) -> None:
        self.extractors = extractors
        self.validators = validators

    def validate(self, f: FormField, value: Any) -> Validation:
        return self.validators.validate(f, value)

    def check(self, f: FormField, proposed: Any) -> tuple[Any, Validation]:
        """The one gate for every proposer (extractors, the optional LLM): the value a proposal stands for
        (tidied) and whether the field accepts it (not a pronoun or filler, its validator, an 18-digit number in
        a 证件号码 field checked like an ID, an address shaped like one)."""
        tidied = tidy(f, proposed)
        value = tidied.value
        if tidied.reason is not None:
            return value, Validation.reject(tidied.reason)
        if is_not_a_value(value) or (isinstance(value, str) and UNCHANGED.fullmatch(value.strip())):
            return value, Validation.reject(f"“{value}”不是{f.label}，请直接告诉我具体的{f.label}")
        result = self.validate(f, value)
        if result.ok and f.validator is None and _ID_LABEL.search(f.label) and re.fullmatch(r"\d{17}[\dXx]", str(value)) \
                and not self.validators.run(ValidatorSpec(name="id_card"), value).ok:
            # an 18-digit 身份证号 in a 证件号码 field is checked like one (a passport number is not 18 digits)
            result = self.validators.run(ValidatorSpec(name="id_card"), value)
        if result.ok and f.type.value == "address" and not looks_like_address(str(result.value)):
            result = Validation.reject(f"“{result.value}”不像完整地址，请告诉我包含区、街道（路）和门牌号的地址")
        return value, result

    def proposals(self, text: str, matter: Matter, expected: FormField | None, today: dt.date,
                  for_other: bool = False, filled: frozenset[str] = frozenset(),
                  known: frozenset[str] = frozenset()) -> list[tuple[FormField, Any]]:
        """Values the message gives, each for the field of the person it is about (see assistant/roles.py).
        `for_other`: the citizen applies for someone else, so "我" is the agent and the person they talk about
        (老伴, 我妈, 孩子) is the applicant of the form."""
        parts = clauses(normalize(text))
        if for_other:
            parts = [Clause(c.text, _as_agent(c.person)) for c in parts]
        speaker = _speaker(parts, matter)
        if speaker is not None:  # "我是孩子爸爸 … 我叫样例高远": my details are the father's on this form
            parts = [Clause(c.text, speaker if c.person == Person.APPLICANT else c.person) for c in parts]
        if all(c.person in (None, Person.APPLICANT) for c in parts):
            own = [f for f in matter.form if field_person(f) == Person.APPLICANT or f == expected]
            if any(c.person == Person.APPLICANT for c in parts) and len(own) < len(matter.form):
                return self._proposals(text, matter.model_copy(update={"form": tuple(own)}), expected, today, filled, known)
            return self._proposals(text, matter, expected, today, filled, known)
        out: list[tuple[FormField, Any]] = []
        taken: set[str] = set()
        deferred: dict[Person | None, FormField] = {}
        holds: dict[Person, str] = {}  # "法人让我爸当": the role a person takes on this form
        for part in parts:  # clause by clause: each value goes to a field of the person its clause is about
            person = part.person
            role = _taken_role(part.text, matter) if person not in (None, Person.APPLICANT) else None
            if person is not None and role is not None:
                holds[person] = role
            if person == Person.OTHER and expected is not None and field_person(expected) in (
                    Person.MOTHER, Person.FATHER, Person.CHILD) and PRONOUN_LEAD.search(part.text) and not any(
                    c.person not in (None, Person.OTHER) for c in parts):
                person = field_person(expected)  # "她生日是1995年6月20号" when 母亲出生日期 was asked: she is the mother
            if person is None:
                form = [f for f in matter.form if f.name not in taken]
                exp = expected if expected is not None and expected.name not in taken else None
                if exp is not None and field_person(exp) != Person.APPLICANT and any(
                        c.person == field_person(exp) for c in parts[parts.index(part) + 1:]):
                    exp = None  # "河南的呀 内地 她叫王小美": her name is in the clause about her
            else:
                named = {f.name for f, _, _ in mentioned_fields(part.text, matter.form)}
                held = holds.get(person)
                form = [f for f in matter.form if f.name not in taken and (
                    held is not None and f.label.startswith(held)
                    # the one who applies for someone is who the office calls: 联系电话 takes the agent's number
                    or person == Person.AGENT and _CONTACT.match(f.label)
                    or field_person(f) == person and held is None or (ROLE_FIELD.search(f.label) and f.name in named)
                    or (f.name in named and not PERSONAL_FIELD.search(f.label) and field_person(f) == Person.APPLICANT)
                    or (person in FAMILY and HOUSEHOLD_FIELD.search(f.label))
                    # an option of the application itself is nobody's detail ("给宝宝办社保卡 … 办好寄到家里")
                    or (f.type.value == "enum" and field_person(f) == Person.APPLICANT
                        and not PERSONAL_FIELD.search(f.label) and choose_option(part.text, f.options) is not None))]
                by_name = _named_field(part.text, form) if _NAME_CUE.search(part.text) else None
                # "我叫示例葛丽 手机…" while 联系电话 was asked: the name is the one said after 叫
                exp = by_name or (expected if expected is not None and expected in form else _named_field(part.text, form))
            if exp is None and deferred.get(person) in form:
                exp = deferred.pop(person)  # the field a clause before named, its value said here
            if not form:
                continue  # nothing on this form is about that person: their details are not the applicant's
            for f, value in self._proposals(part.text, matter.model_copy(update={"form": tuple(form)}), exp, today, filled,
                                            known):
                if (f == expected and person is None or person is not None) and not self.check(f, value)[1].ok \
                        and _later_valid(self, parts[parts.index(part) + 1:], f, today, (None, person or Person.APPLICANT)):
                    # "我表姐也住这里，…，我是9月1号登记的", "代办人写我 示例钱红": the clause that has the value answers
                    deferred[person] = f
                    continue
                out.append((f, value))
                taken.add(f.name)
        return out + self._changed_to(text, matter, taken)

    def _changed_to(self, text: str, matter: Matter, taken: set[str]) -> list[tuple[FormField, Any]]:
        """"要换法人，老板不干了，改成示例严冬": the changed field named in one clause, what it becomes in another."""
        t = normalize(text)
        named = [f for f, _, _ in mentioned_fields(t, matter.form) if f.label.startswith(("变更后", "新"))
                 and f.name not in taken and f.type.value == "string"]
        said = CHANGED_TO.findall(t)
        return [(named[0], said[-1])] if named and said else []

    def _proposals(self, text: str, matter: Matter, expected: FormField | None, today: dt.date,
                   filled: frozenset[str] = frozenset(), known: frozenset[str] = frozenset()) -> list[tuple[FormField, Any]]:
        t = normalize(text)
        out: list[tuple[FormField, Any]] = []
        for written, card in find_bank_cards(t):
            # a card number typed in groups is no amount ("付房租 钱打到这张卡6214 8300 …" is not 月租金 6214)
            target = _card_target(matter, expected, {f.name for f, _ in out})
            if target is not None:
                t = t.replace(written, " ", 1)
                out.append((target, card))
        # "单位说从6月1号开始算": a field word followed by 说 names who said it, not the field
        mentions = [m for m in mentioned_fields(t, matter.form) if not _REPORTED.match(t[m[2]:])]
        free: list[str] = []  # clauses after a named value that name no field ("店名叫…，三十平，店在…路12号")
        carded = {f.name for f, _ in out}
        for n, (f, _start, end) in enumerate(mentions):
            if f.name in carded:
                continue
            stop = mentions[n + 1][1] if n + 1 < len(mentions) else len(t)
            span = after_correction(t[end:stop])
            if f.type.value != "enum" and not (f.validator and f.validator.name in ("mobile", "id_card", "uscc")) \
                    and not CODE_LABEL.search(re.sub(r"[（）()]", "", f.label)):
                head, *tail = re.split(r"[，,；;。]", span)
                if head.strip() and tail:
                    span, free = head, free + tail
            # An option may contain the field's keyword (上海银行 / 合作银行): enums look at the whole message.
            option = choose_option(t, f.options) if f.type.value == "enum" else None
            value = option if option is not None else self.extractors.extract(span, f, today)
            if isinstance(value, str) and field_person(f) == Person.APPLICANT and _SELF_VALUE.fullmatch(value.strip()):
                continue  # "法人我本人去办": the record's own value, nothing to write
            if value is not None:
                out.append((f, value))
        taken = {f.name for f, _ in out}
        for part in free:
            typed = self._typed(part, matter, taken | filled, expected, today)
            if typed is not None:
                out.append(typed)
                taken.add(typed[0].name)
        rest = t[: mentions[0][1]] if mentions else t
        for finder, validator in ((find_id_numbers, "id_card"), (find_uscc, "uscc"), (find_mobiles, "mobile")):
            for found in finder(rest):
                # the number and the word that named it ("身份证4115…", "电话1380…") leave nothing behind
                rest = re.sub(rf"(?:{_CODE_WORDS})?[：:是为\s]*{re.escape(found)}", " ", rest)
                target = _target(matter, validator, expected, taken)
                if target is not None:
                    out.append((target, found))
                    taken.add(target.name)
        # An address said out of turn goes to the form's only address field.
        addresses = [f for f in matter.form if f.type.value == "address"]
        if (expected is None or expected.type.value != "address") and len(addresses) == 1 \
                and addresses[0].name not in taken and looks_like_address(clean_value(rest)) and _meaningful(rest):
            value = self.extractors.extract(rest, addresses[0], today)
            if value is not None:
                out.append((addresses[0], value))
                taken.add(addresses[0].name)
                rest = ""
        # An option of another choice field said in passing ("还是工商银行，到网点自己拿"): that field's value.
        for f in matter.form:
            if f.type.value == "enum" and f.name not in taken and f != expected and f.options and not f.prefill:
                option = said_in_passing(t, [OptionText(o, field_option_keywords(f).get(o, ())) for o in f.options])
                if option is not None:
                    out.append((f, option))
                    taken.add(f.name)
        # Whatever precedes the first named field answers the question just asked.
        if expected is not None and expected.name not in taken and _meaningful(rest):
            value = self.extractors.extract(after_correction(rest), expected, today)
            elsewhere = None
            if value is None or not self.check(expected, value)[1].ok:
                # "10月31号走的" asked for 身份证号码, "每个月领25份" asked for 办税人员姓名: the answer to another
                # question of the form, read by its shape, for a field still empty; the asked one stays open
                elsewhere = next((typed for part in re.split(r"[，,；;。]", after_correction(rest)) if (
                    typed := self._typed(part, matter, taken | filled | known | {expected.name}, None, today, strict=True))
                    is not None), None)
            if elsewhere is not None:
                out.append(elsewhere)
            elif value is not None:
                out.append((expected, value))
        elif (expected is None or expected.name in taken) and _meaningful(rest):
            # "想约12月12号" with nothing asked: read by its shape; "不是15号 是3月18号" corrects the one date said
            correcting = bool(CORRECTION.search(rest) or SELF_CORRECTION.search(rest))
            for part in re.split(r"[，,；;。]", after_correction(rest)):
                typed = self._typed(part, matter, taken if correcting else taken | filled, None, today, strict=True)
                if typed is not None:
                    out.append(typed)
                    taken.add(typed[0].name)
        return out

    def _typed(self, part: str, matter: Matter, taken: set[str], expected: FormField | None,
               today: dt.date, strict: bool = False) -> tuple[FormField, Any] | None:
        """A clause that names no field, read by the shape of its value: an area (三十平), a date, an address
        (店在…路12号 → the business address), a count with its unit (5辆, 25份, 3个人)."""
        t = part.strip()
        if not t:
            return None
        open_fields = [f for f in matter.form if f.name not in taken]

        def one(fields: list[FormField]) -> FormField | None:
            if expected is not None and expected in fields:
                return expected
            return fields[0] if len(fields) == 1 else None

        if re.search(r"平方?米?|㎡", t) and re.search(r"\d|[一二三四五六七八九十百两]", t):
            f = one([f for f in open_fields if f.type.value in ("number", "integer") and "平方米" in f.label])
            if f is not None and (v := self.extractors.extract(t, f, today)) is not None:
                return f, v
        unit = re.search(r"(?:\d+|[一二三四五六七八九十两]+)\s*(辆|份|张|个人|人|名|台|个员工|名员工|个职工|名职工|位)", t) or re.search(
            r"(?:员工|职工|工人)(?:有)?\s*(?:\d+|[一二三四五六七八九十两]+)\s*(个|名|位|人)", t)  # "员工3个"
        if unit:
            word = {"辆": "车", "份": "份", "张": "份", "台": "台"}.get(unit.group(1), "人")  # 发票 are counted in 张
            f = one([f for f in open_fields if f.type.value in ("number", "integer") and word in f.label])
            # the number next to its unit: "一个月20张" is 20, not the 一 of 一个月
            if f is not None and (v := self.extractors.extract(unit.group(0), f, today)) is not None:
                return f, v
        code = re.search(r"\d[\d \-]{11,}\d", t)
        if code:
            f = one([f for f in open_fields if re.search(r"卡号|账号", f.label)])
            if f is not None:
                return f, re.sub(r"[ \-]", "", code.group(0))
        if looks_like_address(clean_value(t)):
            addresses = [f for f in open_fields if f.type.value == "address"]
            if len(addresses) > 1:
                business = bool(re.search(r"店|铺|门面|经营|公司|场所", t))
                home = bool(re.search(r"家|住在|住址|户口|户籍|现住", t))
                # a bare address with two address fields open says neither: it is asked, not guessed
                addresses = [] if business == home else [
                    f for f in addresses if bool(re.search(r"场所|店|公司住所|注册地|经营地址", f.label)) == business]
            f = one(addresses)
            if f is not None and (v := self.extractors.extract(t, f, today)) is not None:
                return f, v
        date = parse_date(t, today)
        if date is not None and (not strict or re.search(r"\d{1,2}\s*[日号]|\d{4}-\d{1,2}-\d{1,2}", to_arabic(t))):
            f = one(_date_fields(t, date, [f for f in open_fields if f.type.value == "date"], today))
            if f is not None:
                return f, date
        return None

    def fill(
        self, text: str, matter: Matter, slots: dict[str, Slot], expected: FormField | None, turn: int, today: dt.date,
        for_other: bool = False,
    ) -> list[SlotUpdate]:
        """Apply every proposal in the message to `slots` (in place); return what happened."""
        correction = bool(CORRECTION.search(normalize(text)))
        updates: list[SlotUpdate] = []
        if expected is not None and expected.name in slots and UNCHANGED.search(normalize(text)) \
                and not find_id_numbers(text) and not find_mobiles(text):
            # "没变 / 一样 / 同上": the value on the form stays, with its source; nothing is overwritten.
            kept = slots[expected.name]
            return [SlotUpdate(field=expected.name, label=expected.label, accepted=True, value=kept.value,
                               previous=kept.value, correction=False)]
        for f, proposed in self.proposals(text, matter, expected, today, for_other=for_other,
                                          filled=frozenset(n for n, v in slots.items() if v.source.kind == SourceKind.TURN),
                                          known=frozenset(slots)):
            if isinstance(proposed, str) and f.name in slots and UNCHANGED.match(proposed.strip()):
                # "单位没变，还是原来那家": the value on the form stays, with its source
                kept = slots[f.name]
                updates.append(SlotUpdate(field=f.name, label=f.label, accepted=True, value=kept.value,
                                          previous=kept.value, correction=False))
                continue
            value, result = self.check(f, proposed)
            previous = slots[f.name].value if f.name in slots else None
            if result.ok:
                slots[f.name] = Slot(name=f.name, value=result.value, source=Provenance(kind=SourceKind.TURN, turn=turn))
                updates.append(SlotUpdate(field=f.name, label=f.label, accepted=True, value=result.value,
                                          previous=previous, correction=correction or previous is not None))
            else:
                updates.append(SlotUpdate(field=f.name, label=f.label, accepted=False, value=value, previous=previous,
                                          reason=result.reason, correction=correction or previous is not None))
        updates += _gender_from_id(matter, slots, turn)
        updates += _one_address_for_both(text, matter, slots, updates, turn)
        return updates


# "下个月15号到期 哦不对 是7月15号", "大概60平 不对 合同上写的是58.5平方": what follows the self-correction
SELF_CORRECTION = re.compile(r"(?:哦不对|不对不对|不对|说错了|搞错了|写错了|记错了|讲错了|输错了|抄错了|填错了|打错了|哦不|不是不是|"
                             r"更正一下)[，,。！!\s]*(?:应该)?(?:是|为)?")


def after_correction(text: str) -> str:
    """The part of a span after its last self-correction ("写错了，应该是…"), when something comes after it."""
    text = re.sub(r"^\s*(?:改一下|改下|换一下|要改一下?|修改一下)[，,\s]*", "", text)  # "店名改一下，…"
    negated = re.match(r"^\s*(?:不是|并不是|不叫|不用)[^，,。；;\s]{1,16}[，,\s]+(?:而)?(?:应该)?(?:是|叫|用)", text)
    if negated and text[negated.end():].strip():
        return text[negated.end():]  # "不是40，是60平"
    cuts = [m for m in SELF_CORRECTION.finditer(text) if text[m.end():].strip()]
    return text[cuts[-1].end():] if cuts else text


def _later_valid(filler: SlotFiller, rest: list[Clause], f: FormField, today: dt.date,
                 persons: tuple[Person | None, ...] = (None, Person.APPLICANT)) -> bool:
    """Whether a later clause of one of `persons` gives a valid value for `f`."""
    return any(c.person in persons and (v := filler.extractors.extract(c.text, f, today)) is not None
               and filler.check(f, v)[1].ok for c in rest)


_REPORTED = re.compile(r"\s*(?:那边|这边)?(?:说|讲|告诉我|通知我?)")
_CONTACT = re.compile(r"^(?:联系电话|联系方式|联系手机|手机号码?|电子邮箱)")
_I_AM = re.compile(r"^(?:我|本人)(?:就|这边)?是(.+)$")


def _speaker(parts: list[Clause], matter: Matter) -> Person | None:
    """The person on the form the citizen says they are ("我是孩子爸爸"), when the form has fields for them."""
    for c in parts:
        said = _I_AM.match(c.text.strip()) if c.person == Person.APPLICANT else None
        who = mentioned_person(said.group(1)) if said else None
        if who in (Person.FATHER, Person.MOTHER) and any(field_person(f) == who for f in matter.form):
            return who
    return None


def _as_agent(person: Person | None) -> Person | None:
    if person is None:
        return None
    if person == Person.AGENT:
        return person  # "代办人叫…" names the agent whoever speaks
    return Person.AGENT if person == Person.APPLICANT else Person.APPLICANT


_NAME_CUE = re.compile(r"叫|姓名|名字")

# What a date field is about, by its label: a date that already happened, or one still to come; and the words
# people use for it ("约12月20号" is the appointment, "10月31号走的" the day of leaving, "11月10号生的" the birth).
_PAST_DATE = re.compile(r"出生|生日|遗失|丢失|离职|解除|终止|退休日期|发生|成立|签发|死亡|去世|决议")
_FUTURE_DATE = re.compile(r"预约|起始|开始|拟|计划|期望")
_DATE_CUES = ((re.compile(r"约|预约|登记那天|定在"), re.compile(r"预约")),
              (re.compile(r"生的|出生|生日|生于"), re.compile(r"出生|生日")),
              (re.compile(r"丢|掉|遗失|找不到|被偷"), re.compile(r"遗失|丢失")),
              (re.compile(r"走的|离职|辞职|裁员|退工|解除|不干了"), re.compile(r"离职|解除|终止")),
              (re.compile(r"开始|起交|起缴|从.{0,8}起"), re.compile(r"起始|开始")),
              (re.compile(r"开的会|开会|决议|股东会"), re.compile(r"决议")))


def _date_fields(text: str, date: dt.date, fields: list[FormField], today: dt.date) -> list[FormField]:
    """The date fields a date said without naming its field can be: a date to come is no birth date, a
    long-past one no appointment; the words around it ("约", "生的", "走的") choose among the rest."""
    if len(fields) <= 1:
        return fields
    if date > today:
        fields = [f for f in fields if not _PAST_DATE.search(f.label)] or fields
    elif date < today - dt.timedelta(days=366):
        fields = [f for f in fields if not _FUTURE_DATE.search(f.label)] or fields
    for said, label in _DATE_CUES:
        if said.search(text):
            cued = [f for f in fields if label.search(f.label)]
            if len(cued) == 1:
                return cued
    return fields


# A role on a form that a named person takes ("法人让我爸当", "监事由我老婆担任"): the label prefix of its fields
_ROLE_TAKEN = re.compile(r"(法定代表人|法人|财务负责人|办税人员|办税员|联络员|监事|董事|经理)")
_ROLE_VERB = re.compile(r"让|由|当|担任|做|是|写|填")


def _taken_role(text: str, matter: Matter) -> str | None:
    found = _ROLE_TAKEN.search(text)
    if found is None or not _ROLE_VERB.search(text):
        return None
    role = {"法人": "法定代表人", "办税员": "办税人员"}.get(found.group(1), found.group(1))
    prefixes = {re.match(rf"^.*?{role}", f.label).group(0) for f in matter.form  # type: ignore[union-attr]
                if role in f.label and re.match(rf"^.*?{role}", f.label)}
    return min(prefixes, key=len) if prefixes else None


def _named_field(text: str, form: list[FormField]) -> FormField | None:
    """The field a clause about another person answers when it names no field: their name after 叫, or a name
    right after the relation word ("女方示例林晓")."""
    if _NAME_CUE.search(text) or relation_and_name(re.sub(r"[\s\-]*\d[\d\s\-]{5,}[\dXx]", " ", text).strip()):
        names = [f for f in form if f.label.endswith(("姓名", "名称", "姓名（名称）"))]
        return names[0] if len(names) == 1 else None
    return None


def _target(matter: Matter, validator: str, expected: FormField | None, taken: set[str]) -> FormField | None:
    if expected is not None and expected.validator and expected.validator.name == validator and expected.name not in taken:
        return expected
    if validator == "id_card" and expected is not None and expected.validator is None and expected.name not in taken \
            and _ID_LABEL.search(expected.label):
        return expected  # asked for 对方证件号码: a bare ID number answers that, it never corrects the applicant's
    fields = [f for f in matter.form if f.validator and f.validator.name == validator and f.name not in taken]
    if not fields and validator in ("id_card", "uscc"):
        # 对方证件号码 takes an id card, a passport or a company's credit code, so it has no validator; an id number or
        # a 统一社会信用代码 still goes there
        fields = [f for f in matter.form if f.validator is None and f.name not in taken and _ID_LABEL.search(f.label)]
        if expected is not None and expected in fields:
            return expected
    return fields[0] if len(fields) == 1 else None


_CARD_LABEL = re.compile(r"银行卡|卡号|银行账号")


def _card_target(matter: Matter, expected: FormField | None, taken: set[str]) -> FormField | None:
    """The bank card field a card number goes to: the one asked, else the form's only card field."""
    fields = [f for f in matter.form if f.validator is None and f.type.value == "string" and f.name not in taken
              and _CARD_LABEL.search(f.label)]
    if expected is not None and expected in fields:
        return expected
    return fields[0] if len(fields) == 1 else None


_ID_LABEL = re.compile(r"证件号码|身份证号|身份号码|社会保障号码")
_CODE_WORDS = r"统一社会信用代码|社会信用代码|身份证号码|身份证号|身份证|证件号码|证件号|手机号码|手机号|手机|电话号码|电话|联系电话|信用代码|税号"


def _meaningful(text: str) -> bool:
    return bool(re.search(r"[0-9A-Za-z\u4e00-\u9fff]", re.sub(r"^(?:不对|错了|嗯|好的|好)[，,。\s]*", "", text)))


def _gender_from_id(matter: Matter, slots: dict[str, Slot], turn: int) -> list[SlotUpdate]:
    """性别 follows from a 身份证号码 the citizen gave (its 17th digit: odd 男, even 女): never asked again."""
    out: list[SlotUpdate] = []
    for g in matter.form:
        if g.type.value != "enum" or "性别" not in g.label or g.name in slots or not {"男", "女"} <= set(g.options):
            continue
        ids = [slots[f.name] for f in matter.form if f.name in slots and field_person(f) == field_person(g)
               and f.validator is not None and f.validator.name == "id_card"]
        said = next((s for s in ids if s.source.kind == SourceKind.TURN and re.fullmatch(r"\d{17}[\dXx]", str(s.value))), None)
        if said is None:
            continue
        value = "男" if int(str(said.value)[16]) % 2 else "女"
        slots[g.name] = Slot(name=g.name, value=value, source=Provenance(kind=SourceKind.TURN, turn=turn))
        out.append(SlotUpdate(field=g.name, label=g.label, accepted=True, value=value, previous=None, correction=False))
    return out


_BOTH_SAME = re.compile(r"都是|都在|一样|是一个|是同一个|相同|同一个地方|一个地方")


def _one_address_for_both(text: str, matter: Matter, slots: dict[str, Slot], updates: list[SlotUpdate],
                          turn: int) -> list[SlotUpdate]:
    """"户口和住的地方是一个 都是…": one address said for the 户籍 and the living address of the same person."""
    t = normalize(text)
    said = [u for u in updates if u.accepted and (f := matter.field(u.field)) is not None and f.type.value == "address"]
    if len(said) != 1 or not _BOTH_SAME.search(t) or not re.search(r"户口|户籍", t) or not re.search(r"住|居住", t):
        return []
    first = matter.field(said[0].field)
    assert first is not None
    other = [f for f in matter.form if f.type.value == "address" and f.name not in slots
             and field_person(f) == field_person(first) and bool(re.search(r"户籍|户口", f.label)) != bool(
                 re.search(r"户籍|户口", first.label)) and re.search(r"户籍|户口|居住|现住|住址", f.label)]
    if len(other) != 1:
        return []
    f = other[0]
    slots[f.name] = Slot(name=f.name, value=said[0].value, source=Provenance(kind=SourceKind.TURN, turn=turn))
    return [SlotUpdate(field=f.name, label=f.label, accepted=True, value=said[0].value, previous=None, correction=False)]
