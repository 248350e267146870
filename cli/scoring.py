"""Commands for churn scoring, the score export and model versions."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer
from tqdm import tqdm

from cli import context
from core import model_store, scoring
from core.atomic_files import replaced_on_success
from core.csv_safety import safe_frame
from core.db import session_scope
from core.errors import EaselError

export_app = typer.Typer(help="Export data to files.", no_args_is_help=True)
model_app = typer.Typer(help="List and activate churn model versions.", no_args_is_help=True)


def _date(value: str | None) -> date:
    if value is None:
        return context.now().date()
    try:
        return date.fromisoformat(value)
    except ValueError:
        context.fail(f"--as-of must be a date like 2026-07-01, not {value!r}.")
        raise


def score(
    as_of: str = typer.Option(
        None, "--as-of", help="Score as of this day (YYYY-MM-DD); today if left out."
    ),
    horizon_days: int = typer.Option(
        90, "--horizon-days", min=7, help="Churn = no order within this many days."
    ),
    retrain: bool = typer.Option(False, "--retrain", help="Train a new model version first."),
    medium: float = typer.Option(
        0.4, "--medium", help="Churn probability from which risk is medium."
    ),
    high: float = typer.Option(0.7, "--high", help="Churn probability from which risk is high."),
    as_user: str = typer.Option(None, "--as", help="The user who runs the scoring."),
) -> None:
    """Score every customer's churn risk, value and reasons (trains a model when none fits)."""
    day = _date(as_of)
    steps = tqdm(total=6 if retrain else 5, desc="scoring", unit="step")
    rows = tqdm(desc="writing", unit="rows", leave=False)

    def step(message: str) -> None:
        steps.set_postfix_str(message)
        steps.update(1)

    try:
        summary = scoring.score_customers(
            context.engine(),
            actor=context.actor(as_user),
            as_of=day,
            now=context.now(),
            horizon_days=horizon_days,
            retrain=retrain,
            bands=scoring.RiskBands(medium=medium, high=high),
            progress=step,
            write_progress=rows.update,
        )
    except EaselError as error:
        context.fail(str(error))
        raise
    finally:
        rows.close()
        steps.close()
    bands = ", ".join(f"{n} {band}" for band, n in summary.by_band.items())
    trained = " (newly trained)" if summary.trained else ""
    typer.echo(
        f"Scored {summary.customers} customers as of {summary.as_of} with model {summary.model_version_id}{trained}: {bands}."
    )
    if not summary.beats_baselines:
        typer.secho(
            f"Warning: model {summary.model_version_id} does not beat every baseline on validation "
            "(see `easel model list`).",
            fg=typer.colors.YELLOW,
            err=True,
        )


@export_app.command("scores")
def export_scores(
    path: Path = typer.Argument(..., help="The CSV file to write."),
    as_of: str = typer.Option(None, "--as-of", help="The scoring day; the newest if left out."),
) -> None:
    """Write the scores as CSV: customer_id, churn_probability, risk_band, expected_value, reasons."""
    day = _date(as_of) if as_of else None
    try:
        frame = scoring.export_frame(context.engine(), as_of=day)
    except EaselError as error:
        context.fail(str(error))
        raise
    try:
        with replaced_on_success(path) as partial:
            safe_frame(frame).to_csv(partial, index=False)
    except EaselError as error:
        context.fail(str(error))
    typer.echo(f"Wrote {len(frame)} scores to {path}.")


@model_app.command("list")
def model_list() -> None:
    """List model versions with their validation figures against the best baseline."""
    with session_scope(context.engine()) as session:
        versions = model_store.list_versions(session)
    if not versions:
        typer.echo("No model versions yet: run `easel score --retrain`.")
    for version in versions:
        validation = version.metrics_dict().get("validation", {})
        model = validation.get("model", {})
        best = max((v["auc"] for k, v in validation.items() if k != "model"), default=float("nan"))
        flag = "active" if version.active else ""
        verdict = "beats baselines" if version.beats_baselines else "DOES NOT beat every baseline"
        typer.echo(
            f"{version.id:>4} {flag:<6} as of {version.as_of} horizon {version.horizon_days}d "
            f"AUC {model.get('auc')} Brier {model.get('brier')} (best baseline AUC {best}) {verdict}"
        )


@model_app.command("activate")
def model_activate(
    version_id: int = typer.Argument(..., help="The version to make active."),
    reason: str = typer.Option(..., "--reason", help="Why (kept in the audit trail)."),
    as_user: str = typer.Option(None, "--as", help="The admin who activates it."),
) -> None:
    """Make a model version the one scoring uses."""
    try:
        with session_scope(context.engine()) as session:
            model_store.activate_version(
                session,
                actor=context.actor(as_user),
                version_id=version_id,
                now=context.now(),
                reason=reason,
            )
    except EaselError as error:
        context.fail(str(error))
    typer.echo(f"Model {version_id} is now active.")


def register(app: typer.Typer) -> None:
    """Add the scoring commands to the `easel` app."""
    app.command("score")(score)
    app.add_typer(export_app, name="export")
    app.add_typer(model_app, name="model")
