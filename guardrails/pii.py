"""Chinese PII recognisers and redaction: 身份证 (GB 11643), 统一社会信用代码 (GB 32100), bank cards (Luhn),
mobile numbers, e-mail, passport and 港澳通行证 numbers.

Checksum-validated kinds only count when the checksum holds, so order numbers and dates are not masked.
Matching runs on a width-folded copy of the text (full-width digits and letters to ASCII, one character
for one), so offsets always point into the original text.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict


class PiiKind(StrEnum):
    ID_CARD = "id_card"
    MOBILE = "mobile"
    BANK_CARD = "bank_card"
    USCC = "uscc"
    EMAIL = "email"
    PASSPORT = "passport"
    HK_MACAU_PERMIT = "hk_macau_permit"


LABELS: dict[PiiKind, str] = {
    PiiKind.ID_CARD: "[身份证号]",
    PiiKind.MOBILE: "[手机号]",
    PiiKind.BANK_CARD: "[银行卡号]",
    PiiKind.USCC: "[统一社会信用代码]",
    PiiKind.EMAIL: "[电子邮箱]",
    PiiKind.PASSPORT: "[护照号]",
    PiiKind.HK_MACAU_PERMIT: "[港澳通行证号]",
}


class PiiMatch(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: PiiKind
    start: int
    end: int
    value: str


# -- checksums -------------------------------------------------------------------------------------
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
# 省级行政区划代码 (GB/T 2260): the first two digits of every 身份证号.
_PROVINCES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65 71 81 82 83 91".split()
)
_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 characters: no I, O, S, V, Z
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_SEPARATORS = re.compile(r"[\s\-]")


def _compact(s: str) -> str:
    return _SEPARATORS.sub("", fold_width(s)).upper()


def id_check_char(body17: str) -> str:
    """The GB 11643 check character of a 17-digit body."""
    return _ID_CHECK[sum(int(c) * w for c, w in zip(body17, _ID_WEIGHTS, strict=True)) % 11]


def valid_id_card(s: str, today: dt.date | None = None) -> bool:
    """An 18-character 居民身份证号 with a known province, a real birth date not in the future and a valid check."""
    n = _compact(s)
    if not re.fullmatch(r"\d{17}[\dX]", n) or n[:2] not in _PROVINCES:
        return False
    try:
        born = dt.date(int(n[6:10]), int(n[10:12]), int(n[12:14]))
    except ValueError:
        return False
    if born.year < 1900 or born > (today or dt.date.today()):
        return False
    return id_check_char(n[:17]) == n[17]


def uscc_check_char(body17: str) -> str:
    """The GB 32100 check character of a 17-character body."""
    total = sum(_USCC_CHARS.index(c) * w for c, w in zip(body17, _USCC_WEIGHTS, strict=True))
    return _USCC_CHARS[(31 - total % 31) % 31]


def valid_uscc(s: str) -> bool:
    """An 18-character 统一社会信用代码 with a valid GB 32100 check character."""
    n = _compact(s)
    if len(n) != 18 or any(c not in _USCC_CHARS for c in n) or not n[8:17].strip("0"):
        return False
    if not n[2:8].isdigit():  # 登记管理机关行政区划码
        return False
    return uscc_check_char(n[:17]) == n[17]


def luhn(s: str) -> bool:
    """Luhn (mod 10) check over the digits of s; separators (space, hyphen) are ignored."""
    n = _compact(s)
    if not n.isdigit() or len(n) < 2:
        return False
    total = 0
    for i, c in enumerate(reversed(n)):
        d = int(c)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def valid_bank_card(s: str) -> bool:
    n = _compact(s)
    return 16 <= len(n) <= 19 and n.isdigit() and n[0] in "3456" and luhn(n)


def valid_mobile(s: str) -> bool:
    """A mainland mobile number: 11 digits starting 13-19, optionally with +86/86 and separators."""
    n = _compact(s)
    n = re.sub(r"^(?:\+?86)(?=1\d{10}$)", "", n)
    return bool(re.fullmatch(r"1[3-9]\d{9}", n))


# -- width folding ---------------------------------------------------------------------------------
_FOLD = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)}
_FOLD[0x3000] = 0x20


def fold_width(text: str) -> str:
    """Full-width ASCII to half-width, one character for one (offsets are preserved)."""
    return text.translate(_FOLD)


# -- recognisers -----------------------------------------------------------------------------------
_NB = r"(?<![0-9A-Za-z])"  # not preceded by a letter or digit
_NA = r"(?![0-9A-Za-z])"  # not followed by one
_SEP = r"[ \-]?"

_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}(?![A-Za-z0-9-])"
)
# 18-character id, optionally grouped 6-8-4; a 20-digit 残疾人证号 (id + 类别 + 等级) also counts as an id.
_ID = re.compile(_NB + r"(\d{6}" + _SEP + r"\d{8}" + _SEP + r"\d{3}[\dXx])((?:[1-7][1-4])?)" + _NA)
_USCC = re.compile(_NB + r"([0-9A-HJ-NP-RTUWXY]{2}\d{6}[0-9A-HJ-NP-RTUWXY]{10})" + _NA)
_BANK = re.compile(_NB + r"([3-6]\d{3}(?:" + _SEP + r"\d{4}){3}(?:" + _SEP + r"\d{1,3})?)" + _NA)
_MOBILE = re.compile(r"(?<![0-9A-Za-z+])((?:\+?86[ \-]?)?1[3-9]\d(?:[ \-]?\d{4}){2})" + _NA)
_PASSPORT = re.compile(_NB + r"([EGeg]\d{8}|[Ee][A-HJ-NP-Za-hj-np-z]\d{7}|[DPSdps][Ee]\d{7})" + _NA)
_PERMIT = re.compile(_NB + r"([CWcw]\d{8}|[Cc][A-HJ-NP-Za-hj-np-z]\d{7}|[HMhm]\d{8}(?:\d{2})?)" + _NA)


def _id_ok(m: re.Match[str]) -> bool:
    return valid_id_card(m.group(1))


# An id-shaped number right after an id cue is personal data even with a wrong check digit (a typo in one's own
# number): it is redacted like a valid one, and the form's validator asks the citizen to re-check it.
_CUED_ID = re.compile(r"(?:身份证|证件|公民身份)号?码?[^0-9A-Za-z]{0,6}" + _ID.pattern)


def _cued_id_ok(m: re.Match[str]) -> bool:
    n = _compact(m.group(1))
    if n[:2] not in _PROVINCES:
        return False
    try:
        born = dt.date(int(n[6:10]), int(n[10:12]), int(n[12:14]))
    except ValueError:
        return False
    return born.year >= 1900 and born <= dt.date.today()


def _always(_m: re.Match[str]) -> bool:
    return True


# Priority order: an earlier recogniser wins an overlap (an e-mail containing a mobile is an e-mail;
# an 18-digit id is not also a bank card or a USCC).
_RECOGNISERS: tuple[tuple[PiiKind, re.Pattern[str], Callable[[re.Match[str]], bool]], ...] = (
    (PiiKind.EMAIL, _EMAIL, _always),
    (PiiKind.ID_CARD, _ID, _id_ok),
    (PiiKind.ID_CARD, _CUED_ID, _cued_id_ok),
    (PiiKind.USCC, _USCC, lambda m: valid_uscc(m.group(1))),
    (PiiKind.BANK_CARD, _BANK, lambda m: valid_bank_card(m.group(1))),
    (PiiKind.HK_MACAU_PERMIT, _PERMIT, _always),
    (PiiKind.PASSPORT, _PASSPORT, _always),
    (PiiKind.MOBILE, _MOBILE, lambda m: valid_mobile(m.group(1))),
)


def _candidates(folded: str) -> Iterator[tuple[int, int, int, PiiKind]]:
    for priority, (kind, pattern, ok) in enumerate(_RECOGNISERS):
        for m in pattern.finditer(folded):
            if ok(m):  # the value itself (group 1 on), never a cue word before it
                yield priority, m.start(1) if m.re.groups else m.start(), m.end(), kind


_MAYBE = re.compile(r"[0-9@\uff10-\uff19\uff20]")  # every kind needs a digit or an @


def find_pii(text: str) -> list[PiiMatch]:
    """Every PII occurrence in text, non-overlapping, in text order."""
    if not _MAYBE.search(text):
        return []
    folded = fold_width(text)
    taken: list[tuple[int, int]] = []
    found: list[PiiMatch] = []
    for _prio, start, end, kind in sorted(_candidates(folded), key=lambda c: (c[0], c[1])):
        if any(start < e and s < end for s, e in taken):
            continue
        taken.append((start, end))
        found.append(PiiMatch(kind=kind, start=start, end=end, value=text[start:end]))
    return sorted(found, key=lambda m: m.start)


def redact(text: str, matches: list[PiiMatch] | None = None) -> str:
    """text with each PII match replaced by its label, e.g. `[身份证号]`."""
    out: list[str] = []
    pos = 0
    for m in matches if matches is not None else find_pii(text):
        out.append(text[pos : m.start])
        out.append(LABELS[m.kind])
        pos = m.end
    out.append(text[pos:])
    return "".join(out)


def redact_value(value: Any) -> Any:
    """Redact every string inside a JSON-like value (dicts, lists, tuples); keys are kept as they are."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: redact_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(v) for v in value]
    return value


def mask(value: str, keep: int = 4) -> str:
    """A display form that keeps only the last `keep` characters, e.g. `**************0713`."""
    return "*" * max(len(value) - keep, 0) + value[-keep:]
