"""The material checklist for the citizen's situation, marking what valid e-licences already cover (免交)."""

from __future__ import annotations

import datetime as dt
import re

from assistant.catalog import Matter
from assistant.models import ChecklistItem, ChecklistStatus, Slot
from assistant.profiles import Profile
from assistant.slots import condition_holds

RETURNED = re.compile(r"交回|缴回|收回|缴销|上交")


def build_checklist(
    matter: Matter, situations: dict[str, str], slots: dict[str, Slot], profile: Profile | None, as_of: dt.date
) -> list[ChecklistItem]:
    """Materials whose `when` holds. `profile` is None unless the citizen consented to reading it."""
    out: list[ChecklistItem] = []
    for m in matter.materials:
        if m.when and not condition_holds(m.when, situations, slots):
            continue
        lic = profile.licence(m.elicence) if profile is not None and m.elicence else None
        if lic is not None and RETURNED.search(m.name):
            # An original to be handed back (营业执照正、副本原件交回) is never covered by its e-licence.
            out.append(ChecklistItem(
                id=m.id, name=m.name, copies=m.copies, status=ChecklistStatus.REQUIRED, licence_type=lic.type,
                licence_number=lic.number, issuer=lic.issuer, expires_on=lic.expires_on,
                note=f"原件须交回，电子证照《{lic.name}》不能代替，请携带原件",
            ))
        elif lic is not None and not lic.expired(as_of):
            until = f"有效期至{lic.expires_on.isoformat()}" if lic.expires_on else "长期有效"
            out.append(ChecklistItem(
                id=m.id, name=m.name, copies=m.copies, status=ChecklistStatus.WAIVED, licence_type=lic.type,
                licence_number=lic.number, issuer=lic.issuer, expires_on=lic.expires_on,
                note=f"已关联电子证照《{lic.name}》（{lic.issuer}，{until}）",
            ))
        elif lic is not None:
            out.append(ChecklistItem(
                id=m.id, name=m.name, copies=m.copies, status=ChecklistStatus.LICENCE_EXPIRED, licence_type=lic.type,
                licence_number=lic.number, issuer=lic.issuer, expires_on=lic.expires_on,
                note=f"您的电子证照《{lic.name}》已于{lic.expires_on}过期，不能用于免交，请提供有效证件",
            ))
        else:
            out.append(ChecklistItem(id=m.id, name=m.name, copies=m.copies, status=ChecklistStatus.REQUIRED,
                                     note=f"需提交{'（' + str(m.copies) + '份）' if m.copies else ''}"))
    return out
