"""The reference baseline: llama-index-core's default VectorStoreIndex + SentenceSplitter over our embedder.

Only this module imports llama_index. Models are passed explicitly; the global Settings is never set.
"""

from __future__ import annotations

from typing import Any

from llama_index.core import Document, VectorStoreIndex
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.node_parser import SentenceSplitter
from pydantic import PrivateAttr

from kb.chunking import text_hash
from kb.embedders import Embedder
from kb.store import SqlStore


class OurEmbedding(BaseEmbedding):
    """Adapter: llama-index embedding interface over a QingSong Embedder, with the content-hash cache."""

    _inner: Any = PrivateAttr()
    _store: Any = PrivateAttr()

    def __init__(self, inner: Embedder, store: SqlStore | None = None, **kwargs: Any) -> None:
        super().__init__(model_name=inner.name, embed_batch_size=16, **kwargs)
        self._inner = inner
        self._store = store

    def _get_query_embedding(self, query: str) -> list[float]:
        return [float(x) for x in self._inner.embed_query(query)]

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._get_text_embeddings([text])[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        hashes = [text_hash("llamaindex:" + t) for t in texts]
        cached = self._store.cached_embeddings(self._inner.name, hashes) if self._store else {}
        todo = [(h, t) for h, t in zip(hashes, texts, strict=True) if h not in cached]
        if todo:
            vecs = self._inner.embed_documents([t for _, t in todo])
            fresh = {h: v for (h, _), v in zip(todo, vecs, strict=True)}
            if self._store:
                self._store.cache_embeddings(self._inner.name, fresh)
            cached.update(fresh)
        return [cached[h].tolist() for h in hashes]


class LlamaIndexBaseline:
    def __init__(self, corpus: dict[str, tuple[str, str]], embedder: Embedder, store: SqlStore | None = None) -> None:
        docs = [Document(text=f"{title}\n{text}", id_=doc_id) for doc_id, (title, text) in corpus.items()]
        self.index = VectorStoreIndex.from_documents(
            docs, embed_model=OurEmbedding(embedder, store), transformations=[SentenceSplitter()]
        )

    def search(self, query: str, top_k: int) -> list[str]:
        retriever = self.index.as_retriever(similarity_top_k=top_k * 3)
        out: list[str] = []
        for node in retriever.retrieve(query):
            doc = node.node.ref_doc_id
            if doc and doc not in out:
                out.append(doc)
        return out[:top_k]
