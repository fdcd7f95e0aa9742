#!/usr/bin/env python3
"""Regenerate catalog.jsonl from the SAMPLE matter catalogue (stdlib + pyyaml).

    python3 eval/datasets/matters/build_catalog.py [--check]

One line per matter (samples/matters/matters/*.yaml) and per bundle
(samples/matters/bundles/*.yaml): {"id", "title", "aliases", "description"}.
The YAML `examples` are deliberately NOT exported: utterances.jsonl is the held-apart
evaluation set and must not overlap them. With --check, exits 1 if catalog.jsonl is stale.
"""
import json
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
SOURCES = [ROOT / "samples/matters/matters", ROOT / "samples/matters/bundles"]
OUT = HERE / "catalog.jsonl"


def build() -> str:
    lines = []
    for folder in SOURCES:
        for path in sorted(folder.glob("*.yaml")):
            d = yaml.safe_load(path.read_text(encoding="utf-8"))
            row = {"id": d["id"], "title": d["name"], "aliases": list(d.get("aliases") or []),
                   "description": d.get("description", "").strip()}
            lines.append(json.dumps(row, ensure_ascii=False))
    return "\n".join(lines) + "\n"


def main(argv):
    text = build()
    if "--check" in argv:
        current = OUT.read_text(encoding="utf-8") if OUT.exists() else ""
        if current != text:
            print("catalog.jsonl is stale; run build_catalog.py")
            return 1
        print("catalog.jsonl is up to date")
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}: {text.count(chr(10))} entries")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
