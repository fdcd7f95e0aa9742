"""Answers from the knowledge base. The extractive composer (the default) selects sentences from the
retrieved chunks and cites each one; an optional OpenAI-compatible chat model may rephrase them, and
the output rail still checks whatever is sent.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Protocol

import httpx
from pydantic import BaseModel, ConfigDict

from assistant.aspects import Aspect, detect_aspects, sections_for
from assistant.compose import Block, answer_blocks, blocks_for, body, sections_of
from assistant.errors import ChatModelError, ChatModelTimeoutError
from assistant.models import Citation
from kb.models import SearchHit
from kb.text import normalize, split_sentences

log = logging.getLogger(__name__)

QUESTION = re.compile(r"[？?]|吗|(?<!着)呢|什么|怎么|怎样|如何|多久|多长时间|多长|多少|哪里|哪些|哪个|几天|几次|几个|几年|几岁|几号|几点|能不能|可不可以|是否|要不要|"
                      r"有没有|啥|在哪|哪儿|去哪")


def wanted_sections(question: str) -> tuple[str, ...]:
    """The section headings that answer a question's aspects (empty when it asks none)."""
    return sections_for(detect_aspects(question))


def is_question(text: str) -> bool:
    return bool(QUESTION.search(normalize(text)))


class Statement(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str
    citation: int  # index into ComposedAnswer.citations


class ComposedAnswer(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str
    statements: tuple[Statement, ...]
    citations: tuple[Citation, ...]
    hits: tuple[SearchHit, ...]
    llm_phrased: bool = False

    @property
    def empty(self) -> bool:
        return not self.statements


_LIST_NUMBER = re.compile(r"^\s*(?:\d{1,2}[.、．)）]|[（(]\d{1,2}[)）]|[-·•])\s*")


def _overlap(question: str, sentence: str) -> float:
    q = {c for c in normalize(question) if "\u4e00" <= c <= "\u9fff"}
    return len(q & set(sentence)) / (len(q) or 1)


class ExtractiveComposer:
    """Selected sentences from cited chunks; every statement carries its (item id, version)."""

    def __init__(self, max_sentences: int = 5, max_chars: int = 420) -> None:
        self.max_sentences = max_sentences
        self.max_chars = max_chars

    def compose(
        self, question: str, hits: Sequence[SearchHit], lead: str = "", prefer: Sequence[str] = ()
    ) -> ComposedAnswer:
        """`prefer`: item ids (the matter's own guide first) whose sections answer before any other item's."""
        if not hits:
            return ComposedAnswer(text="", statements=(), citations=(), hits=())
        rank = {item: n for n, item in enumerate(prefer)}
        hits = sorted(hits, key=lambda h: rank.get(h.item_id, len(rank)))  # stable: retrieval order otherwise
        sections = wanted_sections(question)
        pool = [h for h in hits if h.section in sections] if sections else []
        chosen: list[tuple[SearchHit, str]] = []
        if pool:
            # The question names a section (材料, 时限…): give that section of the best item, in order.
            best_item = pool[0].item_id
            for h in sorted((h for h in pool if h.item_id == best_item), key=lambda h: h.chunk_id):
                chosen.extend((h, s) for s in split_sentences(body(h)))
        else:
            scored = [(h, s, _overlap(question, s) + 0.3 * h.score) for h in hits[:3] for s in split_sentences(body(h))]
            top = sorted(scored, key=lambda x: -x[2])[: self.max_sentences]
            order = {id(x): n for n, x in enumerate(scored)}
            chosen = [(h, s) for h, s, _ in sorted(top, key=lambda x: order[id(x)])]
        if not pool:  # picked sentences are not a list: their numbers would read "2. … 4. … 1."
            chosen = [(h, _LIST_NUMBER.sub("", s)) for h, s in chosen]
        statements: list[Statement] = []
        citations: list[Citation] = []
        used: list[SearchHit] = []
        length = 0
        for h, sentence in chosen:
            if len(statements) >= self.max_sentences * 2 or length + len(sentence) > self.max_chars:
                break
            key = (h.item_id, h.version)
            idx = next((i for i, c in enumerate(citations) if (c.item_id, c.version) == key), None)
            if idx is None:
                citations.append(Citation(item_id=h.item_id, version=h.version, title=h.title))
                idx = len(citations) - 1
            if h not in used:
                used.append(h)
            statements.append(Statement(text=sentence, citation=idx))
            length += len(sentence)
        return ComposedAnswer(text=render(statements, citations, lead), statements=tuple(statements),
                              citations=tuple(citations), hits=tuple(used or hits[:1]))

    def compose_item(self, aspects: Sequence[Aspect], item_hits: Sequence[SearchHit], hours: bool = False,
                     title: str | None = None) -> ComposedAnswer:
        """The asked aspects answered from one item (all its chunks): blocks in the order asked, each quoting
        its section in the source's order with the list's own numbering, one citation per block. An FAQ
        answers with its 答复. Empty when the item says nothing about any asked aspect."""
        if not item_hits:
            return ComposedAnswer(text="", statements=(), citations=(), hits=())
        first = item_hits[0]
        name = title or first.title
        sections = sections_of(item_hits)
        blocks: list[Block] = []
        for aspect in list(aspects)[:2]:
            blocks.extend(blocks_for(aspect, name, sections, hours=hours))
        if not blocks and "答复" in sections:
            blocks = answer_blocks(sections)
        if not blocks:
            return ComposedAnswer(text="", statements=(), citations=(), hits=())
        citation = Citation(item_id=first.item_id, version=first.version, title=first.title)
        statements = [Statement(text="\n".join(x for x in (b.lead, *b.lines) if x), citation=0) for b in blocks]
        used = list({h.chunk_id: h for b in blocks for h in b.hits}.values())
        return ComposedAnswer(text=render(statements, (citation,), every=True), statements=tuple(statements),
                              citations=(citation,), hits=tuple(used))


def render(statements: Sequence[Statement], citations: Sequence[Citation], lead: str = "", every: bool = False) -> str:
    """Statements with their citation marker once per run of the same source (not "[1]" on every line);
    `every`: statements are whole blocks, each cited at its end."""
    lines: list[str] = []
    for n, s in enumerate(statements):
        last = every or n + 1 == len(statements) or statements[n + 1].citation != s.citation
        lines.append(f"{s.text}[{s.citation + 1}]" if last else s.text)
    body = "\n".join(lines)
    return "\n".join(x for x in (lead, body, sources_block(citations)) if x)


def sources_block(citations: Sequence[Citation]) -> str:
    """`[n]《title》item-id vN` lines: the format the output rail recognises as citations, not numbers."""
    if not citations:
        return ""
    return "来源：\n" + "\n".join(f"[{n}]《{c.title}》{c.item_id} v{c.version}" for n, c in enumerate(citations, 1))


# -- optional chat model ------------------------------------------------------------------------
class ChatModel(Protocol):
    """An OpenAI-compatible chat completion endpoint."""

    def complete(self, messages: list[dict[str, str]], temperature: float = 0.0) -> str: ...


class OpenAICompatibleChatModel:
    """POST {base_url}/chat/completions with httpx. `transport` lets tests and proxies plug in. The timeout
    is short by default (8 s): the model only ever helps, and a turn must not wait long for help."""

    def __init__(
        self, base_url: str, model: str, api_key: str | None = None, timeout: float = 8.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(timeout=timeout, headers=headers, transport=transport)

    def complete(self, messages: list[dict[str, str]], temperature: float = 0.0) -> str:
        try:
            r = self._client.post(f"{self.base_url}/chat/completions",
                                  json={"model": self.model, "messages": messages, "temperature": temperature})
            r.raise_for_status()
            return str(r.json()["choices"][0]["message"]["content"])
        except httpx.TimeoutException as exc:
            raise ChatModelTimeoutError(f"chat model at {self.base_url!r} did not answer within "
                                        f"{self._client.timeout.read}s; raise QINGSONG_LLM_TIMEOUT or check the server") from exc
        except (httpx.HTTPError, KeyError, IndexError, ValueError) as exc:
            raise ChatModelError(f"chat model at {self.base_url!r} failed: {exc}; check QINGSONG_LLM_BASE_URL and the key") from exc

    def close(self) -> None:
        self._client.close()


REPHRASE_PROMPT = (
    "你是政务服务助手。只能使用下面编号的原文句子回答市民的问题，不得添加原文没有的事实、数字或日期。"
    "每句话末尾保留原文的引用标记，如[1]。用简洁、礼貌的中文回答。"
)


class LlmAssist:
    """What the optional chat model may do: rephrase a composed answer, and (assistant/understanding.py) read a
    message into intents, matters and slot values. Its output is never trusted: answers pass the output rail,
    understandings pass the same validators as the rules."""

    def __init__(self, model: ChatModel) -> None:
        self.model = model

    def rephrase(self, question: str, composed: ComposedAnswer) -> ComposedAnswer:
        numbered = "\n".join(f"{s.text}[{s.citation + 1}]" for s in composed.statements)
        text = self.model.complete([
            {"role": "system", "content": REPHRASE_PROMPT},
            {"role": "user", "content": f"原文：\n{numbered}\n\n问题：{question}"},
        ])
        return composed.model_copy(update={"text": f"{text.strip()}\n{sources_block(composed.citations)}", "llm_phrased": True})
