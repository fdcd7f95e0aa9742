"""Composition of the knowledge core from KbSettings: built once, passed down, warmed up explicitly."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml
from sqlalchemy.engine import Engine

from kb.embedders import Embedder, build_embedder
from kb.events import EventSink, NullSink
from kb.index.vector import ChromaVectorIndex
from kb.indexer import IndexWriter
from kb.lifecycle import KnowledgeService
from kb.models import Level, Unit
from kb.retrieval import HybridRetriever, RetrievalConfig
from kb.settings import KbSettings
from kb.store import SqlStore
from kb.text import JiebaTokenizer


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

    @classmethod
    def build(
        cls, settings: KbSettings, embedder: Embedder | None = None, events: EventSink | None = None,
        migrate: Callable[[Engine], object] | None = None,
    ) -> KnowledgeBase:
        """`migrate` brings the database schema up to date (the application and the tests pass Alembic's
        `api.db.upgrade`); without it the schema must already be there: kb never creates tables itself."""
        settings.home.mkdir(parents=True, exist_ok=True)
        store = SqlStore.from_url(settings.db_url)
        if migrate is not None:
            migrate(store.engine)
        vectors = ChromaVectorIndex(path=settings.chroma_path, url=settings.chroma_url, collection=settings.collection)
        emb = embedder or build_embedder(settings.embedder, settings.st_model_path)
        tokenizer = JiebaTokenizer()
        writer = IndexWriter(store, vectors, emb, settings.chunk_chars)
        service = KnowledgeService(store, writer, events or NullSink(), four_eyes=settings.four_eyes)
        retriever = HybridRetriever(
            store, vectors, emb, tokenizer,
            RetrievalConfig(dense_weight=settings.dense_weight, fusion=settings.fusion, candidates=settings.candidates),
        )
        return cls(settings, store, vectors, emb, tokenizer, writer, service, retriever)

    def warm_up(self) -> KnowledgeBase:
        """Load the heavy parts once: jieba dictionary, embedding model, Chroma client, BM25 snapshot."""
        self.tokenizer.warm_up()
        self.embedder.warm_up()
        self.vectors.warm_up()
        self.retriever.refresh(force=True)
        return self


def load_units(path: Path) -> list[Unit]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return [Unit(id=u["id"], name=u["name"], level=Level(u["level"])) for u in data.get("units", [])]
