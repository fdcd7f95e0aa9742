"""Writes derived indexes from the SQL store: per-version cut-over, full rebuild, drift verification."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from kb.chunking import chunk_version
from kb.embedders import Embedder
from kb.errors import IndexDriftError
from kb.index.vector import VectorIndex
from kb.models import Chunk, LiveVersion
from kb.store import SqlStore

log = logging.getLogger(__name__)
Progress = Callable[[int, int], None]


@dataclass
class DriftReport:
    """Differences between what the SQL store says is live and what the indexes hold."""

    missing_in_sql: list[str] = field(default_factory=list)
    missing_in_vectors: list[str] = field(default_factory=list)
    orphaned_in_sql: list[str] = field(default_factory=list)
    orphaned_in_vectors: list[str] = field(default_factory=list)
    stale_text: list[str] = field(default_factory=list)
    live_items: int = 0
    live_chunks: int = 0

    @property
    def ok(self) -> bool:
        return not (
            self.missing_in_sql or self.missing_in_vectors or self.orphaned_in_sql
            or self.orphaned_in_vectors or self.stale_text
        )


class IndexWriter:
    """Embeds chunks (through the content-hash cache) and writes them to SQL and the vector index."""

    def __init__(self, store: SqlStore, vectors: VectorIndex, embedder: Embedder, chunk_chars: int = 320) -> None:
        self.store = store
        self.vectors = vectors
        self.embedder = embedder
        self.chunk_chars = chunk_chars
        self.embedded = 0  # documents embedded by this writer (cache misses)

    def chunks_of(self, item_id: str, version: int) -> list[Chunk]:
        v = self.store.get_version(item_id, version)
        return chunk_version(item_id, version, v.content, self.chunk_chars)

    def embed(self, chunks: list[Chunk]) -> np.ndarray:
        """Vectors for chunks, embedding only texts whose hash is not cached for this model."""
        if not chunks:
            return np.zeros((0, self.embedder.dim), dtype=np.float32)
        hashes = [c.text_hash for c in chunks]
        cached = self.store.cached_embeddings(self.embedder.name, hashes)
        todo: dict[str, str] = {}
        for c in chunks:
            if c.text_hash not in cached and c.text_hash not in todo:
                todo[c.text_hash] = c.text
        if todo:
            vecs = self.embedder.embed_documents(list(todo.values()))
            fresh = dict(zip(todo.keys(), vecs, strict=True))
            self.store.cache_embeddings(self.embedder.name, fresh)
            cached.update(fresh)
            self.embedded += len(todo)
        return np.vstack([cached[h] for h in hashes])

    def write_version(self, live: LiveVersion) -> list[Chunk]:
        """Step 1 of a cut-over: write the new version's chunks beside the old ones and verify them."""
        return self.write_versions([live])

    def write_versions(self, lives: list[LiveVersion]) -> list[Chunk]:
        """Step 1 for several items at once (one embedding batch, one upsert, one verification)."""
        per_item = [(lv, self.chunks_of(lv.item_id, lv.version)) for lv in lives]
        all_chunks = [c for _, cs in per_item for c in cs]
        vectors = self.embed(all_chunks)
        self.store.put_chunks(all_chunks)
        rows: list[tuple[Chunk, np.ndarray, LiveVersion | None]] = []
        start = 0
        for lv, cs in per_item:
            rows += [(c, vectors[start + i], lv) for i, c in enumerate(cs)]
            start += len(cs)
        self.vectors.upsert_many(rows)
        got = self.vectors.vectors([c.id for c in all_chunks])
        if len(got) != len(all_chunks):
            missing = sorted({c.item_id for c in all_chunks if c.id not in got})
            raise IndexDriftError(
                f"vector index is missing chunks of {missing}; the old versions stay live. "
                "Run `qingsong index verify`."
            )
        return all_chunks

    def remove_other_versions(self, item_id: str, keep: int | None) -> int:
        """Last step of a cut-over (or a retirement): drop chunks of every version but `keep`."""
        return self.remove_others({item_id: keep})

    def remove_others(self, keep: dict[str, int | None]) -> int:
        ids: set[str] = set()
        for item_id, version in keep.items():
            ids.update(self.store.delete_chunks(item_id, keep_version=version))
        for cid in self.vectors.ids_for_items(sorted(keep)):
            item_id, version = cid.split(":")[0], keep.get(cid.split(":")[0])
            if version is None or not cid.startswith(f"{item_id}:{version}:"):
                ids.add(cid)
        self.vectors.delete(sorted(ids))
        return len(ids)

    def rebuild(self, progress: Progress | None = None) -> DriftReport:
        """Rebuild SQL chunks and the vector index from the live versions in SQL."""
        live = self.store.live_versions()
        self.vectors.reset()
        with self.store.tx() as conn:
            from kb.store import chunks as chunks_table

            conn.execute(chunks_table.delete())
        ordered = sorted(live.values(), key=lambda x: x.item_id)
        for start in range(0, len(ordered), 200):
            self.write_versions(ordered[start : start + 200])
            if progress:
                progress(min(start + 200, len(ordered)), len(ordered))
        self.store.bump_generation()
        return self.verify()

    def verify(self) -> DriftReport:
        """Compare live versions (SQL) with SQL chunks and vector ids; report every difference."""
        live = self.store.live_versions()
        expected: dict[str, Chunk] = {}
        for lv in live.values():
            for c in self.chunks_of(lv.item_id, lv.version):
                expected[c.id] = c
        sql = {c.id: c for c in self.store.all_chunks()}
        vec_ids = self.vectors.ids()
        rep = DriftReport(live_items=len(live), live_chunks=len(expected))
        rep.missing_in_sql = sorted(set(expected) - set(sql))
        rep.orphaned_in_sql = sorted(set(sql) - set(expected))
        rep.missing_in_vectors = sorted(set(expected) - vec_ids)
        rep.orphaned_in_vectors = sorted(vec_ids - set(expected))
        rep.stale_text = sorted(cid for cid, c in expected.items() if cid in sql and sql[cid].text_hash != c.text_hash)
        return rep

    def repair(self) -> DriftReport:
        """Fix drift left by an interrupted cut-over: write what is missing, delete orphans."""
        rep = self.verify()
        if rep.ok:
            return rep
        live = self.store.live_versions()
        broken_items = {cid.split(":")[0] for cid in rep.missing_in_sql + rep.missing_in_vectors + rep.stale_text}
        for item_id in broken_items:
            if item_id in live:
                self.write_version(live[item_id])
        orphans = sorted(set(rep.orphaned_in_sql) | set(rep.orphaned_in_vectors))
        if orphans:
            with self.store.tx() as conn:
                from kb.store import chunks as chunks_table

                conn.execute(chunks_table.delete().where(chunks_table.c.id.in_(orphans)))
            self.vectors.delete(orphans)
        self.store.bump_generation()
        return self.verify()
