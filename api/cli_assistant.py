"""CLI for the 边聊边办 assistant: `qingsong profiles|chat|ask` and `qingsong eval matters|dialogues|answers`.

The integrator registers these in api/cli.py:
    app.add_typer(profiles_app, name="profiles"); app.command("chat")(chat); app.command("ask")(ask)
    eval_app.command("matters")(eval_matters); eval_app.command("dialogues")(eval_dialogues)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from api.cli_common import container
from api.settings import Settings
from assistant.builder import load_samples
from assistant.engine import Assistant
from assistant.errors import AssistantError
from assistant.models import TurnResult
from assistant.profiles import ProfileStore

profiles_app = typer.Typer(help="Sample citizen and enterprise profiles (一人一档/一企一档).", no_args_is_help=True)

console = Console()
err = Console(stderr=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
ProfileOpt = Annotated[str | None, typer.Option("--profile", help="Act as this sample citizen/enterprise (see `qingsong profiles list`).")]
SessionOpt = Annotated[str | None, typer.Option("--session", help="Continue this conversation (the session id printed before).")]
MATTERS = Path("eval/datasets/matters")


def _print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2, default=str) + "\n")


def _fail(exc: Exception, code: int = 2) -> None:
    err.print(f"[red]错误 error:[/red] {exc}")
    raise typer.Exit(code)


def _assistant() -> Assistant:
    return container(bootstrap=True).assistant


def _profiles() -> ProfileStore:
    return load_samples(Settings())[1]


# -- profiles --------------------------------------------------------------------------------------
@profiles_app.command("list")
def profiles_list(as_json: JsonOpt = False) -> None:
    """List the sample profiles: id, kind (citizen|enterprise), name."""
    rows = [{"id": p.id, "kind": p.kind.value, "name": p.name} for p in _profiles().list()]
    if as_json:
        _print_json(rows)
        return
    t = Table(title=f"{len(rows)} profiles（全部为合成数据 synthetic）")
    for col in ("id", "kind", "name"):
        t.add_column(col)
    for r in rows:
        t.add_row(r["id"], r["kind"], r["name"])
    console.print(t)


@profiles_app.command("show")
def profiles_show(profile_id: str, as_json: JsonOpt = False) -> None:
    """Show one profile and its e-licences (expired ones marked)."""
    import datetime as dt

    try:
        p = _profiles().get(profile_id)
    except AssistantError as exc:
        _fail(exc)
        return
    if as_json:
        _print_json(p.model_dump(mode="json"))
        return
    console.print(f"[bold]{p.name}[/bold]  {p.id} ({p.kind.value})")
    for key, value in p.attributes.items():
        console.print(f"  {key}: {value}")
    t = Table(title="电子证照 e-licences")
    for col in ("type", "name", "number", "issuer", "expires", "status"):
        t.add_column(col)
    today = dt.date.today()
    for lic in p.elicences:
        status = "[red]已过期 expired[/red]" if lic.expired(today) else "有效"
        t.add_row(lic.type, lic.name, lic.number, lic.issuer, str(lic.expires_on or "长期"), status)
    console.print(t)


# -- one turn and the interactive chat -----------------------------------------------------------
def ask(
    text: Annotated[str, typer.Argument(help="What the citizen says, in plain Chinese.")],
    session: SessionOpt = None,
    profile: ProfileOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """One turn of the conversation; pass --session to continue it."""
    try:
        r = _assistant().turn(text, session_id=session, profile_id=profile, principal_id=profile)
    except AssistantError as exc:
        _fail(exc)
        return
    if as_json:
        _print_json(r.public())
        return
    render(r)
    err.print(f"[dim]session {r.session_id} · continue with --session {r.session_id}[/dim]")


def chat(profile: ProfileOpt = None, session: SessionOpt = None) -> None:
    """An interactive conversation in the terminal (type 退出 or press Ctrl-D to leave)."""
    try:
        a = _assistant()
        if profile:
            a.deps.profiles.get(profile)
    except AssistantError as exc:
        _fail(exc)
        return
    who = f"（以 {profile} 的身份）" if profile else "（未登录）"
    console.print(Panel(f"轻松办 · 边聊边办 {who}\n说说您想办的事，例如：我想在松江开一家小饭馆。输入“退出”结束。", style="cyan"))
    while True:
        try:
            text = console.input("[bold green]您：[/bold green]").strip()
        except (EOFError, KeyboardInterrupt):
            break
        if not text:
            continue
        if text in ("退出", "exit", "quit"):
            break
        try:
            r = a.turn(text, session_id=session, profile_id=profile, principal_id=profile)
        except AssistantError as exc:
            err.print(f"[red]{exc}[/red]")
            continue
        session = r.session_id
        render(r)
    if session:
        console.print(f"[dim]会话 session {session}[/dim]")


def render(r: TurnResult) -> None:
    """Reply, then the form with sources, the checklist, findings and the buttons."""
    head = f"[{r.outcome.value}]"
    if r.matter:
        conf = f" · 置信度 {r.matter.confidence:.2f}" if r.matter.confidence is not None else ""
        head += f" {r.matter.name}{conf}"
        if r.matter.bundle_name:
            head += f" · {r.matter.bundle_name} 第{r.matter.step}/{r.matter.steps}项"
    console.print(Panel(r.reply, title=head, title_align="left", border_style="blue"))
    if r.slots and r.outcome.value in ("awaiting_confirmation", "collecting"):
        t = Table(title="表单 form", show_lines=False)
        for col in ("字段", "值", "来源"):
            t.add_column(col)
        for s in r.slots:
            t.add_row(s.label, str(s.value), s.source_text)
        console.print(t)
    if r.checklist:
        t = Table(title="材料清单 checklist")
        for col in ("材料", "状态", "说明"):
            t.add_column(col)
        for c in r.checklist:
            t.add_row(c.name, {"waived": "[green]免交[/green]", "required": "需提交", "licence_expired": "[red]需提交[/red]"}[c.status.value], c.note)
        console.print(t)
    for f in r.findings:
        console.print(("[green]✓[/green] " if f.ok else "[yellow]⚠[/yellow] ") + f.explanation)
    if r.citations:
        console.print("[dim]引用 " + "；".join(f"{c.item_id} v{c.version}" for c in r.citations) + "[/dim]")
    if r.choices:
        console.print("[dim]可选：[/dim]" + "  ".join(f"[reverse] {c.label} [/reverse]" for c in r.choices))


# -- evaluations -------------------------------------------------------------------------------------
def eval_matters(
    catalog: Annotated[Path, typer.Option("--catalog", exists=True, help="JSONL: {\"id\",\"title\"} (+ aliases, description)")] = MATTERS / "catalog.jsonl",
    utterances: Annotated[Path, typer.Option("--utterances", exists=True, help="JSONL: {\"text\",\"matter_id\"}")] = MATTERS / "utterances.jsonl",
    bare: Annotated[bool, typer.Option("--bare", help="Use only ids and titles of the catalogue.")] = False,
    out_of_scope: Annotated[Path | None, typer.Option("--out-of-scope", help="JSONL of utterances that should get 不知道.")] = None,
    methods: Annotated[str, typer.Option("--methods", help="Comma-separated: dense, bm25, rrf, fused, ours.")] = "ours",
    fit_ranker: Annotated[bool, typer.Option("--fit-ranker", help="Fit the ranker on the dev sets (cross-validated) instead.")] = False,
    write: Annotated[bool, typer.Option("--write", help="With --fit-ranker: store the weights in assistant/ranker.json.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Matter identification: top-1, top-5, clarification and 不知道 rates, latency p50/p95, per method."""
    from assistant.catalog import load_catalog_jsonl
    from assistant.identify import build_identifier
    from eval.matters import METHODS, fit_and_calibrate, load_utterances, run_methods
    from eval.matters import bare as strip

    names = [m.strip() for m in methods.split(",") if m.strip()]
    unknown = [m for m in names if m not in METHODS]
    if unknown or not names:
        raise typer.BadParameter(f"unknown method {', '.join(unknown) or '(none)'}; choose from {', '.join(METHODS)}",
                                 param_hint="--methods")
    c = container(bootstrap=True)
    if fit_ranker:
        from assistant.ranker import save_ranker

        reports = {}
        for rich in (True, False):
            kind = "rich" if rich else "bare"

            def say(msg: str, kind: str = kind) -> None:
                err.print(f"[{kind}] {msg}")

            ranker, report = fit_and_calibrate(lambda e: build_identifier(c.kb, e), rich, progress=say)
            reports[kind] = report
            if write:
                save_ranker(c.kb.embedder.name, rich, ranker, report)
        if write:
            err.print("wrote assistant/ranker.json")
        _print_json(reports)
        return
    entries = load_catalog_jsonl(catalog)
    ident = build_identifier(c.kb, strip(entries) if bare else entries)
    oos = load_utterances(out_of_scope) if out_of_scope else []
    results = run_methods(ident, load_utterances(utterances), names, oos)
    if as_json:
        _print_json({m: r.as_dict() for m, r in results.items()} if len(names) > 1 else results[names[0]].as_dict())
        return
    first = next(iter(results.values()))
    t = Table(title=f"matter identification · {catalog.name}{' (bare titles)' if bare else ''} · "
                    f"{first.utterances} utterances · {first.catalog} entries")
    for col in ("method", "top1", "top5", "clarify_rate", "unknown_rate", "p50_ms", "p95_ms"):
        t.add_column(col, justify="right")
    for m, res in results.items():
        t.add_row(m, f"{res.top1:.3f}", f"{res.top5:.3f}", f"{res.clarify_rate:.3f}", f"{res.unknown_rate:.3f}",
                  f"{res.p50_ms:.1f}", f"{res.p95_ms:.1f}")
    console.print(t)
    for m, res in results.items():
        if res.out_of_scope_refused is not None:
            console.print(f"{m}: out-of-scope answered with 不知道: {res.out_of_scope_refused:.2f}")


