"""A catalogue-independent vocabulary for identification: colloquial expansions, action facets
(新办/续签/补领/变更/注销) and cues that favour 一件事 bundles. Data lives in `lexicon.yaml`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

DEFAULT_LEXICON = Path(__file__).with_name("lexicon.yaml")


@dataclass(frozen=True)
class Lexicon:
    expand: dict[str, tuple[str, ...]] = field(default_factory=dict)  # spoken word -> official terms
    concepts: dict[str, tuple[str, ...]] = field(default_factory=dict)  # more of them, for published catalogues
    actions: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = field(default_factory=dict)  # facet -> (query, title)
    bundle_cues: tuple[str, ...] = ()
    out_of_scope: tuple[str, ...] = ()  # services handled elsewhere: never guess a matter for them
    synonyms: dict[str, tuple[str, ...]] = field(default_factory=dict)  # term -> the other terms of its group
    fillers: tuple[str, ...] = ()  # words that name no service (请问, 怎么办, 在哪里), longest first
    version: int = 1

    @classmethod
    def load(cls, path: Path = DEFAULT_LEXICON) -> Lexicon:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        expand, concepts = _spoken(raw.get("expand")), _spoken(raw.get("concepts"))
        actions = {k: (tuple(v.get("query") or ()), tuple(v.get("title") or ())) for k, v in (raw.get("actions") or {}).items()}
        synonyms: dict[str, tuple[str, ...]] = {}
        for group in raw.get("synonyms") or ():
            terms = tuple(dict.fromkeys(str(t) for t in group))
            for t in terms:
                synonyms[t] = tuple(dict.fromkeys(synonyms.get(t, ()) + tuple(o for o in terms if o != t)))
        fillers = tuple(sorted({str(f) for f in raw.get("fillers") or ()}, key=len, reverse=True))
        return cls(expand=expand, concepts=concepts, actions=actions, bundle_cues=tuple(raw.get("bundle_cues") or ()),
                   out_of_scope=tuple(raw.get("out_of_scope") or ()), synonyms=synonyms, fillers=fillers,
                   version=int(raw.get("version") or 1))

    def expansions(self, text: str) -> list[str]:
        return [term for word, terms in self.expand.items() if word in text for term in terms]

    def concept_terms(self, text: str) -> list[str]:
        """Official terms for everyday words (`expand` and `concepts`): 当过兵 -> 退役军人."""
        return list(dict.fromkeys([*self.expansions(text),
                                   *(t for word, terms in self.concepts.items() if word in text for t in terms)]))

    def synonym_terms(self, text: str) -> list[str]:
        """The other terms of every synonym group a word of `text` belongs to (社保 -> 社会保险)."""
        return list(dict.fromkeys(o for term, others in self.synonyms.items() if term in text for o in others))

    def strip_fillers(self, text: str) -> str:
        """`text` without filler words (请问, 我想, 怎么办, 在哪里…); unchanged if nothing would be left."""
        out = text
        for f in self.fillers:
            out = out.replace(f, " ")
        out = " ".join(out.split())
        return out or text

    def query_actions(self, text: str) -> set[str]:
        return {facet for facet, (cues, _) in self.actions.items() if any(c in text for c in cues)}

    def title_actions(self, title: str) -> set[str]:
        return {facet for facet, (_, cues) in self.actions.items() if any(c in title for c in cues)}

    def wants_bundle(self, text: str) -> bool:
        return any(c in text for c in self.bundle_cues)


def _spoken(table: object) -> dict[str, tuple[str, ...]]:
    """`"生孩子 生娃": [出生, 新生儿]` -> one entry per spoken word."""
    out: dict[str, tuple[str, ...]] = {}
    for spoken, official in (table or {}).items():  # type: ignore[attr-defined]
        for word in str(spoken).split():
            out[word] = tuple(dict.fromkeys(out.get(word, ()) + tuple(official)))
    return out
