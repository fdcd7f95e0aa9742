"""The identification ranker (事项识别排序): text-overlap features of every catalogue entry for a query, and a
small linear model over them and the dense and keyword channels, fitted listwise (softmax over the catalogue)
on labelled utterances with cross-validation (`qingsong eval matters --fit-ranker`).

Why a ranker: on bare titles as governments publish them, no single channel is good enough (dense alone 0.56
top-1 on the district dev set, keyword channels less), and a hand-set weighted sum cannot tell when a title's
own words are in the question ("社保卡丢了" vs 社会保障卡（市民卡）补领) from when they only sound alike. The
features are catalogue-independent (shares of a title's characters and bigrams found in the question, directly
or through the synonym lexicon, dense similarity per field, the existing fused score); the weights are fitted
on our catalogues and transfer to catalogues the model has not seen, which is what the held-out evaluation
measures.

All features are computed for every entry at once with sparse matrix products, so scoring 5,000 entries costs
about as much as scoring 500.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pypinyin import lazy_pinyin
from scipy import sparse  # type: ignore[import-untyped]

from assistant.catalog import CatalogEntry
from assistant.lexicon import Lexicon

RANKER_FILE = Path(__file__).with_name("ranker.json")

FEATURES: tuple[str, ...] = (
    "dense", "dense_rel", "dense_title", "dense_alias", "dense_desc", "dense_rank",
    "bm25", "knowledge", "fused_rel",
    "tcov", "tcov_syn", "tcov_rel", "ucov", "qcov", "ecov", "dcov", "pcov",
    "core_in_query", "action", "bundle_cue", "title_len",
)

# Words that say what is done to the object of a title (申领, 登记…): the rest of the title is its core
# ("居住证积分申请" -> 居住证积分), and a question that contains the core names the object outright.
_ACTION_WORDS = re.compile(
    "(?:首次|初次)?(?:申领|申请|申报|登记|办理|核发|审批|审核|许可|备案|认定|变更|注销|补领|补发|补办|换领|换发|"
    "签注|续签|延续|延期|查询|提取|开具|出具|打印|激活|预约|缴存|缴纳|缴费|报销|办证|发放|领取|核准|确认|评审|举报|投诉|转移|迁入|迁出)")
_BRACKETS = re.compile(r"[（(][^）)]*[）)]")
_NON_CJK = re.compile(r"[^\u4e00-\u9fff0-9a-z]+")


def clean(text: str) -> str:
    """Lower-case Chinese, digits and letters only: the alphabet of the overlap features."""
    return _NON_CJK.sub(" ", text.lower()).strip()


def bigrams(text: str) -> set[str]:
    out: set[str] = set()
    for run in clean(text).split():
        out.update(run[i:i + 2] for i in range(len(run) - 1))
        if len(run) == 1:
            out.add(run)
    return out


def chars(text: str) -> set[str]:
    return {c for c in clean(text) if not c.isspace()}


def sound_bigrams(text: str) -> list[str]:
    """Toneless pinyin syllable bigrams of each run of Chinese characters: 结昏登记 and 结婚登记 share them,
    so homophone typos from pinyin input methods still match."""
    out: list[str] = []
    for run in re.findall(r"[\u4e00-\u9fff]+", text):
        syl = lazy_pinyin(run, errors="ignore")
        out.extend(f"{a}_{b}" for a, b in zip(syl, syl[1:], strict=False))
    return out


def sound_pairs(text: str) -> set[str]:
    return set(sound_bigrams(text))


def title_core(title: str) -> str:
    """The object a title is about, without bracketed notes and action words ("居民身份证换领、补领" -> 居民身份证)."""
    core = _ACTION_WORDS.sub("", _BRACKETS.sub("", title))
    core = re.sub(r"[、，,；;\s]+", "", core)
    return core if len(core) >= 2 else ""


class _Coverage:
    """One text field of every entry as an idf-weighted sparse matrix: `cover(q)` is, per entry, the share of
    the field's idf mass whose units occur in the query; `share(q)` the share of the query's mass in the field."""

    def __init__(self, docs: Sequence[set[str]], idf: dict[str, float]) -> None:
        self.vocab = {g: i for i, g in enumerate(sorted({g for d in docs for g in d}))}
        rows, cols, vals = [], [], []
        for r, d in enumerate(docs):
            for g in d:
                rows.append(r)
                cols.append(self.vocab[g])
                vals.append(idf.get(g, 1.0))
        shape = (len(docs), max(len(self.vocab), 1))
        self.matrix = sparse.csr_matrix((vals, (rows, cols)), shape=shape, dtype=np.float32)
        mass = np.asarray(self.matrix.sum(axis=1)).ravel()
        self.mass = np.where(mass > 0, mass, 1.0).astype(np.float32)
        self.binary = self.matrix.copy()
        self.binary.data[:] = 1.0
        self.idf = idf
        self.col_idf = np.ones(shape[1], dtype=np.float32)
        for g, j in self.vocab.items():
            self.col_idf[j] = idf.get(g, 1.0)

    def _vector(self, units: set[str]) -> tuple[np.ndarray, float]:
        """The query as a 0/1 row over the vocabulary, and its idf mass (units the catalogue lacks count 1)."""
        v = np.zeros(self.matrix.shape[1], dtype=np.float32)
        total = 0.0
        for g in units:
            total += self.idf.get(g, 1.0)
            j = self.vocab.get(g)
            if j is not None:
                v[j] = 1.0
        return v, total

    def cover(self, units: set[str]) -> np.ndarray:
        v, _ = self._vector(units)
        return np.asarray(self.matrix @ v).ravel() / self.mass

    def share(self, units: set[str]) -> np.ndarray:
        v, total = self._vector(units)
        if total <= 0:
            return np.zeros(self.matrix.shape[0], dtype=np.float32)
        return np.asarray(self.binary @ (v * self.col_idf)).ravel() / total


def _idf(docs: Sequence[set[str]]) -> dict[str, float]:
    df: dict[str, int] = {}
    for d in docs:
        for g in d:
            df[g] = df.get(g, 0) + 1
    n = max(len(docs), 1)
    return {g: math.log(1.0 + n / c) for g, c in df.items()}


@dataclass
class TextIndex:
    """The overlap side of the ranker: per entry, the title's bigrams, characters and pinyin pairs, the
    entry text's bigrams (title and aliases), the description's, and the title core."""

    title_bi: _Coverage
    title_ch: _Coverage
    title_py: _Coverage
    entry_bi: _Coverage
    desc_bi: _Coverage
    cores: list[str]
    aliases: list[tuple[str, ...]]
    title_len: np.ndarray

    @classmethod
    def build(cls, entries: Sequence[CatalogEntry]) -> TextIndex:
        t_bi = [bigrams(e.title) for e in entries]
        t_ch = [chars(e.title) for e in entries]
        t_py = [sound_pairs(e.title) for e in entries]
        e_bi = [bigrams(" ".join((e.title, *e.aliases))) for e in entries]
        d_bi = [bigrams(e.description) for e in entries]
        bi_idf = _idf([a | b for a, b in zip(t_bi, e_bi, strict=True)])
        return cls(
            title_bi=_Coverage(t_bi, bi_idf), title_ch=_Coverage(t_ch, _idf(t_ch)), title_py=_Coverage(t_py, _idf(t_py)),
            entry_bi=_Coverage(e_bi, bi_idf), desc_bi=_Coverage(d_bi, _idf(d_bi) if any(d_bi) else {}),
            cores=[title_core(e.title) for e in entries],
            aliases=[tuple(clean(a).replace(" ", "") for a in e.aliases if len(clean(a)) >= 2) for e in entries],
            title_len=np.log1p(np.asarray([len(e.title) for e in entries], dtype=np.float32)),
        )


@dataclass(frozen=True)
class QueryText:
    """The query as the overlap features see it: fillers stripped, and with the lexicon's synonyms added."""

    plain: str
    expanded: str
    extra: tuple[str, ...] = ()

    @classmethod
    def of(cls, query: str, lexicon: Lexicon) -> QueryText:
        plain = lexicon.strip_fillers(query)
        extra = tuple(dict.fromkeys(lexicon.synonym_terms(query) + lexicon.concept_terms(query)))
        return cls(plain=plain, expanded=" ".join([plain, *extra]), extra=extra)

    def search_text(self, query: str) -> str:
        """What the dense channel embeds: the question as written, then the official names the lexicon adds."""
        return " ".join([query, *self.extra]) if self.extra else query


