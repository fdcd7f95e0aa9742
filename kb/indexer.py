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
    # read back (issue #17): listed by the vector index but not returned by it, or returned with a vector that
    # is not the one the content-hash cache holds for the chunk's text
    unreadable_vectors: list[str] = field(default_factory=list)
    wrong_vectors: list[str] = field(default_factory=list)
    # interrupted publishes, from the leftovers' versions: `item:version` chunks of a version newer than the live
    # one (the switch never happened: rolled back, the version stays approved) or older (the switch happened,
    # the clean-up did not: rolled forward)
    rolled_back: list[str] = field(default_factory=list)
    rolled_forward: list[str] = field(default_factory=list)
    live_items: int = 0
    live_chunks: int = 0
    read_back: int = 0  # vectors read back and compared
    rewritten: list[str] = field(default_factory=list)  # items a repair re-wrote
    removed: list[str] = field(default_factory=list)  # leftover chunk ids a repair deleted
    left_over: list[str] = field(default_factory=list)  # items a bounded repair did not reach (run it again)

    @property
    def ok(self) -> bool:
        return not (
            self.missing_in_sql or self.missing_in_vectors or self.orphaned_in_sql
            or self.orphaned_in_vectors or self.stale_text or self.unreadable_vectors or self.wrong_vectors
        )

    def summary(self) -> str:
        parts = [f"{name} {len(ids)}" for name, ids in (
            ("missing in SQL", self.missing_in_sql), ("missing in vectors", self.missing_in_vectors),
            ("orphaned in SQL", self.orphaned_in_sql), ("orphaned in vectors", self.orphaned_in_vectors),
            ("stale text", self.stale_text), ("unreadable vectors", self.unreadable_vectors),
            ("wrong vectors", self.wrong_vectors), ("publishes rolled back", self.rolled_back),
            ("publishes rolled forward", self.rolled_forward), ("items re-written", self.rewritten),
            ("leftover chunks removed", self.removed), ("items left for later", self.left_over)) if ids]
        return ", ".join(parts) or "no drift"


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

    def verify(self, read_back: bool = False) -> DriftReport:
        """Compare live versions (SQL) with SQL chunks and vector ids; report every difference. With `read_back`,
        also read every live chunk's vector back from the vector index and compare it with the embedding cache:
        an id the index lists but cannot return (seen after a SIGKILL of embedded Chroma) or a vector that is
        not the chunk's own is drift too."""
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
        if read_back:
            self._read_back(rep, {cid: c for cid, c in expected.items() if cid in vec_ids})
        for cid in sorted(set(rep.orphaned_in_sql) | set(rep.orphaned_in_vectors)):
            item_id, version = _item_version(cid)
            current = live.get(item_id)
            if current is not None and version is not None and version != current.version:
                (rep.rolled_back if version > current.version else rep.rolled_forward).append(f"{item_id}:{version}")
        rep.rolled_back = sorted(set(rep.rolled_back))
        rep.rolled_forward = sorted(set(rep.rolled_forward))
        return rep

    def _read_back(self, rep: DriftReport, expected: dict[str, Chunk], batch: int = 1000) -> None:
        ids = sorted(expected)
        cached = self.store.cached_embeddings(self.embedder.name, sorted({c.text_hash for c in expected.values()}))
        for start in range(0, len(ids), batch):
            part = ids[start : start + batch]
            got = self._readable(part)
            rep.read_back += len(got)
            rep.unreadable_vectors += [cid for cid in part if cid not in got]
            for cid, vec in got.items():
                want = cached.get(expected[cid].text_hash)
                if want is not None and (vec.shape != want.shape or float(np.abs(vec - want).max()) > 1e-3):
                    rep.wrong_vectors.append(cid)

    def _readable(self, ids: list[str]) -> dict[str, np.ndarray]:
        """The vectors the index returns for `ids`; a batch it fails on is split until the failing ids are alone."""
        try:
            return self.vectors.vectors(ids)
        except Exception as exc:  # a broken HNSW entry fails the whole get; find which ids
            if len(ids) == 1:
                log.warning("vector index cannot return %s: %s", ids[0], exc)
                return {}
            mid = len(ids) // 2
            return {**self._readable(ids[:mid]), **self._readable(ids[mid:])}

    def repair(self, read_back: bool = False, max_items: int | None = None) -> DriftReport:
        """Fix drift left by an interrupted cut-over: re-write what is missing, unreadable or wrong (vectors come
        from the content-hash cache, so this rarely embeds), delete orphans: a publish interrupted before its
        switch is rolled back, one interrupted after it rolled forward. `max_items` bounds the items re-written
        (a start-up repair must not take the server's first minutes); the rest are listed in `left_over`.
        Returns the verification after the repair, with what was rolled back or forward."""
        rep = self.verify(read_back=read_back)
        if rep.ok:
            return rep
        live = self.store.live_versions()
        bad_vectors = sorted(set(rep.unreadable_vectors) | set(rep.wrong_vectors))
        if bad_vectors:  # an id the index cannot return may not take an upsert over it either: delete first
            self.vectors.delete(bad_vectors)
        broken_items = sorted({_item_version(cid)[0] for cid in rep.missing_in_sql + rep.missing_in_vectors
                               + rep.stale_text + bad_vectors} & set(live))
        todo = broken_items if max_items is None else broken_items[:max_items]
        for start in range(0, len(todo), 50):
            self.write_versions([live[i] for i in todo[start : start + 50]])
        orphans = sorted(set(rep.orphaned_in_sql) | set(rep.orphaned_in_vectors))
        if orphans:
            with self.store.tx() as conn:
                from kb.store import chunks as chunks_table

                conn.execute(chunks_table.delete().where(chunks_table.c.id.in_(orphans)))
            self.vectors.delete(orphans)
        self.store.bump_generation()
        after = self.verify(read_back=read_back and bool(todo))
        after.rolled_back, after.rolled_forward = rep.rolled_back, rep.rolled_forward
        after.rewritten, after.removed, after.left_over = todo, orphans, broken_items[len(todo):]
        return after


def _item_version(chunk_id: str) -> tuple[str, int | None]:
    """`item:version:index` -> (item, version); a malformed id keeps its item and no version."""
    parts = chunk_id.split(":")
    return parts[0], int(parts[1]) if len(parts) > 2 and parts[1].isdigit() else None
