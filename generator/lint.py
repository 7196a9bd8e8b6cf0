"""Lint templates in-process with cfn-lint's Python API.

Imported only by the commands that lint: cfn-lint takes about 0.4 s to import.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Finding:
    """One cfn-lint match, located in the linted file."""

    filename: str
    line: int
    column: int
    rule_id: str
    level: str  # error | warning | informational
    message: str

    def render(self) -> str:
        return f"{self.filename}:{self.line}:{self.column}: {self.rule_id} {self.message}"


def lint_text(text: str, filename: str) -> list[Finding]:
    """cfn-lint findings for a template's text."""
    from cfnlint.api import ManualArgs, lint

    matches = lint(text, config=ManualArgs(regions=["us-east-1"]))
    return [Finding(filename, m.linenumber, m.columnnumber, m.rule.id, _LEVELS.get(m.rule.id[0], "error"),
                    m.message) for m in matches]


_LEVELS = {"E": "error", "W": "warning", "I": "informational"}
