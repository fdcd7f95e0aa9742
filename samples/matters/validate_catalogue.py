#!/usr/bin/env python3
"""Validate the SAMPLE district catalogue (samples/matters/catalogue/*.jsonl) and its dev/test
utterances (eval/datasets/matters_district/). Stdlib + pyyaml; called by validate.py.

    python3 samples/matters/validate_catalogue.py     # from the repository root

Checks: exact key set per entry; ids `c-<prefix>-<nnn>` and titles unique; audience,
life_event (个人) and enterprise_stage (法人) from closed vocabularies; 3-8 aliases, none equal
to its own title, none equal to another entry's title, no duplicates within an entry;
knowledge_item names a sample KB item; matter_id names a full-form matter or bundle, each of
which is linked exactly once with its YAML name as title or alias; no two titles are near
duplicates (same after removing punctuation, or character-bigram Jaccard >= 0.85); utterances
reference catalogue ids, are unique, never equal a title or alias, dev and test are disjoint,
>= 1,000 in all covering >= 300 entries. Exits 1 on any error.
"""
import json
import re
import sys
from collections import Counter
from itertools import combinations
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "samples/matters/catalogue"
FULL_FORMS = [ROOT / "samples/matters/matters", ROOT / "samples/matters/bundles"]
KB = ROOT / "samples/kb"
DISTRICT = ROOT / "eval/datasets/matters_district"

KEYS = {"id", "title", "aliases", "department", "audience", "life_event", "enterprise_stage",
        "description", "knowledge_item", "matter_id", "online_entry"}
AUDIENCES = {"个人", "法人"}
# 个人: life events as 一网通办 groups personal services; 法人: stages of an enterprise's life.
LIFE_EVENTS = {"出生", "上学", "就业", "婚育", "住房", "出行", "养老", "身后", "医疗", "社保", "证件",
               "户籍", "残疾", "救助", "退役", "法律", "纳税", "农业"}
ENTERPRISE_STAGES = {"开办", "准营", "经营", "建设", "用工", "纳税", "变更", "注销"}
ID_RE = re.compile(r"^c-[a-z]+-\d{3}$")
MIN_ENTRIES, MIN_UTTERANCES, MIN_COVERED = 520, 1000, 300
NEAR_DUPLICATE = 0.85


