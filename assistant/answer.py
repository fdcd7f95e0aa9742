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

from assistant.errors import ChatModelError, ChatModelTimeoutError
from assistant.models import Citation
from kb.models import SearchHit
from kb.text import normalize, split_sentences

log = logging.getLogger(__name__)

# Question words -> the guide sections that answer them.
AMOUNT = re.compile(r"(一个月|每月|每个月|每年|一年|能|可以)(能|好|可以)?(领|发|拿|补|给)?(多少|几多)|(领|发|补贴|补助|津贴|给|拿)(多少|几多)|"
                    r"多少钱一个月|标准是多少|什么标准|金额|(津贴|补贴|补助|养老金|失业金|救助金|低保金?)[^，,。？?]{0,12}(多少|几多)|"
                    r"(多少|几多)[^，,。？?]{0,40}(每月|一个月|每个月)")
INTENT_SECTIONS: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = (
    (AMOUNT, ("补贴标准", "发放标准", "待遇标准", "补助标准", "申请条件")),
    (re.compile(r"材料|带什么|准备什么|要带|需要哪些东西|证件"), ("申请材料",)),
    (re.compile(r"多久|多长时间|几天|时限|多快|什么时候能|几个工作日|办好"), ("办理时限",)),
    (re.compile(r"多少钱|费用|收费|要钱|免费|花钱|交钱|付钱|收钱|工本费|要不要钱"), ("收费标准",)),
    (re.compile(r"打到哪|发到哪|怎么发|怎么领钱|发放|到账|打到|打进|发钱"), ("办理流程", "申请材料")),
    (re.compile(r"条件|资格|能不能办|可以办|符合|要求"), ("申请条件", "适用对象", "办理条件")),
    (re.compile(r"流程|步骤|怎么办|如何办|怎么申请|怎么弄|程序"), ("办理流程",)),
    (re.compile(r"在哪|地点|地址|哪里办|去哪"), ("办理地点",)),
    (re.compile(r"依据|法规|规定|哪条"), ("设定依据",)),
    (re.compile(r"电话|咨询"), ("咨询电话",)),
)
QUESTION = re.compile(r"[？?]|吗|(?<!着)呢|什么|怎么|怎样|如何|多久|多少|哪里|哪些|哪个|几天|几次|几个|几年|几岁|几号|能不能|可不可以|是否|要不要|"
                      r"有没有|啥")


def wanted_sections(question: str) -> tuple[str, ...]:
    q = normalize(question)
    out: list[str] = []
    for pattern, sections in INTENT_SECTIONS:
        if pattern.search(q):
            out.extend(sections)
    if AMOUNT.search(q) and not re.search(r"收费|费用|手续费|工本费|要钱|花钱", q):
        out = [s for s in out if s != "收费标准"]  # "一个月多少钱" asks what one receives, not what one pays
    return tuple(dict.fromkeys(out))


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


def _body(hit: SearchHit) -> str:
    """A chunk's text without its `title｜section：` prefix."""
    head, sep, rest = hit.text.partition("：")
    return rest if sep and "｜" in head else hit.text


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
                chosen.extend((h, s) for s in split_sentences(_body(h)))
        else:
            scored = [(h, s, _overlap(question, s) + 0.3 * h.score) for h in hits[:3] for s in split_sentences(_body(h))]
            top = sorted(scored, key=lambda x: -x[2])[: self.max_sentences]
            order = {id(x): n for n, x in enumerate(scored)}
            chosen = [(h, s) for h, s, _ in sorted(top, key=lambda x: order[id(x)])]
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


def render(statements: Sequence[Statement], citations: Sequence[Citation], lead: str = "") -> str:
    body = "\n".join(f"{s.text}[{s.citation + 1}]" for s in statements)
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
