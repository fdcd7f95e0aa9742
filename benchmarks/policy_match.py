"""Benchmark: 免申即享 matching of 200 enterprises against every in-force sample policy (target < 1 s).

    .venv/bin/python benchmarks/policy_match.py [--enterprises 200] [--repeat 7] [--json]

Ingests the sample KB into a temporary data directory (hash embedder: no model weights), loads the first
N synthetic enterprise profiles and reports, as medians over `--repeat` runs:
- match: every enterprise against the cached policy catalogue (parse once, evaluate N x policies);
- match+notify: the same plus the idempotent 免申即享 notification writes (first run inserts, later runs
  find the existing records);
- catalogue: loading and parsing the live policy versions from SQL (once per KB generation in service);
- baseline: a plain Python loop that only reads the same profile fields for every (enterprise, condition)
  pair, measured in the same process; the ratio says what the engine costs over touching the data.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api import db  # noqa: E402
from api.container import build_container  # noqa: E402
from api.settings import Settings  # noqa: E402
from kb.embedders import HashEmbedder  # noqa: E402
from policy.eligibility import Condition, Group, Node  # noqa: E402
from policy.matching import (  # noqa: E402
    MemoryEnterpriseProfiles,
    NotificationStore,
    PolicyMatchService,
    load_enterprise_profiles,
    load_policy_catalog,
)

AS_OF = dt.date(2026, 11, 27)


def _median_ms(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def _fields(node: Node) -> list[str]:
    if isinstance(node, Condition):
        return [node.field]
    assert isinstance(node, Group)
    return [f for c in node.children for f in _fields(c)]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--enterprises", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as home:
        settings = Settings(home=Path(home), embedder="hash", samples_dir=ROOT / "samples", environment="test")
        c = build_container(settings, embedder=HashEmbedder())
        t0 = time.perf_counter()
        report = c.bootstrap()
        ingest_s = time.perf_counter() - t0
        assert report is not None and not report.skipped, report
        store = c.kb.store
        db.upgrade(store.engine)
        profiles = list(load_enterprise_profiles(ROOT / "samples" / "profiles").values())[: args.enterprises]
        svc = PolicyMatchService(store, MemoryEnterpriseProfiles(profiles), NotificationStore(store.engine))
        catalog = svc.catalog(AS_OF)
        pairs = [f for p in catalog if p.terms and p.terms.eligibility for f in _fields(p.terms.eligibility)]

        def baseline() -> int:
            touched = 0
            for profile in profiles:
                for f in pairs:
                    if profile.get(f) is not None:
                        touched += 1
            return touched

        first_notify = time.perf_counter()
        reports = svc.match_all(AS_OF, notify=True)
        first_notify_ms = (time.perf_counter() - first_notify) * 1000
        match_ms = _median_ms(lambda: svc.match_all(AS_OF, notify=False), args.repeat)
        notify_ms = _median_ms(lambda: svc.match_all(AS_OF, notify=True), args.repeat)
        catalog_ms = _median_ms(lambda: load_policy_catalog(store, AS_OF), args.repeat)
        base_ms = _median_ms(baseline, max(args.repeat, 21))
        evaluations = len(profiles) * len(catalog)
        result = {
            "enterprises": len(profiles), "policies": len(catalog), "evaluations": evaluations,
            "leaf_conditions_per_enterprise": len(pairs),
            "match_ms": round(match_ms, 1), "match_notify_ms": round(notify_ms, 1),
            "first_match_notify_ms": round(first_notify_ms, 1),
            "notifications": sum(len(r.notifications) for r in reports),
            "catalog_ms": round(catalog_ms, 1), "baseline_ms": round(base_ms, 3),
            "ratio_vs_baseline": round(match_ms / base_ms, 1) if base_ms else None,
            "us_per_evaluation": round(match_ms * 1000 / evaluations, 1) if evaluations else None,
            "target_ms": 1000, "ok": match_ms < 1000 and notify_ms < 1000,
            "sample_ingest_s": round(ingest_s, 1),
        }
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        print(f"matching {result['enterprises']} enterprises x {result['policies']} in-force policies "
              f"({result['evaluations']} evaluations, {result['leaf_conditions_per_enterprise']} leaf conditions each)")
        print(f"  match (cached catalogue)  {result['match_ms']:8.1f} ms median of {args.repeat} "
              f"({result['us_per_evaluation']} us per evaluation)")
        print(f"  match + notify            {result['match_notify_ms']:8.1f} ms median (first run, inserting "
              f"{result['notifications']} notifications: {result['first_match_notify_ms']:.1f} ms)")
        print(f"  catalogue load from SQL   {result['catalog_ms']:8.1f} ms median")
        print(f"  baseline field reads      {result['baseline_ms']:8.3f} ms median -> ratio "
              f"{result['ratio_vs_baseline']}x")
        print(f"  target < 1000 ms: {'OK' if result['ok'] else 'MISSED'}")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
