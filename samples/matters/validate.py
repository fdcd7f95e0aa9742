#!/usr/bin/env python3
"""Validate the SAMPLE matter catalogue, bundles, profiles and the matter-identification dev set.

    python3 samples/matters/validate.py          # from the repository root (needs pyyaml)

Checks: YAML parses; exact key sets; ids match file names; department is a unit id;
knowledge ids are known guide ids (guide first); every `when` names a situation (or, in
prereview, a form field) and one of its values; elicence types, field types, validators and
prefill sources are from the allowed lists; every prefill source resolves in the matter's demo
profile(s) and >= 70 % of the form is pre-fillable for the primary demo profile; bundle matters
exist and carry_over fields are shared by at least two of the bundle's matters; the profile
checksum script passes; the eval dev set covers every matter and bundle with >= 10 utterances
and never repeats a catalogue example; the district catalogue passes validate_catalogue.py.
Exits 1 on any error.
"""
import datetime as dt
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import validate_catalogue  # sibling script in this folder, not a package

ROOT = Path(__file__).resolve().parents[2]
MATTERS = ROOT / "samples/matters/matters"
BUNDLES = ROOT / "samples/matters/bundles"
PROFILES = ROOT / "samples/profiles"
UNITS = ROOT / "samples/kb/units.yaml"
EVAL = ROOT / "eval/datasets/matters"

# Knowledge items being written for the sample KB (ids fixed in advance).
GUIDE_IDS = set("""
guide-individual-business-reg guide-food-business-license guide-food-license-change guide-shop-sign
guide-company-reg guide-company-change guide-company-deregistration guide-seal-filing guide-new-taxpayer
guide-employer-ss-reg guide-hpf-unit-reg guide-rental-contract-filing guide-road-freight-permit
guide-construction-permit guide-public-place-hygiene guide-fire-safety-inspection guide-drainage-permit
guide-tobacco-retail guide-labor-dispatch guide-hr-service-permit guide-high-tech-enterprise
guide-medical-device-filing guide-birth-medical-cert guide-hukou-birth-registration guide-social-security-card
guide-resident-medical-insurance guide-residence-permit-new guide-residence-permit-renew
guide-residence-permit-reissue guide-hpf-withdraw-rent guide-hpf-withdraw-retire guide-flexible-employment-ss
guide-disability-card guide-elderly-allowance guide-pension-claim guide-unemployment-benefit guide-dibao
guide-marriage-registration guide-divorce-registration guide-funeral-subsidy guide-id-card-renewal
guide-medical-reimbursement guide-maternity-allowance guide-home-care-subsidy guide-temporary-assistance
guide-hukou-move-in
""".split())

REQUIRED_MATTERS = """m-individual-business-reg m-food-business-license m-shop-sign m-company-reg m-seal-filing
m-new-taxpayer m-employer-ss-reg m-birth-medical-cert m-hukou-birth-registration m-social-security-card
m-resident-medical-insurance m-residence-permit-new m-residence-permit-renew m-residence-permit-reissue
m-hpf-withdraw-rent m-elderly-allowance m-disability-card m-pension-claim m-hpf-withdraw-retire
m-flexible-employment-ss m-unemployment-benefit m-marriage-registration m-rental-contract-filing
m-road-freight-permit""".split()
REQUIRED_BUNDLES = ["b-open-shop", "b-birth", "b-retire", "b-open-company"]

MATTER_KEYS = ["id", "version", "name", "department", "audience", "aliases", "description", "examples",
               "knowledge", "requires_staff_approval", "situations", "materials", "form", "prereview"]
