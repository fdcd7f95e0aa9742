"""`qingsong audit replay TURN_ID`: a turn replays against the knowledge as it stood when it was answered.

The turn cites guide X v1; afterwards X is republished as v2 with different text and another item the turn
retrieved is retired. Replay against the pinned knowledge is identical (while replay against today's
knowledge differs) and both list what changed since. When the pinned version is then deleted from the
database, replay says it cannot rebuild that knowledge instead of answering from something else."""

from __future__ import annotations

import json
import sqlite3
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


def test_replay_uses_the_knowledge_of_its_time(container: Container, monkeypatch: pytest.MonkeyPatch) -> None:
    c = container
    first = c.assistant.turn("你好")
    result = c.assistant.turn(QUESTION, session_id=first.session_id)  # a second turn: state before is restored
    assert result.outcome.value == "answered" and [x.item_id for x in result.citations] == [GUIDE]
    old = result.citations[0].version
    other = next(h.item_id for h in result.trace.retrieved if h.item_id != GUIDE)  # retrieved, not cited
    home = c.settings.home

    report = replay_turn(c.assistant, c.guardrails.audit, result.turn_id, kb=c.kb)
    assert report.identical and report.retrieval_identical and not report.differences and not report.knowledge_changes
    assert report.turn == 2 and report.replayed.citations == ((GUIDE, old),) and report.reembedded == 0
    assert report.pinned_versions == len(c.kb.store.live_versions()) and report.pinned_chunks == len(c.kb.store.all_chunks())
    assert c.assistant.history(result.session_id)[-1]["id"] == result.turn_id  # the replay persisted nothing

    new = publish_new_version(c, GUIDE)
    c.kb.service.retire(other, SYSTEM, "test: superseded by a newer service")

    pinned = replay_turn(c.assistant, c.guardrails.audit, result.turn_id, kb=c.kb)
    assert pinned.identical and pinned.retrieval_identical and pinned.replayed == pinned.original
    assert pinned.replayed.citations == ((GUIDE, old),) and pinned.reembedded == 0
    changes = {k.item_id: k for k in pinned.knowledge_changes}
    assert set(changes) == {GUIDE, other}
    assert (changes[GUIDE].old_version, changes[GUIDE].current_version, changes[GUIDE].cited) == (old, new, True)
    assert changes[other].current_version is None and changes[other].retrieved and not changes[other].cited

    live = replay_turn(c.assistant, c.guardrails.audit, result.turn_id, kb=c.kb, against="live")
    assert not live.identical and not live.retrieval_identical
    assert any(d.startswith("citations:") for d in live.differences) and "新增" in live.reply_diff
    assert live.knowledge_changes == pinned.knowledge_changes

    out = cli(home, monkeypatch, result.turn_id, code=0)
    assert "IDENTICAL" in out and "against the knowledge of" in out
    assert f"{GUIDE} v{old} -> v{new} (cited)" in out and f"{other} v" in out and "no longer live (retrieved)" in out
    shown = json.loads(cli(home, monkeypatch, result.turn_id, "--live", "--json", code=1))
    assert shown["identical"] is False and shown["against"] == "live" and "新增" in shown["reply_diff"]

    with pytest.raises(ReplayError, match="no 'turn.finalised'"):
        replay_turn(c.assistant, c.guardrails.audit, "turn-404", kb=c.kb)

    # the pinned version disappears from the database: replay refuses and says why
    con = sqlite3.connect(home / "qingsong.db")
    con.execute("DELETE FROM item_versions WHERE item_id = ? AND number = ?", (GUIDE, old))
    con.commit()
    con.close()
    with pytest.raises(ReplayError, match=rf"{GUIDE} v{old} \(retrieved or cited by the turn\) is missing from item_versions"):
        replay_turn(c.assistant, c.guardrails.audit, result.turn_id, kb=c.kb)
    out = CliRunner().invoke(app, ["audit", "replay", result.turn_id])
    assert out.exit_code == 2 and "cannot replay turn" in out.output and "--live" in out.output
    assert not replay_turn(c.assistant, c.guardrails.audit, result.turn_id, kb=c.kb, against="live").identical


def test_edited_pinned_content_is_refused(container: Container) -> None:
    """A version row rewritten in place (content changed, hash column kept) is not silently replayed."""
    c = container
    result = c.assistant.turn("居住证快到期了怎么办")
    cited = result.citations[0] if result.citations else None
    assert cited is not None, result.reply
    assert replay_turn(c.assistant, c.guardrails.audit, result.turn_id, kb=c.kb).identical
    con = sqlite3.connect(c.settings.home / "qingsong.db")
    content = json.loads(con.execute("SELECT content FROM item_versions WHERE item_id = ? AND number = ?",
                                     (cited.item_id, cited.version)).fetchone()[0])
    content["title"] += "（已改）"
    con.execute("UPDATE item_versions SET content = ? WHERE item_id = ? AND number = ?",
                (json.dumps(content, ensure_ascii=False), cited.item_id, cited.version))
    con.commit()
    con.close()
    with pytest.raises(ReplayError, match="no longer matches its content hash"):
        replay_turn(c.assistant, c.guardrails.audit, result.turn_id, kb=c.kb)
