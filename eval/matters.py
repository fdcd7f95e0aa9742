"""Matter identification evaluation: top-1/top-5 accuracy, clarification rate and latency.

Run: qingsong eval matters --catalog eval/datasets/matters/catalog.jsonl \
         --utterances eval/datasets/matters/utterances.jsonl [--bare] [--methods dense,bm25,ours] [--json]
     (--bare strips the catalogue to ids and titles, like the held-out evaluation)

Methods, all over the same index and query embedding model, each timed with the query-vector cache emptied:
- `dense`: the best cosine between the query and any of an entry's texts (titles only when bare);
- `bm25`: BM25 over jieba tokens of the entry's texts;
- `rrf`: reciprocal rank fusion of the two (k=60), the naive hybrid;
- `fused`: the weighted fusion of dense, keyword (with pinyin pairs and lexicon expansions) and knowledge votes;
- `ours`: the fitted ranker over `fused` and the text-overlap features (`assistant/ranker.py`), with the
  calibrated accept / clarify / 不知道 decision. Baselines always accept their top entry.

Fitting the ranker (listwise softmax, 5-fold cross-validation grouped by matter, so a fold's matters are unseen
in training; the folds' numbers are reported and stored beside the weights in `assistant/ranker.json`):
     qingsong eval matters --fit-ranker [--write]     # both kinds of catalogue, on the dev sets below

Calibration (refits the logistic map from identification features to P(top-1 right), using the dev
utterances plus out-of-scope ones labelled wrong):
     python -m eval.matters --calibrate --write            # rich catalogue (the YAML registry)
     python -m eval.matters --calibrate --write --bare     # bare titles
     QINGSONG_EMBEDDER=hash python -m eval.matters --calibrate --write   # for the unit-test embedder
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from assistant.catalog import CatalogEntry
from assistant.identify import (
    FALLBACK_CALIBRATION,
    Candidate,
    Decision,
    Identification,
    MatterIdentifier,
    save_calibration,
)
from assistant.ranker import Group, Ranker, fit_listwise
from eval.metrics import percentile

DATASETS = Path(__file__).resolve().parent / "datasets" / "matters"
Progress = Callable[[int, int], None]


@dataclass
class MatterEvalResult:
    top1: float
    top5: float
    clarify_rate: float
    unknown_rate: float
    p50_ms: float
    p95_ms: float
    utterances: int
    catalog: int
    out_of_scope_refused: float | None = None
    misses: list[dict[str, object]] = field(default_factory=list)

    def as_dict(self, with_misses: bool = False) -> dict[str, object]:
        d = asdict(self)
        if not with_misses:
            d.pop("misses")
        return d


def load_utterances(path: Path) -> list[dict[str, str]]:
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            d = json.loads(line)
            if "text" not in d:
                raise ValueError(f"{str(path)!r} line {n}: needs a \"text\" key, got {sorted(d)}")
            out.append(d)
    return out


METHODS = ("dense", "bm25", "rrf", "fused", "ours")
Identify = Callable[[str], Identification]


def _accept_top(identifier: MatterIdentifier, text: str, scores: np.ndarray) -> Identification:
    """A baseline's answer: its best entries, always taken (baselines have no clarify or 不知道)."""
    order = np.argsort(-scores)[:5]
    cands = tuple(Candidate(id=identifier.entries[i].id, title=identifier.entries[i].title, kind=identifier.entries[i].kind,
                            score=round(float(scores[i]), 4), bm25=0.0, dense=0.0, knowledge=0.0) for i in order)
    margin = float(scores[order[0]] - scores[order[1]]) if len(order) > 1 else 0.0
    return Identification(query=text, candidates=cands, confidence=1.0, margin=round(margin, 4), decision=Decision.ACCEPT)


def _rrf(a: np.ndarray, b: np.ndarray, k: float = 60.0) -> np.ndarray:
    out = np.zeros(len(a), dtype=np.float64)
    for s in (a, b):
        rank = np.empty(len(s), dtype=np.float64)
        rank[np.argsort(-s)] = np.arange(len(s))
        out += 1.0 / (k + rank + 1.0)
    return out


