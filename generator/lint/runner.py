"""Lint templates in-process with cfn-lint's Python API, ecrgen's ECR rules included.

The rules are loaded from `generator.lint.rules.RULES_DIR` exactly as `cfn-lint --append-rules`
loads them, once per process. Imported only by the commands that lint: cfn-lint takes about
0.5 s to import.
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from generator.base.errors import InputError, Problem
from generator.base.source import read_text
from generator.lint.rules import RULES_DIR

if TYPE_CHECKING:
    from cfnlint.rules import Rules

BODY_SIZE_RULE = "W9504"


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

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["ruleId"] = data.pop("rule_id")
        return data


def lint_text(text: str, filename: str) -> list[Finding]:
    """cfn-lint findings for a template's text; a syntax error is a finding (E0000) too."""
    from cfnlint.decode.decode import decode_str

    template, errors = decode_str(text)
    if errors:
        return _findings(errors, filename)
    return _lint(template, text, filename)


def lint_path(path: Path | str) -> list[Finding]:
    """cfn-lint findings for a template file; InputError if it cannot be read or is no template."""
    from cfnlint.decode.decode import decode_str

    text = read_text(path)
    template, errors = decode_str(text)
    if errors:
        raise InputError(str(path), [Problem(f"not a template: {e.message}", line=e.linenumber or None)
                                     for e in errors])
    if not isinstance(template, dict) or "Resources" not in template:
        raise InputError(str(path), "not a CloudFormation template: it has no Resources section")
    return _lint(template, text, str(path))


def _lint(template: dict[str, Any], text: str, filename: str) -> list[Finding]:
    from cfnlint.config import ConfigMixIn
    from cfnlint.runner import run_template_by_data

    # Informational findings too (cfn-lint shows only W and E by default); the body size is the
    # text's, as the template has no file yet when `ecrgen template` writes to stdout.
    config = ConfigMixIn(include_checks=["I"],
                         configure_rules={BODY_SIZE_RULE: {"body_bytes": len(text.encode())}})
    return _findings(run_template_by_data(template, config, _rules()), filename)


@functools.cache
def _rules() -> Rules:
    """cfn-lint's rules plus ecrgen's, loaded from their folders as the cfn-lint command does."""
    from cfnlint.config import ConfigMixIn
    from cfnlint.rules import Rules

    rules = Rules()
    for directory in ConfigMixIn(append_rules=[str(RULES_DIR)]).append_rules:
        rules.update(Rules.create_from_directory(directory))
    return rules


def _findings(matches: Any, filename: str) -> list[Finding]:
    found = [Finding(filename, m.linenumber, m.columnnumber, m.rule.id, m.rule.severity, m.message)
             for m in matches]
    return sorted(found, key=lambda f: (f.line, f.column, f.rule_id))