def overlap_features(idx: TextIndex, q: QueryText) -> dict[str, np.ndarray]:
    """The text-overlap features of every entry (arrays of the catalogue's length)."""
    q_bi, x_bi = bigrams(q.plain), bigrams(q.expanded)
    tcov = idx.title_bi.cover(q_bi)
    tcov_syn = idx.title_bi.cover(x_bi)
    squeezed = clean(q.expanded).replace(" ", "")
    core = np.asarray([1.0 if (c and c in squeezed) or any(a in squeezed for a in al) else 0.0
                       for c, al in zip(idx.cores, idx.aliases, strict=True)], dtype=np.float32)
    return {
        "tcov": tcov, "tcov_syn": tcov_syn, "tcov_rel": tcov_syn - float(tcov_syn.max(initial=0.0)),
        "ucov": idx.title_ch.cover(chars(q.expanded)), "qcov": idx.entry_bi.share(q_bi),
        "ecov": idx.entry_bi.cover(x_bi), "dcov": idx.desc_bi.share(q_bi), "pcov": idx.title_py.cover(sound_pairs(q.plain)),
        "core_in_query": core, "title_len": idx.title_len,
    }


@dataclass(frozen=True)
class Ranker:
    """A linear scorer over standardised features; the score of an entry is w·(x - mean)/scale."""

    names: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    calibration: tuple[float, ...] | None = None  # logistic map to P(top is right), fitted after the weights

    def score(self, x: np.ndarray) -> np.ndarray:
        out: np.ndarray = ((x - self.mean) / self.scale) @ self.weights
        return out

    def as_dict(self) -> dict[str, object]:
        return {"features": list(self.names), "mean": [round(float(v), 5) for v in self.mean],
                "scale": [round(float(v), 5) for v in self.scale], "weights": [round(float(v), 5) for v in self.weights],
                "calibration": list(self.calibration) if self.calibration else None}

    @classmethod
    def from_dict(cls, d: dict[str, object]) -> Ranker:
        names = tuple(str(n) for n in d["features"])  # type: ignore[attr-defined]
        arr = {k: np.asarray(d[k], dtype=np.float32) for k in ("mean", "scale", "weights")}
        if names != FEATURES or any(len(v) != len(names) for v in arr.values()) or not np.all(arr["scale"] > 0):
            raise ValueError("ranker weights were fitted for other features; refit with `qingsong eval matters --fit-ranker`")
        cal = d.get("calibration")
        return cls(names, arr["mean"], arr["scale"], arr["weights"],
                   tuple(float(v) for v in cal) if isinstance(cal, list) else None)


