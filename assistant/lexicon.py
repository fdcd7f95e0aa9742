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
    actions: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = field(default_factory=dict)  # facet -> (query, title)
    bundle_cues: tuple[str, ...] = ()
    out_of_scope: tuple[str, ...] = ()  # services handled elsewhere: never guess a matter for them

    @classmethod
    def load(cls, path: Path = DEFAULT_LEXICON) -> Lexicon:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        expand: dict[str, tuple[str, ...]] = {}
        for spoken, official in (raw.get("expand") or {}).items():
            for word in str(spoken).split():
                expand[word] = tuple(dict.fromkeys(expand.get(word, ()) + tuple(official)))
        actions = {k: (tuple(v.get("query") or ()), tuple(v.get("title") or ())) for k, v in (raw.get("actions") or {}).items()}
        return cls(expand=expand, actions=actions, bundle_cues=tuple(raw.get("bundle_cues") or ()),
                   out_of_scope=tuple(raw.get("out_of_scope") or ()))

    def expansions(self, text: str) -> list[str]:
        return [term for word, terms in self.expand.items() if word in text for term in terms]

    def query_actions(self, text: str) -> set[str]:
        return {facet for facet, (cues, _) in self.actions.items() if any(c in text for c in cues)}

    def title_actions(self, title: str) -> set[str]:
        return {facet for facet, (_, cues) in self.actions.items() if any(c in title for c in cues)}

    def wants_bundle(self, text: str) -> bool:
        return any(c in text for c in self.bundle_cues)
