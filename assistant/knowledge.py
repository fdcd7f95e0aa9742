"""Adapter over the knowledge core: search, live versions, related items and one shared query vector.

Identification and knowledge search embed the same words; the retriever caches query vectors, so
asking it for the vector first means one embedding per turn, not two.
"""

from __future__ import annotations

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

    def related(self) -> dict[str, tuple[str, ...]]:
        """Item id -> related item ids, for knowledge votes through FAQs and review points."""
        return {i.id: tuple(i.related) for i in self.kb.store.list_items()}
