"""The `ecrgen` command line: thin Typer commands that parse, call and print. May import: everything."""

# Heavy libraries (troposphere, cfn-lint, boto3, pydantic) are imported inside the commands, so
# that `ecrgen --help` answers at once.

from __future__ import annotations

import sys

import typer

from generator.base.errors import InputError
from generator.cli import findings as _findings
from generator.cli import import_ as _import
from generator.cli import lifecycle as _lifecycle
from generator.cli import lint as _lint
from generator.cli import post_deploy as _post_deploy
from generator.cli import report as _report
from generator.cli import template as _template

app = typer.Typer(
    name="ecrgen",
    help="Amazon ECR repositories from one declarative file (ecr.yaml).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
app.command("template")(_template.template)
app.command("lint")(_lint.lint)
app.command("post-deploy")(_post_deploy.post_deploy)
app.command("findings")(_findings.findings)
app.command("import")(_import.import_)
app.command("report")(_report.report)
app.add_typer(_lifecycle.app, name="lifecycle")


def _print_version(wanted: bool) -> None:
    """Eager, so that `ecrgen --version` answers before click asks for a command."""
    if wanted:
        from generator import __version__

        typer.echo(f"ecrgen {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", is_eager=True, expose_value=False,
                                 callback=_print_version, help="Print the version and exit."),
) -> None:
    """Amazon ECR repositories from one declarative file (ecr.yaml)."""


def main() -> None:
    """Console entry point: bad input becomes one message per problem and exit code 2."""
    try:
        app()
    except InputError as exc:
        print(exc.render(), file=sys.stderr)
        sys.exit(2)
