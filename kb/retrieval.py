"""Hybrid retrieval: BM25 over jieba tokens + dense (Chroma), fused, filtered to live, in-force versions.

The SQL store decides what is answerable: a hit counts only if its (item, version) is the item's
published version, in force at `as_of`, and passes the filters. Chroma's `where` is a pre-filter.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np

from kb.embedders import CachingEmbedder, Embedder
from kb.index.keyword import Bm25Index
from kb.index.vector import VectorIndex
from kb.models import Chunk, Kind, LiveVersion, ScoreParts, SearchFilters, SearchHit
from kb.text import JiebaTokenizer

log = logging.getLogger(__name__)
VECTOR_CACHE = 20_000  # chunk vectors kept per process (~30 MB at 384 dims)

Method = Literal["bm25", "dense", "hybrid", "rrf"]  # rrf: naive equal-weight RRF, kept as a baseline
DEFAULT_KIND_WEIGHTS = {Kind.GUIDE: 1.0, Kind.FAQ: 0.97, Kind.POLICY: 0.95, Kind.REVIEW_POINT: 0.93}


@dataclass
class _Snapshot:
    generation: int
    live: dict[str, LiveVersion]
    chunks: dict[str, Chunk]
    bm25: Bm25Index
    allowed: dict[tuple[SearchFilters, dt.date], frozenset[str]] = field(default_factory=dict)
    # a few items' chunk vectors as one matrix (a matter's guide, FAQs, review points), built once per snapshot
    matrices: dict[frozenset[str], tuple[list[str], np.ndarray]] = field(default_factory=dict)
    by_item: dict[str, list[str]] = field(default_factory=dict)
    order: dict[str, int] = field(default_factory=dict)  # chunk id -> position, so equal scores rank the same way

    def __post_init__(self) -> None:
        for pos, (cid, c) in enumerate(self.chunks.items()):
            self.by_item.setdefault(c.item_id, []).append(cid)
            self.order[cid] = pos

    def allowed_items(self, filters: SearchFilters, as_of: dt.date) -> frozenset[str]:
        """Items that may answer under these filters on that day; cached, as it is the same for most queries."""
        key = (filters.model_copy(update={"as_of": None}), as_of)
        hit = self.allowed.get(key)
        if hit is None:
            hit = frozenset(iid for iid, lv in self.live.items() if _passes(lv, filters, as_of))
            if len(self.allowed) > 256:
                self.allowed.clear()
            self.allowed[key] = hit
        return hit


@dataclass
class RetrievalConfig:
    dense_weight: float = 0.7
    fusion: Literal["weighted", "rrf"] = "weighted"
    candidates: int = 50
    rrf_k: int = 60
    kind_weights: dict[Kind, float] = field(default_factory=lambda: dict(DEFAULT_KIND_WEIGHTS))


class LiveCorpus(Protocol):
    """What the retriever reads: the SQL store, or a view of the knowledge at a past moment (kb.pinned)."""

    def generation(self) -> int: ...

    def live_versions(self) -> dict[str, LiveVersion]: ...

    def all_chunks(self) -> list[Chunk]: ...


class HybridRetriever:
    """Searches the live knowledge. Per-process state is refreshed whenever the SQL generation moves."""

    def __init__(
        self,
        store: LiveCorpus,
        vectors: VectorIndex,
        embedder: Embedder,
        tokenizer: JiebaTokenizer,
        config: RetrievalConfig | None = None,
    ) -> None:
        self.store = store
        self.vectors = vectors
        self.embedder = embedder
        self.tokenizer = tokenizer
        self.config = config or RetrievalConfig()
        self._snap: _Snapshot | None = None
        self._lock = threading.Lock()
        self._vcache: OrderedDict[str, np.ndarray] = OrderedDict()  # chunk id -> stored vector
        self._vlock = threading.Lock()

    # -- snapshot ------------------------------------------------------------------------------
    def refresh(self, force: bool = False) -> _Snapshot:
        gen = self.store.generation()
        snap = self._snap
        if snap is not None and snap.generation == gen and not force:
            return snap
        with self._lock:
            if self._snap is not None and self._snap.generation == gen and not force:
                return self._snap
            live = self.store.live_versions()
            self.tokenizer.add_words(lv.title for lv in live.values())
            chunks = {c.id: c for c in self.store.all_chunks() if _is_live(c, live)}
            snap = _Snapshot(gen, live, chunks, Bm25Index(self.tokenizer, list(chunks.values())))
            self._snap = snap
            log.info("retrieval snapshot generation %s: %d items, %d chunks", gen, len(live), len(chunks))
            return snap

    def live(self) -> dict[str, LiveVersion]:
        return self.refresh().live

    def clear_cache(self) -> None:
        """Forget cached query vectors, e.g. so a benchmark pays for embedding."""
        if isinstance(self.embedder, CachingEmbedder):
            self.embedder.clear_cache()

    def query_vector(self, query: str) -> np.ndarray:
        """The query embedding (cached by normalised text in `CachingEmbedder` when the composition root wrapped
        the embedder), so matter identification and answers share one per turn."""
        return self.embedder.embed_query(query)

    # -- search --------------------------------------------------------------------------------
    def search(
        self,
        query: str,
        top_k: int = 10,
        filters: SearchFilters | None = None,
        method: Method = "hybrid",
        per_item: int | None = None,
    ) -> list[SearchHit]:
        filters = filters or SearchFilters()
        snap = self.refresh()
        as_of = filters.as_of or dt.date.today()
        allowed = snap.allowed_items(filters, as_of)
        cfg = self.config
        n = max(cfg.candidates, top_k * 3)

        dense: dict[str, float] = {}
        qv: np.ndarray | None = None
        if method in ("dense", "hybrid", "rrf") and allowed:
            qv = self.query_vector(query)
            dense = self._dense(snap, qv, n, top_k, filters, as_of, allowed)

        bm25: dict[str, float] = {}
        full: np.ndarray | None = None
        if method in ("bm25", "hybrid", "rrf") and allowed and snap.bm25.chunks:
            full = snap.bm25.scores(query)
            m = min(len(full), n * 4)
            top = np.argpartition(-full, m - 1)[:m] if m < len(full) else np.arange(len(full))
            for pos in top[np.argsort(-full[top])]:
                if full[pos] <= 0 or len(bm25) >= n:
                    break
                c = snap.bm25.chunks[int(pos)]
                if c.item_id in allowed:
                    bm25[c.id] = float(full[pos])

        if method in ("hybrid", "rrf"):
            # Complete both score parts for every candidate, so fusion compares like with like.
            missing = [cid for cid in bm25 if cid not in dense]
            if missing and qv is not None:
                for cid, vec in self._chunk_vectors(snap, missing).items():
                    dense[cid] = float(vec @ qv)
            if full is not None:
                for cid in dense:
                    if cid not in bm25:
                        pos = snap.bm25.position.get(cid)
                        bm25[cid] = float(full[pos]) if pos is not None else 0.0

        fused = self._fuse(dense, bm25, method, snap)
        hits: list[SearchHit] = []
        per: dict[str, int] = {}
        for cid, parts in sorted(fused.items(), key=lambda kv: -kv[1].fused):
            c = snap.chunks[cid]
            if per_item is not None:
                if per.get(c.item_id, 0) >= per_item:
                    continue
                per[c.item_id] = per.get(c.item_id, 0) + 1
            lv = snap.live[c.item_id]
            hits.append(
                SearchHit(
                    chunk_id=cid, item_id=c.item_id, version=c.version, kind=lv.kind, title=lv.title,
                    owner=lv.owner, section=c.section, text=c.text, score=round(parts.fused, 6), parts=parts,
                    content_hash=lv.content_hash,
                )
            )
            if len(hits) >= top_k:
                break
        return hits

    def _items_matrix(self, snap: _Snapshot, items: frozenset[str]) -> tuple[list[str], np.ndarray]:
        """The chunk vectors of a few items as one matrix, kept with the snapshot: a matter's knowledge is searched
        on every question about it, and its vectors only change when a publish makes a new snapshot."""
        hit = snap.matrices.get(items)
        if hit is None:
            wanted = sorted((cid for item in items for cid in snap.by_item.get(item, ())), key=snap.order.__getitem__)
            vecs = self._chunk_vectors(snap, wanted)
            ids = [cid for cid in wanted if cid in vecs]
            matrix = np.vstack([vecs[cid] for cid in ids]).astype(np.float32) if ids else np.zeros((0, 1), np.float32)
            hit = (ids, matrix)
            with self._vlock:
                if len(snap.matrices) > 512:
                    snap.matrices.clear()
                snap.matrices[items] = hit
        return hit

    def _chunk_vectors(self, snap: _Snapshot, ids: list[str]) -> dict[str, np.ndarray]:
        """Stored vectors of chunks: this process's LRU, then the SQL embedding cache (binary, one query by
        text hash), then the vector index for any the cache lacks. A chunk id names immutable content
        (item:version:index), so a cached vector never goes stale. On a Chroma server this replaces a JSON
        round trip of ~50 x 384 floats per search (benchmarks/scale.py)."""
        out: dict[str, np.ndarray] = {}
        need: list[str] = []
        with self._vlock:
            for cid in ids:
                vec = self._vcache.get(cid)
                if vec is None:
                    need.append(cid)
                else:
                    out[cid] = vec
        if not need:
            return out
        by_hash: dict[str, list[str]] = {}
        for cid in need:
            c = snap.chunks.get(cid)
            if c is not None:
                by_hash.setdefault(c.text_hash, []).append(cid)
        read_cache = getattr(self.store, "cached_embeddings", None)  # a pinned past view (kb.pinned) has none
        cached = read_cache(self.embedder.name, list(by_hash)) if by_hash and read_cache else {}
        found: dict[str, np.ndarray] = {cid: vec for h, vec in cached.items() for cid in by_hash[h]}
        rest = [cid for cid in need if cid not in found]
        if rest:
            found.update(self.vectors.vectors(rest))
        out.update(found)
        with self._vlock:
            for cid, vec in found.items():
                self._vcache[cid] = vec
            while len(self._vcache) > VECTOR_CACHE:
                self._vcache.popitem(last=False)
        return out

    def _dense(
        self, snap: _Snapshot, qv: np.ndarray, n: int, top_k: int, filters: SearchFilters, as_of: dt.date,
        allowed: frozenset[str],
    ) -> dict[str, float]:
        """Dense candidates among allowed items. The live map, not Chroma metadata, is the authority."""
        out: dict[str, float] = {}
        if filters.item_ids:  # a few items (e.g. the identified matter's guide): score their chunks exactly
            ids, matrix = self._items_matrix(snap, allowed)
            if not ids:
                return {}
            scores = matrix @ qv
            order = np.argsort(-scores, kind="stable")[:n]
            return {ids[int(i)]: float(scores[int(i)]) for i in order}
        selective = bool(filters.kinds or filters.owners or filters.levels or filters.audience or filters.tags)
        for cid, score in self.vectors.query(qv, n * 4 if selective else n):
            c = snap.chunks.get(cid)
            if c is not None and c.item_id in allowed:  # drops orphaned, non-live and filtered-out chunks
                out[cid] = score
        if selective and len(out) < top_k:  # rare: a narrow filter; let Chroma pre-filter this once
            for cid, score in self.vectors.query(qv, n, filters, as_of):
                c = snap.chunks.get(cid)
                if c is not None and c.item_id in allowed:
                    out[cid] = score
        return out

    def _fuse(
        self, dense: dict[str, float], bm25: dict[str, float], method: Method, snap: _Snapshot
    ) -> dict[str, ScoreParts]:
        cfg = self.config
        ids = set(dense) | set(bm25) if method in ("hybrid", "rrf") else set(dense if method == "dense" else bm25)
        d_rank = {cid: r for r, cid in enumerate(sorted(dense, key=lambda k: -dense[k]), 1)}
        b_rank = {cid: r for r, cid in enumerate(sorted((k for k in bm25 if bm25[k] > 0), key=lambda k: -bm25[k]), 1)}
        d_vals = [dense[c] for c in ids if c in dense]
        d_lo, d_hi = (min(d_vals), max(d_vals)) if d_vals else (0.0, 1.0)
        b_hi = max((bm25.get(c, 0.0) for c in ids), default=0.0)
        out: dict[str, ScoreParts] = {}
        for cid in ids:
            kw = cfg.kind_weights.get(snap.live[snap.chunks[cid].item_id].kind, 1.0)
            d, b = dense.get(cid), bm25.get(cid)
            if method == "dense":
                score = d or 0.0
            elif method == "bm25":
                score = b or 0.0
            elif method == "rrf" or cfg.fusion == "rrf":
                w = 0.5 if method == "rrf" else cfg.dense_weight
                score = w / (cfg.rrf_k + d_rank.get(cid, 10**6)) + (1 - w) / (cfg.rrf_k + b_rank.get(cid, 10**6))
                score *= kw
            else:
                dn = (d - d_lo) / (d_hi - d_lo) if d is not None and d_hi > d_lo else (1.0 if d is not None else 0.0)
                bn = (b or 0.0) / b_hi if b_hi > 0 else 0.0
                score = (cfg.dense_weight * dn + (1 - cfg.dense_weight) * bn) * kw
            out[cid] = ScoreParts(
                bm25=b, bm25_rank=b_rank.get(cid), dense=d, dense_rank=d_rank.get(cid), kind_weight=kw, fused=score
            )
        return out


def _is_live(c: Chunk, live: dict[str, LiveVersion]) -> bool:
    lv = live.get(c.item_id)
    return lv is not None and lv.version == c.version


def _passes(lv: LiveVersion, f: SearchFilters, as_of: dt.date) -> bool:
    if not lv.in_force(as_of):
        return False
    if f.kinds and lv.kind not in f.kinds:
        return False
    if f.owners and lv.owner not in f.owners:
        return False
    if f.levels and lv.level not in f.levels:
        return False
    if f.audience is not None and f.audience not in lv.audience:
        return False
    if f.item_ids and lv.item_id not in f.item_ids:
        return False
    return not (f.tags and not set(f.tags) & set(lv.tags))
