"""End-to-end answer evaluation over the sample knowledge base, and the answerability calibration.

Run: qingsong eval answers [eval/datasets/answers/questions.jsonl] [--json]

Each line of the dataset is a question written the way residents ask, with the item that answers it, the
asked aspect and a key fact the first sentence must contain (`{"id", "text", "item", "aspect", "fact"}`);
`item: null` marks a question the knowledge base cannot answer. Every question is asked in a fresh session
with no profile unless the case names one (`profile`, persona splits such as `test_personas.jsonl`). Metrics:
- aspect_accuracy: the aspect the answer path recognised first (trace rule `answer.aspects:`) is the labelled one
  (answerable questions that reached an answer path);
- first_sentence_hit: the first sentence of the reply contains the key fact (answerable questions naming one);
- contains_rate: the reply contains the case's `contains` string (a scope note, the hotline…), where given;
- wrong_matter_rate: an answer citing none of the expected item (answerable questions);
- false_unknown_rate: 不知道 or a hand-off although the item exists;
- false_answer_rate: an answer with citations to a question the knowledge base cannot answer;
- clarify_rate and p50/p95 ms per turn.

Calibration: `qingsong eval answers --calibrate [--write]` fits `assistant/answerability.json` on
`eval/datasets/answers/answerability.jsonl` (questions with the item that answers them, or null).
"""

from __future__ import annotations

import json
import re
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from assistant.answerability import CALIBRATION, FEATURES, Calibration, features, probability
from assistant.engine import Assistant
from assistant.models import Outcome, TurnResult
from kb.models import SearchFilters

DATA = Path(__file__).resolve().parent / "datasets" / "answers"
UNKNOWN_RULES = ("answer.unknown", "handoff.unknown")


@dataclass
class Case:
    id: str
    text: str
    item: str | None
    aspect: str | None
    fact: str | None
    profile: str | None = None  # the session's profile (persona splits); None: anonymous
    contains: str | None = None  # a string the whole reply must contain (a scope note, a hotline…)


@dataclass
class CaseResult:
    id: str
    text: str
    item: str | None
    outcome: str
    aspect: str | None
    expected_aspect: str | None
    first_sentence: str
    fact_hit: bool | None  # None: the case names no key fact
    cited: list[str]
    unknown: bool
    ms: float
    reply: str = ""
    contains_hit: bool | None = None


@dataclass
class AnswerReport:
    results: list[CaseResult] = field(default_factory=list)

    def metrics(self) -> dict[str, float | int]:
        pos = [r for r in self.results if r.item]
        with_fact = [r for r in pos if r.fact_hit is not None]
        must = [r for r in self.results if r.contains_hit is not None]
        neg = [r for r in self.results if not r.item]
        asked = [r for r in pos if r.expected_aspect and r.aspect is not None]
        answered = [r for r in pos if r.outcome == Outcome.ANSWERED.value and r.cited and not r.unknown]
        ms = sorted(r.ms for r in self.results)

        def rate(n: int, d: int) -> float:
            return round(n / d, 4) if d else 0.0

        return {
            "questions": len(self.results), "answerable": len(pos), "unanswerable": len(neg),
            "aspect_accuracy": rate(sum(r.aspect == r.expected_aspect for r in asked), len(asked)),
            "aspect_recognised": rate(len(asked), sum(1 for r in pos if r.expected_aspect)),
            "first_sentence_hit": rate(sum(bool(r.fact_hit) for r in with_fact), len(with_fact)),
            "contains_rate": rate(sum(bool(r.contains_hit) for r in must), len(must)),
            "answered_rate": rate(len(answered), len(pos)),
            "wrong_matter_rate": rate(sum(r.item not in r.cited for r in answered), len(pos)),
            "clarify_rate": rate(sum(r.outcome == Outcome.CLARIFYING.value for r in pos), len(pos)),
            "false_unknown_rate": rate(sum(r.unknown for r in pos), len(pos)),
            "false_answer_rate": rate(sum(bool(r.cited) and r.outcome == Outcome.ANSWERED.value for r in neg), len(neg)),
            "p50_ms": round(statistics.median(ms), 1) if ms else 0.0,
            "p95_ms": round(ms[min(len(ms) - 1, int(0.95 * len(ms)))], 1) if ms else 0.0,
        }

    def as_dict(self) -> dict[str, Any]:
        return {"metrics": self.metrics(), "results": [asdict(r) for r in self.results]}