def load_ranker(embedder: str, rich: bool, path: Path = RANKER_FILE) -> Ranker | None:
    try:
        table = json.loads(path.read_text(encoding="utf-8"))
        entry = (table.get(embedder) or {}).get("rich" if rich else "bare")
        return Ranker.from_dict(entry) if entry else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def save_ranker(embedder: str, rich: bool, ranker: Ranker, report: dict[str, object], path: Path = RANKER_FILE) -> None:
    table = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    table.setdefault(embedder, {})["rich" if rich else "bare"] = {**ranker.as_dict(), "fit": report}
    path.write_text(json.dumps(table, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")


@dataclass(frozen=True)
class Group:
    """One labelled query: the candidates' feature rows and the position of the right one."""

    x: np.ndarray  # (candidates, features)
    label: int


def fit_listwise(groups: Sequence[Group], l2: float = 0.01, steps: int = 600, lr: float = 0.3) -> Ranker:
    """Softmax (listwise) logistic regression: maximise log P(right candidate | the query's candidates).
    Plain numpy full-batch gradient descent on standardised features, with an L2 penalty."""
    allx = np.vstack([g.x for g in groups]).astype(np.float64)
    mean = allx.mean(axis=0)
    scale = np.maximum(allx.std(axis=0), 1e-3)  # a constant feature (no descriptions in a bare catalogue) stays 0
    zs = [((g.x - mean) / scale).astype(np.float64) for g in groups]
    w = np.zeros(allx.shape[1])
    m = np.zeros_like(w)
    v = np.zeros_like(w)
    for t in range(1, steps + 1):  # Adam: the features are on one scale after standardising, so it converges fast
        grad = l2 * w
        for z, g in zip(zs, groups, strict=True):
            s = z @ w
            p = np.exp(s - s.max())
            p /= p.sum()
            grad += (p @ z - z[g.label]) / len(groups)
        m = 0.9 * m + 0.1 * grad
        v = 0.999 * v + 0.001 * grad * grad
        w -= lr * (m / (1 - 0.9 ** t)) / (np.sqrt(v / (1 - 0.999 ** t)) + 1e-8)
    return Ranker(FEATURES, mean.astype(np.float32), scale.astype(np.float32), w.astype(np.float32))
