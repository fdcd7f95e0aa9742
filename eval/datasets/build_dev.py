"""Build the BEIR-layout dev set from the sample knowledge base and the hand-written queries.

Run: .venv/bin/python eval/datasets/build_dev.py
Corpus: every sample item that is in force today and not retired (what the assistant may cite).
Queries: eval/datasets/raw/*.jsonl lines {"text", "item_ids"}.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from ingest.sources import discover, read_source

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).resolve().parent / "dev"


def main() -> None:
    today = dt.date.today()
    corpus = []
    for path in discover(ROOT / "samples" / "kb"):
        for rec in read_source(path, 10 * 1024 * 1024):
            m = rec.meta
            expires = m.get("expires_at")
            if m.get("retired") or (expires and dt.date.fromisoformat(str(expires)) <= today):
                continue
            text = "\n\n".join(f"## {h}\n{t}" for h, t in rec.sections)
            corpus.append({"_id": m["id"], "title": m["title"], "text": text, "metadata": {"kind": m["kind"]}})
    ids = {d["_id"] for d in corpus}
    queries, qrels = [], []
    for raw in sorted((ROOT / "eval" / "datasets" / "raw").glob("*.jsonl")):
        for n, line in enumerate(raw.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            q = json.loads(line)
            missing = [i for i in q["item_ids"] if i not in ids]
            if missing:
                raise SystemExit(f"{raw.name}:{n}: {missing} not in the in-force corpus")
            qid = f"q{len(queries) + 1:04d}"
            queries.append({"_id": qid, "text": q["text"]})
            qrels += [(qid, i, 1) for i in q["item_ids"]]
    OUT.joinpath("qrels").mkdir(parents=True, exist_ok=True)
    (OUT / "corpus.jsonl").write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in corpus), "utf-8")
    (OUT / "queries.jsonl").write_text("".join(json.dumps(q, ensure_ascii=False) + "\n" for q in queries), "utf-8")
    (OUT / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\n" + "".join(f"{a}\t{b}\t{c}\n" for a, b, c in qrels), "utf-8"
    )
    print(f"corpus {len(corpus)} docs, {len(queries)} queries, {len(qrels)} qrels -> {OUT}")


if __name__ == "__main__":
    main()
