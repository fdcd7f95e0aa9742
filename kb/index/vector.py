"""Dense vector index: protocol and the Chroma adapter (only this module imports chromadb)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

import numpy as np

from kb.models import Chunk, LiveVersion, SearchFilters

FAR_FUTURE = 99991231


def date_int(d: dt.date | None) -> int:
    return FAR_FUTURE if d is None else d.year * 10000 + d.month * 100 + d.day


class VectorIndex(Protocol):
    def upsert(self, chunks: list[Chunk], vectors: np.ndarray, live: LiveVersion | None) -> None: ...

    def upsert_many(self, rows: list[tuple[Chunk, np.ndarray, LiveVersion | None]]) -> None: ...

    def delete(self, ids: list[str]) -> None: ...

    def query(
        self, vector: np.ndarray, n: int, filters: SearchFilters | None = None, as_of: dt.date | None = None
    ) -> list[tuple[str, float]]: ...

    def vectors(self, ids: list[str]) -> dict[str, np.ndarray]: ...

    def ids(self) -> set[str]: ...

    def ids_for_item(self, item_id: str) -> list[str]: ...

    def ids_for_items(self, item_ids: list[str]) -> list[str]: ...

    def reset(self) -> None: ...


def chunk_metadata(chunk: Chunk, live: LiveVersion | None) -> dict[str, Any]:
    meta: dict[str, Any] = {"item_id": chunk.item_id, "version": chunk.version, "section": chunk.section}
    if live is not None:
        meta.update(
            kind=live.kind.value,
            owner=live.owner,
            level=live.level.value,
            aud_person="个人" in live.audience,
            aud_enterprise="法人" in live.audience,
            effective_from=date_int(live.effective_from),
            expires_at=date_int(live.expires_at),
        )
    return meta


def build_where(filters: SearchFilters, as_of: dt.date) -> dict[str, Any]:
    """Chroma pre-filter; the live-version check after the query is the authority."""
    clauses: list[dict[str, Any]] = [
        {"effective_from": {"$lte": date_int(as_of)}},
        {"expires_at": {"$gt": date_int(as_of)}},
    ]
    if filters.kinds:
        clauses.append({"kind": {"$in": [k.value for k in filters.kinds]}})
    if filters.owners:
        clauses.append({"owner": {"$in": list(filters.owners)}})
    if filters.levels:
        clauses.append({"level": {"$in": [lv.value for lv in filters.levels]}})
    if filters.item_ids:
        clauses.append({"item_id": {"$in": list(filters.item_ids)}})
    if filters.audience is not None:
        clauses.append({"aud_person" if filters.audience.value == "个人" else "aud_enterprise": True})
    return {"$and": clauses}


class ChromaVectorIndex:
    """Chroma collection with cosine space; embeddings are always computed by us and passed in."""

    def __init__(self, path: Path | None = None, url: str | None = None, collection: str = "qingsong_chunks") -> None:
        self.path = path
        self.url = url
        self.collection_name = collection
        self._client: Any = None
        self._col: Any = None

    def warm_up(self) -> ChromaVectorIndex:
        if self._col is None:
            import chromadb
            from chromadb.config import Settings as ChromaSettings

            cs = ChromaSettings(anonymized_telemetry=False)
            if self.url:
                u = urlparse(self.url)
                self._client = chromadb.HttpClient(host=u.hostname or "127.0.0.1", port=u.port or 8000,
                                                   ssl=u.scheme == "https", settings=cs)
            else:
                assert self.path is not None
                self.path.mkdir(parents=True, exist_ok=True)
                self._client = chromadb.PersistentClient(path=str(self.path), settings=cs)
            self._col = self._client.get_or_create_collection(
                self.collection_name, embedding_function=None, configuration={"hnsw": {"space": "cosine"}}
            )
        return self

    @property
    def col(self) -> Any:
        return self.warm_up()._col

    def upsert(self, chunks: list[Chunk], vectors: np.ndarray, live: LiveVersion | None) -> None:
        self.upsert_many([(c, v, live) for c, v in zip(chunks, vectors, strict=True)])

    def upsert_many(self, rows: list[tuple[Chunk, np.ndarray, LiveVersion | None]]) -> None:
        for start in range(0, len(rows), 2000):
            part = rows[start : start + 2000]
            self.col.upsert(
                ids=[c.id for c, _, _ in part],
                embeddings=np.asarray([v for _, v, _ in part], dtype=np.float32),
                metadatas=[chunk_metadata(c, lv) for c, _, lv in part],
                documents=[c.text for c, _, _ in part],
            )

    def delete(self, ids: list[str]) -> None:
        for start in range(0, len(ids), 1000):
            self.col.delete(ids=ids[start : start + 1000])

    def query(
        self, vector: np.ndarray, n: int, filters: SearchFilters | None = None, as_of: dt.date | None = None
    ) -> list[tuple[str, float]]:
        """Nearest chunks. Without filters no `where` is sent: Chroma's metadata pre-filter costs ~300 ms
        per query at 50k chunks (benchmarks/search_latency.py), while an unfiltered HNSW query takes ~4 ms."""
        res = self.col.query(
            query_embeddings=[np.asarray(vector, dtype=np.float32)],
            n_results=n,
            where=build_where(filters, as_of or dt.date.today()) if filters is not None else None,
            include=["distances"],
        )
        ids = res["ids"][0] if res["ids"] else []
        dists = res["distances"][0] if res.get("distances") else []
        return [(i, 1.0 - float(d)) for i, d in zip(ids, dists, strict=False)]

    def vectors(self, ids: list[str]) -> dict[str, np.ndarray]:
        if not ids:
            return {}
        res = self.col.get(ids=ids, include=["embeddings"])
        return {i: np.asarray(e, dtype=np.float32) for i, e in zip(res["ids"], res["embeddings"], strict=False)}

    def ids(self) -> set[str]:
        out: set[str] = set()
        total = self.col.count()
        for offset in range(0, total, 5000):
            out.update(self.col.get(limit=5000, offset=offset, include=[])["ids"])
        return out

    def ids_for_item(self, item_id: str) -> list[str]:
        return list(self.col.get(where={"item_id": item_id}, include=[])["ids"])

    def ids_for_items(self, item_ids: list[str]) -> list[str]:
        if not item_ids:
            return []
        return list(self.col.get(where={"item_id": {"$in": item_ids}}, include=[])["ids"])

    def reset(self) -> None:
        """Empty the collection in place. Not delete-and-recreate: other workers hold a handle to this
        collection (by id) on a Chroma server, and a recreated one would leave them failing until restart."""
        while ids := list(self.col.get(limit=5000, include=[])["ids"]):
            self.col.delete(ids=ids)
