"""Retrieval evaluation on a BEIR-layout folder: every method side by side in one run, on a temporary store.

Run: qingsong eval retrieval --beir eval/datasets/dev --methods bm25,dense,hybrid,llamaindex
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from sqlalchemy.engine import Engine

from eval.metrics import mrr_at, ndcg_at, percentile, recall_at
from ingest.sources import markdown_sections
from kb.embedders import Embedder, build_embedder
from kb.embedding_pack import export_pack, import_pack
from kb.lifecycle import ItemDraft
from kb.models import Actor, Audience, Kind, Level, SearchFilters, Section, Unit, VersionContent
from kb.retrieval import HybridRetriever
from kb.runtime import KnowledgeBase
from kb.settings import SAMPLES_DIR, KbSettings
from kb.text import normalize

Progress = Callable[[str, int, int], None]
Migrate = Callable[[Engine], object]  # brings a fresh database to the current schema (api.db.upgrade)
METHODS = ("bm25", "dense", "hybrid", "rrf", "llamaindex")
CACHE_DIR = Path.home() / ".cache" / "qingsong"


@dataclass
class MethodResult:
    method: str
    recall_at_1: float
    recall_at_5: float
    recall_at_10: float
    mrr_at_10: float
    ndcg_at_10: float
    p50_ms: float
    p95_ms: float
    queries: int

    def as_dict(self) -> dict[str, float | int | str]:
        return asdict(self)


@dataclass
class BeirSet:
    corpus: dict[str, tuple[str, str]]
    kinds: dict[str, str]
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]


def load_beir(folder: Path, split: str = "test") -> BeirSet:
    corpus: dict[str, tuple[str, str]] = {}
    kinds: dict[str, str] = {}
    for line in (folder / "corpus.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            d = json.loads(line)
            corpus[str(d["_id"])] = (d.get("title") or "", d.get("text") or "")
            kind = (d.get("metadata") or {}).get("kind")
            if kind:
                kinds[str(d["_id"])] = kind
    queries = {}
    for line in (folder / "queries.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            q = json.loads(line)
            queries[str(q["_id"])] = q["text"]
    qrels: dict[str, dict[str, int]] = {}
    with (folder / "qrels" / f"{split}.tsv").open(encoding="utf-8") as fh:
        rows = list(csv.reader(fh, delimiter="\t"))
    for row in rows:
        if not row or row[0] in ("query-id", "query_id"):
            continue
        qrels.setdefault(row[0], {})[row[1]] = int(row[2]) if len(row) > 2 else 1
    queries = {qid: t for qid, t in queries.items() if qid in qrels}
    return BeirSet(corpus, kinds, queries, qrels)


def _doc_id(i: int) -> str:
    return f"doc-{i:06d}"


def build_temp_kb(
    data: BeirSet, settings: KbSettings, home: Path, embedder: Embedder, progress: Progress | None = None,
    samples_dir: Path = SAMPLES_DIR, *, migrate: Migrate,
) -> tuple[KnowledgeBase, dict[str, str]]:
    """Index the corpus into a fresh store under `home`; returns the KB and item id -> corpus id.

    The temporary store's embedding cache is seeded from the bundled pack and the per-user eval cache,
    so repeated runs embed only new text."""
    s = settings.model_copy(update={"home": home, "database_url": None, "chroma_url": None, "four_eyes": False})
    kb = KnowledgeBase.build(s, embedder=embedder, migrate=migrate)
    import_pack(kb.store, embedder.name, samples_dir / "kb.embeddings.npz")
    import_pack(kb.store, embedder.name, _cache_file(embedder))
    kb.store.upsert_units([Unit(id="eval", name="评测", level=Level.DISTRICT)])
    admin = Actor(id="eval", admin=True)
    mapping: dict[str, str] = {}
    targets = []
    for i, (cid, (title, text)) in enumerate(data.corpus.items()):
        item_id = _doc_id(i)
        mapping[item_id] = cid
        sections = [Section(heading=h, text=normalize(t)) for h, t in markdown_sections(text) if t.strip()]
        if not sections:
            sections = [Section(heading="正文", text=normalize(text))]
        kind = Kind(data.kinds.get(cid, "guide"))
        content = VersionContent(title=normalize(title) or normalize(text)[:30], sections=tuple(sections))
        draft = ItemDraft(id=item_id, kind=kind, owner="eval", level=Level.DISTRICT,
                          audience=(Audience.PERSON, Audience.ENTERPRISE), content=content,
                          effective_from=dt.date(2000, 1, 1))
        v = kb.service.propose(draft, admin)
        targets.append((item_id, v.number))
    for start in range(0, len(targets), 100):
        kb.service.publish_many(targets[start : start + 100], admin)
        if progress:
            progress("index corpus", min(start + 100, len(targets)), len(targets))
    return kb, mapping


def run_retrieval_eval(
    folder: Path, methods: list[str], top_k: int, settings: KbSettings, progress: Progress | None = None,
    embedder: Embedder | None = None, configure: Callable[[HybridRetriever], None] | None = None,
    fresh_query_embeddings: bool = True, samples_dir: Path = SAMPLES_DIR, *, migrate: Migrate,
) -> list[MethodResult]:
    """`migrate` makes the temporary store's tables (the caller passes `api.db.upgrade`). With `fresh_query_embeddings` (the default) every method pays for its own query embeddings, so the
    latencies compare; tests that only check quality turn it off to embed each query once."""
    bad = [m for m in methods if m not in METHODS]
    if bad:
        raise ValueError(f"unknown method(s) {bad}; choose from {', '.join(METHODS)}")
    data = load_beir(folder)
    emb = embedder or build_embedder(settings.embedder, settings.st_model_path)
    emb.warm_up()
    results: list[MethodResult] = []
    with tempfile.TemporaryDirectory(prefix="qingsong-eval-") as tmp:
        kb, mapping = build_temp_kb(data, settings, Path(tmp), emb, progress, samples_dir, migrate=migrate)
        if configure:
            configure(kb.retriever)
        kb.warm_up()
        for method in methods:
            if fresh_query_embeddings:
                kb.retriever.clear_cache()
            if method == "llamaindex":
                from eval.llamaindex_baseline import LlamaIndexBaseline

                if progress:
                    progress("llamaindex index", 0, 1)
                base = LlamaIndexBaseline(data.corpus, emb, kb.store)

                def run_llamaindex(q: str, base: LlamaIndexBaseline = base) -> list[str]:
                    return base.search(q, top_k)

                run: Callable[[str], list[str]] = run_llamaindex
            else:

                def run_ours(q: str, m: str = method) -> list[str]:
                    hits = kb.retriever.search(q, top_k=top_k, filters=SearchFilters(), method=m, per_item=1)  # type: ignore[arg-type]
                    return [mapping[h.item_id] for h in hits]

                run = run_ours

            results.append(_score(method, data, run, top_k, progress))
        _save_cache(kb, emb)
    return results


def _cache_file(emb: Embedder) -> Path:
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in emb.name)
    return CACHE_DIR / f"eval-embeddings-{safe}.npz"


def _save_cache(kb: KnowledgeBase, emb: Embedder) -> None:
    if emb.name.startswith("hash"):
        return
    try:
        export_pack(kb.store, emb.name, _cache_file(emb))
    except OSError:
        pass


def _score(
    method: str, data: BeirSet, run: Callable[[str], list[str]], top_k: int, progress: Progress | None
) -> MethodResult:
    r1 = r5 = r10 = mrr = ndcg = 0.0
    lat: list[float] = []
    qids = sorted(data.queries)
    for n, qid in enumerate(qids, 1):
        t0 = time.perf_counter()
        ranked = run(data.queries[qid])
        lat.append((time.perf_counter() - t0) * 1000)
        rel = data.qrels[qid]
        r1 += recall_at(ranked, rel, 1)
        r5 += recall_at(ranked, rel, 5)
        r10 += recall_at(ranked, rel, 10)
        mrr += mrr_at(ranked, rel, 10)
        ndcg += ndcg_at(ranked, rel, 10)
        if progress:
            progress(method, n, len(qids))
    q = max(len(qids), 1)
    return MethodResult(method, r1 / q, r5 / q, r10 / q, mrr / q, ndcg / q, percentile(lat, 50), percentile(lat, 95),
                        len(qids))
