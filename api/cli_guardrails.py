"""CLI for guardrails: `qingsong users|review|audit ...` and `qingsong eval guardrails DIR`.

The integrator registers these in api/cli.py:
    app.add_typer(users_app, name="users"); app.add_typer(review_app, name="review")
    app.add_typer(audit_app, name="audit"); eval_app.command("guardrails")(eval_guardrails)

The CLI runs on the server with access to the data directory, so without --actor it acts as the local
operator ("system"). Review decisions always need a reviewer (--actor TOKEN or --reviewer NAME), and the
library re-checks that account's role on every decision.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from api.cli_common import container
from api.settings import Settings
from assistant.errors import AssistantError
from guardrails import Guardrails
from guardrails.errors import GuardrailsError
from guardrails.review import ApplicationStatus, HoldStatus
from guardrails.roles import Action, Principal, Resource, Role, require

users_app = typer.Typer(help="Accounts and API tokens: add, list, revoke.", no_args_is_help=True)
review_app = typer.Typer(help="Human review (人工复核): held answers and applications.", no_args_is_help=True)
audit_app = typer.Typer(help="Tamper-evident audit log: verify, show, export, replay, checkpoint.", no_args_is_help=True)

console = Console()
err = Console(stderr=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
TokenOpt = Annotated[str | None, typer.Option("--actor", help="API token of the acting account.", envvar="QINGSONG_TOKEN")]
ReviewerOpt = Annotated[str | None, typer.Option("--reviewer", help="Name of an active reviewer (or admin) account.")]


def _guardrails() -> Guardrails:
    return container().guardrails


def _print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2, default=str) + "\n")


def _fail(exc: Exception, code: int = 2) -> None:
    err.print(f"[red]错误 error:[/red] {exc}")
    raise typer.Exit(code)


def _actor(g: Guardrails, token: str | None, reviewer: str | None = None, required: bool = False) -> Principal | None:
    if token:
        p = g.accounts.authenticate(token)
        if p is None:
            _fail(GuardrailsError("the --actor token is unknown or revoked; ask an admin for a new one"))
        return p
    if reviewer:
        acc = g.accounts.find_by_name(reviewer)
        if acc is None or not acc.active:
            _fail(GuardrailsError(f"no active account named {reviewer!r}; see `qingsong users list`"))
            return None
        return acc.principal()
    if required:
        _fail(GuardrailsError("this decision needs a reviewer: pass --actor TOKEN or --reviewer NAME"))
    return None


# -- users -------------------------------------------------------------------------------------------
@users_app.command("add")
def users_add(
    name: str,
    role: Annotated[Role, typer.Option("--role", help="citizen, owner, reviewer, auditor or admin.")],
    unit: Annotated[list[str] | None, typer.Option("--unit", help="Owner unit id (repeat for several).")] = None,
    profile: Annotated[str | None, typer.Option("--profile", help="Citizen profile id (一人一档).")] = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add an account and print its API token (shown once, stored hashed)."""
    g = _guardrails()
    try:
        who = _actor(g, token)
        if who is not None:
            require(who, Action.USERS_MANAGE)
        new = g.accounts.add(name, role, units=unit or (), profile_id=profile,
                             created_by=who.account_id if who else "system")
    except GuardrailsError as exc:
        _fail(exc)
        return
    if as_json:
        _print_json({"account": new.account.model_dump(mode="json"), "token": new.token})
        return
    console.print(f"added [bold]{new.account.name}[/bold] ({new.account.id}, {new.account.role.value})")
    err.print("API token (shown once, store it now):")
    typer.echo(new.token)


