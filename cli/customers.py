"""Commands about customers' personal data: erasure on request."""

from __future__ import annotations

import typer

from cli import context
from core import privacy
from core.db import session_scope
from core.errors import EaselError

customers_app = typer.Typer(help="Customers' personal data.", no_args_is_help=True)


@customers_app.command("erase")
def erase(
    customer_id: str = typer.Argument(..., help="The customer's id."),
    reason: str = typer.Option(
        ..., "--reason", help="The request's reference (kept in the audit trail; no name)."
    ),
    as_user: str = typer.Option(None, "--as", help="The admin who erases."),
) -> None:
    """Remove a customer's name, e-mail, consents, survey comments and send addresses (audited
    under a pseudonym)."""
    config = context.settings()
    try:
        key = privacy.load_key(config.pseudonym_key, config.data_dir)
        with session_scope(context.engine()) as session:
            done = privacy.erase_customer(
                session,
                actor=context.actor(as_user),
                customer_id=customer_id,
                reason=reason,
                key=key,
                now=context.now(),
            )
    except (EaselError, OSError) as error:
        context.fail(str(error))
        raise
    typer.echo(
        f"Erased the customer's personal data ({done.survey_comments} survey comment(s), "
        f"{done.sends} send address(es)); audited as {done.pseudonym}."
    )


def register(app: typer.Typer) -> None:
    app.add_typer(customers_app, name="customers")
