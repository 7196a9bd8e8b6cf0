"""`ecrgen post-deploy` (issue 3): placeholder."""

from __future__ import annotations

import typer


def post_deploy() -> None:
    """Reconcile live ECR with the desired settings (not built yet)."""
    typer.echo("post-deploy is not built yet", err=True)
    raise typer.Exit(2)
