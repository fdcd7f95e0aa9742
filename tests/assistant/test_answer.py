"""Extractive answers cite every statement; the optional OpenAI-compatible model is tested against a tiny
server on loopback that this test starts."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from assistant.answer import ExtractiveComposer, LlmAssist, OpenAICompatibleChatModel, is_question, wanted_sections
from assistant.catalog import FieldType, FormField
from assistant.errors import ChatModelError
from assistant.understanding import LlmUnderstanding, UnderstandingContext
from kb.models import Kind, ScoreParts, SearchHit

pytestmark = pytest.mark.unit


def hit(item: str, section: str, text: str, version: int = 2, idx: int = 0, score: float = 0.9) -> SearchHit:
    return SearchHit(chunk_id=f"{item}:{version}:{idx}", item_id=item, version=version, kind=Kind.GUIDE, title="测试指南",
                     owner="sj-scjgj", section=section, text=f"测试指南｜{section}：{text}", score=score,
                     parts=ScoreParts(fused=score), content_hash="h")


HITS = [
    hit("guide-a", "办理流程", "网上申请。窗口受理。", idx=0),
    hit("guide-a", "办理时限", "承诺时限5个工作日。法定时限10个工作日。", idx=1),
    hit("guide-a", "申请材料", "1. 申请书原件1份。\n2. 身份证明（电子证照可免交）。", idx=2),
]


def test_section_questions_and_citations() -> None:
    assert wanted_sections("要多久能办好？") == ("办理时限",)
    assert wanted_sections("需要带什么材料？") == ("申请材料",)
    assert is_question("要多久能办好") and not is_question("租的")
    a = ExtractiveComposer().compose("要多久能办好？", HITS)
    assert [s.text for s in a.statements] == ["承诺时限5个工作日。", "法定时限10个工作日。"]
    assert all(s.citation == 0 for s in a.statements) and a.citations[0].item_id == "guide-a" and a.citations[0].version == 2
    assert "[1]" in a.text and "guide-a v2" in a.text


def test_preferred_items_answer_first() -> None:
    other = hit("guide-b", "申请材料", "别的事项的材料。", version=1, score=0.99)
    a = ExtractiveComposer().compose("需要什么材料", [other, *HITS], prefer=("guide-a",))
    assert {c.item_id for c in a.citations} == {"guide-a"}


class _Handler(BaseHTTPRequestHandler):
    replies: list[str] = []
    seen: list[dict] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).seen.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
        if self.path != "/v1/chat/completions":
            self.send_response(404)
            self.end_headers()
            return
        send_json(self, 200, {"choices": [{"message": {"role": "assistant", "content": type(self).replies.pop(0)}}]})

    def log_message(self, *args: object) -> None:
        return None


def send_json(handler: BaseHTTPRequestHandler, status: int, payload: object) -> None:
    """What a scripted OpenAI-compatible server answers: a JSON body with its length."""
    out = json.dumps(payload).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(out)))
    handler.end_headers()
    handler.wfile.write(out)


@pytest.fixture
def server() -> Iterator[str]:
    httpd = HTTPServer(("127.0.0.1", 0), _Handler)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()


def test_openai_compatible_model_rephrases_and_reads_slots(server: str) -> None:
    _Handler.seen.clear()
    _Handler.replies = ["一般5个工作日可以办好[1]。",
                        '好的：{"slots": [{"field": "area_sqm", "value": "四十", "person": "applicant"}, '
                        '{"field": "nope", "value": "x", "person": "applicant"}]}']
    model = OpenAICompatibleChatModel(server, "test-model", api_key="sk-test")
    llm = LlmAssist(model)
    composed = ExtractiveComposer().compose("要多久能办好？", HITS)
    phrased = llm.rephrase("要多久能办好？", composed)
    assert phrased.llm_phrased and phrased.text.startswith("一般5个工作日可以办好[1]。") and "guide-a v2" in phrased.text
    area = FormField(name="area_sqm", label="经营面积（平方米）", type=FieldType.NUMBER)
    read = LlmUnderstanding(llm.model).understand("大概四十平", UnderstandingContext(fields=(area,)))
    assert read is not None and [(p.field, p.value) for p in read.slots] == [("area_sqm", "四十")]  # "nope" is not a field
    first = _Handler.seen[0]
    assert first["auth"] == "Bearer sk-test" and first["body"]["model"] == "test-model"
    assert "承诺时限5个工作日" in first["body"]["messages"][1]["content"]


def test_model_failure_is_a_named_error(server: str) -> None:
    model = OpenAICompatibleChatModel(server.replace("/v1", "/wrong"), "m")
    with pytest.raises(ChatModelError, match="QINGSONG_LLM_BASE_URL"):
        model.complete([{"role": "user", "content": "hi"}])