@users_app.command("list")
def users_list(
    include_revoked: Annotated[bool, typer.Option("--all", help="Include revoked accounts.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """List accounts (tokens are never shown again)."""
    accounts = _guardrails().accounts.list(include_revoked=include_revoked)
    if as_json:
        _print_json([a.model_dump(mode="json") for a in accounts])
        return
    t = Table(title=f"{len(accounts)} accounts")
    for col in ("id", "name", "role", "units", "profile", "token", "created", "revoked"):
        t.add_column(col)
    for a in accounts:
        t.add_row(a.id, a.name, a.role.value, ",".join(a.units), a.profile_id or "", a.token_hint + "…",
                  a.created_at.strftime("%Y-%m-%d"), a.revoked_at.strftime("%Y-%m-%d") if a.revoked_at else "")
    console.print(t)


@users_app.command("revoke")
def users_revoke(account: Annotated[str, typer.Argument(help="Account id or name.")], token: TokenOpt = None) -> None:
    """Revoke an account: its token stops working at once."""
    g = _guardrails()
    try:
        who = _actor(g, token)
        if who is not None:
            require(who, Action.USERS_MANAGE)
        acc = g.accounts.revoke(account, revoked_by=who.account_id if who else "system")
    except GuardrailsError as exc:
        _fail(exc)
        return
    console.print(f"revoked {acc.name} ({acc.id})")


# -- review ------------------------------------------------------------------------------------------
@review_app.command("list")
def review_list(
    status: Annotated[str, typer.Option(help="pending, approved, edited, rejected or all.")] = "pending",
    token: TokenOpt = None,
    reviewer: ReviewerOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Held answers waiting for (or decided by) a reviewer."""
    g = _guardrails()
    try:
        who = _actor(g, token, reviewer)
        held = g.hold_queue.list(None if status == "all" else HoldStatus(status), viewer=who)
    except (GuardrailsError, ValueError) as exc:
        _fail(exc)
        return
    if as_json:
        _print_json([h.model_dump(mode="json") for h in held])
        return
    t = Table(title=f"{len(held)} held answers ({status})")
    for col in ("id", "turn", "session", "status", "reason", "held at", "answer"):
        t.add_column(col)
    for h in held:
        t.add_row(h.id, h.turn_id, h.session_id, h.status.value, h.reason[:40], h.created_at.strftime("%m-%d %H:%M"),
                  h.answer[:40])
    console.print(t)


@review_app.command("show")
def review_show(hold_id: str, token: TokenOpt = None, reviewer: ReviewerOpt = None, as_json: JsonOpt = False) -> None:
    """One held answer with its citations, decision and diff."""
    g = _guardrails()
    try:
        h = g.hold_queue.get(hold_id, viewer=_actor(g, token, reviewer))
    except GuardrailsError as exc:
        _fail(exc)
        return
    if as_json:
        _print_json(h.model_dump(mode="json"))
        return
    console.print(f"[bold]{h.id}[/bold]  turn {h.turn_id} · session {h.session_id} · {h.status.value}")
    console.print(f"reason: {h.reason}")
    console.print("citations: " + (", ".join(f"{i} v{n}" for i, n in h.citations) or "-"))
    console.print(f"\n{h.answer}\n")
    if h.reviewer:
        console.print(f"decided by {h.reviewer} at {h.decided_at}")
    if h.diff:
        console.print(h.diff)
    if h.reject_reason:
        console.print(f"rejected: {h.reject_reason}")


def _decide(action: str, hold_id: str, token: str | None, reviewer: str | None, **kw: str) -> None:
    g = _guardrails()
    try:
        who = _actor(g, token, reviewer, required=True)
        assert who is not None
        if action == "approve":
            h = g.hold_queue.approve(hold_id, who)
        elif action == "edit":
            h = g.hold_queue.edit(hold_id, who, kw["text"])
        else:
            h = g.hold_queue.reject(hold_id, who, kw["reason"])
    except GuardrailsError as exc:
        _fail(exc)
        return
    console.print(f"{h.id}: {h.status.value} by {h.reviewer}")


@review_app.command("approve")
def review_approve(hold_id: str, token: TokenOpt = None, reviewer: ReviewerOpt = None) -> None:
    """Release a held answer as composed."""
    _decide("approve", hold_id, token, reviewer)


@review_app.command("edit")
def review_edit(
    hold_id: str, text: Annotated[str, typer.Option("--text", help="The answer to release instead.")],
    token: TokenOpt = None, reviewer: ReviewerOpt = None,
) -> None:
    """Release an edited answer (the diff is kept)."""
    _decide("edit", hold_id, token, reviewer, text=text)


@review_app.command("reject")
def review_reject(
    hold_id: str, reason: Annotated[str, typer.Option("--reason", help="Why it must not be released.")],
    token: TokenOpt = None, reviewer: ReviewerOpt = None,
) -> None:
    """Reject a held answer; the citizen is pointed to 12345 or a window."""
    _decide("reject", hold_id, token, reviewer, reason=reason)


@review_app.command("applications")
def review_applications(
    status: Annotated[str, typer.Option(help="awaiting_staff_review, submitted, approved, returned or all.")] = "awaiting_staff_review",
    token: TokenOpt = None,
    reviewer: ReviewerOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Applications, by default those waiting for staff approval."""
    g = _guardrails()
    try:
        apps = g.applications.list(None if status == "all" else ApplicationStatus(status),
                                   viewer=_actor(g, token, reviewer))
    except (GuardrailsError, ValueError) as exc:
        _fail(exc)
        return
    if as_json:
        _print_json([a.model_dump(mode="json") for a in apps])
        return
    t = Table(title=f"{len(apps)} applications ({status})")
    for col in ("id", "matter", "citizen", "session", "status", "created", "fields"):
        t.add_column(col)
    for a in apps:
        t.add_row(a.id, a.matter_id, a.citizen, a.session_id, a.status.value, a.created_at.strftime("%m-%d %H:%M"),
                  ", ".join(sorted(a.fields)))
    console.print(t)


@review_app.command("app-approve")
def review_app_approve(app_id: str, token: TokenOpt = None, reviewer: ReviewerOpt = None) -> None:
    """Approve an application waiting for staff review."""
    g = _guardrails()
    try:
        who = _actor(g, token, reviewer, required=True)
        assert who is not None
        a = g.applications.approve(app_id, who)
    except GuardrailsError as exc:
        _fail(exc)
        return
    console.print(f"{a.id}: {a.status.value} by {a.decided_by}")


@review_app.command("app-return")
def review_app_return(
    app_id: str, reason: Annotated[str, typer.Option("--reason", help="What the citizen must correct.")],
    token: TokenOpt = None, reviewer: ReviewerOpt = None,
) -> None:
    """Return an application to the citizen with a reason."""
    g = _guardrails()
    try:
        who = _actor(g, token, reviewer, required=True)
        assert who is not None
        a = g.applications.return_(app_id, who, reason)
    except GuardrailsError as exc:
        _fail(exc)
        return
    console.print(f"{a.id}: {a.status.value} by {a.decided_by}: {a.return_reason}")


# -- audit -------------------------------------------------------------------------------------------
def _audit_reader(g: Guardrails, token: str | None, action: Action) -> None:
    who = _actor(g, token)
    if who is not None:
        require(who, action, Resource(kind="audit_log"))


@audit_app.command("verify")
def audit_verify(
    checkpoint: Annotated[Path | None, typer.Option("--checkpoint", exists=True, help="A checkpoint file kept outside the system.")] = None,
    pubkey: Annotated[Path | None, typer.Option("--pubkey", exists=True, help="The log's public key (PEM) kept by the auditor.")] = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Recompute leaves, chain, Merkle roots and signatures; exit 1 on any sign of tampering."""
    g = _guardrails()
    try:
        _audit_reader(g, token, Action.AUDIT_VERIFY)
        report = g.audit.verify(checkpoint, pubkey.read_text(encoding="utf-8") if pubkey else None)
    except GuardrailsError as exc:
        _fail(exc)
        return
    if as_json:
        _print_json(report.model_dump(mode="json"))
    else:
        status = "[green]OK[/green]" if report.ok else "[red]TAMPERING DETECTED[/red]"
        console.print(f"audit log {status}: {report.tree_size} events, root {report.root[:16]}…, "
                      f"{report.checkpoints_checked} checkpoints checked ({report.consistency_checked} by "
                      f"consistency proof; newest {report.newest_checkpoint}, "
                      f"{report.unsealed} events since), payloads {report.payloads_present} present / "
                      f"{report.payloads_forgotten} forgotten, {report.seconds:.2f} s")
        for p in report.problems:
            console.print(f"  [red]{p.kind.value}[/red] at {p.seq}: {p.detail}")
    if not report.ok:
        raise typer.Exit(1)


@audit_app.command("consistency")
def audit_consistency(
    checkpoint: Annotated[Path, typer.Option("--checkpoint", exists=True, dir_okay=False,
                                             help="Your earlier checkpoint, kept outside the system.")],
    pubkey: Annotated[Path | None, typer.Option("--pubkey", exists=True, dir_okay=False,
                                                help="The log's public key (PEM) you exported earlier.")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Also write the new signed head here, "
                                                                        "to keep for next time.")] = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Prove the log still begins with what your checkpoint signed (RFC 6962 consistency); exit 1 on FAIL."""
    from guardrails.signing import Checkpoint

    g = _guardrails()
    try:
        _audit_reader(g, token, Action.AUDIT_CONSISTENCY)
        old = Checkpoint.from_file(checkpoint)
        result = g.audit.check_checkpoint(old, pubkey.read_text(encoding="utf-8") if pubkey else None)
    except (GuardrailsError, ValueError) as exc:
        _fail(exc)
        return
    if output is not None and result.ok and result.new is not None:
        result.new.to_file(output)
    if as_json:
        _print_json(result.model_dump(mode="json"))
    else:
        if pubkey is None:
            err.print("[yellow]no --pubkey: checked with the log's own key under keys/; pass the key you "
                      "exported earlier (`qingsong audit pubkey`) to rule out a replaced key[/yellow]")
        word = "[green]OK[/green]" if result.ok else "[red]FAIL[/red]"
        console.print(f"{word}: {result.reason}", highlight=False)
        if result.new is not None:
            console.print(f"  kept: {old.tree_size} events, root {old.root[:16]}… ({old.ts}); "
                          f"now: {result.new.tree_size} events, root {result.new.root[:16]}… (signed {result.new.ts})",
                          highlight=False)
        if output is not None and result.ok:
            err.print(f"wrote the new signed head to {output}")
    if not result.ok:
        raise typer.Exit(1)


@audit_app.command("show")
def audit_show(turn_id: str, token: TokenOpt = None, as_json: JsonOpt = False) -> None:
    """The trace of one answer: the 'turn.finalised' event of TURN_ID, its receipt and review decisions."""
    g = _guardrails()
    try:
        _audit_reader(g, token, Action.AUDIT_READ)
        events = g.audit.events(subject=turn_id)
        final = [e for e in events if e.event == "turn.finalised"]
        if not final:
            raise GuardrailsError(f"no 'turn.finalised' event for turn {turn_id!r}; check the id in the answer receipt")
        event = final[-1]
        receipt = g.audit.inclusion_proof(event.seq)
    except GuardrailsError as exc:
        _fail(exc)
        return
    others = [e.model_dump() for e in events if e.seq != event.seq]
    out = {"turn_id": turn_id, "event": event.model_dump(exclude={"data"}), "trace": event.data,
           "receipt": receipt.model_dump(), "related_events": others}
    if as_json:
        _print_json(out)
        return
    console.print(f"[bold]turn {turn_id}[/bold] · event {event.seq} at {event.ts} · actor {event.actor}")
    console.print(f"leaf {event.leaf_hash[:16]}… · inclusion proof verifies: {receipt.verify()} "
                  f"(tree size {receipt.tree_size})")
    if event.data is None:
        console.print("[yellow]the trace payload was deleted (personal data erasure); the leaf remains[/yellow]")
    else:
        console.print_json(json.dumps(event.data, ensure_ascii=False, default=str))
    for e in others:
        console.print(f"  {e['seq']} {e['ts']} {e['event']} by {e['actor']}: {json.dumps(e['data'], ensure_ascii=False)}")


@audit_app.command("replay")
def audit_replay(
    turn_id: str,
    live: Annotated[bool, typer.Option("--live", help="Replay against today's knowledge instead of the "
                                                      "versions live when the turn was answered.")] = False,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Re-run TURN_ID against the knowledge of its time (or today's with --live); exit 0 if identical, 1 if not."""
    from assistant.replay import replay_turn

    built = container()
    g = built.guardrails
    try:
        _audit_reader(g, token, Action.AUDIT_READ)
        report = replay_turn(built.assistant, g.audit, turn_id, kb=built.kb,
                             against="live" if live else "pinned")
    except (GuardrailsError, AssistantError) as exc:
        _fail(exc)
        return
    if as_json:
        _print_json(report.as_dict())
    else:
        verdict = "[green]IDENTICAL[/green]" if report.identical else "[red]DIFFERENT[/red]"
        basis = ("against today's knowledge" if report.against == "live" else
                 f"against the knowledge of {report.knowledge_at} ({report.pinned_versions} versions, "
                 f"{report.pinned_chunks} chunks)")
        console.print(f"replay of turn {turn_id} (session {report.session_id}, turn {report.turn}, "
                      f"as of {report.as_of}) {basis}: {verdict}", soft_wrap=True)  # one line, whatever the id length
        used = [c for c in report.knowledge_changes if c.cited or c.retrieved]
        for c in used:
            now = f"v{c.current_version}" if c.current_version is not None else "no longer live"
            console.print(f"  [yellow]knowledge changed since[/yellow]: {c.item_id} v{c.old_version} -> {now}"
                          + (" (cited)" if c.cited else " (retrieved)"))
        if len(report.knowledge_changes) > len(used):
            console.print(f"  {len(report.knowledge_changes) - len(used)} other items changed since "
                          "(--json lists them)")
        if report.reembedded:
            console.print(f"  {report.reembedded} chunk texts were not in the embedding cache and were embedded again")
        for d in report.differences:
            console.print(f"  [red]{d}[/red]", markup=True, highlight=False)
        if report.reply_diff:
            console.print(report.reply_diff, markup=False, highlight=False)
    if not report.identical:
        raise typer.Exit(1)


@audit_app.command("export")
def audit_export(
    since: Annotated[str, typer.Option("--since", help="YYYY-MM-DD: events from this day on.")],
    fmt: Annotated[str, typer.Option("--format", help="jsonl or csv")] = "jsonl",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to a file instead of stdout.")] = None,
    token: TokenOpt = None,
) -> None:
    """Export events (with non-erased payloads) for auditors."""
    g = _guardrails()
    try:
        _audit_reader(g, token, Action.AUDIT_EXPORT)
        day = dt.date.fromisoformat(since)
    except ValueError:
        _fail(ValueError(f"--since {since!r} is not a date; use YYYY-MM-DD"))
        return
    except GuardrailsError as exc:
        _fail(exc)
        return
    try:
        text = g.audit.export(day, fmt)
    except GuardrailsError as exc:
        _fail(exc)
        return
    if output:
        output.write_text(text, encoding="utf-8")
        err.print(f"wrote {output}")
    else:
        sys.stdout.write(text)


@audit_app.command("checkpoint")
def audit_checkpoint(
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Checkpoint file to write (default: stdout).")] = None,
    token: TokenOpt = None,
) -> None:
    """Sign the current tree head; keep the file outside the system to detect later tampering."""
    g = _guardrails()
    try:
        _audit_reader(g, token, Action.AUDIT_CHECKPOINT)
        cp = g.audit.write_checkpoint(output) if output else g.audit.checkpoint()
    except GuardrailsError as exc:
        _fail(exc)
        return
    if output:
        err.print(f"wrote checkpoint of {cp.tree_size} events to {output}")
    else:
        _print_json(cp.model_dump())


@audit_app.command("pubkey")
def audit_pubkey(output: Annotated[Path | None, typer.Option("--output", "-o")] = None) -> None:
    """Print (or write) the Ed25519 public key that signs checkpoints."""
    pem = _guardrails().audit.public_key_pem()
    if output:
        output.write_text(pem, encoding="utf-8")
    else:
        sys.stdout.write(pem)


@audit_app.command("forget")
def audit_forget(
    subject: Annotated[str, typer.Argument(help="Citizen account/profile id or event subject.")],
    token: TokenOpt = None,
) -> None:
    """Erase the personal data payloads about SUBJECT; the log still verifies."""
    g = _guardrails()
    try:
        who = _actor(g, token)
        if who is not None:
            require(who, Action.PERSONAL_DATA_ERASE)
        n = g.audit.forget(subject)
        g.audit.append("personal_data.erased", who.account_id if who else "system", subject, {"payloads": n})
    except GuardrailsError as exc:
        _fail(exc)
        return
    console.print(f"erased {n} payloads about {subject}")


# -- eval --------------------------------------------------------------------------------------------
def eval_guardrails(
    folder: Annotated[Path, typer.Argument(exists=True, file_okay=False, help="Folder with must_refuse.jsonl and must_answer.jsonl.")],
    as_json: JsonOpt = False,
    strict: Annotated[bool, typer.Option("--strict", help="Exit 1 when a target is missed.")] = False,
    semantic: Annotated[bool, typer.Option("--semantic/--no-semantic", help="Run the semantic rail (embedder from settings).")] = True,
) -> None:
    """Red-team the input rails: refusal rate on must-refuse and over-refusal on must-answer, per category."""
    from eval.guardrails import run_guardrails_eval
    from kb.embedders import build_embedder

    settings = Settings()
    embedder = build_embedder(settings.embedder, settings.st_model_path) if semantic else None
    report = run_guardrails_eval(folder, embedder=embedder)
    if as_json:
        _print_json(report.as_dict())
    else:
        for f, label in ((report.must_refuse, "must refuse (handled = blocked or held)"),
                         (report.must_answer, "must answer (refused = over-refusal)")):
            t = Table(title=f"{label}: {f.refused}/{f.total} = {f.rate:.1%}")
            for col in ("category", "total", "refused", "rate"):
                t.add_column(col, justify="right" if col != "category" else "left")
            for name, c in sorted(f.categories.items()):
                t.add_row(name, str(c.total), str(c.refused), f"{c.rate:.1%}")
            console.print(t)
            if f.by_layer:
                console.print("decided by: " + ", ".join(f"{k} {v}" for k, v in sorted(f.by_layer.items())))
        verdict = "[green]meets targets[/green]" if report.meets_targets else "[red]misses targets[/red]"
        console.print(f"refusal {report.refusal_rate:.1%} (target ≥ 95%), over-refusal {report.over_refusal_rate:.1%} "
                      f"(target ≤ 5%): {verdict}; {report.ms_per_message:.2f} ms/message; "
                      f"semantic rail: {report.embedder or 'off'}")
    if strict and not report.meets_targets:
        raise typer.Exit(1)