def load_catalogue(errors):
    entries = []
    for path in sorted(CATALOGUE.glob("*.jsonl")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                entries.append((f"{path.name}:{n}", json.loads(line)))
            except json.JSONDecodeError as e:
                errors.append(f"{path.name}:{n}: {e}")
    return entries


def normalise(title):
    return re.sub(r"[\s（）()、，,·“”\"]", "", title)


def bigrams(text):
    return {text[i:i + 2] for i in range(len(text) - 1)} or {text}


def near_duplicates(entries):
    """Pairs of (id, title) whose titles are equal without punctuation or share >= 85 % of bigrams."""
    grams = [(e["id"], e["title"], normalise(e["title"]), bigrams(normalise(e["title"]))) for e in entries]
    return [((i1, t1), (i2, t2)) for (i1, t1, n1, g1), (i2, t2, n2, g2) in combinations(grams, 2)
            if n1 == n2 or len(g1 & g2) / len(g1 | g2) >= NEAR_DUPLICATE]


def check_entry(where, e, kb_ids, full_forms, errors):
    if set(e) != KEYS:
        errors.append(f"{where}: keys differ: missing {sorted(KEYS - set(e))}, extra {sorted(set(e) - KEYS)}")
        return
    if not ID_RE.match(str(e["id"])):
        errors.append(f"{where}: id {e['id']!r} is not c-<prefix>-<nnn>")
    for k in ("title", "department", "description", "online_entry"):
        if not isinstance(e[k], str) or not e[k].strip():
            errors.append(f"{where}: {k} must be a non-empty string")
    if not str(e["online_entry"]).startswith("一网通办 > "):
        errors.append(f"{where}: online_entry {e['online_entry']!r} should start with '一网通办 > '")
    aud = e["audience"] if isinstance(e["audience"], list) else [e["audience"]]
    if not aud or set(aud) - AUDIENCES or len(set(aud)) != len(aud):
        errors.append(f"{where}: audience {e['audience']!r} must be 个人, 法人 or both as a list")
    if "个人" in aud and e["life_event"] not in LIFE_EVENTS:
        errors.append(f"{where}: life_event {e['life_event']!r} not in {sorted(LIFE_EVENTS)}")
    if "个人" not in aud and e["life_event"] is not None:
        errors.append(f"{where}: life_event is only for 个人 entries")
    if "法人" in aud and e["enterprise_stage"] not in ENTERPRISE_STAGES:
        errors.append(f"{where}: enterprise_stage {e['enterprise_stage']!r} not in {sorted(ENTERPRISE_STAGES)}")
    if "法人" not in aud and e["enterprise_stage"] is not None:
        errors.append(f"{where}: enterprise_stage is only for 法人 entries")
    aliases = e["aliases"]
    if not isinstance(aliases, list) or not 3 <= len(aliases) <= 8:
        errors.append(f"{where}: {e['title']}: needs 3-8 aliases, has {aliases!r}")
    elif len(set(aliases)) != len(aliases) or e["title"] in aliases or not all(a.strip() for a in aliases):
        errors.append(f"{where}: aliases repeat, are empty or equal the title: {aliases!r}")
    if e["knowledge_item"] is not None and e["knowledge_item"] not in kb_ids:
        errors.append(f"{where}: knowledge_item {e['knowledge_item']!r} is not a sample KB item")
    if e["matter_id"] is not None:
        name = full_forms.get(e["matter_id"])
        if name is None:
            errors.append(f"{where}: matter_id {e['matter_id']!r} is not a full-form matter or bundle")
        elif name != e["title"] and name not in aliases:
            errors.append(f"{where}: title differs from {e['matter_id']}'s name {name!r}; add it as an alias")


def check_utterances(ids, names, errors):
    seen, per, counts = {}, Counter(), {}
    for split in ("dev", "test"):
        path = DISTRICT / f"{split}.jsonl"
        if not path.exists():
            errors.append(f"{path.relative_to(ROOT)} missing")
            continue
        n_split = 0
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            where = f"{split}.jsonl:{n}"
            u = json.loads(line)
            n_split += 1
            if set(u) != {"text", "matter_id"}:
                errors.append(f"{where}: keys {sorted(u)}")
                continue
            if u["matter_id"] not in ids:
                errors.append(f"{where}: unknown matter_id {u['matter_id']!r}")
            if u["text"] in names:
                errors.append(f"{where}: copies a title or alias verbatim: {u['text']!r}")
            if u["text"] in seen:
                errors.append(f"{where}: duplicate of {seen[u['text']]}: {u['text']!r}")
            seen[u["text"]] = where
            per[u["matter_id"]] += 1
        counts[split] = n_split
    total = sum(counts.values())
    if total < MIN_UTTERANCES:
        errors.append(f"utterances: only {total} (need >= {MIN_UTTERANCES})")
    if len(per) < MIN_COVERED:
        errors.append(f"utterances cover only {len(per)} entries (need >= {MIN_COVERED})")
    return counts, len(per)


def main():
    errors, notes = [], []
    kb_ids = {p.stem for p in KB.rglob("*.md")}
    full_forms = {}
    for folder in FULL_FORMS:
        for p in folder.glob("*.yaml"):
            d = yaml.safe_load(p.read_text(encoding="utf-8"))
            full_forms[d["id"]] = d["name"]
    entries = load_catalogue(errors)
    for where, e in entries:
        if isinstance(e, dict):
            check_entry(where, e, kb_ids, full_forms, errors)
    entries = [e for _, e in entries if isinstance(e, dict) and set(e) == KEYS]

    for field in ("id", "title"):
        for value, n in Counter(e[field] for e in entries).items():
            if n > 1:
                errors.append(f"duplicate {field} {value!r} ({n} entries)")
    titles = {e["title"]: e["id"] for e in entries}
    alias_owner = {}
    for e in entries:
        for a in e["aliases"]:
            if a in titles and titles[a] != e["id"]:
                errors.append(f"{e['id']}: alias {a!r} is the title of {titles[a]}")
            alias_owner.setdefault(a, []).append(e["id"])
    shared = {a: ids for a, ids in alias_owner.items() if len(ids) > 1}
    if shared:
        notes.append("aliases shared by several entries (ambiguous on purpose?): "
                     + "; ".join(f"{a}: {','.join(ids)}" for a, ids in sorted(shared.items())))
    for (i1, t1), (i2, t2) in near_duplicates(entries):
        errors.append(f"near-duplicate titles: {i1} {t1!r} ~ {i2} {t2!r}")
    linked = Counter(e["matter_id"] for e in entries if e["matter_id"])
    for mid in sorted(full_forms):
        if linked[mid] != 1:
            errors.append(f"full-form matter {mid} is linked by {linked[mid]} catalogue entries (need exactly 1)")
    if len(entries) < MIN_ENTRIES:
        errors.append(f"catalogue has {len(entries)} entries (need >= {MIN_ENTRIES})")

    names = set(titles) | set(alias_owner)
    counts, covered = check_utterances({e["id"] for e in entries}, names, errors)
    aud = Counter("个人+法人" if isinstance(e["audience"], list) else e["audience"] for e in entries)
    print(f"district catalogue: {len(entries)} entries ({', '.join(f'{k} {v}' for k, v in sorted(aud.items()))}), "
          f"{len({e['department'] for e in entries})} departments, {sum(1 for e in entries if e['knowledge_item'])} "
          f"with a knowledge item, {len(linked)} linked to full forms")
    print(f"district utterances: dev {counts.get('dev', 0)}, test {counts.get('test', 0)}, covering {covered} entries")
    for n in notes:
        print("note:", n)
    for e in errors:
        print("ERROR:", e)
    return errors


if __name__ == "__main__":
    problems = main()
    print("OK" if not problems else f"{len(problems)} error(s)")
    sys.exit(1 if problems else 0)
