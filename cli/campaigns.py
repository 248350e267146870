"""Commands for pauses and the weekly campaign proposals."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import typer

from cli import context
from core import pauses, proposal_store, proposals
from core.atomic_files import replaced_on_success
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


PROPOSAL_STEPS = [
    "loading data",
    "building candidates",
    "checking guardrails",
    "choosing campaigns",
    "writing proposals",
]


def propose(
    week: str = typer.Option(None, "--week", help="ISO week, e.g. 2026-W25; default: next week."),
    as_of: str = typer.Option(
        None, "--as-of", help="Data as of this date; default: the day before the week."
    ),
    seed: int = typer.Option(
        None, "--seed", help="Random seed of the bandit; default: one per week."
    ),
    as_user: str = typer.Option(None, "--as", help="The user who runs it (default: the system)."),
) -> None:
    """Propose the week's campaigns; a rerun replaces only what nobody has reviewed."""
    from tqdm import tqdm

    as_of_date = _parse_date(as_of, "--as-of")
    bar = tqdm(total=len(PROPOSAL_STEPS), desc="propose", unit="step", leave=False)

    def step(label: str) -> None:
        bar.set_postfix_str(label)
        if bar.n < bar.total:
            bar.update(1)

    try:
        with session_scope(context.engine()) as session:
            summary = proposals.propose(
                session=session,
                week=week,
                as_of=as_of_date,
                now=context.now(),
                seed=seed,
                actor=context.actor(as_user),
                progress=step,
            )
    except EaselError as error:
        bar.close()
        context.fail(str(error))
    bar.close()
    typer.echo(summary.describe())


def export_offers(
    path: str = typer.Argument(..., help="The CSV file to write."),
    week: str = typer.Option(None, "--week", help="Only this ISO week."),
) -> None:
    """Write offers as CSV: campaign, customer_id, sku, discount_pct, channel, status, holdout, reason."""
    try:
        with context.engine().connect() as conn, replaced_on_success(path) as partial:
            rows = proposal_store.export_offers(conn, partial, week=week)
    except EaselError as error:
        context.fail(str(error))
    typer.echo(f"Wrote {rows} offers to {path}.")


export_app = typer.Typer(help="Export data to files.", no_args_is_help=True)
export_app.command("offers")(export_offers)


def register(app: typer.Typer) -> None:
    """Add the pause and proposal commands to the `easel` app."""
    app.command("pause")(pause)
    app.command("pauses")(pauses_list)
    app.command("unpause")(unpause)
    app.command("propose")(propose)
    # `export` is shared with other topics: join the group if it is already there.
    for group in app.registered_groups:
        if group.name == "export" and group.typer_instance is not None:
            group.typer_instance.command("offers")(export_offers)
            return
    app.add_typer(export_app, name="export")
