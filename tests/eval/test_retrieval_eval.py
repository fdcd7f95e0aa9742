import json

import pytest

from api import db
from eval.metrics import mrr_at, ndcg_at, percentile, recall_at
from eval.retrieval import run_retrieval_eval
from kb.embedders import HashEmbedder
from tests.conftest import make_settings


@pytest.mark.unit
def test_metrics():
    rel = {"a": 1, "b": 1}
    assert recall_at(["x", "a", "y"], rel, 1) == 0.0
    assert recall_at(["x", "a", "b"], rel, 5) == 1.0
    assert mrr_at(["x", "a"], rel) == 0.5
    assert ndcg_at(["a", "b"], rel) == pytest.approx(1.0)
    assert ndcg_at(["x", "a"], {"a": 1}) == pytest.approx(1 / 1.5849625, rel=1e-6)
    assert percentile([1, 2, 3, 4], 50) == 2.5


@pytest.mark.integration
def test_eval_on_a_tiny_beir_folder(tmp_path):
    folder = tmp_path / "beir"
    (folder / "qrels").mkdir(parents=True)
    docs = [("d1", "居住证办理", "来沪人员居住登记满半年可以申领居住证。"),
            ("d2", "公积金提取", "租房可以提取住房公积金，每月一次。"),
            ("d3", "结婚登记", "男女双方共同到婚姻登记处申请结婚登记。")]
    (folder / "corpus.jsonl").write_text(
        "".join(json.dumps({"_id": i, "title": t, "text": x}, ensure_ascii=False) + "\n" for i, t, x in docs), "utf-8")
    (folder / "queries.jsonl").write_text(
        '{"_id": "q1", "text": "租房怎么取公积金"}\n{"_id": "q2", "text": "领结婚证"}\n', "utf-8")
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td2\t1\nq2\td3\t1\n", "utf-8")
    results = run_retrieval_eval(folder, ["bm25", "dense", "hybrid", "rrf", "llamaindex"], 10,
                                 make_settings(tmp_path / "home"), embedder=HashEmbedder(), migrate=db.upgrade)
    assert [r.method for r in results] == ["bm25", "dense", "hybrid", "rrf", "llamaindex"]
    for r in results:
        d = r.as_dict()
        assert set(d) == {"method", "recall_at_1", "recall_at_5", "recall_at_10", "mrr_at_10", "ndcg_at_10",
                          "p50_ms", "p95_ms", "queries"}
        assert d["queries"] == 2 and d["recall_at_10"] == 1.0
    assert results[0].recall_at_1 == 1.0  # BM25 finds both by their key words
    with pytest.raises(ValueError, match="unknown method"):
        run_retrieval_eval(folder, ["magic"], 10, make_settings(tmp_path / "home2"), embedder=HashEmbedder(),
                           migrate=db.upgrade)
