"""CLI for 免申即享 matching, the 政策演算器, 好差评 tickets and the monthly report.

Typer sub-apps, registered in api/cli.py as `policy`, `ratings` and `report`. Each command is a thin call
into the library; `--json` prints machine-readable output. Events go to the knowledge base's EventSink
(the audit log once the container wires it).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from api.cli_common import container
from api.container import resolve_cli_actor
from api.settings import Settings
from assistant.errors import AssistantError
from feedback.errors import FeedbackError
from feedback.ratings import DisputeKind, Ticket, TicketStatus
from feedback.reports import write_report
from kb.errors import KbError
from policy.eligibility import NodeResult, Outcome, Verdict
from policy.errors import PolicyError
from policy.matching import load_enterprise_profiles
from policy.simulate import SimulationReport, simulate_draft

policy_app = typer.Typer(help="免申即享 policy matching and the 政策演算器 (policy simulator).", no_args_is_help=True)
ratings_app = typer.Typer(help="好差评: ratings and rectification tickets.", no_args_is_help=True)
report_app = typer.Typer(help="Reports: the monthly 好差评 report.", no_args_is_help=True)

console = Console()
err = Console(stderr=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
AsOfOpt = Annotated[str | None, typer.Option("--as-of", help="YYYY-MM-DD (default: today).")]
VERDICT_ZH = {Outcome.ELIGIBLE: "[green]符合[/green]", Outcome.NOT_ELIGIBLE: "[red]不符合[/red]",
              Outcome.NEEDS_INFO: "[yellow]需补充信息[/yellow]"}
MARK = {Verdict.MET: "[green]✓[/green]", Verdict.NOT_MET: "[red]✗[/red]", Verdict.UNKNOWN: "[yellow]?[/yellow]"}
ERRORS = (KbError, AssistantError, PolicyError, FeedbackError)


def _print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2, default=str) + "\n")


def _fail(exc: Exception) -> NoReturn:
    err.print(f"[red]错误 error:[/red] {escape(str(exc))}", highlight=False)
    raise typer.Exit(2)


def _date(value: str | None) -> dt.date:
    if not value:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        _fail(ValueError(f"--as-of {value!r} is not a date; use YYYY-MM-DD"))


def _value(v: Any) -> str:
    if v is None:
        return "（缺失）"
    if isinstance(v, float):
        return f"{v:.2f}".rstrip("0").rstrip(".")
    if isinstance(v, tuple | list):
        return "[" + "、".join(map(str, v)) + "]" if v else "[]"
    return str(v)


def _condition_line(n: NodeResult) -> str:
    indent = "  " * (n.depth + 1)
    if n.kind != "condition":
        return f"{indent}{MARK[n.verdict]} {escape(n.label)}"
    used = f"档案值 {_value(n.actual)}" + (f"（{n.derived_from}）" if n.derived_from else "")
    note = f" [dim]{escape(n.note)}[/dim]" if n.note else ""
    return f"{indent}{MARK[n.verdict]} {escape(n.label)}  [dim]{escape(used)}[/dim]{note}"


# -- policy --------------------------------------------------------------------------------------------------
@policy_app.command("match")
def policy_match(
    enterprise: Annotated[str, typer.Option("--enterprise", help="Enterprise profile id, e.g. e-syn-0001.")],
    as_of: AsOfOpt = None,
    notify: Annotated[bool, typer.Option(help="Record 免申即享 notifications for eligible policies.")] = True,
    as_json: JsonOpt = False,
) -> None:
    """Every in-force policy for one enterprise: verdict, each condition with the profile value, citation."""
    day = _date(as_of)
    c = container()
    try:
        report = c.policies.match_enterprise(enterprise, day, notify=notify)
    except ERRORS as exc:
        _fail(exc)
    if as_json:
        out = []
        for m in report.matches:
            item = m.as_json()
            note = report.notification_for(m.policy_id, m.version)
            item["notification"] = (note.model_dump(mode="json") | {"new": note.id in report.created}) if note else None
            out.append(item)
        _print_json(out)
        return
    console.print(f"[bold]{escape(report.enterprise_name or enterprise)}[/bold] ({escape(enterprise)}) · 截至 {day} · "
                  f"{len(report.matches)} 项现行政策")
    t = Table()
    for col in ("policy_id", "v", "结论", "免申即享", "测算金额", "文号"):
        t.add_column(col)
    for m in report.matches:
        amount = f"{m.amount.value:,.0f}" if m.amount and m.amount.value is not None else "-"
        t.add_row(m.policy_id, str(m.version), VERDICT_ZH[m.verdict], "是" if m.mianshen else "", amount,
                  m.citation.doc_number or "-")
    console.print(t)
    for m in report.matches:
        console.print(f"\n[bold]{escape(m.title)}[/bold] {VERDICT_ZH[m.verdict]}  [dim]引用 {m.policy_id} 第{m.version}版 · "
                      f"{m.citation.doc_number or '无文号'} · {m.citation.owner}[/dim]")
        if m.note:
            console.print(f"  [yellow]{escape(m.note)}[/yellow]")
        for n in m.conditions:
            console.print(_condition_line(n), highlight=False)
        if m.missing_fields:
            console.print(f"  需补充：{'、'.join(m.missing_fields)}")
    for note in report.notifications:
        state = "新生成" if note.id in report.created else "已存在"
        console.print(f"\n免申即享通知（{state}）{note.id}: {note.policy_id} v{note.policy_version}"
                      + (f"，金额 {note.amount:,.0f} 元" if note.amount is not None else ""))


@policy_app.command("simulate")
def policy_simulate(
    file: Annotated[Path, typer.Argument(help="A draft policy file (Markdown with front matter).")],
    as_of: AsOfOpt = None,
    profiles: Annotated[Path | None, typer.Option(help="Profiles folder (default: samples/profiles).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """政策演算: how many enterprises a draft policy covers, which conditions exclude most, what it costs."""
    day = _date(as_of) if as_of else None
    folder = profiles or Settings().samples_dir / "profiles"
    try:
        population = list(load_enterprise_profiles(folder).values())
        report = simulate_draft(file, population, as_of=day)
    except ERRORS as exc:
        _fail(exc)
    if as_json:
        _print_json(report.as_json())
        return
    _print_simulation(report, folder)


def _print_simulation(r: SimulationReport, folder: Path) -> None:
    console.print(f"[bold]{escape(r.title or r.policy_id or '政策草案')}[/bold]  截至 {r.as_of} · {r.profiles} 家企业档案（{folder}）")

    def share(n: int) -> str:
        return f"{n / r.profiles:.1%}" if r.profiles else "-"

    console.print(f"符合 {r.eligible}（{share(r.eligible)}）· 不符合 {r.not_eligible}（{share(r.not_eligible)}）· "
                  f"需补充信息 {r.needs_info}（{share(r.needs_info)}）")
    t = Table(title="条件排除情况（只因这一条被排除 = 去掉它即可多覆盖的企业数）")
    for col in ("条件", "满足", "不满足", "未知", "排除", "只因这一条"):
        t.add_column(col, justify="right" if col != "条件" else "left")
    for n in r.exclusions():
        t.add_row(escape(n.label), str(n.met), str(n.not_met), str(n.unknown), str(n.excluded or 0),
                  "-" if n.sole_blocker is None else str(n.sole_blocker))
    console.print(t)
    if r.missing_fields:
        console.print("缺失字段：" + "，".join(f"{f} {k}家" for f, k in r.missing_fields.items()))
    if r.amount_label:
        console.print(f"资金测算（{r.amount_label}）：符合条件企业合计 {r.total_cost or 0:,.0f} 元"
                      + (f"（{r.cost_unknown} 家缺少测算依据未计入）" if r.cost_unknown else "")
                      + f"；若需补充信息的企业全部符合，最多 {r.cost_if_needs_info_qualify or 0:,.0f} 元")


# -- ratings -------------------------------------------------------------------------------------------------
def _ticket_json(t: Ticket) -> dict[str, Any]:
    return t.model_dump(mode="json")


@ratings_app.command("list")
def ratings_list(
    unit: Annotated[str | None, typer.Option(help="Only this unit's tickets.")] = None,
    status: Annotated[TicketStatus | None, typer.Option(help="Only tickets in this status.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Rectification tickets (整改工单), oldest first."""
    c = container()
    tickets = c.ratings.list_tickets(unit=unit, status=status)
    if as_json:
        _print_json([_ticket_json(t) for t in tickets])
        return
    today = dt.date.today()
    t = Table(title=f"{len(tickets)} 张整改工单")
    for col in ("ticket", "unit", "status", "score", "reasons", "cited", "opened", "due", "resolution"):
        t.add_column(col)
    for x in tickets:
        due = f"[red]{x.due_on}[/red]" if x.overdue(today) else str(x.due_on)
        res = f"{x.resolution.item_id} v{x.resolution.version}" if x.resolution else (x.dispute_kind or "")
        t.add_row(x.id, x.unit, x.status.value, str(x.score), "、".join(x.reasons),
                  ", ".join(f"{c.item_id} v{c.version}" for c in x.cited), f"{x.opened_at:%Y-%m-%d}", due, str(res))
    console.print(t)


