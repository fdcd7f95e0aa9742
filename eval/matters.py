"""Matter identification evaluation: top-1/top-5 accuracy, clarification rate and latency.

Run: qingsong eval matters --catalog eval/datasets/matters/catalog.jsonl \
         --utterances eval/datasets/matters/utterances.jsonl [--bare] [--json]
     (--bare strips the catalogue to ids and titles, like the held-out evaluation)

Calibration (refits the logistic map from identification features to P(top-1 right), using the dev
utterances plus out-of-scope ones labelled wrong):
     python -m eval.matters --calibrate --write            # rich catalogue (the YAML registry)
     python -m eval.matters --calibrate --write --bare     # bare titles
     QINGSONG_EMBEDDER=hash python -m eval.matters --calibrate --write   # for the unit-test embedder
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from assistant.catalog import CatalogEntry
from assistant.identify import FALLBACK_CALIBRATION, Decision, MatterIdentifier, save_calibration
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


def run_matter_eval(
    identifier: MatterIdentifier,
    utterances: Sequence[dict[str, str]],
    out_of_scope: Sequence[dict[str, str]] = (),
    progress: Progress | None = None,
) -> MatterEvalResult:
    """Identify every utterance (query embedding and knowledge search included in the latency)."""
    identifier.warm_up()
    t1 = t5 = clarify = unknown = 0
    ms: list[float] = []
    misses: list[dict[str, object]] = []
    total = len(utterances) + len(out_of_scope)
    for n, u in enumerate(utterances, 1):
        start = time.perf_counter()
        ident = identifier.identify(u["text"])
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
            ok += identifier.identify(u["text"]).decision == Decision.UNKNOWN
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
    steps: int = 4000, lr: float = 0.5,
) -> tuple[float, ...]:
    """Logistic regression (plain numpy gradient descent) from identification features to P(top-1 right)."""
    xs, ys = [], []
    for u in utterances:
        ident = identifier.identify(u["text"])
        xs.append(identifier.features(ident))
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
