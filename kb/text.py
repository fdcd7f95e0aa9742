"""Chinese text handling: normalisation, sentence splitting and one dedicated jieba tokenizer.

Only this module imports jieba, so the user dictionary (titles, matter names) lives in one place.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
import unicodedata
from collections.abc import Iterable

import jieba
import jieba.analyse

log = logging.getLogger(__name__)
jieba.setLogLevel(logging.WARNING)

_SPACE = re.compile(r"[ \t\u3000\xa0]+")
_BLANKLINES = re.compile(r"\n{3,}")
_SENTENCE_END = re.compile(r"(?<=[。！？；!?;])|\n+")
_TOKEN_OK = re.compile(r"[\w\u4e00-\u9fff]", re.UNICODE)

# Function words and colloquial fillers that carry no retrieval signal.
STOPWORDS = frozenset(
    """的 了 吗 呢 吧 啊 呀 么 嘛 哦 哈 和 与 及 或 等 是 在 有 我 你 他 她 它 我们 你们 他们 咱 咱们 这 那 这个 那个
    哪 哪个 哪些 什么 怎么 怎样 怎么样 如何 咋 咋办 咋整 请问 一下 一个 可以 能 能不能 可不可以 要 需要 想 想要 就 都 也 还 又
    去 到 给 让 被 把 从 对 为 为了 会 得 地 着 过 吧 嗯 哎 诶 个 些 多少 几 啥 么样 还是 以及 是否 请 谢谢 您 好""".split()
)


# Full-width ASCII letters, digits and a few symbols to half-width; Chinese punctuation (，；：！？（）) stays.
_HALF = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F) if chr(c) not in "，；：！？（）"}
_HALF[0x3000] = 0x20


def normalize(text: str) -> str:
    """Half-width letters and digits, unified whitespace and line ends, trimmed; Chinese punctuation kept.

    Short texts (a chat message and the parts the dialogue looks at) are normalised once and then served from
    a small cache, so the many steps of a turn that look at the same words do not redo the work."""
    return _normalize_short(text) if len(text) <= 512 else _normalize(text)


@functools.lru_cache(maxsize=4096)
def _normalize_short(text: str) -> str:
    return _normalize(text)


def _normalize(text: str) -> str:
    text = unicodedata.normalize("NFC", text).translate(_HALF)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _SPACE.sub(" ", text)
    text = "\n".join(line.strip() for line in text.split("\n"))
    return _BLANKLINES.sub("\n\n", text).strip()


def split_sentences(text: str) -> list[str]:
    """Split after 。！？； (and ASCII equivalents) and at line breaks; keep the punctuation."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]


class JiebaTokenizer:
    """A dedicated jieba tokenizer with a government user dictionary.

    The constructor is cheap; `warm_up()` loads the dictionary. Words added with `add_words`
    (matter names, item titles) are kept whole by the segmenter.
    """

    def __init__(self, words: Iterable[str] = ()) -> None:
        self._tk = jieba.Tokenizer()
        self._words: set[str] = set()
        self._lock = threading.Lock()
        self._ready = False
        self._pending = list(words)
        self._extractor: jieba.analyse.TFIDF | None = None

    def warm_up(self) -> JiebaTokenizer:
        with self._lock:
            if not self._ready:
                self._tk.initialize()
                self._ready = True
            self._flush()
        return self

    def add_words(self, words: Iterable[str]) -> None:
        with self._lock:
            self._pending.extend(words)
            if self._ready:
                self._flush()

    def _flush(self) -> None:
        for w in self._pending:
            w = w.strip()
            if 2 <= len(w) <= 24 and w not in self._words:
                self._tk.add_word(w, freq=20000)
                self._words.add(w)
        self._pending.clear()

    def cut(self, text: str) -> list[str]:
        self.warm_up()
        return [t for t in self._tk.lcut(normalize(text)) if t.strip()]

    def tokens(self, text: str) -> list[str]:
        """Search-mode tokens for BM25: sub-words of long words too, stopwords and punctuation dropped."""
        self.warm_up()
        out: list[str] = []
        for tok in self._tk.lcut_for_search(unicodedata.normalize("NFKC", text).lower()):
            tok = tok.strip()
            if not tok or tok in STOPWORDS or not _TOKEN_OK.search(tok):
                continue
            out.append(tok)
        return out

    def keywords(self, text: str, top_k: int = 8) -> list[str]:
        """TF-IDF keywords (jieba.analyse) over this tokenizer's dictionary."""
        self.warm_up()
        if self._extractor is None:
            extractor = jieba.analyse.TFIDF()  # loads the IDF table once
            extractor.tokenizer = self._tk
            extractor.postokenizer = jieba.posseg.POSTokenizer(self._tk)
            self._extractor = extractor
        return [w for w in self._extractor.extract_tags(normalize(text), topK=top_k) if w not in STOPWORDS]