def method(identifier: MatterIdentifier, name: str, ranker: Ranker | None = None) -> Identify:
    """One identification method over the identifier's index (see the module docstring)."""
    if name == "dense":
        return lambda t: _accept_top(identifier, t, identifier.dense_scores(t))
    if name == "bm25":
        return lambda t: _accept_top(identifier, t, identifier.bm25_scores(t))
    if name == "rrf":
        return lambda t: _accept_top(identifier, t, _rrf(identifier.dense_scores(t), identifier.bm25_scores(t)))
    if name in ("fused", "ours"):
        chosen = None if name == "fused" else ranker or identifier.ranker()

        def run(t: str) -> Identification:
            if identifier.ranker() is not chosen:
                identifier.set_ranker(chosen)
            return identifier.identify(t)
        return run
    raise ValueError(f"unknown method {name!r}; choose from {', '.join(METHODS)}")


def run_methods(
    identifier: MatterIdentifier, utterances: Sequence[dict[str, str]], methods: Sequence[str],
    out_of_scope: Sequence[dict[str, str]] = (), progress: Progress | None = None,
) -> dict[str, MatterEvalResult]:
    """Every method on the same utterances; the query-vector cache is emptied before each, so each method's
    latency includes its own query embedding."""
    identifier.warm_up()
    out = {}
    for name in methods:
        run = method(identifier, name)
        clear = getattr(identifier.embedder, "clear_cache", None)
        if callable(clear):
            clear()
        out[name] = run_matter_eval(identifier, utterances, out_of_scope if name in ("fused", "ours") else (), progress,
                                    identify=run)
        identifier.reset_ranker()
    return out


def run_matter_eval(
    identifier: MatterIdentifier,
    utterances: Sequence[dict[str, str]],
    out_of_scope: Sequence[dict[str, str]] = (),
    progress: Progress | None = None,
    identify: Identify | None = None,
) -> MatterEvalResult:
    """Identify every utterance (query embedding and knowledge search included in the latency)."""
    identifier.warm_up()
    identify = identify or identifier.identify
    t1 = t5 = clarify = unknown = 0
    ms: list[float] = []
    misses: list[dict[str, object]] = []
    total = len(utterances) + len(out_of_scope)
    for n, u in enumerate(utterances, 1):
        start = time.perf_counter()
        ident = identify(u["text"])
        ms.append((time.perf_counter() - start) * 1000)
        ids = [c.id for c in ident.candidates]
        t1 += bool(ids) and ids[0] == u["matter_id"]
        t5 += u["matter_id"] in ids[:5]
        clarify += ident.decision == Decision.CLARIFY
        unknown += ident.decision == Decision.UNKNOWN
        if not ids or ids[0] != u["matter_id"]:
            misses.append({"text": u["text"], "expected": u["matter_id"], "got": ids[:3], "confidence": ident.confidence})
        if progress:
            progress(n, total)
    refused = None
    if out_of_scope:
        ok = 0
        for n, u in enumerate(out_of_scope, len(utterances) + 1):
            ok += identify(u["text"]).decision == Decision.UNKNOWN
            if progress:
                progress(n, total)
        refused = round(ok / len(out_of_scope), 4)
    k = max(len(utterances), 1)
    return MatterEvalResult(
        top1=round(t1 / k, 4), top5=round(t5 / k, 4), clarify_rate=round(clarify / k, 4),
        unknown_rate=round(unknown / k, 4), p50_ms=round(percentile(ms, 50), 2), p95_ms=round(percentile(ms, 95), 2),
        utterances=len(utterances), catalog=len(identifier.entries), out_of_scope_refused=refused, misses=misses,
    )


