"""A turn pays only for what it uses (issue #17): replies that fill, confirm or correct a form field embed
nothing; a question mid-form pays for its embeddings, and a repeated text is embedded once. Counted through
the project's own embedder interface (the sample KB's embedder counts; `CachingEmbedder` wraps it)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from api.container import Container
from assistant.engine import Assistant
from assistant.models import Outcome, TurnResult
from guardrails.input_rails import InputVerdict
from guardrails.rules import RuleHit, RuleVerdict
from kb.embedders import CachingEmbedder, CountingEmbedder
from tests.assistant.conftest import make_assistant

pytestmark = pytest.mark.integration
PROFILE = "c-test-zhangsan"
FORM_REPLIES = ["租的", "商铺", "我自己办", "同意", "上海松江测试小饭馆", "经营场所地址是上海市松江区方松街道样例路5号101室",
                "40平", "餐饮服务", "不对，面积是120平米", "确认提交"]


@pytest.fixture(scope="module")
def wired(sample_container: Container, tmp_path_factory: pytest.TempPathFactory) -> tuple[Assistant, CountingEmbedder]:
    """The production wiring (pattern and semantic input rails) over the sample KB and its counting embedder."""
    cache = sample_container.kb.embedder
    assert isinstance(cache, CachingEmbedder) and isinstance(cache.inner, CountingEmbedder)
    return make_assistant(sample_container, Path(tmp_path_factory.mktemp("turn-cost")), semantic_rail=True), cache.inner


def counted_turn(a: Assistant, counter: CountingEmbedder, text: str, session: str | None) -> tuple[TurnResult, int]:
    before = counter.queries_embedded + counter.documents_embedded
    r = a.turn(text, session_id=session, profile_id=PROFILE, principal_id=PROFILE)
    return r, counter.queries_embedded + counter.documents_embedded - before


def test_form_replies_embed_nothing_and_a_question_mid_form_pays_once(wired: tuple[Assistant, CountingEmbedder]) -> None:
    a, counter = wired
    first, spent = counted_turn(a, counter, "我想在松江开一家小饭馆", None)
    assert spent >= 1 and first.outcome == Outcome.COLLECTING  # identification embeds the request
    sid, seen = first.session_id, set()
    for text in FORM_REPLIES:
        r, spent = counted_turn(a, counter, text, sid)
        seen.add(r.outcome)
        assert spent == 0, f"{text!r} ({r.outcome.value}) embedded {spent} texts"
        if r.outcome in (Outcome.COLLECTING, Outcome.AWAITING_CONFIRMATION):
            assert not any(rule.startswith("sem.knn") for rule in r.trace.rules), r.trace.rules
    assert {Outcome.COLLECTING, Outcome.AWAITING_CONFIRMATION, Outcome.SUBMITTED} <= seen

    second = a.turn("我想在松江开一家小饭馆", profile_id=PROFILE, principal_id=PROFILE)
    for text in FORM_REPLIES[:4]:
        a.turn(text, session_id=second.session_id, profile_id=PROFILE, principal_id=PROFILE)
    asked, spent = counted_turn(a, counter, "开饭馆要交哪些材料呢？", second.session_id)
    assert asked.outcome == Outcome.ANSWERED and asked.citations
    assert spent == 2  # the similarity rail (a passage) and the knowledge search (a query): both needed now
    again, spent = counted_turn(a, counter, "开饭馆要交哪些材料呢？", second.session_id)
    assert again.outcome == Outcome.ANSWERED and spent == 1  # the query vector comes from the cache


class _RumourRail:
    """Input rails whose similarity classifier holds every message for review (a rumour, as it judges): a fake
    through the port, returning the real verdict type, deferring the similarity rail when asked to."""

    def check(self, text: str, *, semantic: bool = True) -> InputVerdict:
        if not semantic:
            return InputVerdict(text=text, redacted=text, semantic_pending=True)
        hit = RuleHit(id="sem.knn", version=2, verdict=RuleVerdict.HOLD, detail="fabricated_policy: fake")
        return InputVerdict(text=text, redacted=text, rules=(hit,), hold=True)


class _PatternOnly:
    def check(self, text: str, *, semantic: bool = True) -> InputVerdict:
        return InputVerdict(text=text, redacted=text)


@pytest.fixture
def ports(hash_assistant: Assistant) -> Iterator[Assistant]:
    """The shared assistant with its ports restored after the test swaps some."""
    saved = replace(hash_assistant.deps)
    yield hash_assistant
    hash_assistant.deps = saved


def test_a_deferred_rail_still_holds_what_it_would_have_held(ports: Assistant) -> None:
    a = ports
    a.deps.input_rails = _RumourRail()  # outside a form the rail runs at once: its hold stops the start
    assert a.turn("我想在松江开一家小饭馆", profile_id=PROFILE, principal_id=PROFILE).outcome == Outcome.HELD_FOR_REVIEW
    a.deps.input_rails = _PatternOnly()
    sid = a.turn("我想在松江开一家小饭馆", profile_id=PROFILE, principal_id=PROFILE).session_id
    a.deps.input_rails = _RumourRail()
    filled = a.turn("租的", session_id=sid, profile_id=PROFILE, principal_id=PROFILE)
    assert filled.outcome == Outcome.COLLECTING and "in.semantic:deferred" in filled.trace.rules
    assert not any(r.startswith("sem.knn") for r in filled.trace.rules)  # never ran: the reply only filled a field
    asked = a.turn("开饭馆要交哪些材料呢？", session_id=sid, profile_id=PROFILE, principal_id=PROFILE)
    assert asked.outcome == Outcome.HELD_FOR_REVIEW  # it ran for the answer, and its hold held the answer
    assert any(r.startswith("sem.knn") and r.endswith(":hold") for r in asked.trace.rules), asked.trace.rules
