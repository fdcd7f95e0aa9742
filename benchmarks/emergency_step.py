"""What the emergency step costs on an ordinary message, against the same input rails without it, in one process.

    .venv/bin/python benchmarks/emergency_step.py [--rounds 20] [--json]

The emergency step is the set of emergency rules in the input rails (家暴, 暴力, 火情, 急症, 轻生, 儿童受害…)
plus `engine.emergency`, which only reads the verdict. It runs on every message, so its cost is measured on
the 413 ordinary dev-set utterances (`eval/datasets/matters/utterances.jsonl`): the pattern input rails with
every rule (`with`) and with the emergency rules removed (`without`), interleaved message by message so that
machine load hits both alike. Reports per-message p50/p95 of each and the added milliseconds at p50/p95.
Target (issue #12): the emergency step adds <= 5 ms.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from eval.metrics import percentile  # noqa: E402
from guardrails.input_rails import InputRails  # noqa: E402
from guardrails.rules import RuleVerdict  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    texts = [json.loads(line)["text"] for line in (ROOT / "eval/datasets/matters/utterances.jsonl").read_text(
        encoding="utf-8").splitlines() if line.strip()]
    with_step = InputRails()
    without = InputRails()
    without.rules = tuple(r for r in without.rules if r.rule.verdict != RuleVerdict.EMERGENCY)
    removed = len(with_step.rules) - len(without.rules)
    a: list[float] = []
    b: list[float] = []
    for _ in range(args.rounds):
        for t in texts:
            for rails, out in ((with_step, a), (without, b)):
                start = time.perf_counter()
                rails.check(t)
                out.append((time.perf_counter() - start) * 1000)
    res = {
        "messages": len(a), "emergency_rules": removed,
        "with": {"p50_ms": round(percentile(a, 50), 3), "p95_ms": round(percentile(a, 95), 3)},
        "without": {"p50_ms": round(percentile(b, 50), 3), "p95_ms": round(percentile(b, 95), 3)},
    }
    res["added_p50_ms"] = round(res["with"]["p50_ms"] - res["without"]["p50_ms"], 3)
    res["added_p95_ms"] = round(res["with"]["p95_ms"] - res["without"]["p95_ms"], 3)
    res["p95_ratio"] = round(res["with"]["p95_ms"] / max(res["without"]["p95_ms"], 1e-9), 2)
    if args.json:
        print(json.dumps(res, ensure_ascii=False, indent=2))
    else:
        print(f"emergency step over {len(a)} messages ({removed} emergency rules): +{res['added_p50_ms']} ms p50, "
              f"+{res['added_p95_ms']} ms p95 (p95 ×{res['p95_ratio']})")


if __name__ == "__main__":
    main()
