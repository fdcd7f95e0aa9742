"""`qingsong audit replay TURN_ID`: a turn replays identically; after a new version of a cited guide is
published, replay reports the knowledge change and the different answer (library and CLI)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from api.cli_guardrails import audit_app
from api.container import SYSTEM, Container, build_container
from assistant.replay import ReplayError, replay_turn
from kb.embedders import HashEmbedder
from kb.lifecycle import ItemDraft
from kb.models import Section
from tests.conftest import make_settings

pytestmark = pytest.mark.e2e

QUESTION = "公积金怎么提取？需要什么材料"
GUIDE = "guide-hpf-withdraw-retire"

app = typer.Typer()
app.add_typer(audit_app, name="audit")
app.command("noop")(lambda: None)  # a group with two commands keeps `audit` as a sub-command


@pytest.fixture(scope="module")
def container(tmp_path_factory: pytest.TempPathFactory) -> Container:
    c = build_container(make_settings(tmp_path_factory.mktemp("replay") / "home"), embedder=HashEmbedder())
    assert c.bootstrap() is not None
    return c.warm_up()


def cli(home: Path, monkeypatch: pytest.MonkeyPatch, *args: str, code: int) -> str:
    monkeypatch.setenv("QINGSONG_HOME", str(home))
    monkeypatch.setenv("QINGSONG_EMBEDDER", "hash")
    result = CliRunner().invoke(app, ["audit", "replay", *args])
    assert result.exit_code == code, (args, result.output, result.exception)
    return result.stdout


def publish_new_version(c: Container, item_id: str) -> int:
    item = c.kb.store.get_item(item_id)
    assert item.current_version is not None
    v = c.kb.store.get_version(item_id, item.current_version)
    sections = tuple(Section(heading=s.heading, text=s.text + "\n3. 新增：申请人近期免冠照片1张。" if s.heading == "申请材料" else s.text)
                     for s in v.content.sections)
    draft = ItemDraft(id=item_id, kind=item.kind, owner=item.owner, level=item.level, audience=item.audience,
                      content=v.content.model_copy(update={"sections": sections}), effective_from=v.effective_from,
                      related=item.related, change_note="新增照片要求")
    new = c.kb.service.propose(draft, SYSTEM)
    c.kb.service.publish_direct(item_id, new.number, SYSTEM, "test")
    return new.number


def test_replay_identical_then_knowledge_changed(container: Container, monkeypatch: pytest.MonkeyPatch) -> None:
    c = container
    first = c.assistant.turn("你好")
    result = c.assistant.turn(QUESTION, session_id=first.session_id)  # a second turn: state before is restored
    assert result.outcome.value == "answered" and [x.item_id for x in result.citations] == [GUIDE]
    old = result.citations[0].version

    report = replay_turn(c.assistant, c.guardrails.audit, result.turn_id)
    assert report.identical and not report.differences and not report.knowledge_changes
    assert report.turn == 2 and report.replayed.citations == ((GUIDE, old),)
    assert c.assistant.history(result.session_id)[-1]["id"] == result.turn_id  # the replay persisted nothing

    home = c.settings.home
    shown = json.loads(cli(home, monkeypatch, result.turn_id, "--json", code=0))
    assert shown["identical"] is True

    new = publish_new_version(c, GUIDE)
    report = replay_turn(c.assistant, c.guardrails.audit, result.turn_id)
    assert not report.identical
    change = next(k for k in report.knowledge_changes if k.item_id == GUIDE)
    assert (change.old_version, change.current_version, change.cited) == (old, new, True)
    assert any(d.startswith("citations:") for d in report.differences) and "新增" in report.reply_diff

    out = cli(home, monkeypatch, result.turn_id, code=1)
    assert "DIFFERENT" in out and "knowledge changed since" in out and f"{GUIDE} v{old} -> v{new}" in out

    with pytest.raises(ReplayError, match="no 'turn.finalised'"):
        replay_turn(c.assistant, c.guardrails.audit, "turn-404")
    cli(home, monkeypatch, "turn-404", code=2)