def eval_answers(
    dataset: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="JSONL: {id, text, item, aspect, fact}.")] = Path("eval/datasets/answers/questions.jsonl"),
    calibrate: Annotated[bool, typer.Option("--calibrate", help="Fit the answerability calibration on --data instead.")] = False,
    data: Annotated[Path, typer.Option("--data", exists=True, dir_okay=False, help="JSONL: {text, item or null}.")] = Path("eval/datasets/answers/answerability.jsonl"),
    write: Annotated[bool, typer.Option("--write", help="With --calibrate: write assistant/answerability.json.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Ask every question in a fresh session: aspect accuracy, first-sentence hit, wrong-matter, false 不知道, false answers."""
    from eval.answers import calibrate as fit_calibration
    from eval.answers import run_answers, write_calibration

    if calibrate:
        c = container(bootstrap=True)
        cal, fitted = fit_calibration(c.assistant, data)
        _print_json(fitted)
        if write:
            err.print(f"wrote {write_calibration(cal, c.kb.embedder.name)}")
        return
    report = run_answers(_assistant(), dataset)
    if as_json:
        _print_json(report.as_dict())
        return
    t = Table(title=f"answers · {dataset.name} · {len(report.results)} questions")
    for col in ("id", "question", "outcome", "aspect", "first sentence"):
        t.add_column(col)
    for r in report.results:
        ok = (r.fact_hit is not False and r.contains_hit is not False) if r.item else not r.cited
        t.add_row(r.id, r.text, r.outcome, f"{r.aspect or '-'} / {r.expected_aspect or '-'}",
                  ("[green]" if ok else "[red]") + r.first_sentence[:60] + ("[/green]" if ok else "[/red]"))
    console.print(t)
    console.print("  ".join(f"{k}={v}" for k, v in report.metrics().items()))


def eval_dialogues(
    folder: Annotated[Path, typer.Argument(exists=True, file_okay=False, help="A folder of scenario YAML files.")] = Path("eval/datasets/dialogues"),
    as_json: JsonOpt = False,
) -> None:
    """Run every dialogue scenario; exit 1 if any fails."""
    from eval.dialogues import run_dialogues

    report = run_dialogues(_assistant(), folder)
    if as_json:
        _print_json(report.as_dict())
    else:
        t = Table(title=f"dialogue scenarios · {report.passed}/{report.scenarios} passed · {report.turns} turns")
        for col in ("scenario", "result", "turns", "outcomes / failures"):
            t.add_column(col)
        for r in report.results:
            detail = " → ".join(r.outcomes) if r.passed else "\n".join(r.failures[:4])
            t.add_row(r.name, "[green]PASS[/green]" if r.passed else "[red]FAIL[/red]", str(r.turns), detail)
        console.print(t)
        console.print("  ".join(f"{k}={v}" for k, v in report.metrics().items()))
    if not report.ok:
        raise typer.Exit(1)
