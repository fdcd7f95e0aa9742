#!/usr/bin/env python3
"""Expand the hand-written catalogue sources (*.txt here) into the SAMPLE catalogue JSONL and
the district dev/test utterances.

    python3 samples/matters/catalogue/source/author.py [--check]

Source format (one matter per line, utterances under it):

    @ pfx=ga dept=上海市公安局松江分局 aud=个人 ev=户籍 entry=一网通办 > 个人办事 > 公安 > 户籍
    居民身份证首次申领 | 办身份证,第一次办身份证 | one-paragraph description | kb=guide-x m=m-x ev=证件
    > an utterance labelled with this matter
    = 居民身份证换领、补领
    > more utterances for a matter defined earlier (by exact title)

`@` lines set defaults (pfx, dept, aud, ev, st, entry) until the next `@` line; key=value
extras after the third `|` override them for one matter. Ids are `c-<pfx>-<nnn>`, numbered in
file order per prefix, so new matters go at the end of their file to keep ids stable.
Utterances are split by a hash of their text (sha1 mod 10 < 3 goes to test.jsonl, about 30 %,
the rest to dev.jsonl), so adding, moving or relabelling one line never moves another one
between the splits.
"""
import hashlib
import json
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[3]
CATALOGUE = HERE.parent
DISTRICT = ROOT / "eval/datasets/matters_district"
TEST_SHARE = 3  # tenths


def parse():
    entries, utterances = [], []
    seq = Counter()
    for path in sorted(HERE.glob("*.txt")):
        defaults = {}
        current = None
        for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            where = f"{path.name}:{n}"
            if line.startswith("@"):
                defaults = dict(kv.split("=", 1) for kv in split_kv(line[1:]))
                continue
            if line.startswith("="):
                title = line[1:].strip()
                found = [e for e in entries if e["title"] == title]
                if not found:
                    raise SystemExit(f"{where}: no matter titled {title!r}")
                current = found[0]
                continue
            if line.startswith(">"):
                if current is None:
                    raise SystemExit(f"{where}: utterance before any matter")
                utterances.append((current["id"], line[1:].strip()))
                continue
            parts = [p.strip() for p in line.split("|")]
            if len(parts) not in (3, 4):
                raise SystemExit(f"{where}: expected 'title | aliases | description [| extras]': {line!r}")
            opts = dict(defaults)
            if len(parts) == 4 and parts[3]:
                opts.update(kv.split("=", 1) for kv in split_kv(parts[3]))
            pfx = opts["pfx"]
            seq[pfx] += 1
            aud = opts["aud"].split("/")
            current = {
                "id": f"c-{pfx}-{seq[pfx]:03d}",
                "title": parts[0],
                "aliases": [a.strip() for a in parts[1].split(",") if a.strip()],
                "department": opts["dept"],
                "audience": aud[0] if len(aud) == 1 else aud,
                "life_event": opts.get("ev") if "个人" in aud else None,
                "enterprise_stage": opts.get("st") if "法人" in aud else None,
                "description": parts[2],
                "knowledge_item": opts.get("kb"),
                "matter_id": opts.get("m"),
                "online_entry": opts["entry"],
            }
            entries.append(current)
    return entries, utterances


def split_kv(text):
    """Split `a=1 b=x > y > z c=3` into ['a=1', 'b=x > y > z', 'c=3'] (values may hold spaces)."""
    out = []
    for tok in text.split():
        if "=" in tok or not out:
            out.append(tok)
        else:
            out[-1] += " " + tok
    return out


def render(entries, utterances):
    files = {"personal.jsonl": [], "enterprise.jsonl": []}
    for e in entries:
        first = e["audience"] if isinstance(e["audience"], str) else e["audience"][0]
        files["personal.jsonl" if first == "个人" else "enterprise.jsonl"].append(json.dumps(e, ensure_ascii=False))
    out = {CATALOGUE / k: "\n".join(v) + "\n" for k, v in files.items()}
    dev, test = [], []
    for mid, text in utterances:
        in_test = int(hashlib.sha1(text.encode("utf-8")).hexdigest(), 16) % 10 < TEST_SHARE
        (test if in_test else dev).append(json.dumps({"text": text, "matter_id": mid}, ensure_ascii=False))
    out[DISTRICT / "dev.jsonl"] = "\n".join(dev) + "\n"
    out[DISTRICT / "test.jsonl"] = "\n".join(test) + "\n"
    return out


def main(argv):
    entries, utterances = parse()
    out = render(entries, utterances)
    stale = [p for p, t in out.items() if not p.exists() or p.read_text(encoding="utf-8") != t]
    if "--check" in argv:
        for p in stale:
            print(f"stale: {p.relative_to(ROOT)}")
        return 1 if stale else 0
    for p, t in out.items():
        p.write_text(t, encoding="utf-8")
    covered = len({m for m, _ in utterances})
    print(f"entries: {len(entries)}; utterances: {len(utterances)} over {covered} entries")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
