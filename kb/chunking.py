"""Chinese-aware chunking: by the item's own sections first, then by sentence to a target size."""

from __future__ import annotations

import hashlib

from kb.models import Chunk, VersionContent
from kb.text import split_sentences


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def chunk_version(item_id: str, version: int, content: VersionContent, target_chars: int = 320) -> list[Chunk]:
    """Chunks of one version. Each chunk's text starts with `title｜section：` so short passages keep context."""
    out: list[Chunk] = []
    for section in content.sections:
        body = section.text.strip()
        if not body:
            continue
        prefix = f"{content.title}｜{section.heading}："
        for piece in _pack(split_sentences(body), target_chars):
            text = prefix + piece
            out.append(
                Chunk(
                    id=f"{item_id}:{version}:{len(out)}",
                    item_id=item_id,
                    version=version,
                    index=len(out),
                    section=section.heading,
                    text=text,
                    text_hash=text_hash(text),
                )
            )
    if not out:  # an item with only a title still needs to be findable
        text = content.title
        out.append(Chunk(id=f"{item_id}:{version}:0", item_id=item_id, version=version, index=0,
                         section="标题", text=text, text_hash=text_hash(text)))
    return out


def _pack(sentences: list[str], target: int) -> list[str]:
    """Greedily pack sentences into pieces of about `target` characters; overlong sentences are cut."""
    pieces: list[str] = []
    current = ""
    for s in sentences:
        while len(s) > target * 1.5:
            if current:
                pieces.append(current)
                current = ""
            pieces.append(s[:target])
            s = s[target:]
        if current and len(current) + len(s) > target:
            pieces.append(current)
            current = ""
        current = f"{current}\n{s}" if current else s
    if current:
        # fold a tiny tail into the previous piece instead of making a fragment
        if pieces and len(current) < target // 4:
            pieces[-1] = f"{pieces[-1]}\n{current}"
        else:
            pieces.append(current)
    return pieces
