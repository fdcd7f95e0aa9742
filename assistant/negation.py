"""Negation in a request: "不是低保！…帮我办登记吧" excludes 低保 and asks for 登记; "都不是，就是租房备案" keeps
only 租房备案. Identification runs on what is kept and never picks an excluded matter.

Pure functions over text; the identification step (assistant/dialogue.py) uses them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

_END = r"(?=[，,。.！!？?；;\s]|$)"
# "不是X", "不办X", "不要X", "X不办了": X is at most 12 characters up to the clause end.
_NOT = re.compile(r"(?:不是|并不是|不办|不要办?|不想办|不用办|别给我办)(?:要|想|办|问|申请)?(?P<x>[^，,。.！!？?；;\s]{1,12})" + _END)
_NOT_AFTER = re.compile(r"(?P<x>[^，,。.！!？?；;\s不]{2,12})(?:不办了|不用办了|不要了|不是我要的|下次再弄|下次再办|以后再办|以后再说|"
                        r"回头再办|回头再说|先不办|先不弄)" + _END)
_NONE_OF = re.compile(r"^(?:都不是|全都不是|全不是|都不对|不是这些|不是这个|不是的|不对)[，,。.！!\s]*")
_CLAUSE = re.compile(r"[，,。.！!？?；;]+")
_FILLER = re.compile(r"^(?:啊|呀|哦|嘛|呢|的|了)+|(?:啊|呀|哦|嘛|呢|了)+$")


@dataclass(frozen=True)
class Negation:
    kept: str  # the request without its negated parts
    excluded: tuple[str, ...]  # what the person said it is not
    none_of_shown: bool  # "都不是": none of the choices just shown

    @property
    def any(self) -> bool:
        return bool(self.excluded) or self.none_of_shown


def split_negation(text: str) -> Negation:
    """What a message asks for once its negated clauses are taken out."""
    none_of_shown = bool(_NONE_OF.match(text.strip()))
    rest = _NONE_OF.sub("", text.strip())
    kept: list[str] = []
    excluded: list[str] = []
    for clause in (c for c in _CLAUSE.split(rest) if c.strip()):
        found = [m.group("x") for pattern in (_NOT_AFTER, _NOT) for m in pattern.finditer(clause)]
        names = [x for x in (_FILLER.sub("", f) for f in found) if len(x) >= 2]
        if not names:
            kept.append(clause.strip())
            continue
        excluded.extend(x for x in names if x not in excluded)
    return Negation(kept="，".join(kept) or text.strip(), excluded=tuple(excluded), none_of_shown=none_of_shown)


def excludes(negation: Negation, names: Sequence[str]) -> bool:
    """Whether a matter known by `names` (title and aliases) is one the person said it is not."""
    return any(x in n or (len(n) >= 2 and n in x) for x in negation.excluded for n in names if n)
