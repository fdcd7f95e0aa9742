#!/usr/bin/env python3
"""Check characters for the SYNTHETIC sample profiles (stdlib only).

  python make_checksums.py id 31011719880312001      -> full 18-digit 身份证号 (GB 11643)
  python make_checksums.py uscc 91310117MA1DEM01     -> 8-char body -> 9-char org code (GB 11714) -> USCC (GB 32100)
  python make_checksums.py uscc 91310117MA1DEM01X    -> 17 chars -> appends the GB 32100 check character
  python make_checksums.py verify [dir]              -> verify every profile under dir (default: this folder);
                                                        exits 1 on any bad number

The profiles are simple YAML written by hand; to stay stdlib-only this script reads them
line by line (`key: value`, block lists of elicences introduced by `- type: ...`).
"""
import datetime as _dt
import re
import sys
from pathlib import Path

# ---------------------------------------------------------------- GB 11643-1999 (公民身份号码)
ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
ID_CHECK = "10X98765432"


def id_check_char(body17: str) -> str:
    if not re.fullmatch(r"\d{17}", body17):
        raise ValueError(f"ID body must be 17 digits, got {body17!r}")
    return ID_CHECK[sum(int(c) * w for c, w in zip(body17, ID_WEIGHTS, strict=True)) % 11]


def id_problems(number: str):
    """Return a list of problems (empty when valid)."""
    if not re.fullmatch(r"\d{17}[\dX]", number or ""):
        return ["not an 18-character ID number (17 digits + digit or X)"]
    out = []
    try:
        _dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        out.append("invalid birth date")
    if id_check_char(number[:17]) != number[17]:
        out.append(f"check digit should be {id_check_char(number[:17])}")
    return out


def id_birth_date(number: str) -> str:
    return f"{number[6:10]}-{number[10:12]}-{number[12:14]}"


def id_gender(number: str) -> str:
    return "男" if int(number[16]) % 2 else "女"


def id_card_expiry(birth: str, issued: str) -> str:
    """Expiry date of a 居民身份证 (居民身份证法 art. 5); "null" (长期) when issued at 46 or older."""
    b, i = _dt.date.fromisoformat(birth), _dt.date.fromisoformat(issued)
    age = i.year - b.year - ((i.month, i.day) < (b.month, b.day))
    years = 5 if age < 16 else 10 if age <= 25 else 20 if age <= 45 else None
    if years is None:
        return "null"
    try:
        return i.replace(year=i.year + years).isoformat()
    except ValueError:  # 29 February
        return i.replace(year=i.year + years, day=28).isoformat()


# ---------------------------------------------------------------- GB 11714 (组织机构代码 9 位)
ORG_WEIGHTS = [3, 7, 9, 10, 5, 8, 4, 2]


def _org_val(c: str) -> int:
    return int(c) if c.isdigit() else ord(c) - ord("A") + 10


def org_check_char(body8: str) -> str:
    if not re.fullmatch(r"[0-9A-Z]{8}", body8):
        raise ValueError(f"organisation code body must be 8 digits/capitals, got {body8!r}")
    c = 11 - sum(_org_val(ch) * w for ch, w in zip(body8, ORG_WEIGHTS, strict=True)) % 11
    return {10: "X", 11: "0"}.get(c, str(c))


# ---------------------------------------------------------------- GB 32100-2015 (统一社会信用代码)
USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 chars, no I O S V Z
USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def uscc_check_char(body17: str) -> str:
    if len(body17) != 17 or any(c not in USCC_CHARS for c in body17):
        raise ValueError(f"USCC body must be 17 chars from {USCC_CHARS}, got {body17!r}")
    c = 31 - sum(USCC_CHARS.index(ch) * w for ch, w in zip(body17, USCC_WEIGHTS, strict=True)) % 31
    return USCC_CHARS[0 if c == 31 else c]


def uscc_problems(code: str):
    code = code or ""
    if len(code) != 18 or any(c not in USCC_CHARS for c in code):
        return ["not an 18-character USCC (alphabet excludes I O S V Z)"]
    out = []
    if org_check_char(code[8:16]) != code[16]:
        out.append(f"organisation-code check (char 17) should be {org_check_char(code[8:16])}")
    if uscc_check_char(code[:17]) != code[17]:
        out.append(f"check character should be {uscc_check_char(code[:17])}")
    return out


MOBILE_RE = re.compile(r"1[3-9]\d{9}")


# ---------------------------------------------------------------- tiny line reader for the profiles
KV_RE = re.compile(r"^(\s*)(?:-\s+)?([A-Za-z_][A-Za-z0-9_]*):\s*(.*?)\s*$")


def _scalar(v: str) -> str:
    v = v.split(" #", 1)[0].strip()
    if len(v) >= 2 and v[0] == v[-1] and v[0] in "\"'":
        v = v[1:-1]
    return v


