"""The identification ranker (issue #13): synonym lexicon, overlap features, listwise fitting with grouped
cross-validation, stored weights, and the methods side by side. Unit tests use the deterministic hash embedder
through the project's Embedder interface; the real-embedder numbers are in test_identify.py and the README."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from assistant.catalog import CatalogEntry
from assistant.identify import Decision, MatterIdentifier
from assistant.lexicon import Lexicon
from assistant.ranker import (
    FEATURES,
    Group,
    QueryText,
    Ranker,
    TextIndex,
    fit_listwise,
    load_ranker,
    overlap_features,
    save_ranker,
    title_core,
)
from eval.matters import METHODS, collect, fit_ranker, run_methods
from kb.embedders import HashEmbedder

LEX = Lexicon.load()
TITLES = [
    ("c-1", "机动车驾驶证期满换证"), ("c-2", "机动车驾驶证遗失补领"), ("c-3", "居民身份证换领、补领"),
    ("c-4", "社会保障卡（市民卡）补领、换领"), ("c-5", "上海市居住证签注（续签）"), ("c-6", "户籍证明开具"),
    ("c-7", "住房公积金租房提取"), ("c-8", "个体工商户设立登记"), ("c-9", "结婚登记"), ("c-10", "最低生活保障申请"),
]
ENTRIES = [CatalogEntry(id=i, title=t) for i, t in TITLES]


def test_synonym_groups_work_both_ways_and_fillers_are_stripped() -> None:
    assert LEX.version >= 2
    assert "社会保险" in LEX.synonym_terms("社保断了") and "社保" in LEX.synonym_terms("社会保险登记")
    assert "户籍" in LEX.synonym_terms("开个户口证明") and "户口" in LEX.synonym_terms("户籍证明")
    assert "往来港澳通行证" in LEX.synonym_terms("港澳通行证过期了")
    assert LEX.strip_fillers("请问一下我想补办社保卡在哪里办") == "补办社保卡 办"
    assert LEX.strip_fillers("请问") == "请问"  # nothing would be left: the text stays


def test_title_core_drops_actions_and_notes() -> None:
    assert title_core("居民身份证换领、补领") == "居民身份证"
    assert title_core("社会保障卡（市民卡）补领、换领") == "社会保障卡"
    assert title_core("结婚登记") == "结婚"


def test_overlap_features_see_the_title_through_synonyms() -> None:
    idx = TextIndex.build(ENTRIES)
    f = overlap_features(idx, QueryText.of("驾照丢了", LEX))
    # 驾照 is 驾驶证 in the lexicon: both 驾驶证 titles are covered, the lost-licence one more (丢 -> 遗失补领)
    assert f["tcov_syn"][1] > 0 and f["tcov_syn"][0] > 0
    assert f["tcov_syn"][1] >= f["tcov_syn"][0]
    assert f["tcov"][1] == 0.0  # without the lexicon the words do not meet
    assert all(len(v) == len(ENTRIES) for v in f.values())
    g = overlap_features(idx, QueryText.of("想开个户籍证明", LEX))
    assert int(np.argmax(g["tcov_syn"])) == 5 and g["core_in_query"][5] == 1.0


def _groups(n: int, rng: np.random.Generator) -> list[Group]:
    out = []
    for _ in range(n):
        x = rng.normal(size=(8, len(FEATURES))).astype(np.float32)
        label = int(rng.integers(8))
        x[label, FEATURES.index("tcov_syn")] += 3.5  # the one signal that tells the right candidate
        out.append(Group(x, label))
    return out


def test_listwise_fit_finds_the_informative_feature_and_generalises() -> None:
    rng = np.random.default_rng(7)
    ranker = fit_listwise(_groups(300, rng), steps=300)
    w = dict(zip(ranker.names, ranker.weights, strict=True))
    assert w["tcov_syn"] == max(w.values()) and w["tcov_syn"] > 3 * max(abs(v) for k, v in w.items() if k != "tcov_syn")
    held_out = _groups(200, rng)
    top1 = np.mean([int(np.argmax(ranker.score(g.x))) == g.label for g in held_out])
    assert top1 >= 0.85


def test_weights_round_trip_and_stale_weights_are_refused(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    r = fit_listwise(_groups(50, rng), steps=50)
    r = Ranker(r.names, r.mean, r.scale, r.weights, (-1.0, 2.0, 3.0, 4.0, 0.5))
    path = tmp_path / "ranker.json"
    save_ranker("m", False, r, {"cv_top1_mean": 0.5}, path=path)
    back = load_ranker("m", False, path=path)
    assert back is not None and back.calibration == (-1.0, 2.0, 3.0, 4.0, 0.5)
    assert np.allclose(back.weights, r.weights, atol=1e-4)
    assert load_ranker("m", True, path=path) is None and load_ranker("other", False, path=path) is None
    table = json.loads(path.read_text(encoding="utf-8"))
    table["m"]["bare"]["features"] = table["m"]["bare"]["features"][:-1]  # fitted for other features
    path.write_text(json.dumps(table), encoding="utf-8")
    assert load_ranker("m", False, path=path) is None
    table["m"]["bare"]["features"] = list(FEATURES)
    table["m"]["bare"]["scale"][0] = 0.0  # would divide by zero
    path.write_text(json.dumps(table), encoding="utf-8")
    assert load_ranker("m", False, path=path) is None


UTTERANCES = [
    {"text": "驾照六年到期了要换", "matter_id": "c-1"}, {"text": "驾驶证快满六年了", "matter_id": "c-1"},
    {"text": "驾照弄丢了", "matter_id": "c-2"}, {"text": "驾驶证找不到了怎么补", "matter_id": "c-2"},
    {"text": "身份证丢了", "matter_id": "c-3"}, {"text": "身份证过期了换新的", "matter_id": "c-3"},
    {"text": "社保卡丢了", "matter_id": "c-4"}, {"text": "医保卡坏了要换", "matter_id": "c-4"},
    {"text": "居住证快到期了", "matter_id": "c-5"}, {"text": "居住证续一下", "matter_id": "c-5"},
    {"text": "开个户口证明", "matter_id": "c-6"}, {"text": "派出所开户籍证明", "matter_id": "c-6"},
    {"text": "公积金付房租", "matter_id": "c-7"}, {"text": "租房能取公积金吗", "matter_id": "c-7"},
    {"text": "开个小店办执照", "matter_id": "c-8"}, {"text": "个体户怎么注册", "matter_id": "c-8"},
    {"text": "我们要去领证", "matter_id": "c-9"}, {"text": "扯证要带什么", "matter_id": "c-9"},
    {"text": "家里困难想申请低保", "matter_id": "c-10"}, {"text": "低保怎么申请", "matter_id": "c-10"},
]


@pytest.fixture(scope="module")
def identifier() -> MatterIdentifier:
    return MatterIdentifier(ENTRIES, HashEmbedder(), lexicon=LEX).warm_up()


def test_ranked_identification_on_a_bare_catalogue(identifier: MatterIdentifier) -> None:
    identifier.set_ranker(None)
    data = collect(identifier, UTTERANCES)
    assert len(data) == len(UTTERANCES) and all(d.group.x.shape[1] == len(FEATURES) for d in data)
    ranker, report = fit_ranker(data, folds=2)
    assert report["utterances"] == len(UTTERANCES) and len(report["cv_top1"]) == 2  # type: ignore[arg-type]
    identifier.set_ranker(ranker)
    try:
        ident = identifier.identify("驾照丢了咋办")
        assert ident.top is not None and ident.top.id == "c-2"
        scores = [c.score for c in ident.candidates]
        assert scores == sorted(scores, reverse=True) and 0.0 <= scores[0] <= 1.0  # probabilities, best first
        assert ident.margin == pytest.approx(scores[0] - scores[1], abs=1e-3)
        assert ident.decision in set(Decision)
        assert identifier.identify("   ").decision == Decision.UNKNOWN
    finally:
        identifier.reset_ranker()


def test_all_methods_side_by_side(identifier: MatterIdentifier) -> None:
    res = run_methods(identifier, UTTERANCES, METHODS)
    assert list(res) == list(METHODS)
    for name in ("dense", "bm25", "rrf"):  # baselines always take their best entry
        assert res[name].clarify_rate == 0.0 and res[name].unknown_rate == 0.0
    for r in res.values():
        assert r.utterances == len(UTTERANCES) and r.catalog == len(ENTRIES)
        assert 0.0 <= r.top1 <= r.top5 <= 1.0 and r.p50_ms <= r.p95_ms
    # words that are in the titles: keyword overlap beats a hash embedder that knows no synonyms
    assert res["fused"].top5 >= res["dense"].top5


def test_the_lexicon_file_is_well_formed() -> None:
    import yaml

    from assistant.lexicon import DEFAULT_LEXICON

    raw = yaml.safe_load(DEFAULT_LEXICON.read_text(encoding="utf-8"))
    for group in raw["synonyms"]:
        assert len(set(group)) >= 2 and len(set(group)) == len(group), group
    assert not set(LEX.fillers) & set(LEX.synonyms), "a filler is never a service word"
    for word, terms in LEX.concepts.items():
        assert terms and word not in terms, word

