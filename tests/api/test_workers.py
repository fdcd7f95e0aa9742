"""`qingsong serve --workers 2` on PostgreSQL + a Chroma server, as a subprocess on loopback: a retirement
done through one worker is honoured by every worker's next request, and concurrent chat sessions spread
over both workers all succeed.

Server-only by nature (embedded Chroma is single-process, and serve refuses --workers > 1 without a Chroma
server, which the last test checks); skips with the start-up hint when the services are not running.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from kb.settings import PROJECT_ROOT
from tests.backends import Backend, provide

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
QUERY = "个体工商户注册登记需要什么材料"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server_backend() -> Iterator[Backend]:
    with provide("server") as b:
        yield b


@pytest.fixture(scope="module")
def two_workers(server_backend: Backend, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict]]:
    home = tmp_path_factory.mktemp("workers")
    port = free_port()
    env = {**os.environ, "QINGSONG_HOME": str(home), "QINGSONG_DATABASE_URL": server_backend.database_url or "",
           "QINGSONG_CHROMA_URL": server_backend.chroma_url or "", "QINGSONG_COLLECTION": server_backend.collection,
           "QINGSONG_EMBEDDER": "hash", "QINGSONG_ENVIRONMENT": "test", "PYTHONPATH": str(PROJECT_ROOT)}
    log = (home / "serve.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--bootstrap", "--workers", "2",
                             "--port", str(port)], cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240
        pids: set[str] = set()
        while time.monotonic() < deadline and len(pids) < 2:
            assert proc.poll() is None, (home / "serve.log").read_text()
            try:
                r = httpx.get(f"{base}/healthz", timeout=5)
                if r.status_code == 200:
                    pids.add(r.headers["X-QingSong-Worker"])
            except httpx.HTTPError:
                time.sleep(0.5)
        assert len(pids) == 2, f"both workers should answer; saw {pids}\n" + (home / "serve.log").read_text()[-3000:]
        tokens = {}
        for line in (home / "demo-accounts.txt").read_text(encoding="utf-8").splitlines():
            if not line.startswith("#") and len(line.split()) == 3:
                role, _name, token = line.split()
                tokens[role] = token
        yield base, tokens
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def search(base: str, token: str) -> tuple[str, list[str]]:
    r = httpx.get(f"{base}/api/v1/search", params={"q": QUERY, "top_k": 10}, timeout=30,
                  headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    return r.headers["X-QingSong-Worker"], [h["item_id"] for h in r.json()]


def test_retire_in_one_worker_is_seen_by_every_workers_next_request(two_workers: tuple[str, dict]) -> None:
    base, tokens = two_workers
    seen: dict[str, list[str]] = {}
    for _ in range(60):  # warm both workers' snapshots (each caches BM25 and the live map)
        pid, items = search(base, tokens["auditor"])
        seen[pid] = items
        if len(seen) == 2:
            break
    assert len(seen) == 2, "requests should reach both workers"
    target = next(iter(seen.values()))[0]
    assert all(target in items for items in seen.values())
    r = httpx.post(f"{base}/api/v1/knowledge/items/{target}/retire", json={"reason": "多进程测试：已废止"}, timeout=60,
                   headers={"Authorization": f"Bearer {tokens['admin']}"})
    assert r.status_code == 200, r.text
    after: dict[str, int] = {}
    for _ in range(40):
        pid, items = search(base, tokens["auditor"])
        assert target not in items, f"worker {pid} still serves the retired {target}"
        after[pid] = after.get(pid, 0) + 1
    assert len(after) == 2, f"both workers answered after the retirement: {after}"


def test_fifty_concurrent_chat_sessions_over_two_workers(two_workers: tuple[str, dict]) -> None:
    base, _ = two_workers
    lines = ["我想在松江开一家小饭馆", "需要带什么材料？", "办理时限是多久？"]

    def session(k: int) -> tuple[int, set[str]]:
        sid, pids, ok = None, set(), 0
        with httpx.Client(base_url=base, timeout=120) as client:
            for text in lines:
                body = {"text": text} | ({"session_id": sid} if sid else {})
                r = client.post("/api/v1/chat", json=body)
                assert r.status_code == 200, r.text
                sid = r.json()["session_id"]
                pids.add(r.headers["X-QingSong-Worker"])
                ok += 1
            turns = client.get(f"/api/v1/sessions/{sid}/turns").json()
            assert [t["idx"] for t in turns["turns"]] == [1, 2, 3], turns  # no lost or doubled turns
        return ok, pids

    with ThreadPoolExecutor(50) as pool:
        results = list(pool.map(session, range(50)))
    assert sum(ok for ok, _ in results) == 150
    assert len(set().union(*(p for _, p in results))) == 2


def test_several_workers_need_a_chroma_server(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QINGSONG_")}
    env |= {"QINGSONG_HOME": str(tmp_path), "PYTHONPATH": str(PROJECT_ROOT)}
    r = subprocess.run([sys.executable, "-m", "api.cli", "serve", "--workers", "2"], cwd=PROJECT_ROOT, env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "QINGSONG_CHROMA_URL" in r.stderr
