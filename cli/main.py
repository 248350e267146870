"""The `easel` command: set-up, data, users, audit; later issues add scoring, campaigns, jobs."""

from __future__ import annotations

import getpass
import os
from pathlib import Path

import typer

from cli import campaigns as campaigns_cli
from cli import context
from cli import customers as customers_cli
from cli import demo as demo_cli
from cli import imports as imports_cli
from cli import jobs as jobs_cli
from cli import scoring as scoring_cli
from cli import simulate as simulate_cli
from core import audit, users
from core.db import session_scope
from core.errors import EaselError

app = typer.Typer(
    help="Easel: inventory-aware retention for art-and-craft marketplaces.",
    no_args_is_help=True,
    add_completion=False,
)
users_app = typer.Typer(help="Manage the people who sign in to the console.", no_args_is_help=True)
audit_app = typer.Typer(help="Read and check the audit trail.", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(audit_app, name="audit")
jobs_cli.register(app)
app.command("import")(imports_cli.import_data)
app.command("demo")(demo_cli.demo)
app.command("simulate")(simulate_cli.simulate)
scoring_cli.register(app)
campaigns_cli.register(app)
customers_cli.register(app)


@app.command()
def init() -> None:
    """Create the database or upgrade it to the newest schema (safe to run again)."""
    context.engine()
    typer.echo(f"Database ready at {context.settings().url}")


@app.command()
def scheduler() -> None:
    """Run the background scheduler process (blocks; one per deployment)."""
    import logging

    from jobs import scheduler as scheduler_process

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    context.engine()
    scheduler_process.run(context.settings().url, context.settings().schedule)


@users_app.command("add")
def users_add(
    username: str = typer.Argument(..., help="The sign-in name."),
    role: str = typer.Option(..., "--role", help="planner, support, manager or admin."),
    as_user: str = typer.Option(None, "--as", help="The admin who adds the account."),
) -> None:
    """Add an account. The password comes from EASEL_PASSWORD or a prompt, never an argument."""
    password = os.environ.get("EASEL_PASSWORD") or getpass.getpass(f"Password for {username}: ")
    try:
        with session_scope(context.engine()) as session:
            users.add_user(
                session,
                actor=context.actor(as_user),
                username=username,
                role=role,
                password=password,
                now=context.now(),
            )
    except EaselError as error:
        context.fail(str(error))
    typer.echo(f"Added {username} as {role}.")


@users_app.command("list")
def users_list() -> None:
    """List accounts with their roles."""
    with session_scope(context.engine()) as session:
        for user in users.list_users(session):
            state = "active" if user.active else "disabled"
            typer.echo(f"{user.username:<20} {user.role:<10} {state}")


@audit_app.command("verify")
def audit_verify(
    against: Path = typer.Option(
        None, "--against", help="A head exported earlier with `easel audit head`."
    ),
) -> None:
    """Check the hash chain; names the first edited, deleted or reordered event.

    With --against, also tells whether the trail still holds that exported head unchanged."""
    exported = None
    if against is not None:
        try:
            exported = audit.Head.from_json(against.read_text())
        except (OSError, EaselError) as error:
            context.fail(str(error))
    with session_scope(context.engine()) as session:
        if exported is None:
            report = audit.verify(session)
            ok, message = report.ok, report.describe()
        else:
            checked = audit.verify_against(session, exported)
            ok, message = checked.ok, checked.message
    if not ok:
        context.fail(message, code=2)
    typer.echo(message)


@audit_app.command("head")
def audit_head() -> None:
    """Print the newest event's id and hash as JSON; keep it elsewhere to check later copies."""
    with session_scope(context.engine()) as session:
        typer.echo(audit.head(session).to_json())


if __name__ == "__main__":
    app()
