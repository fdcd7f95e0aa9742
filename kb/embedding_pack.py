"""Embedding packs: precomputed vectors keyed by chunk-text hash, so a fresh install need not re-embed
the bundled sample knowledge. A pack only seeds the content-hash cache; stale entries are simply unused."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kb.store import SqlStore, embedding_cache


def export_pack(store: SqlStore, model: str, path: Path, hashes: set[str] | None = None) -> int:
    with store.tx() as conn:
        rows = conn.execute(
            embedding_cache.select().where(embedding_cache.c.model == model).order_by(embedding_cache.c.text_hash)
        ).fetchall()
    rows = [r for r in rows if hashes is None or r.text_hash in hashes]
    vecs = np.vstack([np.frombuffer(r.vector, dtype=np.float32) for r in rows]) if rows else np.zeros((0, 0))
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, model=np.array(model), hashes=np.array([r.text_hash for r in rows]), vectors=vecs)
    return len(rows)


def import_pack(store: SqlStore, model: str, path: Path) -> int:
    """Seed the cache from a pack made with the same model; a pack of another model is ignored."""
    if not path.exists():
        return 0
    data = np.load(path, allow_pickle=False)
    if str(data["model"]) != model:
        return 0
    vectors = {str(h): v for h, v in zip(data["hashes"], data["vectors"], strict=True)}
    store.cache_embeddings(model, vectors)
    return len(vectors)
