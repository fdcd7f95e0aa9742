"""Knowledge as it stood at a past moment, so a recorded answer can be re-run against it (`audit replay`).

Item versions are immutable rows in SQL and chunking is deterministic, so the versions live at time T can be
re-chunked exactly as they were indexed; their vectors come from the content-hash embedding cache. A
`PinnedCorpus` answers what `HybridRetriever` asks its store (generation, live versions, chunks) for that
moment and `MemoryVectorIndex` serves the cached vectors, so retrieval itself runs unchanged. Read-only:
nothing here writes to SQL, the embedding cache or Chroma.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import numpy as np

from kb.chunking import chunk_version
from kb.embedders import Embedder
from kb.errors import KbError, NotFoundError
from kb.index.vector import date_int
from kb.models import Chunk, ItemStatus, ItemVersion, KnowledgeItem, LiveVersion, SearchFilters
from kb.retrieval import HybridRetriever, RetrievalConfig
from kb.store import SqlStore
from kb.text import JiebaTokenizer


class PinnedCorpus:
    """The versions live at one moment and their chunks; quacks like the parts of `SqlStore` readers use."""

    def __init__(self, at: dt.datetime, versions: dict[str, ItemVersion], live: dict[str, LiveVersion],
                 chunks: list[Chunk]) -> None:
        self.at = at
        self.versions = versions
        self.live = live
        self.chunks = chunks

    def generation(self) -> int:
        return 0  # never changes, so a retriever over it builds its snapshot once

    def live_versions(self) -> dict[str, LiveVersion]:
        return dict(self.live)

    def all_chunks(self) -> list[Chunk]:
        return list(self.chunks)

    def get_version(self, item_id: str, number: int) -> ItemVersion:
        v = self.versions.get(item_id)
        if v is None or v.number != number:
            raise NotFoundError(f"{item_id!r} v{number} was not live at {self.at.isoformat()}")
        return v


def versions_at(
    store: SqlStore, at: dt.datetime, retired_at: Mapping[str, dt.datetime], pins: Mapping[str, int] | None = None
) -> dict[str, ItemVersion]:
    """Per item, the version published last at or before `at`, unless the item was retired by then. `pins`
    (versions known to have been live then, e.g. from a trace or the audit log) win over the timestamps; a
    pinned version that is not in the store raises NotFoundError. Retired items without a retirement time in
    `retired_at` count as retired when their row was last updated."""
    pins = dict(pins or {})
    out: dict[str, ItemVersion] = {}
    for item in store.list_items():
        if item.id in pins:
            out[item.id] = store.get_version(item.id, pins.pop(item.id))
            continue
        gone = retired_at.get(item.id) or (item.updated_at if item.status == ItemStatus.RETIRED else None)
        if gone is not None and gone <= at:
            continue
        published = [v for v in store.list_versions(item.id) if v.published_at is not None and v.published_at <= at]
        if published:
            out[item.id] = max(published, key=lambda v: (v.published_at, v.number))
    if pins:
        raise NotFoundError(f"no knowledge items {sorted(pins)!r} in the store; they were deleted")
    return out


def live_version(item: KnowledgeItem, v: ItemVersion) -> LiveVersion:
    """The retriever's view of a version. Owner, level and audience are the version's own (they went live with
    it); tags are the item's current ones (an owner's tag edits are not versioned); so is the title."""
    owner, level, audience = (v.meta.owner, v.meta.level, v.meta.audience) if v.meta else (
        item.owner, item.level, item.audience)
    return LiveVersion(
        item_id=item.id, version=v.number, kind=item.kind, title=v.content.title, owner=owner, level=level,
        audience=audience, tags=tuple(item.tag_names), effective_from=v.effective_from, expires_at=v.expires_at,
        content_hash=v.content_hash,
    )


def corpus_at(
    store: SqlStore, at: dt.datetime, retired_at: Mapping[str, dt.datetime], chunk_chars: int,
    pins: Mapping[str, int] | None = None,
) -> PinnedCorpus:
    """Rebuild the live corpus of moment `at` from the immutable versions (see `versions_at`)."""
    versions = versions_at(store, at, retired_at, pins)
    items = {i.id: i for i in store.list_items()}
    live = {iid: live_version(items[iid], v) for iid, v in versions.items()}
    chunks = [c for iid, v in versions.items() for c in chunk_version(iid, v.number, v.content, chunk_chars)]
    chunks.sort(key=lambda c: c.id)  # the order SqlStore.all_chunks gives, so ties rank as they did live
    return PinnedCorpus(at, versions, live, chunks)


class MemoryVectorIndex:
    """A read-only `VectorIndex` over vectors held in memory: exact cosine search, metadata from a live map."""

    def __init__(self, chunks: list[Chunk], vectors: np.ndarray, live: Mapping[str, LiveVersion]) -> None:
        if len(chunks) != len(vectors):
            raise KbError(f"{len(chunks)} chunks but {len(vectors)} vectors; pass one vector per chunk")
        self.chunks = list(chunks)
        self.live = dict(live)
        self.position = {c.id: i for i, c in enumerate(self.chunks)}
        self.matrix = np.asarray(vectors, dtype=np.float32).reshape(len(self.chunks), -1)
        norms = np.linalg.norm(self.matrix, axis=1, keepdims=True)
        self.unit = self.matrix / np.where(norms > 0, norms, 1.0)

    # -- writes: refused, this is a view of the past ----------------------------------------------------
    def upsert(self, chunks: list[Chunk], vectors: np.ndarray, live: LiveVersion | None) -> None:
        raise _read_only()

    def upsert_many(self, rows: list[tuple[Chunk, np.ndarray, LiveVersion | None]]) -> None:
        raise _read_only()

    def delete(self, ids: list[str]) -> None:
        raise _read_only()

    def reset(self) -> None:
        raise _read_only()

    # -- reads -----------------------------------------------------------------------------------------

    def query(
        self, vector: np.ndarray, n: int, filters: SearchFilters | None = None, as_of: dt.date | None = None
    ) -> list[tuple[str, float]]:
        if not self.chunks or n <= 0:
            return []
        q = np.asarray(vector, dtype=np.float32)
        q = q / (float(np.linalg.norm(q)) or 1.0)
        scores = self.unit @ q
        if filters is not None:
            day = as_of or dt.date.today()
            keep = np.asarray([self._passes(c, filters, day) for c in self.chunks])
            scores = np.where(keep, scores, -np.inf)
        order = np.argsort(-scores, kind="stable")[:n]
        return [(self.chunks[i].id, float(scores[i])) for i in order if np.isfinite(scores[i])]

    def _passes(self, chunk: Chunk, f: SearchFilters, day: dt.date) -> bool:
        """The pre-filter the Chroma adapter sends as `where` (kb.index.vector.build_where)."""
        lv = self.live.get(chunk.item_id)
        if lv is None or not date_int(lv.effective_from) <= date_int(day) < date_int(lv.expires_at):
            return False
        return not ((f.kinds and lv.kind not in f.kinds) or (f.owners and lv.owner not in f.owners)
                    or (f.levels and lv.level not in f.levels) or (f.item_ids and lv.item_id not in f.item_ids)
                    or (f.audience is not None and f.audience not in lv.audience))

    def vectors(self, ids: list[str]) -> dict[str, np.ndarray]:
        return {i: self.matrix[self.position[i]] for i in ids if i in self.position}

    def ids(self) -> set[str]:
        return set(self.position)

    def ids_for_item(self, item_id: str) -> list[str]:
        return [c.id for c in self.chunks if c.item_id == item_id]

    def ids_for_items(self, item_ids: list[str]) -> list[str]:
        wanted = set(item_ids)
        return [c.id for c in self.chunks if c.item_id in wanted]


def _read_only() -> KbError:
    return KbError("this vector index is a read-only view of past knowledge; write to the live index instead")


def cached_vectors(store: SqlStore, embedder: Embedder, chunks: list[Chunk]) -> tuple[np.ndarray, int]:
    """One vector per chunk from the embedding cache; texts missing from it (a pruned cache) are embedded
    again, not cached. Returns the vectors and how many texts had to be embedded."""
    if not chunks:
        return np.zeros((0, embedder.dim), dtype=np.float32), 0
    cached = store.cached_embeddings(embedder.name, sorted({c.text_hash for c in chunks}))
    todo = {c.text_hash: c.text for c in chunks if c.text_hash not in cached}
    if todo:
        cached = {**cached, **dict(zip(todo, embedder.embed_documents(list(todo.values())), strict=True))}
    return np.vstack([cached[c.text_hash] for c in chunks]).astype(np.float32), len(todo)


def pinned_retriever(
    corpus: PinnedCorpus, store: SqlStore, embedder: Embedder, config: RetrievalConfig | None = None
) -> tuple[HybridRetriever, int]:
    """The project's hybrid retriever over a pinned corpus, with a tokenizer of its own (so the titles of
    past versions do not leak into the live one). Returns it and the number of texts embedded again."""
    vectors, embedded = cached_vectors(store, embedder, corpus.chunks)
    index = MemoryVectorIndex(corpus.chunks, vectors, corpus.live)
    return HybridRetriever(corpus, index, embedder, JiebaTokenizer(), config), embedded
