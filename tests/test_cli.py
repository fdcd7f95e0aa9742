"""The `qingsong` CLI as a user runs it (Typer's runner in-process, real store in a temp home)."""

import json

import pytest
from typer.testing import CliRunner

from api.cli import app
from tests.conftest import SAMPLES

pytestmark = pytest.mark.integration
runner = CliRunner()


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("QINGSONG_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("QINGSONG_EMBEDDER", "hash")
    monkeypatch.setenv("QINGSONG_SAMPLES_DIR", str(SAMPLES))
    return tmp_path / "home"


def run(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result.stdout


def test_ingest_search_show_history_retire_verify(home, tmp_path):
    out = json.loads(run("ingest", str(SAMPLES / "kb"), "--publish", "--json"))
    assert not out["skipped"] and out["changed"] > 100
    again = json.loads(run("ingest", str(SAMPLES / "kb"), "--publish", "--json"))
    assert again["changed"] == 0 and again["embedded"] == 0

    hits = json.loads(run("search", "老人七十岁有什么津贴", "--json", "--top-k", "3"))
    assert hits and set(hits[0]) >= {"item_id", "version", "kind", "title", "owner", "section", "score", "text"}
    only_faq = json.loads(run("search", "居住证", "--kind", "faq", "--json"))
    assert only_faq and {h["kind"] for h in only_faq} == {"faq"}

    assert "个体工商户设立登记" in run("kb", "show", "guide-individual-business-reg")
    assert "published" in run("kb", "history", "guide-individual-business-reg")
    listing = json.loads(run("kb", "list", "--owner", "sj-scjgj", "--json"))
    assert listing and {i["owner"] for i in listing} == {"sj-scjgj"}

    denied = runner.invoke(app, ["kb", "retire", "guide-shop-sign", "--reason", "测试退出", "--actor", "wang@sj-mzj"])
    assert denied.exit_code == 2 and "may not retire" in denied.stderr
    run("kb", "retire", "guide-shop-sign", "--reason", "测试退出", "--actor", "li@sj-lhsr")
    hits = json.loads(run("search", "门口挂招牌要审批吗", "--json", "--top-k", "10"))
    assert "guide-shop-sign" not in {h["item_id"] for h in hits}
    assert json.loads(run("index", "verify", "--json"))["ok"] is True


def test_lifecycle_commands_enforce_four_eyes(home, tmp_path):
    src = tmp_path / "src"
    from tests.ingest.sources import write_guide

    write_guide(src)
    run("ingest", str(src), "--actor", "zhang@sj-scjgj")
    run("kb", "submit", "guide-demo", "1", "--actor", "zhang@sj-scjgj")
    run("kb", "approve", "guide-demo", "1", "--actor", "zhang@sj-scjgj", code=2)
    run("kb", "approve", "guide-demo", "1", "--actor", "li@sj-scjgj")
    assert "published" in run("kb", "publish", "guide-demo", "1", "--actor", "li@sj-scjgj")
    write_guide(src, days=9)
    run("ingest", str(src), "--actor", "zhang@sj-scjgj")
    diff = run("kb", "diff", "guide-demo", "1", "2")
    assert "办理时限" in diff and "+9个工作日。" in diff
    assert json.loads(run("kb", "diff", "guide-demo", "1", "2", "--json"))["sections"]
    run("kb", "submit", "guide-demo", "2", "--actor", "zhang@sj-scjgj")
    run("kb", "reject", "guide-demo", "2", "--reason", "时限有误", "--actor", "zhang@sj-scjgj", code=2)  # the author
    assert "rejected" in run("kb", "reject", "guide-demo", "2", "--reason", "时限有误", "--actor", "li@sj-scjgj")
    write_guide(src, days=7)
    run("ingest", str(src), "--actor", "zhang@sj-scjgj")
    assert "withdrawn" in run("kb", "withdraw", "guide-demo", "3", "--actor", "zhang@sj-scjgj")


def test_bad_input_gives_clear_errors(home, tmp_path):
    run("search", "居住证", "--as-of", "2024-02-30", code=2)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "x.md").write_text("no front matter", encoding="utf-8")
    out = json.loads(run("ingest", str(bad), "--json", code=1))
    assert "no YAML front matter" in out["skipped"][0]["error"]


def test_index_rebuild(home):
    run("ingest", str(SAMPLES / "kb"), "--publish", "--json")
    out = json.loads(run("index", "rebuild", "--json"))
    assert out["ok"] and out["live_items"] > 100


def test_kb_due_lists_items_to_review_in_chinese_and_json(home, tmp_path):
    import datetime as dt

    from tests.ingest.sources import write_guide

    path = write_guide(tmp_path / "src")
    soon = (dt.date.today() + dt.timedelta(days=5)).isoformat()
    path.write_text(path.read_text(encoding="utf-8").replace(
        "effective_from: 2024-01-01", f"effective_from: 2024-01-01\nreview_due: {soon}"), encoding="utf-8")
    assert "没有需要复审" in run("kb", "due")
    run("ingest", str(tmp_path / "src"), "--publish")
    table = run("kb", "due", "--days", "10")
    assert "10 天内需处理的知识：1 条" in table and "guide-" in table
    rows = json.loads(run("kb", "due", "--days", "10", "--json"))
    assert [(r["item_id"], r["reason"], r["days_left"], r["date"]) for r in rows] == [
        ("guide-demo", "review_due", 5, soon)]
    assert json.loads(run("kb", "due", "--days", "3", "--json")) == []
    assert json.loads(run("kb", "due", "--days", "10", "--owner", "sj-mzj", "--json")) == []