def load_cases(path: Path) -> list[Case]:
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            d = json.loads(line)
            out.append(Case(id=str(d.get("id") or n), text=d["text"], item=d.get("item"), aspect=d.get("aspect"),
                            fact=d.get("fact"), profile=d.get("profile"), contains=d.get("contains")))
    return out


def first_sentence(reply: str) -> str:
    """The reply's first sentence: its first line, up to the first 。！？ (what a reader sees first)."""
    line = next((x.strip() for x in reply.splitlines() if x.strip()), "")
    m = re.search(r"[。！？!?]", line)
    return line[: m.end()] if m else line


def asked_aspect(r: TurnResult) -> str | None:
    rule = next((x for x in r.trace.rules if x.startswith("answer.aspects:")), None)
    if rule is None:
        return None
    first = rule.removeprefix("answer.aspects:").split(",")[0]
    return None if first == "none" else first


def run_case(assistant: Assistant, case: Case) -> CaseResult:
    r = assistant.turn(case.text, profile_id=case.profile)
    unknown = r.outcome == Outcome.HANDED_OFF or any(x in r.trace.rules for x in UNKNOWN_RULES)
    first = first_sentence(r.reply)
    return CaseResult(
        id=case.id, text=case.text, item=case.item, outcome=r.outcome.value, aspect=asked_aspect(r),
        expected_aspect=case.aspect, first_sentence=first, fact_hit=None if case.fact is None else case.fact in first,
        cited=[c.item_id for c in r.citations], unknown=unknown, ms=r.trace.ms, reply=r.reply,
        contains_hit=None if case.contains is None else case.contains in r.reply,
    )


def run_answers(assistant: Assistant, path: Path = DATA / "questions.jsonl") -> AnswerReport:
    return AnswerReport(results=[run_case(assistant, c) for c in load_cases(path)])


# -- calibration -------------------------------------------------------------------------------------
def feature_rows(assistant: Assistant, cases: Sequence[Case]) -> tuple[np.ndarray, np.ndarray]:
    """One row of answerability features per question; label 1 when the best item is the one that answers."""
    deps = assistant.deps
    xs, ys = [], []
    for c in cases:
        hits = deps.knowledge.search(c.text, top_k=8, filters=SearchFilters(as_of=deps.today()))
        f = features(c.text, hits)
        xs.append([f[k] for k in FEATURES])
        ys.append(1.0 if c.item and hits and hits[0].item_id == c.item else 0.0)
    return np.array(xs), np.array(ys)


def fit(x: np.ndarray, y: np.ndarray, l2: float = 0.01, steps: int = 20000, lr: float = 0.5) -> tuple[np.ndarray, float]:
    """Logistic regression by gradient descent (a handful of features, a few dozen rows)."""
    w, b = np.zeros(x.shape[1]), 0.0
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(x @ w + b)))
        g = p - y
        w -= lr * (x.T @ g / len(y) + l2 * w)
        b -= lr * float(g.mean())
    return w, b


def calibrate(assistant: Assistant, path: Path = DATA / "answerability.jsonl") -> tuple[Calibration, dict[str, Any]]:
    cases = load_cases(path)
    x, y = feature_rows(assistant, cases)
    w, b = fit(x, y)
    cal = Calibration(weights=tuple(round(float(v), 4) for v in w), bias=round(b, 4), fitted_on=path.name)
    probs = [probability(dict(zip(FEATURES, row, strict=True)), cal) for row in x.tolist()]
    # answer threshold: the lowest that keeps false answers at or below 5 % of the negatives; clarify below it
    neg = sorted((p for p, t in zip(probs, y, strict=True) if t == 0), reverse=True)
    answer = max(0.5, neg[max(0, int(0.05 * len(neg)))] + 1e-3) if neg else 0.5
    cal = cal.model_copy(update={"answer": round(min(answer, 0.95), 4), "clarify": round(min(answer, 0.95) * 0.6, 4)})
    pred = [p >= cal.answer for p in probs]
    report = {
        "rows": len(y), "answerable_top1": int(y.sum()),
        "precision": round(sum(p and t for p, t in zip(pred, y, strict=True)) / max(1, sum(pred)), 4),
        "recall": round(sum(p and t for p, t in zip(pred, y, strict=True)) / max(1, int(y.sum())), 4),
        "calibration": cal.model_dump(),
    }
    return cal, report


def write_calibration(cal: Calibration, embedder: str, path: Path = CALIBRATION) -> Path:
    """Store the calibration under the embedder's name, keeping those fitted for other embedders."""
    data = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    data[embedder] = cal.model_dump()
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path
