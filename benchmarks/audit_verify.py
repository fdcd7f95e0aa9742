"""Benchmark: `AuditLog.verify()` over 100k events, against a hashing baseline in the same process.

Run: .venv/bin/python benchmarks/audit_verify.py [--events 100000] [--repeat 3] [--json]

Builds a fresh SQLite audit log in a temporary directory (turn-like payloads, a checkpoint every 256 events),
then times a full verification: read every row, recompute every leaf, the hash chain, the RFC 6962 root of
every checkpointed prefix, every payload hash, and check every Ed25519 signature. Baselines over the same
bytes, already in memory: one sha256 per leaf and per payload (the per-record floor), and one sha256 over
all bytes concatenated (the raw hashing floor). Target (issue 4): verify of 100k events in under 10 s.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from api import db
from guardrails.audit import AuditLog, leaf_bytes
from guardrails.tables import audit_events, audit_payloads
from kb.store import create_engine


def build(log: AuditLog, n: int, batch: int = 5000) -> float:
    t0 = time.perf_counter()
    for start in range(0, n, batch):
        log.append_many(
            ("turn.finalised", f"acc-{i % 97}", f"turn-{i}",
             {"question": "残疾人证到期了怎么换领？", "outcome": "answered", "matter": "m-disability-card",
              "retrieved": [{"item_id": "guide-disability-card", "version": 3, "score": 0.71}],
              "rules": ["inj.zh.ignore_instructions@1:pass"]})
            for i in range(start, min(n, start + batch))
        )
    return time.perf_counter() - t0


def baselines(log: AuditLog) -> tuple[float, float, int]:
    with log.engine.connect() as conn:
        rows = conn.execute(sa.select(audit_events).order_by(audit_events.c.seq)).all()
        bodies = [(r.salt, r.body) for r in conn.execute(sa.select(audit_payloads))]
    blobs = [leaf_bytes(r.ts, r.event, r.actor, r.subject, r.payload_hash, r.prev_hash) for r in rows]
    blobs += [bytes.fromhex(s) + b.encode() for s, b in bodies]
    sha = hashlib.sha256
    t0 = time.perf_counter()
    for b in blobs:
        sha(b).digest()
    per_record = time.perf_counter() - t0
    joined = b"".join(blobs)
    t0 = time.perf_counter()
    sha(joined).digest()
    bulk = time.perf_counter() - t0
    return per_record, bulk, len(joined)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(f"sqlite:///{Path(tmp) / 'audit.db'}")
        db.upgrade(engine)
        log = AuditLog(engine, Path(tmp) / "keys", checkpoint_every=256)
        build_s = build(log, args.events)
        runs = []
        report = None
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            report = log.verify()
            runs.append(time.perf_counter() - t0)
        assert report is not None and report.ok, report
        per_record, bulk, nbytes = baselines(log)
    verify_s = statistics.median(runs)
    result = {
        "events": args.events,
        "build_seconds": round(build_s, 2),
        "verify_seconds_median": round(verify_s, 3),
        "verify_runs": [round(r, 3) for r in runs],
        "checkpoints_checked": report.checkpoints_checked,
        "baseline_sha256_per_record_seconds": round(per_record, 4),
        "baseline_sha256_bulk_seconds": round(bulk, 4),
        "hashed_megabytes": round(nbytes / 1e6, 1),
        "ratio_to_per_record": round(verify_s / per_record, 1),
        "ratio_to_bulk": round(verify_s / bulk, 1),
        "target_seconds": 10.0,
        "meets_target": verify_s < 10.0,
        "machine": f"{platform.processor() or platform.machine()}, Python {platform.python_version()}",
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"audit verify, {args.events} events ({result['hashed_megabytes']} MB of leaves and payloads, "
          f"{report.checkpoints_checked} signed checkpoints): median {verify_s:.2f} s over {args.repeat} runs "
          f"(target < 10 s: {'met' if result['meets_target'] else 'MISSED'})")
    print(f"baseline sha256 per record: {per_record:.3f} s -> verify is {result['ratio_to_per_record']}x")
    print(f"baseline sha256 over all bytes at once: {bulk:.3f} s -> verify is {result['ratio_to_bulk']}x")
    print(f"(building the log took {build_s:.1f} s)")


if __name__ == "__main__":
    main()
