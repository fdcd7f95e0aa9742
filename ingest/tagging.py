"""Machine tagging from a controlled, versioned vocabulary: word rules plus jieba keyword matching."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from kb.models import Tag, TagSource, VersionContent
from kb.text import JiebaTokenizer

VOCABULARY_PATH = Path(__file__).with_name("vocabulary.yaml")


@dataclass(frozen=True)
class Vocabulary:
    version: int
    words: dict[str, tuple[str, ...]]  # tag -> trigger words
    category: dict[str, str]  # tag -> category

    @classmethod
    def load(cls, path: Path = VOCABULARY_PATH) -> Vocabulary:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        words: dict[str, tuple[str, ...]] = {}
        category: dict[str, str] = {}
        for cat, tags in data["categories"].items():
            for tag, spec in tags.items():
                words[tag] = tuple((spec or {}).get("words", []))
                category[tag] = cat
        return cls(int(data["version"]), words, category)

    def __contains__(self, tag: str) -> bool:
        return tag in self.words


def machine_tags(
    content: VersionContent, audience: tuple[str, ...], vocab: Vocabulary, tokenizer: JiebaTokenizer,
    author_tags: tuple[str, ...] = (),
) -> list[Tag]:
    """Tags with their reasons. Title words count as rules; body keywords need jieba to rank them high."""
    out: dict[str, Tag] = {}
    for a in audience:
        if a in vocab:
            out[a] = Tag(tag=a, source=TagSource.RULE, reason=f"vocab v{vocab.version}: audience {a}")
    title = content.title
    for tag, words in vocab.words.items():
        hit = next((w for w in words if w in title), None)
        if hit and tag not in out:
            out[tag] = Tag(tag=tag, source=TagSource.RULE, reason=f"vocab v{vocab.version}: title contains {hit!r}")
    body = title + "\n" + "\n".join(s.text for s in content.sections[:3])
    keywords = tokenizer.keywords(body, top_k=12)
    for tag, words in vocab.words.items():
        if tag in out:
            continue
        kw = next((k for k in keywords if k in words or any(w in k for w in words if len(w) >= 2)), None)
        if kw:
            out[tag] = Tag(tag=tag, source=TagSource.KEYWORD, reason=f"vocab v{vocab.version}: jieba keyword {kw!r}")
    for t in author_tags:
        out.pop(t, None)
    return list(out.values())
