"""`qingsong db upgrade|current|check`: the database schema, managed by Alembic (see api/db.py)."""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
import typer
from rich.console import Console

from api import db
from api.settings import Settings
from kb.store import create_engine

db_app = typer.Typer(help="Database schema (Alembic migrations), SQLite or PostgreSQL.", no_args_is_help=True)
err = Console(stderr=True)


def _engine() -> tuple[sa.engine.Engine, str]:
    settings = Settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    url = settings.db_url
    return create_engine(url), sa.engine.make_url(url).render_as_string(hide_password=True)


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Option(help="Target revision.")] = "head",
) -> None:
    """Create or migrate every table to the target revision (idempotent; safe with several processes)."""
    engine, shown = _engine()
    try:
        before, after = db.upgrade(engine, revision)
    except db.SchemaError as exc:
        err.print(f"[red]错误 error:[/red] {exc}")
        raise typer.Exit(2) from exc
    if before == after:
        err.print(f"{shown}: schema already at {after}")
    else:
        err.print(f"{shown}: schema migrated {before or '(empty)'} -> {after}")


@db_app.command("current")
def db_current() -> None:
    """Print the database's revision and the code's head; exit 1 if the database is behind."""
    engine, shown = _engine()
    cur, head = db.current(engine), db.head()
    typer.echo(f"{shown}\ncurrent: {cur or '(none)'}\nhead:    {head}")
    if cur != head:
        raise typer.Exit(1)


@db_app.command("check")
def db_check() -> None:
    """Compare the database with the table definitions in code; exit 1 on any difference."""
    engine, shown = _engine()
    diffs = db.differences(engine)
    for d in diffs:
        typer.echo(f"  {d}")
    typer.echo(f"{shown}: {'in sync with the code' if not diffs else f'{len(diffs)} difference(s)'}")
    if diffs:
        raise typer.Exit(1)
