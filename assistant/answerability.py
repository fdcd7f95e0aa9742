"""Honest answerability: answer, clarify or say 不知道, from the evidence of a knowledge search.

Used when matter identification finds no matter (many guides, policies and FAQs have none). Features of the
best item: dense cosine of its best chunk, how much of the question's own words its title and its text cover,
and whether it has a section for the asked aspect. A logistic calibration fitted on a labelled set
(`eval/datasets/answers/answerability.jsonl`: questions the sample knowledge answers and questions it does not;
`qingsong eval answers --calibrate --write`) turns them into a probability; two thresholds split answer /
clarify / 不知道. Services the lexicon marks as handled elsewhere (护照, 驾驶证…) are always 不知道.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from assistant.aspects import ANSWER_SECTIONS, detect_aspects, sections_for
from kb.models import SearchHit
from kb.text import normalize

CALIBRATION = Path(__file__).with_name("answerability.json")
FEATURES = ("dense", "title_cover", "text_cover", "aspect_cover")
# Words that ask rather than name: left out when measuring how much of the question an item covers.
_ASKING = re.compile(r"请问|一下|我想|我要|想问|问问|怎么|怎样|如何|什么|哪些|哪里|哪儿|在哪|多少|多久|多长时间|几天|能不能|可以|可不可以|"
                     r"需要|要不要|是否|有没有|办理|申请|的|了|吗|呢|啊|吧|呀|我|你们|你|我们|在|去|还|得|要|能|会|是|有|和|跟|"
                     r"材料|流程|条件|费用|收费|时间|地点|标准|钱|带|交|办|松江区?|上海市?|本市|本区")


class Verdict(StrEnum):
    ANSWER = "answer"
    CLARIFY = "clarify"
    UNKNOWN = "unknown"


class Decision(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    verdict: Verdict
    probability: float
    item_id: str | None
    title: str | None
    features: dict[str, float]


class Calibration(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    weights: tuple[float, ...] = (6.0, 2.5, 2.5, 1.0)
    bias: float = -7.5
    answer: float = 0.6  # probability at or above which the item answers
    clarify: float = 0.35  # at or above (and below `answer`): ask whether the item is what is meant
    fitted_on: str = "defaults"


def question_content(question: str) -> str:
    """The Han characters of what a question names, without the words that only ask."""
    return "".join(re.findall(r"[\u4e00-\u9fff]", _ASKING.sub("", normalize(question))))


def _bigrams(text: str) -> set[str]:
    return {text[i:i + 2] for i in range(len(text) - 1)}


def features(question: str, hits: Sequence[SearchHit]) -> dict[str, float]:
    """The evidence that the best item of a search answers the question (zeros when nothing was found)."""
    if not hits:
        return dict.fromkeys(FEATURES, 0.0)
    top = hits[0]
    own = [h for h in hits if h.item_id == top.item_id]
    content = question_content(question)
    grams = _bigrams(content)
    title = normalize(top.title)
    text = title + "".join(normalize(h.text) for h in own)
    title_cover = sum(c in title for c in content) / len(content) if content else 0.0
    text_cover = sum(g in text for g in grams) / len(grams) if grams else 0.0
    asked = sections_for(detect_aspects(question))
    sections = {h.section for h in own}
    aspect_cover = 0.5 if not asked else float(bool(sections & {*asked, *ANSWER_SECTIONS}))
    return {"dense": max(h.parts.dense or 0.0 for h in own), "title_cover": round(title_cover, 4),
            "text_cover": round(text_cover, 4), "aspect_cover": aspect_cover}


def probability(feats: dict[str, float], cal: Calibration) -> float:
    z = cal.bias + sum(w * feats[f] for w, f in zip(cal.weights, FEATURES, strict=True))
    return 1.0 / (1.0 + math.exp(-z))


class Answerability:
    """Decides answer / clarify / 不知道 for a question and the hits of a knowledge search."""

    def __init__(self, calibration: Calibration | None = None) -> None:
        self.calibration = calibration or Calibration()

    @classmethod
    def load(cls, path: Path = CALIBRATION, embedder: str | None = None) -> Answerability:
        """The calibration fitted for `embedder` (by name), else the first one in the file (the default's)."""
        if not path.exists():
            return cls()
        data = json.loads(path.read_text(encoding="utf-8"))
        entry = (data.get(embedder) if embedder else None) or next(iter(data.values()), None)
        return cls(Calibration.model_validate(entry) if entry else None)

    def decide(self, question: str, hits: Sequence[SearchHit], out_of_scope: bool = False) -> Decision:
        feats = features(question, hits)
        p = 0.0 if out_of_scope or not hits else probability(feats, self.calibration)
        cal = self.calibration
        verdict = Verdict.ANSWER if p >= cal.answer else Verdict.CLARIFY if p >= cal.clarify else Verdict.UNKNOWN
        top = hits[0] if hits else None
        return Decision(verdict=verdict, probability=round(p, 4), item_id=top.item_id if top else None,
                        title=top.title if top else None, features=feats)
