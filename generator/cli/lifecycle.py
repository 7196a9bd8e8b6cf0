"""`ecrgen lifecycle preview|validate` (issue 4): placeholder."""

from __future__ import annotations

import typer

app = typer.Typer(help="Preview and validate lifecycle policies.", no_args_is_help=True)


@app.command()
def validate() -> None:
    """Check raw AWS lifecycle policy JSON files (not built yet)."""
    raise typer.Exit(2)