def read_profile(path: Path):
    """Top-level scalars plus a list of elicence dicts."""
    top, lic, in_lic = {}, [], False
    for raw in path.read_text(encoding="utf-8").splitlines():
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        m = KV_RE.match(raw)
        if not m:
            continue
        indent, key, val = len(m.group(1)), m.group(2), _scalar(m.group(3))
        if indent == 0 and not raw.lstrip().startswith("-"):
            in_lic = key == "elicences"
            top[key] = val
        elif in_lic:
            if raw.lstrip().startswith("-"):
                lic.append({})
            if lic:
                lic[-1][key] = val
    return top, lic


def verify(root: Path) -> int:
    bad, n_files, n_numbers = 0, 0, 0

    def fail(path, msg):
        nonlocal bad
        bad += 1
        print(f"FAIL {path.relative_to(root)}: {msg}")

    for path in sorted(root.glob("*/*.yaml")):
        n_files += 1
        top, lic = read_profile(path)
        kind = top.get("kind")
        if top.get("synthetic") != "true":
            fail(path, "missing synthetic: true")
        if not MOBILE_RE.fullmatch(top.get("mobile", "")):
            fail(path, f"invalid mobile {top.get('mobile')!r}")
        n_numbers += 1
        own_id = None
        if kind == "citizen":
            own_id = top.get("id_number", "")
            for p in id_problems(own_id):
                fail(path, f"id_number {own_id}: {p}")
            n_numbers += 1
            if not id_problems(own_id):
                if id_birth_date(own_id) != top.get("birth_date"):
                    fail(path, f"birth_date {top.get('birth_date')} differs from the ID number ({id_birth_date(own_id)})")
                if id_gender(own_id) != top.get("gender"):
                    fail(path, f"gender {top.get('gender')} differs from the ID sequence parity ({id_gender(own_id)})")
        elif kind == "enterprise":
            uscc = top.get("uscc", "")
            for p in uscc_problems(uscc):
                fail(path, f"uscc {uscc}: {p}")
            lr = top.get("legal_rep_id_number", "")
            for p in id_problems(lr):
                fail(path, f"legal_rep_id_number {lr}: {p}")
            n_numbers += 2
        else:
            fail(path, f"kind must be citizen or enterprise, got {kind!r}")
        for i, lc in enumerate(lic):
            t, num = lc.get("type"), lc.get("number", "")
            where = f"elicences[{i}] {t}"
            for d in ("issued_on", "expires_on"):
                v = lc.get(d, "")
                if v not in ("", "null", "~"):
                    try:
                        _dt.date.fromisoformat(v)
                    except ValueError:
                        fail(path, f"{where}.{d} is not a date: {v!r}")
            if t in ("id_card", "residence_permit", "social_security_card"):
                # 身份证号 / 居住证上的公民身份号码 / 社会保障号码 are the same 18-digit number
                n_numbers += 1
                for p in id_problems(num):
                    fail(path, f"{where} number {num}: {p}")
                if kind == "citizen" and num != own_id:
                    fail(path, f"{where} number differs from id_number")
                if t == "id_card" and not id_problems(num) and lc.get("issued_on"):
                    # validity: under 16 -> 5 y, 16-25 -> 10 y, 26-45 -> 20 y, 46+ -> 长期
                    exp = id_card_expiry(id_birth_date(num), lc["issued_on"])
                    if (lc.get("expires_on") or "null") not in (exp, exp.replace("null", "~")):
                        fail(path, f"{where} expires_on should be {exp} (validity by age at issue)")
            elif t == "disability_card":
                # 第二代残疾人证号 = 身份证号 + 残疾类别(1-7) + 残疾等级(1-4)
                n_numbers += 1
                if not re.fullmatch(r".{18}[1-7][1-4]", num):
                    fail(path, f"{where} number {num}: must be ID number + category (1-7) + grade (1-4)")
                for p in id_problems(num[:18]):
                    fail(path, f"{where} number {num}: {p}")
                if kind == "citizen" and num[:18] != own_id:
                    fail(path, f"{where} number: first 18 chars differ from id_number")
            elif t == "business_license":
                n_numbers += 1
                for p in uscc_problems(num):
                    fail(path, f"{where} number {num}: {p}")
                if kind == "enterprise" and num != top.get("uscc"):
                    fail(path, f"{where} number differs from uscc")
    print(f"checked {n_files} profiles, {n_numbers} numbers: " + ("OK" if not bad else f"{bad} problem(s)"))
    return 1 if bad else 0


def main(argv):
    if len(argv) >= 3 and argv[1] == "id":
        body = argv[2][:17]
        print(body + id_check_char(body))
    elif len(argv) >= 3 and argv[1] == "uscc":
        s = argv[2].upper()
        if len(s) == 16:  # 2-char type + 6-char region + 8-char org body
            s = s + org_check_char(s[8:16])
        print(s[:17] + uscc_check_char(s[:17]))
    elif len(argv) >= 2 and argv[1] == "verify":
        root = Path(argv[2]) if len(argv) >= 3 else Path(__file__).resolve().parent
        return verify(root)
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
