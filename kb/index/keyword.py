"""BM25 over jieba search-mode tokens (bm25s). Built in memory from the SQL store's live chunks."""

from __future__ import annotations

import bm25s
import numpy as np

from kb.models import Chunk
from kb.text import JiebaTokenizer


class Bm25Index:
    """An immutable BM25 snapshot over a list of chunks."""

    def __init__(self, tokenizer: JiebaTokenizer, chunks: list[Chunk]) -> None:
        self.tokenizer = tokenizer
        self.chunks = chunks
        self.position = {c.id: i for i, c in enumerate(chunks)}
        corpus = [tokenizer.tokens(c.text) or ["<empty>"] for c in chunks]
        self._bm25 = bm25s.BM25(k1=1.2, b=0.75)
        if corpus:
            self._bm25.index(corpus, show_progress=False)

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every chunk for the query (0 where no query token occurs)."""
        if not self.chunks:
            return np.zeros(0, dtype=np.float32)
        tokens = [t for t in self.tokenizer.tokens(query) if t in self._bm25.vocab_dict]
        if not tokens:
            return np.zeros(len(self.chunks), dtype=np.float32)
        return np.asarray(self._bm25.get_scores(tokens), dtype=np.float32)