def _cited(values: list[str]) -> list[tuple[str, int]]:
    out = []
    for v in values:
        item, _, number = v.rpartition(":")
        if not item or not number.isdigit():
            _fail(ValueError(f"--cite {v!r}: write item_id:version, e.g. guide-company-reg:1"))
        out.append((item, int(number)))
    return out


@ratings_app.command("rate")
def ratings_rate(
    target_id: Annotated[str, typer.Argument(help="The turn id (answer) or application id (matter).")],
    score: Annotated[int, typer.Option(min=1, max=5, help="1 (很不满意) to 5 (非常满意).")],
    target: Annotated[str, typer.Option(help="answer or matter")] = "answer",
    reason: Annotated[list[str] | None, typer.Option(help="答非所问, 信息过时, 流程繁琐, 材料复杂, 态度, 其他")] = None,
    comment: Annotated[str | None, typer.Option(help="Free text; PII is redacted before it is stored.")] = None,
    cite: Annotated[list[str] | None, typer.Option(help="Cited knowledge as item_id:version (repeatable).")] = None,
    department: Annotated[str | None, typer.Option(help="The matter's department (unit id).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Record a rating (for demos and staff-entered ratings); a bad one opens tickets."""
    c = container()
    try:
        out = c.ratings.rate(target, target_id, score, reason or (), comment, _cited(cite or []), department)
    except ERRORS as exc:
        _fail(exc)
    if as_json:
        _print_json(out.model_dump(mode="json"))
        return
    console.print(f"rating {out.rating.id}: {out.rating.score} 分 → {', '.join(out.rating.units) or '未路由'}")
    for t in out.tickets:
        console.print(f"ticket {t.id} opened for {t.unit}, due {t.due_on}")


def _acting_unit(actor_spec: str, ticket: Ticket) -> tuple[str, str]:
    actor = resolve_cli_actor(actor_spec)
    if not actor.units:
        raise KbError(f"actor {actor_spec!r} belongs to no unit; act as name@{ticket.unit}")
    unit = ticket.unit if ticket.unit in actor.units else actor.units[0]
    return actor.id, unit


@ratings_app.command("resolve")
def ratings_resolve(
    ticket: str,
    item: Annotated[str, typer.Option("--item", help="The knowledge item that carries the fix.")],
    version: Annotated[int, typer.Option("--version", help="Its new version number.")],
    actor: Annotated[str, typer.Option("--actor", help="name@unit of the owner unit.")],
    note: Annotated[str, typer.Option(help="What was changed.")] = "",
) -> None:
    """Resolve a ticket by linking a newer knowledge version."""
    c = container()
    svc = c.ratings
    try:
        who, unit = _acting_unit(actor, svc.ticket(ticket))
        t = svc.resolve(ticket, unit, who, item, version, note)
    except ERRORS as exc:
        _fail(exc)
    console.print(f"{t.id}: {t.status.value} ({item} v{version})")


@ratings_app.command("dispute")
def ratings_dispute(
    ticket: str,
    reason: Annotated[str, typer.Option(help="Why the rating is wrong (checked by a reviewer).")],
    actor: Annotated[str, typer.Option("--actor", help="name@unit of the owner unit.")],
    kind: Annotated[DisputeKind, typer.Option(help="误评 or 恶意差评")] = DisputeKind.MISRATED,
) -> None:
    """Mark a ticket's rating as 误评/恶意差评; a reviewer must confirm it."""
    c = container()
    svc = c.ratings
    try:
        who, unit = _acting_unit(actor, svc.ticket(ticket))
        t = svc.dispute(ticket, unit, who, kind, reason)
    except ERRORS as exc:
        _fail(exc)
    console.print(f"{t.id}: {t.status.value} ({t.dispute_kind})")


def _review(ticket: str, reviewer: str, confirm: bool, note: str) -> None:
    c = container()
    try:
        t = c.ratings.review_dispute(ticket, reviewer, confirm, note)
    except ERRORS as exc:
        _fail(exc)
    console.print(f"{t.id}: {t.status.value}")


@ratings_app.command("confirm-dispute")
def ratings_confirm_dispute(
    ticket: str,
    reviewer: Annotated[str, typer.Option(help="The reviewer's name (not the one who disputed).")],
    note: Annotated[str, typer.Option()] = "",
) -> None:
    """Confirm a dispute: the ticket is closed without a fix."""
    _review(ticket, reviewer, True, note)


@ratings_app.command("reject-dispute")
def ratings_reject_dispute(
    ticket: str,
    reviewer: Annotated[str, typer.Option(help="The reviewer's name (not the one who disputed).")],
    note: Annotated[str, typer.Option()] = "",
) -> None:
    """Reject a dispute: the owner unit must still resolve the ticket."""
    _review(ticket, reviewer, False, note)


# -- report --------------------------------------------------------------------------------------------------
@report_app.command("ratings")
def report_ratings(
    month: Annotated[str, typer.Option(help="YYYY-MM")],
    unit: Annotated[str | None, typer.Option(help="Only this unit.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="html or md")] = "html",
    out: Annotated[Path | None, typer.Option(help="Output folder (default: $QINGSONG_HOME/reports).")] = None,
) -> None:
    """The monthly 好差评 report: per unit ratings, bad-rating rate, tickets, recurring problems, charts."""
    c = container()
    try:
        report = c.ratings_report(month, unit=unit)
        path = write_report(report, out or c.settings.home / "reports", fmt, unit)
    except ERRORS as exc:
        _fail(exc)
    for w in report.warnings:
        err.print(f"[yellow]warning:[/yellow] {w}")
    console.print(f"wrote {path} ({len(report.units)} units, {report.total.ratings} ratings, "
                  f"{report.total.opened} tickets opened)")