def fit_calibration(
    identifier: MatterIdentifier, utterances: Sequence[dict[str, str]], out_of_scope: Sequence[dict[str, str]],
    steps: int = 4000, lr: float = 0.5, more: Sequence[tuple[MatterIdentifier, Sequence[dict[str, str]]]] = (),
) -> tuple[float, ...]:
    """Logistic regression (plain numpy gradient descent) from identification features to P(top-1 right).
    `more`: further (identifier, utterances) pairs, e.g. a second catalogue, pooled into the same fit."""
    xs, ys = [], []
    for ident_, utts in ((identifier, utterances), *more):
        for u in utts:
            ident = ident_.identify(u["text"])
            xs.append(ident_.features(ident))
            ys.append(1.0 if ident.candidates and ident.candidates[0].id == u["matter_id"] else 0.0)
    for u in out_of_scope:
        xs.append(identifier.features(identifier.identify(u["text"])))
        ys.append(0.0)
    x = np.asarray(xs, dtype=np.float64)
    y = np.asarray(ys, dtype=np.float64)
    mu, sd = x.mean(axis=0), x.std(axis=0) + 1e-9
    z = np.hstack([np.ones((len(x), 1)), (x - mu) / sd])
    w = np.zeros(z.shape[1])
    # Class weights: out-of-scope and wrong answers are rarer than right ones but matter more.
    cw = np.where(y > 0.5, 1.0, max(1.0, y.sum() / max(1.0, (1 - y).sum())) ** 0.5)
    for _ in range(steps):
        p = 1 / (1 + np.exp(-z @ w))
        w -= lr * (z.T @ ((p - y) * cw)) / len(y)
    # back to raw feature scale: bias, then one weight per feature
    raw = w[1:] / sd
    bias = w[0] - float((w[1:] * mu / sd).sum())
    return (round(float(bias), 3), *(round(float(v), 3) for v in raw))


@dataclass(frozen=True)
class Labelled:
    """A training query for the ranker: its candidates' features, the right one's row, and whether the
    shortlist found it by itself (when not, the row was added for training, and evaluation counts a miss)."""

    group: Group
    matter: str
    found: bool


def collect(identifier: MatterIdentifier, utterances: Sequence[dict[str, str]]) -> list[Labelled]:
    identifier.warm_up()
    pos_of = {e.id: i for i, e in enumerate(identifier.entries)}
    out = []
    for u in utterances:
        target = pos_of.get(u["matter_id"])
        ch = identifier.channels(u["text"])
        if ch is None or target is None:
            continue
        short = list(identifier.shortlist(ch))
        found = target in short
        if not found:
            short.append(target)
        out.append(Labelled(Group(ch.x[short], short.index(target)), u["matter_id"], found))
    return out


def _fold(matter: str, folds: int) -> int:
    return int(hashlib.sha1(matter.encode("utf-8")).hexdigest(), 16) % folds


def _top1(ranker: Ranker, data: Sequence[Labelled]) -> float:
    ok = sum(d.found and int(np.argmax(ranker.score(d.group.x))) == d.group.label for d in data)
    return ok / max(len(data), 1)


def fit_ranker(data: Sequence[Labelled], folds: int = 5, l2: float = 0.01) -> tuple[Ranker, dict[str, object]]:
    """Fit on all data, after `folds`-fold cross-validation grouped by matter (a fold's matters never occur in
    its training data, as a catalogue the ranker has not seen). Returns the ranker and the report."""
    per_fold = []
    for k in range(folds):
        train = [d.group for d in data if _fold(d.matter, folds) != k]
        test = [d for d in data if _fold(d.matter, folds) == k]
        if train and test:
            per_fold.append(round(_top1(fit_listwise(train, l2=l2), test), 4))
    ranker = fit_listwise([d.group for d in data], l2=l2)
    report = {"utterances": len(data), "folds": folds, "cv_top1": per_fold,
              "cv_top1_mean": round(float(np.mean(per_fold)), 4) if per_fold else None,
              "train_top1": round(_top1(ranker, data), 4), "l2": l2}
    return ranker, report


DISTRICT = DATASETS.parent / "matters_district"
# The ranker's training data: the district catalogue's dev split and the 34-matter catalogue's utterances
# (never the district test split). Out-of-scope lines count against the 34-matter catalogue only: the
# district catalogue has 护照 and 驾驶证 matters, so they are in scope there.
FIT_SETS = ((DISTRICT / "catalog.jsonl", DISTRICT / "dev.jsonl", None),
            (DATASETS / "catalog.jsonl", DATASETS / "utterances.jsonl", DATASETS / "out_of_scope.jsonl"))


