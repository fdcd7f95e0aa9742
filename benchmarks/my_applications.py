"""Latency of 我的办件 (`GET /api/v1/me/applications`) for a citizen with many applications among very many.

    .venv/bin/python benchmarks/my_applications.py [--mine 1000] [--total 100000] [--requests 200] [--json]

Builds the app (hash embedder, empty knowledge base) in a temporary data directory, bulk-inserts `total`
applications of which `mine` belong to one citizen account, then times the first page (limit 50) and a full page
(limit 200) through the real FastAPI app (TestClient, so routing, auth and serialisation count).
Target (issue 15): p95 <= 50 ms with 1,000 applications for one citizen and 100k in total.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fastapi.testclient import TestClient  # noqa: E402

from api.app import create_app  # noqa: E402
from api.container import build_container  # noqa: E402
from api.settings import Settings  # noqa: E402
from eval.metrics import percentile  # noqa: E402
from guardrails.tables import applications  # noqa: E402
from kb.embedders import HashEmbedder  # noqa: E402

FIELDS = {"name": "王小明", "id_number": "110101199003074514", "mobile": "13800001234", "address": "上海市松江区中山街道1号"}
SOURCES = {k: {"label": k, "source": "您在第3轮对话中提供", "kind": "turn"} for k in FIELDS}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mine", type=int, default=1000)
    ap.add_argument("--total", type=int, default=100_000)
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    home = Path(tempfile.mkdtemp(prefix="qs-bench-me-"))
    c = build_container(Settings(home=home, embedder="hash", database_url=None, chroma_url=None,
                                 environment="test"), embedder=HashEmbedder())
    token = c.guardrails.accounts.add("bench-citizen", "citizen", (), None, created_by="system").token
    me = c.guardrails.accounts.authenticate(token)
    assert me is not None
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    t0 = time.perf_counter()
    with c.kb.store.engine.begin() as conn:
        batch = []
        for n in range(args.total):
            citizen = me.account_id if n % (args.total // args.mine) == 0 else f"acct-{n % 997}"
            batch.append(dict(id=f"app-{n:08d}", session_id=f"s-{n}", matter_id="m-resident-medical-insurance",
                              citizen=citizen, fields=FIELDS, status="submitted", requires_staff_approval=False,
                              created_at=start + dt.timedelta(minutes=n), sources=SOURCES, findings=[]))
            if len(batch) == 5000:
                conn.execute(applications.insert(), batch)
                batch = []
        if batch:
            conn.execute(applications.insert(), batch)
    seeded = time.perf_counter() - t0
    client = TestClient(create_app(c))
    headers = {"Authorization": f"Bearer {token}"}
    out: dict[str, object] = {"mine": args.mine, "total": args.total, "seed_s": round(seeded, 1)}
    for limit in (50, 200):
        url = f"/api/v1/me/applications?limit={limit}"
        assert client.get(url, headers=headers).json()["total"] == args.mine
        times = []
        for _ in range(args.requests):
            s = time.perf_counter()
            resp = client.get(url, headers=headers)
            times.append((time.perf_counter() - s) * 1000)
            assert resp.status_code == 200
        out[f"limit{limit}"] = {"p50_ms": round(percentile(times, 50), 2), "p95_ms": round(percentile(times, 95), 2)}
    print(json.dumps(out, ensure_ascii=False) if args.json else
          "\n".join(f"{k}: {v}" for k, v in out.items()))


if __name__ == "__main__":
    main()
