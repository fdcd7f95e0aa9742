"""Adapter over the knowledge core: search, live versions, related items and one shared query vector.

Identification and knowledge search embed the same words; the retriever caches query vectors, so
asking it for the vector first means one embedding per turn, not two.
"""

from __future__ import annotations

import threading
from collections.abc import ItemsView, Iterator, Mapping
from typing import Any

import numpy as np

from kb.models import LiveVersion, SearchFilters, SearchHit
from kb.runtime import KnowledgeBase


class KbKnowledge:
    """Satisfies `assistant.ports.KnowledgeSearch` and adds what identification needs."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self.retriever = kb.retriever

    def search(
        self, query: str, top_k: int = 10, filters: SearchFilters | None = None, method: Any = "hybrid",
        per_item: int | None = None,
    ) -> list[SearchHit]:
        return self.retriever.search(query, top_k=top_k, filters=filters, method=method, per_item=per_item)

    def live(self) -> dict[str, LiveVersion]:
        return self.retriever.live()

    def query_vector(self, query: str) -> np.ndarray:
        return self.retriever.query_vector(query)

    def related(self) -> LiveRelated:
        """Item id -> related item ids, for knowledge votes through FAQs and review points. Live: re-read when
        the knowledge generation changes, so an FAQ published after start (or by the first-start bootstrap,
        after the assistant was built) is found without a restart."""
        return LiveRelated(self.kb)


class LiveRelated(Mapping[str, tuple[str, ...]]):
    """The related-items table of the knowledge base, cached per knowledge generation."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self._lock = threading.Lock()
        self._generation: int | None = None
        self._table: dict[str, tuple[str, ...]] = {}

    def _current(self) -> dict[str, tuple[str, ...]]:
        generation = self.kb.store.generation()
        with self._lock:
            if generation != self._generation:
                self._table = {i.id: tuple(i.related) for i in self.kb.store.list_items()}
                self._generation = generation
            return self._table

    def __getitem__(self, key: str) -> tuple[str, ...]:
        return self._current()[key]

    def items(self) -> ItemsView[str, tuple[str, ...]]:
        """One generation check for the whole walk (Mapping's default would check once per key)."""
        return self._current().items()

    def __iter__(self) -> Iterator[str]:
        return iter(self._current())

    def __len__(self) -> int:
        return len(self._current())