def fit_and_calibrate(
    build: Callable[[Sequence[CatalogEntry]], MatterIdentifier], rich: bool, folds: int = 5,
    progress: Callable[[str], None] | None = None,
) -> tuple[Ranker, dict[str, object]]:
    """Fit the ranker for one kind of catalogue on FIT_SETS (cross-validated), then its calibration."""
    from assistant.catalog import load_catalog_jsonl

    pairs: list[tuple[MatterIdentifier, list[dict[str, str]], list[dict[str, str]]]] = []
    data: list[Labelled] = []
    for catalog, utts_path, oos_path in FIT_SETS:
        entries = load_catalog_jsonl(catalog)
        ident = build(entries if rich else bare(entries))
        ident.set_ranker(None)
        utts = load_utterances(utts_path)
        data += collect(ident, utts)
        pairs.append((ident, utts, load_utterances(oos_path) if oos_path is not None else []))
        if progress:
            progress(f"{catalog.parent.name}: {len(utts)} utterances collected")
    ranker, report = fit_ranker(data, folds=folds)
    if progress:
        progress(f"ranker fitted: cross-validated top-1 {report['cv_top1_mean']}")
    for ident, _, _ in pairs:
        ident.set_ranker(ranker)
    (ident, utts, oos), *rest = sorted(pairs, key=lambda p: -len(p[2]))  # the set with out-of-scope lines first
    cal = fit_calibration(ident, utts, oos, more=[(i, u) for i, u, _ in rest])
    report["calibration"] = list(cal)
    return Ranker(ranker.names, ranker.mean, ranker.scale, ranker.weights, cal), report


def bare(entries: Sequence[CatalogEntry]) -> list[CatalogEntry]:
    return [e.bare() for e in entries]


def _main() -> None:  # pragma: no cover - manual calibration entry point
    import argparse
    import dataclasses

    import sqlalchemy as sa

    from assistant.catalog import load_catalog_jsonl
    from assistant.identify import build_identifier
    from ingest.pipeline import run_ingest
    from kb.embedding_pack import import_pack
    from kb.models import Actor
    from kb.runtime import KnowledgeBase
    from kb.settings import SAMPLES_DIR, KbSettings

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--catalog", type=Path, default=DATASETS / "catalog.jsonl")
    ap.add_argument("--utterances", type=Path, default=DATASETS / "utterances.jsonl")
    ap.add_argument("--out-of-scope", type=Path, default=DATASETS / "out_of_scope.jsonl")
    ap.add_argument("--registry", type=Path, default=None, help="a matters folder instead of --catalog")
    ap.add_argument("--bare", action="store_true", help="strip the catalogue to ids and titles")
    ap.add_argument("--calibrate", action="store_true")
    ap.add_argument("--write", action="store_true", help="store the fitted calibration in assistant/calibration.json")
    args = ap.parse_args()
    settings = KbSettings()  # the default home, as `qingsong serve` uses it
    kb = KnowledgeBase.build(settings)
    if not sa.inspect(kb.store.engine).has_table("items"):  # eval sits below api, whose migrations make tables
        raise SystemExit(f"no schema in {settings.db_url}; run `qingsong db upgrade` first")
    if not kb.store.list_items():  # the sample knowledge base, as `qingsong serve --bootstrap` loads it
        import_pack(kb.store, kb.embedder.name, SAMPLES_DIR / "kb.embeddings.npz")
        run_ingest(SAMPLES_DIR / "kb", kb, Actor(id="system", admin=True), publish=True)
    kb.warm_up()
    if args.registry:
        from assistant.catalog import MatterRegistry

        entries = MatterRegistry.from_folder(args.registry).entries()
    else:
        entries = load_catalog_jsonl(args.catalog)
    ident = build_identifier(kb, bare(entries) if args.bare else entries)
    utts, oos = load_utterances(args.utterances), load_utterances(args.out_of_scope)
    if args.calibrate:
        ident.config = dataclasses.replace(ident.config, calibration=FALLBACK_CALIBRATION)
        cal = fit_calibration(ident, utts, oos)
        print(f"calibration for {kb.embedder.name} ({'rich' if ident.rich else 'bare'}) =", cal)
        ident.config = dataclasses.replace(ident.config, calibration=cal)
        if args.write:
            save_calibration(kb.embedder.name, ident.rich, cal)
    print(json.dumps(run_matter_eval(ident, utts, oos).as_dict(), ensure_ascii=False, indent=2))


if __name__ == "__main__":  # pragma: no cover
    _main()
