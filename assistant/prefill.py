"""智能预填: fill form fields from the citizen's profile and e-licences, each with its provenance.

Runs only after consent. Values the citizen gave (or that were carried over in a bundle) are never
overwritten. An expired e-licence is never used (its fields stay open and the citizen is told which licence
expired), except for values that outlive the document (`PERMANENT`: the 公民身份号码 on an expired ID card).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from assistant.catalog import FormField, Matter
from assistant.models import Provenance, Slot, SourceKind
from assistant.profiles import ELicence, Profile
from assistant.roles import Person, field_person
from assistant.validators import ValidatorRegistry


@dataclass
class PrefillReport:
    filled: dict[str, Slot] = field(default_factory=dict)
    expired: list[ELicence] = field(default_factory=list)
    unavailable: list[str] = field(default_factory=list)  # fields with a source the profile lacks
    invalid: dict[str, str] = field(default_factory=dict)  # field -> why the stored value was rejected

    def rate(self, matter: Matter) -> float:
        return len(self.filled) / len(matter.form) if matter.form else 0.0


# Values on an e-licence that outlive the document: a person's 公民身份号码 is the same on every card.
PERMANENT = frozenset({("id_card", "number")})


def resolve(profile: Profile, source: str, as_of: dt.date) -> tuple[object, Provenance | None, ELicence | None]:
    """The value behind `profile.<field>` or `elicence.<type>.<field>`, its provenance, and the expired
    licence if that is why nothing was returned."""
    kind, _, rest = source.partition(".")
    if kind == "profile":
        value = profile.get(rest)
        return value, Provenance(kind=SourceKind.PROFILE, profile_id=profile.id, profile_field=rest), None
    if kind == "elicence":
        lic_type, _, attr = rest.partition(".")
        lic = profile.licence(lic_type)
        if lic is None:
            return None, None, None
        prov = Provenance(kind=SourceKind.ELICENCE, profile_id=profile.id, licence_type=lic.type, licence_name=lic.name,
                          licence_number=lic.number, issuer=lic.issuer, expires_on=lic.expires_on)
        if lic.expired(as_of):
            # the card expired, the 公民身份号码 on it did not: that number still fills the form
            return (lic.field(attr), prov, lic) if (lic.type, attr) in PERMANENT else (None, None, lic)
        return lic.field(attr), prov, None
    return None, None, None


def _profile_is_this_person(f: FormField, profile: Profile) -> bool:
    """The citizen's profile fills their own fields only: 母亲姓名 from a father's profile is never pre-filled
    (a child's fields may come from the child's e-licence in the parent's profile)."""
    person = field_person(f)
    gender = str(profile.get("gender") or "")
    if person == Person.MOTHER:
        return gender != "男"
    if person == Person.FATHER:
        return gender != "女"
    return person not in (Person.OTHER, Person.AGENT)


def prefill(
    matter: Matter, profile: Profile, existing: dict[str, Slot], validators: ValidatorRegistry, as_of: dt.date,
    for_other: bool = False, same_home: bool = False,
) -> PrefillReport:
    """`for_other`: the citizen applies for someone else (家属代办, 委托, 监护人): their profile is the agent's,
    so it fills only the agent's fields (代办人姓名), never the applicant's."""
    report = PrefillReport()
    seen_expired: set[str] = set()
    others = _held_by_another(matter, profile, existing, as_of)
    for f in matter.form:
        if for_other:
            if field_person(f) == Person.AGENT and f.name not in existing and f.label.endswith("姓名"):
                report.filled[f.name] = Slot(name=f.name, value=profile.name, source=Provenance(
                    kind=SourceKind.PROFILE, profile_id=profile.id, profile_field="name"))
            continue
        if not f.prefill or not _profile_is_this_person(f, profile):
            continue
        said = existing.get(f.name)
        if said is not None and said.source.kind != SourceKind.TURN:
            continue
        if said is None and _role_of(f) in others and not (same_home and f.type.value == "address"):
            continue  # "法人让我爸当 他叫…": the role is someone else's, my record says nothing about them
        value, prov, expired = resolve(profile, f.prefill, as_of)
        if expired is not None:
            if expired.type not in seen_expired:
                report.expired.append(expired)
                seen_expired.add(expired.type)
            if value is None:
                continue
        if value is None or value == "" or prov is None:
            report.unavailable.append(f.name)
            continue
        check = validators.validate(f, value)
        if not check.ok:
            report.invalid[f.name] = check.reason or "invalid"
            continue
        if said is not None and said.value != check.value:
            continue  # what the citizen said stays; the record only confirms it when it is the same value
        report.filled[f.name] = Slot(name=f.name, value=check.value, source=prov)
    return report


_ROLE_PREFIX = re.compile(r"^(法定代表人|企业联络员|联络员|财务负责人|办税人员|监事|董事|经理)")


def _role_of(f: FormField) -> str | None:
    found = _ROLE_PREFIX.match(f.label)
    return found.group(1) if found else None


def _held_by_another(matter: Matter, profile: Profile, existing: dict[str, Slot], as_of: dt.date) -> set[str]:
    """Roles (法定代表人, 联络员…) whose name or ID the citizen gave as someone other than the record's holder."""
    roles: set[str] = set()
    for f in matter.form:
        role, said = _role_of(f), existing.get(f.name)
        if role is None or said is None or said.source.kind != SourceKind.TURN or not f.prefill:
            continue
        value, _prov, _expired = resolve(profile, f.prefill, as_of)
        if value not in (None, "") and str(value) != str(said.value) and re.search(r"姓名|身份证|证件号", f.label):
            roles.add(role)
    return roles
