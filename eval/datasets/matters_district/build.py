#!/usr/bin/env python3
"""Regenerate catalog.jsonl and catalog_bare.jsonl from the SAMPLE district catalogue (stdlib only).

    python3 eval/datasets/matters_district/build.py [--check]

catalog.jsonl: one line per entry of samples/matters/catalogue/*.jsonl in the shape the
identification eval reads ({"id", "title", "aliases", "description"}); catalog_bare.jsonl: only
{"id", "title"}, the way governments publish their lists. Department, audience and the other
catalogue fields are left out on purpose (the eval compares methods on names and descriptions).
With --check, exits 1 if either file is stale.
"""
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
CATALOGUE = ROOT / "samples/matters/catalogue"


def build() -> dict[Path, str]:
    entries = [json.loads(line) for path in sorted(CATALOGUE.glob("*.jsonl"))
               for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    entries.sort(key=lambda e: e["id"])
    full = [{"id": e["id"], "title": e["title"], "aliases": e["aliases"], "description": e["description"]}
            for e in entries]
    bare = [{"id": e["id"], "title": e["title"]} for e in entries]
    return {HERE / name: "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
            for name, rows in (("catalog.jsonl", full), ("catalog_bare.jsonl", bare))}


def main(argv):
    out = build()
    if "--check" in argv:
        stale = [p.name for p, text in out.items() if not p.exists() or p.read_text(encoding="utf-8") != text]
        print(f"stale: {', '.join(stale)}; run build.py" if stale else "catalog files are up to date")
        return 1 if stale else 0
    for path, text in out.items():
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}: {text.count(chr(10))} entries")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
