"""The engine end to end on the sample KB (hash embedder): persistence across a restart, the audit trail,
consent and hand-off records, the rails and the confirmation gate. Fakes only through our own ports."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import HTTPServer

import pytest

from assistant.answer import LlmAssist, OpenAICompatibleChatModel
from assistant.engine import Assistant
from assistant.models import Outcome, SourceKind
from assistant.store import AssistantStore
from guardrails.input_rails import InputVerdict
from guardrails.output_rails import OutputVerdict
from guardrails.rules import RuleHit, RuleVerdict
from kb.store import create_engine
from tests.assistant.test_answer import _Handler

pytestmark = pytest.mark.integration


def say(a: Assistant, lines: list[str], profile: str | None = None, session: str | None = None):
    out = []
    for line in lines:
        r = a.turn(line, session_id=session, profile_id=profile, principal_id=profile)
        session = r.session_id
        out.append(r)
    return out


SHOP_TO_CONFIRM = ["我想在松江开一家小饭馆", "租的", "商铺", "我自己办", "同意", "上海松江测试小饭馆",
                   "经营场所地址是上海市松江区方松街道样例路5号101室", "40平", "餐饮服务"]


def test_session_survives_a_restart(hash_assistant: Assistant) -> None:
    turns = say(hash_assistant, SHOP_TO_CONFIRM[:6], profile="c-test-zhangsan")
    sid = turns[-1].session_id
    assert turns[-1].outcome == Outcome.COLLECTING
    # A new assistant with a new engine over the same database file: nothing survives but what is in SQL.
    url = hash_assistant.deps.store.engine.url
    again = Assistant(replace(hash_assistant.deps, store=AssistantStore(create_engine(str(url)))))
    rest = say(again, SHOP_TO_CONFIRM[6:] + ["确认提交"], profile="c-test-zhangsan", session=sid)
    assert [r.outcome for r in rest][-2:] == [Outcome.AWAITING_CONFIRMATION, Outcome.SUBMITTED]
    assert rest[-1].application is not None and rest[-1].application.status == "submitted"
    history = again.history(sid)
    assert [h["idx"] for h in history] == list(range(1, 11))
    assert again.session(sid).phase.value == "next"  # the bundle offers the food licence next


def test_every_turn_is_audited_with_its_trace(hash_assistant: Assistant) -> None:
    [r] = say(hash_assistant, ["我的身份证310117198803120113丢了怎么补办？"])
    ev = hash_assistant.deps.audit.latest("turn.finalised", r.turn_id)  # type: ignore[attr-defined]
    assert ev is not None and ev.subject == r.turn_id
    data = ev.data
    assert "310117198803120113" not in str(data)  # the question is redacted before logs
    assert data["outcome"] == r.outcome.value and data["candidates"] and data["retrieved"]
    chunk = data["retrieved"][0]
    assert {"item_id", "version", "content_hash", "score", "parts"} <= set(chunk)
    assert {s["name"] for s in data["steps"]} >= {"screen_input", "dialogue", "advance"}


def test_consent_and_handoff_are_recorded(hash_assistant: Assistant) -> None:
    turns = say(hash_assistant, ["我想办个体户营业执照", "租的", "商铺", "我自己办", "同意", "转人工"], profile="c-test-zhangsan")
    sid = turns[0].session_id
    [consent] = hash_assistant.deps.store.consents(sid)
    assert consent["granted"] and consent["profile_id"] == "c-test-zhangsan" and consent["turn_id"] == turns[4].turn_id
    assert any(s.source.kind == SourceKind.ELICENCE for s in turns[4].slots)
    [handoff] = hash_assistant.deps.store.handoffs(sid)
    assert turns[-1].outcome == Outcome.HANDED_OFF and handoff["id"] == turns[-1].handoff_id
    assert [c["turn"] for c in handoff["conversation"]] == [1, 2, 3, 4, 5, 6]


def test_declined_consent_means_no_profile_value(hash_assistant: Assistant) -> None:
    turns = say(hash_assistant, ["居住证续签", "地址没变", "单位没变", "不同意"], profile="c-test-wujiu")
    assert turns[-1].outcome == Outcome.COLLECTING and not turns[-1].slots


def test_unknown_profile_names_the_list_command(hash_assistant: Assistant) -> None:
    with pytest.raises(Exception, match="qingsong profiles list"):
        hash_assistant.turn("你好", profile_id="c-nobody")


def test_no_path_reaches_submitted_without_a_confirmation_turn(hash_assistant: Assistant) -> None:
    """Random continuations of a finished form never submit unless the citizen sends an explicit confirmation."""
    rng = random.Random(7)
    noise = ["好", "行", "嗯", "可以", "对", "没问题吧", "提交吗？", "需要带什么材料？", "面积改成50平", "电话改成13800002222",
             "同意", "是的", "继续", "租的", "我要修改", "ok", "确认一下材料", "先不提交"]
    for _ in range(6):
        turns = say(hash_assistant, SHOP_TO_CONFIRM, profile="c-test-zhangsan")
        sid = turns[-1].session_id
        assert turns[-1].outcome == Outcome.AWAITING_CONFIRMATION
        for text in rng.sample(noise, 8):
            r = hash_assistant.turn(text, session_id=sid, profile_id="c-test-zhangsan", principal_id="c-test-zhangsan")
            assert r.outcome != Outcome.SUBMITTED and r.application is None, text


# -- rails through the ports ------------------------------------------------------------------------
class _SemanticBlocksShortAnswers:
    """An input rail whose similarity classifier refuses every short message (as a badly tuned one would).
    A fake through the port: it returns the real InputVerdict type."""

    def check(self, text: str, *, semantic: bool = True) -> InputVerdict:
        if not semantic:  # asked to defer the similarity rail (a form reply): it has not run
            return InputVerdict(text=text, redacted=text, semantic_pending=True)
        if len(text) <= 6:
            hit = RuleHit(id="sem.knn", version=1, verdict=RuleVerdict.BLOCK, detail="out_of_scope: fake")
            return InputVerdict(text=text, redacted=text, rules=(hit,), blocked=True, message="拒绝")
        return InputVerdict(text=text, redacted=text)


@pytest.fixture
def ports(hash_assistant: Assistant) -> Iterator[Assistant]:
    """The shared assistant with its ports restored after the test swaps some."""
    saved = replace(hash_assistant.deps)
    yield hash_assistant
    hash_assistant.deps = saved


def test_a_semantic_block_never_refuses_inside_a_form(ports: Assistant) -> None:
    """Residents were refused for '租的', '火灭了 继续办', '找到了 9231…' by the similarity rail: inside a form
    the message goes to the form (validated fields, or an answer behind the output rails) instead."""
    a = ports
    a.deps.input_rails = _SemanticBlocksShortAnswers()
    turns = say(a, ["我想在松江开一家小饭馆", "租的", "讲个笑话"], profile="c-test-zhangsan")
    # a form reply is screened without the similarity rail at all; had it run, its refusal would not count here
    assert turns[1].outcome == Outcome.COLLECTING and "in.semantic:deferred" in turns[1].trace.rules
    assert turns[2].outcome != Outcome.REFUSED and turns[2].outcome != Outcome.SUBMITTED
    assert a.session(turns[0].session_id).situations == {"premises": "rented"}  # the joke filled nothing


class _FailingOutputRail:
    def check(self, answer, citations, retrieved, live, as_of):  # type: ignore[no-untyped-def]
        return OutputVerdict(passed=False, reasons=("numbers not grounded",), message="未通过核验")


def test_answer_failing_the_output_rail_is_withheld(ports: Assistant) -> None:
    a = ports
    a.deps.output_rails = _FailingOutputRail()
    [r] = say(a, ["结婚登记需要带什么材料？"])
    assert r.outcome == Outcome.REFUSED and r.reply == "未通过核验" and not r.citations


@pytest.fixture
def llm_server() -> Iterator[str]:
    httpd = HTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()


def test_llm_phrased_answers_are_held_for_review_by_default(ports: Assistant, llm_server: str) -> None:
    a = ports
    a.deps.llm = LlmAssist(OpenAICompatibleChatModel(llm_server, "m"))
    _Handler.replies = ["结婚登记请带好身份证和户口簿[1]。"]
    [r] = say(a, ["结婚登记需要带什么材料？"])
    assert r.outcome == Outcome.HELD_FOR_REVIEW  # guardrails' HoldPolicy holds LLM-phrased answers ("*")
    held = a.deps.hold_queue.for_turn(r.turn_id)  # type: ignore[attr-defined]
    assert held is not None and held.citations
