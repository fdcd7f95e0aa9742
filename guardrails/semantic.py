"""Semantic input rail: k nearest labelled exemplars in embedding space.

Pattern rules are precise and explainable but miss paraphrases; this rail generalises from labelled
examples (must-refuse prompts by category, and legitimate look-alikes) with the same embedder the knowledge
base uses. It refuses only when most of the k nearest exemplars are refusals and the nearest refusal is
closer than the nearest legitimate question by `margin`. Its hit names the exemplar it leaned on.

Exemplar vectors for the default embedder ship as a pack (`exemplars.<embedder>.npz`); for any other
embedder they are computed once at warm-up.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from guardrails.config import RULESETS_DIR, Category
from guardrails.errors import RuleSetError
from guardrails.pii import redact

if TYPE_CHECKING:
    from kb.embedders import Embedder

log = logging.getLogger(__name__)

EXEMPLARS_FILE = RULESETS_DIR / "exemplars.jsonl"


class Exemplar(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str
    label: Literal["refuse", "answer"]
    category: str


_PII_LABEL = re.compile(r"\[[^\[\]]{1,12}\]")
_LETTER = re.compile(r"[\u3400-\u9fffA-Za-z]")


_ADDRESS = re.compile(r"[\u4e00-\u9fff\d]{1,12}(路|街|弄|巷|村|大道|公路)[^\s]{0,4}?[\d一二三四五六七八九十百零〇]+(号|弄|室|栋|幢|楼)")
_ASKS = re.compile(r"[?？]|吗|怎么|如何|怎样|哪能|能不能|可不可以|可以|什么|啥|哪里|哪儿|为什么|帮我|给我|告诉|请你|你(要|能|会)|"
                   r"查|谁|找|搜|导出|列出|发给|提供|讲|说说|推荐|教|写|评价|分析|判断|预测|猜|编|生成|翻译|解释|回答|聊|"
                   r"ignore|tell|show|print|what|how|why|can you|please")


def content_chars(redacted_text: str) -> int:
    """Letters that carry meaning: Han and Latin, PII labels such as [身份证号] left out."""
    return len(_LETTER.findall(_PII_LABEL.sub("", redacted_text)))


def asks_something(text: str) -> bool:
    """A question or a request (吗, 怎么, 帮我, 查, 告诉…), as opposed to a statement that answers one."""
    return bool(_ASKS.search(text))


def is_data_reply(redacted_text: str) -> bool:
    """A reply that only gives data for a form (an address, or an identifier such as [身份证号] with a few words
    around it) and asks nothing. The semantic rail abstains on these; pattern rules still see them."""
    text = redacted_text.strip()
    if len(text) > 60 or _ASKS.search(text):
        return False
    return bool(_ADDRESS.search(text) or _PII_LABEL.search(text))


def text_key(text: str) -> str:
    return hashlib.sha256(text.strip().encode("utf-8")).hexdigest()[:24]


def load_exemplars(path: Path = EXEMPLARS_FILE) -> list[Exemplar]:
    out = []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise RuleSetError(f"cannot read exemplars {str(path)!r}: {exc}") from exc
    for n, line in enumerate(lines, 1):
        if line.strip():
            try:
                out.append(Exemplar.model_validate_json(line))
            except ValueError as exc:
                raise RuleSetError(f"{path}:{n}: bad exemplar ({exc})") from exc
    return out


def pack_path(embedder_name: str, folder: Path = RULESETS_DIR) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in embedder_name)
    return folder / f"exemplars.{safe}.npz"


def save_pack(path: Path, keys: list[str], vectors: np.ndarray) -> None:
    np.savez_compressed(path, keys=np.array(keys), vectors=vectors.astype(np.float16))


@dataclass(frozen=True)
class Neighbour:
    text: str
    label: str
    category: str
    similarity: float


@dataclass(frozen=True)
class SemanticVerdict:
    refuse: bool
    category: Category | None
    nearest_refusal: float
    nearest_answer: float
    neighbours: tuple[Neighbour, ...]

    def detail(self) -> str:
        top = self.neighbours[0] if self.neighbours else None
        lead = f"nearest {top.label}/{top.category} {top.similarity:.3f} “{top.text[:30]}”" if top else "no exemplars"
        return f"{lead}; refusal {self.nearest_refusal:.3f} vs answer {self.nearest_answer:.3f}"


class SemanticRail:
    id = "sem.knn"
    version = 2  # v2: other-citizen-data and rumour verdicts need a lookup or claim cue (input_rails)

    def __init__(
        self, embedder: Embedder, exemplars: list[Exemplar] | None = None, k: int = 3, margin: float = 0.0,
        exclude_exact: bool = False, pack_dir: Path = RULESETS_DIR, min_chars: int = 0,
    ) -> None:
        self.embedder = embedder
        self.exemplars = exemplars if exemplars is not None else load_exemplars()
        self.k = k
        self.margin = margin
        self.exclude_exact = exclude_exact  # evaluation only: a text never votes for itself
        self.min_chars = min_chars
        self.pack_dir = pack_dir
        self._matrix: np.ndarray | None = None
        self._keys: list[str] = []
        self._texts: list[str] = []  # redacted exemplar texts: what traces may show
        self._lock = threading.Lock()

    def warm_up(self) -> SemanticRail:
        """Load exemplar vectors from the pack, embed the ones it lacks."""
        with self._lock:
            if self._matrix is not None:
                return self
            texts = [redact(e.text) for e in self.exemplars]
            keys = [text_key(t) for t in texts]
            cached: dict[str, np.ndarray] = {}
            path = pack_path(self.embedder.name, self.pack_dir)
            if path.exists():
                with np.load(path) as data:
                    cached = {str(k): v.astype(np.float32) for k, v in zip(data["keys"], data["vectors"], strict=True)}
            missing = [i for i, k in enumerate(keys) if k not in cached]
            if missing:
                log.info("embedding %d guardrail exemplars with %s", len(missing), self.embedder.name)
                vectors = self.embedder.embed_documents([texts[i] for i in missing])
                for i, v in zip(missing, vectors, strict=True):
                    cached[keys[i]] = np.asarray(v, dtype=np.float32)
            matrix = np.vstack([cached[k] for k in keys]) if keys else np.zeros((0, 1), dtype=np.float32)
            norms = np.linalg.norm(matrix, axis=1, keepdims=True)
            self._matrix = matrix / np.where(norms == 0, 1, norms)
            self._keys = keys
            self._texts = texts
        return self

    def vectors(self) -> tuple[list[str], np.ndarray]:
        self.warm_up()
        assert self._matrix is not None
        return self._keys, self._matrix

    def classify(self, redacted_text: str) -> SemanticVerdict:
        if content_chars(redacted_text) < self.min_chars or is_data_reply(redacted_text):
            return SemanticVerdict(refuse=False, category=None, nearest_refusal=-1.0, nearest_answer=-1.0,
                                   neighbours=())
        keys, matrix = self.vectors()
        q = np.asarray(self.embedder.embed_documents([redacted_text])[0], dtype=np.float32)
        q = q / (np.linalg.norm(q) or 1.0)
        sims = matrix @ q
        if self.exclude_exact:
            sims = np.where(np.array(keys) == text_key(redacted_text), -2.0, sims)
        order = np.argsort(-sims)[: self.k]
        labels = [self.exemplars[i].label for i in order]
        refusals = sims[[i for i, e in enumerate(self.exemplars) if e.label == "refuse"]]
        answers = sims[[i for i, e in enumerate(self.exemplars) if e.label == "answer"]]
        top_refusal = float(refusals.max()) if refusals.size else -1.0
        top_answer = float(answers.max()) if answers.size else -1.0
        votes = labels.count("refuse")
        refuse = votes * 2 > len(labels) and top_refusal - top_answer > self.margin
        category = None
        if refuse:
            cats = Counter(self.exemplars[i].category for i in order if self.exemplars[i].label == "refuse")
            category = Category(cats.most_common(1)[0][0])
        neighbours = tuple(Neighbour(self._texts[i], self.exemplars[i].label, self.exemplars[i].category,
                                     float(sims[i])) for i in order)
        return SemanticVerdict(refuse=refuse, category=category, nearest_refusal=top_refusal,
                               nearest_answer=top_answer, neighbours=neighbours)


def exemplars_from_jsonl(path: Path, label: Literal["refuse", "answer"]) -> list[Exemplar]:
    """Read an eval-format file (text, category) as exemplars with the given label."""
    return [Exemplar(text=row["text"], label=label, category=row["category"])
            for row in (json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip())]
