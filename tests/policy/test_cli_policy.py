"""The `policy`, `ratings` and `report` commands end to end on a freshly ingested sample KB."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from api.cli_policy import policy_app, ratings_app, report_app
from api.container import SYSTEM, Container, build_container
from kb.embedders import HashEmbedder
from kb.lifecycle import ItemDraft
from kb.settings import PROJECT_ROOT
from tests.conftest import make_settings

pytestmark = pytest.mark.e2e
DRAFT = PROJECT_ROOT / "samples" / "policy_drafts" / "policy-draft-digital-transform.md"

cli = typer.Typer()
cli.add_typer(policy_app, name="policy")
cli.add_typer(ratings_app, name="ratings")
cli.add_typer(report_app, name="report")


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Container]:
    """A writable home with the sample KB; the CLI finds it through QINGSONG_* variables."""
    path = tmp_path_factory.mktemp("cli-policy") / "home"
    c = build_container(make_settings(path), embedder=HashEmbedder())
    report = c.bootstrap()
    assert report is not None and not report.skipped
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("QINGSONG_HOME", str(path))
        mp.setenv("QINGSONG_EMBEDDER", "hash")
        mp.setenv("QINGSONG_ENVIRONMENT", "test")
        mp.setenv("QINGSONG_SAMPLES_DIR", str(PROJECT_ROOT / "samples"))
        mp.setenv("COLUMNS", "200")
        yield c


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def test_policy_match_json_lists_verdicts_conditions_and_citations(home: Container) -> None:
    code, out = run("policy", "match", "--enterprise", "e-demo-catering", "--as-of", "2026-11-27", "--json")
    assert code == 0, out
    policies = json.loads(out)
    assert {"policy_id", "version", "verdict", "conditions", "citation"} <= set(policies[0])
    by_id = {p["policy_id"]: p for p in policies}
    stable = by_id["policy-stable-jobs-2024"]
    assert stable["verdict"] == "eligible" and stable["mianshen"]
    assert stable["notification"]["new"] is True and stable["notification"]["amount"] == 45 * 260
    assert stable["citation"]["doc_number"] == "松人社规〔2024〕2号"
    leaf = next(c for c in stable["conditions"] if c.get("field") == "employees")
    assert (leaf["actual"], leaf["verdict"]) == (45, "met")
    code, out = run("policy", "match", "--enterprise", "e-demo-catering", "--as-of", "2026-11-27", "--json")
    assert json.loads(out)[0]["policy_id"] and not any(
        p["notification"] and p["notification"]["new"] for p in json.loads(out))  # idempotent


def test_policy_match_text_explains_each_verdict(home: Container) -> None:
    code, out = run("policy", "match", "--enterprise", "e-sample-tech", "--as-of", "2026-11-27", "--no-notify")
    assert code == 0, out
    assert "引用 policy-high-tech-award 第1版" in out and "松府规〔2024〕3号" in out
    assert "档案值 闵行区" in out and "不符合" in out
    code, out = run("policy", "match", "--enterprise", "e-nope")
    assert code == 2 and "no enterprise profile 'e-nope'" in out


def test_policy_simulate(home: Container) -> None:
    code, out = run("policy", "simulate", str(DRAFT), "--json")
    assert code == 0, out
    data = json.loads(out)
    assert data["profiles"] >= 200 and data["eligible"] + data["not_eligible"] + data["needs_info"] == data["profiles"]
    assert data["top_exclusions"][0]["excluded"] >= data["top_exclusions"][-1]["excluded"]
    assert data["total_cost"] > 0
    code, out = run("policy", "simulate", str(DRAFT))
    assert code == 0 and "资金测算" in out and "只因这一条" in out


def test_bad_rating_to_resolved_ticket_and_report(home: Container, tmp_path: Path) -> None:
    code, out = run("ratings", "rate", "turn-cli-1", "--score", "1", "--reason", "信息过时",
                    "--comment", "补贴标准已经调整了", "--cite", "policy-hire-subsidy:1", "--json")
    assert code == 0, out
    ticket = json.loads(out)["tickets"][0]
    assert ticket["unit"] == "sh-rsj" and ticket["status"] == "open"
    code, out = run("ratings", "list", "--unit", "sh-rsj", "--json")
    assert [t["id"] for t in json.loads(out)] == [ticket["id"]]
    code, out = run("ratings", "resolve", ticket["id"], "--item", "policy-hire-subsidy", "--version", "2",
                    "--actor", "li@sh-rsj")
    assert code == 2 and "does not exist" in out
    # the owner unit publishes a corrected version, then links it
    kb = home.kb
    v1 = kb.store.get_version("policy-hire-subsidy", 1)
    item = kb.store.get_item("policy-hire-subsidy")
    draft = ItemDraft(id=item.id, kind=item.kind, owner=item.owner, level=item.level, audience=item.audience,
                      content=v1.content.model_copy(update={"title": v1.content.title + "（修订）"}),
                      effective_from=v1.effective_from, expires_at=v1.expires_at, change_note="好差评整改")
    v2 = kb.service.propose(draft, SYSTEM)
    kb.service.publish_direct(item.id, v2.number, SYSTEM)
    code, out = run("ratings", "resolve", ticket["id"], "--item", "policy-hire-subsidy", "--version",
                    str(v2.number), "--actor", "li@sj-rsj")
    assert code == 2 and "belongs to 'sh-rsj'" in out
    code, out = run("ratings", "resolve", ticket["id"], "--item", "policy-hire-subsidy", "--version",
                    str(v2.number), "--actor", "li@sh-rsj", "--note", "更新补贴标准")
    assert code == 0 and "resolved" in out
    code, out = run("ratings", "list", "--status", "resolved", "--json")
    assert json.loads(out)[0]["resolution"] == {"item_id": "policy-hire-subsidy", "version": v2.number}
    month = dt.datetime.now(dt.UTC).strftime("%Y-%m")
    code, out = run("report", "ratings", "--month", month, "--out", str(tmp_path))
    assert code == 0, out
    page = (tmp_path / f"ratings-{month}.html").read_text(encoding="utf-8")
    assert "data:image/png;base64," in page and "上海市人力资源和社会保障局" in page


def test_dispute_flow(home: Container) -> None:
    code, out = run("ratings", "rate", "turn-cli-2", "--score", "2", "--reason", "态度", "--cite",
                    "guide-company-reg:1", "--json")
    assert code == 0, out
    ticket = json.loads(out)["tickets"][0]
    unit = ticket["unit"]
    code, out = run("ratings", "dispute", ticket["id"], "--reason", "答复内容与现行办事指南一致", "--kind", "恶意差评",
                    "--actor", f"zhang@{unit}")
    assert code == 0 and "disputed" in out
    code, out = run("ratings", "confirm-dispute", ticket["id"], "--reviewer", "zhang")
    assert code == 2 and "may not review it" in out
    code, out = run("ratings", "confirm-dispute", ticket["id"], "--reviewer", "wang")
    assert code == 0 and "dispute_confirmed" in out
