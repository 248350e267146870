"""`easel import KIND PATH`: load a CSV or Parquet file of one kind, all or nothing."""

from __future__ import annotations

from pathlib import Path

import typer
from tqdm import tqdm

from cli import context
from core import summaries
from core.contracts import KINDS
from core.errors import EaselError
from core.import_checks import ImportRejected
from core.importing import import_file


def import_data(
    kind: str = typer.Argument(..., help=f"What the file holds: {', '.join(KINDS)}."),
    path: Path = typer.Argument(..., help="A .csv (UTF-8, header row) or .parquet file."),
    as_user: str = typer.Option(None, "--as", help="The user who imports (needs import rights)."),
) -> None:
    """Import a CSV or Parquet file of one kind (see docs/import.md); a bad file changes nothing."""
    bar = tqdm(total=0, unit="rows", desc=f"writing {kind}", disable=None, leave=False)

    def progress(step: int, total: int) -> None:
        if bar.total != total:
            bar.total = total
            bar.refresh()
        bar.update(step)

    try:
        result = import_file(
            context.engine(),
            kind=kind,
            path=path,
            actor=context.actor(as_user),
            now=context.now(),
            progress=progress,
        )
    except ImportRejected as rejected:
        bar.close()
        context.fail(str(rejected), code=2)
    except EaselError as error:
        bar.close()
        context.fail(str(error))
    bar.close()
    typer.echo(result.describe())
    if kind in summaries.SOURCE_KINDS:
        state = summaries.refresh_now(context.engine(), now=context.now())
        typer.echo(f"Console summaries refreshed (orders through {state.data_through}).")
