"""The options every command that calls AWS takes, defined once so they read the same everywhere."""

from __future__ import annotations

import typer

REGION = typer.Option(None, "--region", metavar="REGION", help="AWS region (default: AWS_REGION).")
PROFILE = typer.Option(None, "--profile", metavar="PROFILE", help="AWS profile (default: AWS_PROFILE).")
ENDPOINT_URL = typer.Option(None, "--endpoint-url", metavar="URL",
                            help="Endpoint (default: AWS_ENDPOINT_URL[_ECR]).")