PRODUCED_LICENCES = {"business_license", "food_license", "birth_cert", "marriage_cert"}
BUNDLE_KEYS = ["id", "version", "name", "aliases", "description", "examples", "matters", "carry_over"]
SITUATION_KEYS = {"id", "question", "options"}
OPTION_KEYS = {"value", "label", "keywords"}
MATERIAL_KEYS = {"id", "name", "copies", "elicence", "when"}
FIELD_KEYS = {"name", "label", "type", "required", "prefill", "help", "validator", "options"}
PREREVIEW_KEYS = {"id", "when", "check", "message", "cite"}
FIELD_TYPES = {"string", "integer", "number", "date", "enum", "address", "boolean"}
VALIDATORS = {"id_card", "uscc", "mobile", "date"}
OPS = {"eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "between", "contains", "exists"}
CITIZEN_FIELDS = {"name", "gender", "birth_date", "mobile", "address", "hukou_address", "hukou_type",
                  "email", "employer", "marital_status"}
ENTERPRISE_FIELDS = {"name", "uscc", "legal_rep", "legal_rep_id_number", "mobile", "address",
                     "registered_capital_wan", "employees", "industry_code", "founded_on"}
ELICENCE_TYPES = {"id_card", "hukou_booklet", "business_license", "food_license", "marriage_cert",
                  "residence_permit", "disability_card", "property_cert", "birth_cert", "social_security_card"}
ELICENCE_FIELDS = {"number", "holder", "issuer", "issued_on", "expires_on", "address"}

# Demo profile(s) per matter: the first one is the "matching" profile used for the >= 70 % check.
# Setup matters (m-individual-business-reg, m-company-reg) are filled from the founder's citizen
# profile because the business does not exist yet; later steps use the new business's profile.
DEMO_PROFILES = {
    "m-individual-business-reg": ["c-test-zhangsan"],
    "m-food-business-license": ["e-demo-xiaochi", "e-demo-catering"],
    "m-shop-sign": ["e-demo-xiaochi", "e-demo-catering"],
    "m-company-reg": ["c-sample-heqiang"],
    "m-seal-filing": ["e-demo-xinchuang"],
    "m-new-taxpayer": ["e-demo-xinchuang"],
    "m-employer-ss-reg": ["e-demo-xinchuang"],
    "m-company-change": ["e-sample-tech"],
    "m-company-deregistration": ["e-sample-trading"],
    "m-food-license-change": ["e-demo-catering"],
    "m-road-freight-permit": ["e-test-logistics"],
    "m-birth-medical-cert": ["c-sample-wangfang"],
    "m-hukou-birth-registration": ["c-sample-wangfang"],
    "m-social-security-card": ["c-sample-wangfang", "c-demo-zhaoliu"],
    "m-resident-medical-insurance": ["c-sample-wangfang"],
    "m-residence-permit-new": ["c-test-zhouba"],
    "m-residence-permit-renew": ["c-test-wujiu"],
    "m-residence-permit-reissue": ["c-test-chenyi"],
    "m-hpf-withdraw-rent": ["c-test-chenyi"],
    "m-hpf-withdraw-retire": ["c-demo-zhaoliu"],
    "m-pension-claim": ["c-demo-zhaoliu"],
    "m-elderly-allowance": ["c-demo-sunqi"],
    "m-disability-card": ["c-sample-zhengshi"],
    "m-dibao": ["c-sample-zhengshi"],
    "m-flexible-employment-ss": ["c-demo-huangmei"],
    "m-unemployment-benefit": ["c-sample-liuer"],
    "m-id-card-renewal": ["c-sample-liuer"],
    "m-marriage-registration": ["c-sample-heqiang"],
    "m-divorce-registration": ["c-demo-huangmei"],
    "m-rental-contract-filing": ["c-demo-zhaoliu"],
}
MIN_PREFILL = 0.70

errors, notes = [], []


def err(where, msg):
    errors.append(f"{where}: {msg}")


def load(path):
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        err(path.relative_to(ROOT), f"YAML error: {e}")
        return None


def check_when(where, when, situations, fields=None):
    if not isinstance(when, dict) or not when:
        err(where, f"when must be a non-empty mapping: {when!r}")
        return
    for k, v in when.items():
        vals = v if isinstance(v, list) else [v]
        if k in situations:
            for x in vals:
                if x not in situations[k]:
                    err(where, f"when {k}={x!r} is not an option of situation {k} ({sorted(situations[k])})")
        elif fields is not None and k in fields:
            opts = fields[k].get("options")
            for x in vals:
                if opts and x not in opts:
                    err(where, f"when {k}={x!r} is not an option of field {k}")
        else:
            err(where, f"when key {k!r} is not a situation id" + (" or form field" if fields is not None else ""))


def resolve(profile, source):
    """Value of a prefill source in a profile, or None."""
    kind, _, rest = source.partition(".")
    if kind == "profile":
        return profile.get(rest)
    if kind == "elicence":
        typ, _, field = rest.partition(".")
        for lic in profile.get("elicences") or []:
            if lic.get("type") == typ:
                return lic.get(field)
    return None


def main():
    units = {u["id"] for u in (load(UNITS) or {}).get("units", [])}
    profiles = {}
    for p in sorted(PROFILES.glob("*/*.yaml")):
        d = load(p)
        if d is None:
            continue
        if d.get("id") != p.stem:
            err(p.relative_to(ROOT), "id does not match file name")
        if d.get("synthetic") is not True:
            err(p.relative_to(ROOT), "synthetic: true missing")
        profiles[d["id"]] = d

    matters = {}
    for p in sorted(MATTERS.glob("*.yaml")):
        d = load(p)
        if d is None:
            continue
        w = f"matters/{p.name}"
        if [k for k in d.keys() if k != "produces"] != MATTER_KEYS:  # produces: optional, the e-licence it issues
            err(w, f"keys must be exactly {MATTER_KEYS} (plus optional produces), got {list(d.keys())}")
        if "produces" in d and d["produces"] not in PRODUCED_LICENCES:
            err(w, f"produces {d['produces']!r} is not one of {sorted(PRODUCED_LICENCES)}")
        mid = d.get("id", "")
        if mid != p.stem or not mid.startswith("m-"):
            err(w, "id must start with m- and match the file name")
        matters[mid] = d
        if d.get("version") != 1:
            err(w, "version should be 1")
        if d.get("department") not in units:
            err(w, f"department {d.get('department')!r} is not a unit id")
        if d.get("audience") not in ("个人", "法人"):
            err(w, "audience must be 个人 or 法人")
        if not (4 <= len(d.get("examples") or []) <= 6):
            err(w, "examples: need 4-6")
        if not d.get("aliases"):
            err(w, "aliases empty")
        kn = d.get("knowledge") or []
        for k in kn:
            if k not in GUIDE_IDS and not str(k).startswith("rp-"):
                err(w, f"knowledge id {k!r} is not a known item id")
        if not kn or kn[0] != "guide-" + mid[2:]:
            err(w, f"knowledge must start with guide-{mid[2:]}")
        if not isinstance(d.get("requires_staff_approval"), bool):
            err(w, "requires_staff_approval must be a boolean")

        situations = {}
        sits = d.get("situations") or []
        if len(sits) > 3:
            err(w, "at most 3 situations")
        for s in sits:
            if set(s) != SITUATION_KEYS:
                err(w, f"situation keys must be {SITUATION_KEYS}: {s.get('id')}")
            vals = [o.get("value") for o in s.get("options", [])]
            for o in s.get("options", []):
                if set(o) != OPTION_KEYS:
                    err(w, f"option keys must be {OPTION_KEYS}: {o}")
                if not isinstance(o.get("value"), str):
                    err(w, f"option value must be a string (beware YAML yes/no): {o.get('value')!r}")
            if len(vals) < 2 or len(set(vals)) != len(vals):
                err(w, f"situation {s.get('id')}: need >= 2 distinct option values")
            if s.get("id") in situations:
                err(w, f"duplicate situation id {s.get('id')}")
            situations[s.get("id")] = set(vals)

        mat_ids = set()
        used_situations = set()
        for m in d.get("materials") or []:
            if not set(m) <= MATERIAL_KEYS or not {"id", "name"} <= set(m):
                err(w, f"material keys: {m}")
            if m.get("id") in mat_ids:
                err(w, f"duplicate material id {m.get('id')}")
            mat_ids.add(m.get("id"))
            if "elicence" in m and m["elicence"] not in ELICENCE_TYPES:
                err(w, f"material {m.get('id')}: unknown elicence type {m['elicence']!r}")
            if "copies" in m and (not isinstance(m["copies"], int) or m["copies"] < 1):
                err(w, f"material {m.get('id')}: copies must be a positive integer")
            if "when" in m:
                check_when(f"{w} material {m.get('id')}", m["when"], situations)
                used_situations |= set(m["when"])

        form = d.get("form") or []
        if not (5 <= len(form) <= 10):
            err(w, f"form needs 5-10 fields, has {len(form)}")
        fields = {}
        for f in form:
            fw = f"{w} field {f.get('name')}"
            if not set(f) <= FIELD_KEYS or not {"name", "label", "type", "required"} <= set(f):
                err(fw, f"field keys: {sorted(f)}")
            if f.get("name") in fields:
                err(fw, "duplicate field name")
            fields[f.get("name")] = f
            if f.get("type") not in FIELD_TYPES:
                err(fw, f"unknown type {f.get('type')!r}")
            if f.get("type") == "enum" and not f.get("options"):
                err(fw, "enum field needs options")
            if "options" in f and f.get("type") != "enum":
                err(fw, "options only for enum fields")
            v = f.get("validator")
            if v is not None:
                if isinstance(v, dict):
                    if set(v) == {"range"}:
                        r = v["range"]
                        if not (isinstance(r, list) and len(r) == 2 and r[0] < r[1]):
                            err(fw, f"bad range {r}")
                    elif set(v) == {"enum"}:
                        if not isinstance(v["enum"], list):
                            err(fw, "validator enum must be a list")
                    else:
                        err(fw, f"unknown validator {v}")
                elif v not in VALIDATORS:
                    err(fw, f"unknown validator {v!r}")
            src = f.get("prefill")
            if src is not None:
                parts = src.split(".")
                if parts[0] == "profile" and len(parts) == 2:
                    if parts[1] not in CITIZEN_FIELDS | ENTERPRISE_FIELDS:
                        err(fw, f"unknown profile field in {src}")
                elif parts[0] == "elicence" and len(parts) == 3:
                    if parts[1] not in ELICENCE_TYPES or parts[2] not in ELICENCE_FIELDS:
                        err(fw, f"unknown elicence type/field in {src}")
                else:
                    err(fw, f"bad prefill source {src!r}")

        prs = d.get("prereview") or []
        if len(prs) > 6:
            err(w, "at most 6 prereview rules")
        pr_ids = set()
        for r in prs:
            rw = f"{w} prereview {r.get('id')}"
            if not set(r) <= PREREVIEW_KEYS or not {"id", "check", "message", "cite"} <= set(r):
                err(rw, f"keys: {sorted(r)}")
            if r.get("id") in pr_ids:
                err(rw, "duplicate id")
            pr_ids.add(r.get("id"))
            if "when" in r:
                check_when(rw, r["when"], situations, fields)
            c = r.get("check") or {}
            kind, _, source = str(c.get("field")).partition("@")
            if source:  # derived: age@<date field or today> (needs birth_date), town@<address field>
                if kind not in ("age", "town") or (source != "today" and source not in fields) \
                        or (kind == "age" and "birth_date" not in fields):
                    err(rw, f"derived check field {c.get('field')!r}: use age@<date field>|age@today (with a "
                            "birth_date field) or town@<address field>")
            elif c.get("field") not in fields and c.get("field") not in situations:
                err(rw, f"check field {c.get('field')!r} is neither a form field nor a situation")
            if c.get("op") not in OPS:
                err(rw, f"unknown op {c.get('op')!r}")
            if r.get("cite") not in kn:
                err(rw, f"cite {r.get('cite')!r} must be one of the matter's knowledge ids")

        for sid in situations:
            if sid not in used_situations and not any(
                    sid in (r.get("when") or {}) or (r.get("check") or {}).get("field") == sid for r in prs):
                notes.append(f"{w}: situation {sid} changes no material or prereview rule")

        # prefill against demo profiles
        demo = DEMO_PROFILES.get(mid)
        if not demo:
            err(w, "no demo profile configured in validate.py DEMO_PROFILES")
            continue
        for i, pid in enumerate(demo):
            prof = profiles.get(pid)
            if prof is None:
                err(w, f"demo profile {pid} not found")
                continue
            allowed = CITIZEN_FIELDS if prof.get("kind") == "citizen" else ENTERPRISE_FIELDS
            filled, missing = 0, []
            for f in form:
                src = f.get("prefill")
                if not src:
                    continue
                if src.startswith("profile.") and src.split(".")[1] not in allowed:
                    err(w, f"{f['name']}: {src} is not a {prof.get('kind')} field (demo profile {pid})")
                if resolve(prof, src) in (None, ""):
                    missing.append(f"{f['name']}<-{src}")
                else:
                    filled += 1
            rate = filled / len(form) if form else 0
            if i == 0:
                d["_prefill"] = (pid, filled, len(form))
                if missing:
                    err(w, f"prefill sources missing in demo profile {pid}: {missing}")
                if rate < MIN_PREFILL:
                    err(w, f"only {filled}/{len(form)} fields pre-fillable for {pid} (< {MIN_PREFILL:.0%})")
            else:
                notes.append(f"{w}: secondary profile {pid} pre-fills {filled}/{len(form)}"
                             + (f" (not available: {missing})" if missing else ""))

    for mid in REQUIRED_MATTERS:
        if mid not in matters:
            err("matters", f"required matter {mid} missing")

    bundles = {}
    for p in sorted(BUNDLES.glob("*.yaml")):
        d = load(p)
        if d is None:
            continue
        w = f"bundles/{p.name}"
        if list(d.keys()) != BUNDLE_KEYS:
            err(w, f"keys must be exactly {BUNDLE_KEYS}, got {list(d.keys())}")
        bid = d.get("id", "")
        if bid != p.stem or not bid.startswith("b-"):
            err(w, "id must start with b- and match the file name")
        bundles[bid] = d
        if not (4 <= len(d.get("examples") or []) <= 6):
            err(w, "examples: need 4-6")
        ms = d.get("matters") or []
        if len(ms) < 2:
            err(w, "a bundle needs at least 2 matters")
        for m in ms:
            if m not in matters:
                err(w, f"unknown matter {m}")
        for fld in d.get("carry_over") or []:
            holders = [m for m in ms if m in matters and any(f["name"] == fld for f in matters[m]["form"])]
            if len(holders) < 2:
                err(w, f"carry_over field {fld!r} appears in {holders}; needs >= 2 of the bundle's matters")
    for bid in REQUIRED_BUNDLES:
        if bid not in bundles:
            err("bundles", f"required bundle {bid} missing")

    # alias / name clashes across the catalogue
    alias_owner = {}
    for cid, d in list(matters.items()) + list(bundles.items()):
        for a in [d.get("name")] + list(d.get("aliases") or []):
            if a in alias_owner and alias_owner[a] != cid:
                err("catalogue", f"alias {a!r} used by both {alias_owner[a]} and {cid}")
            alias_owner[a] = cid

    # profile checksums
    r = subprocess.run([sys.executable, str(PROFILES / "make_checksums.py"), "verify"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        err("profiles", "make_checksums.py verify failed:\n" + r.stdout + r.stderr)
    checksum_line = (r.stdout.strip().splitlines() or [""])[-1]

    # expired / soon-expiring e-licences (reported, required to exist)
    today = dt.date(2026, 11, 27)
    expired, soon = [], []
    for pid, prof in profiles.items():
        for lic in prof.get("elicences") or []:
            e = lic.get("expires_on")
            if isinstance(e, dt.date):
                if e < today:
                    expired.append(f"{pid}:{lic['type']}:{e}")
                elif lic["type"] == "residence_permit" and (e - today).days <= 60:
                    soon.append(f"{pid}:{lic['type']}:{e}")
    if not expired:
        err("profiles", "no expired e-licence")
    if not soon:
        err("profiles", "no residence_permit expiring within 60 days")

    # eval dev set
    ids = set(matters) | set(bundles)
    examples = {e for d in list(matters.values()) + list(bundles.values()) for e in d.get("examples") or []}
    cat_path, utt_path = EVAL / "catalog.jsonl", EVAL / "utterances.jsonl"
    n_utt, per_id = 0, Counter()
    if cat_path.exists():
        cat_ids = [json.loads(line)["id"] for line in cat_path.read_text(encoding="utf-8").splitlines() if line.strip()]
        if set(cat_ids) != ids or len(cat_ids) != len(ids):
            err("eval/catalog.jsonl", "ids differ from the YAML catalogue; rerun build_catalog.py")
    else:
        err("eval", "catalog.jsonl missing")
    if utt_path.exists():
        seen = set()
        for i, line in enumerate(utt_path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                u = json.loads(line)
            except json.JSONDecodeError as e:
                err("eval/utterances.jsonl", f"line {i}: {e}")
                continue
            n_utt += 1
            if set(u) != {"text", "matter_id"}:
                err("eval/utterances.jsonl", f"line {i}: keys {sorted(u)}")
            if u.get("matter_id") not in ids:
                err("eval/utterances.jsonl", f"line {i}: unknown matter_id {u.get('matter_id')!r}")
            if u.get("text") in examples:
                err("eval/utterances.jsonl", f"line {i}: copies a catalogue example: {u.get('text')}")
            if u.get("text") in seen:
                err("eval/utterances.jsonl", f"line {i}: duplicate text {u.get('text')}")
            seen.add(u.get("text"))
            per_id[u.get("matter_id")] += 1
        for i in sorted(ids):
            if per_id[i] < 10:
                err("eval/utterances.jsonl", f"{i} has only {per_id[i]} utterances (need >= 10)")
        if n_utt < 320:
            err("eval/utterances.jsonl", f"only {n_utt} utterances (need >= 320)")
    else:
        err("eval", "utterances.jsonl missing")

    # district catalogue (samples/matters/catalogue) and its utterances: a sibling script
    print("-- district catalogue --")
    errors.extend(f"catalogue: {e}" for e in validate_catalogue.main())

    # report
    approval = sum(1 for d in matters.values() if d.get("requires_staff_approval"))
    print(f"matters: {len(matters)} (requires_staff_approval: {approval}), bundles: {len(bundles)}, "
          f"profiles: {sum(p.get('kind') == 'citizen' for p in profiles.values())} citizens + "
          f"{sum(p.get('kind') == 'enterprise' for p in profiles.values())} enterprises")
    print(f"checksums: {checksum_line}")
    print(f"expired e-licences: {', '.join(expired)}; residence permits expiring soon: {', '.join(soon)}")
    print(f"utterances: {n_utt} (min per id {min(per_id.values()) if per_id else 0})")
    print("prefill (primary demo profile):")
    for mid, d in sorted(matters.items()):
        if "_prefill" in d:
            pid, a, b = d["_prefill"]
            print(f"  {mid:32s} {pid:18s} {a}/{b} = {a / b:.0%}")
    kb = ROOT / "samples/kb"
    present = {p.stem for p in kb.rglob("*.md")}
    cited = {k for d in matters.values() for k in d.get("knowledge") or []}
    missing_kb = sorted(cited - present)
    if missing_kb:
        notes.append(f"cited knowledge items not (yet) in samples/kb: {len(missing_kb)} of {len(cited)}")
    for n in notes:
        print("note:", n)
    for e in errors:
        print("ERROR:", e)
    print("OK" if not errors else f"{len(errors)} error(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
