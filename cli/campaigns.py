"""Commands for pauses and the weekly campaign proposals."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import typer

from cli import context
from core import pauses
from core.db import session_scope
from core.errors import EaselError

SCOPE_HELP = "sku, supplier, category, customer or all."


def _parse_date(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        context.fail(f"{name} must be a date like 2026-07-01, not {value!r}.")
        raise


def pause(
    scope: str = typer.Argument(..., help=SCOPE_HELP),
    target: str = typer.Argument(None, help="The SKU, supplier, category or customer id."),
    reason: str = typer.Option(..., "--reason", help="Why (kept in the audit trail)."),
    until: str = typer.Option(
        None, "--until", help="Last paused day (YYYY-MM-DD); open if left out."
    ),
    as_user: str = typer.Option(None, "--as", help="The user who pauses."),
) -> None:
    """Pause offers on a SKU, a supplier, a category, a customer or everything."""
    if scope == "all" and target and target != pauses.ALL_TARGET:
        context.fail("`easel pause all` takes no id.")
    last_day = _parse_date(until, "--until")
    # --until is the last paused day, so the pause ends when the next day starts (UTC).
    ends_at = None
    if last_day:
        ends_at = datetime.combine(last_day + timedelta(days=1), time(), tzinfo=UTC)
    try:
        with session_scope(context.engine()) as session:
            row = pauses.pause(
                session=session,
                actor=context.actor(as_user),
                scope=scope,
                target=target,
                reason=reason,
                now=context.now(),
                ends_at=ends_at,
            )
            message = f"Pause {row.id}: {row.describe()}"
    except EaselError as error:
        context.fail(str(error))
    typer.echo(message)


def pauses_list() -> None:
    """List the pauses in force now."""
    with session_scope(context.engine()) as session:
        rows = pauses.active(session, now=context.now())
    if not rows:
        typer.echo("No active pauses.")
    for row in rows:
        by = f"(by {row.created_by}, {row.created_at:%Y-%m-%d})"
        typer.echo(f"{row.id:>5}  {row.describe()}  {by}")


def unpause(
    pause_id: int = typer.Argument(..., help="The pause's number, as `easel pauses` shows it."),
    reason: str = typer.Option(..., "--reason", help="Why the pause is lifted."),
    as_user: str = typer.Option(None, "--as", help="The user who lifts the pause."),
) -> None:
    """Lift a pause."""
    try:
        with session_scope(context.engine()) as session:
            row = pauses.lift(
                session=session,
                actor=context.actor(as_user),
                pause_id=pause_id,
                reason=reason,
                now=context.now(),
            )
            message = f"Lifted pause {row.id} ({row.scope} {row.target})."
    except EaselError as error:
        context.fail(str(error))
    typer.echo(message)


def register(app: typer.Typer) -> None:
    """Add the pause and proposal commands to the `easel` app."""
    app.command("pause")(pause)
    app.command("pauses")(pauses_list)
    app.command("unpause")(unpause)
