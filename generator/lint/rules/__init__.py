"""ecrgen's ECR rules for cfn-lint, in cfn-lint's plugin format (one rule class per file).

`RULES_DIR` is what `cfn-lint --append-rules` takes (`ecrgen lint --rules-dir` prints it). cfn-lint
imports every file named `[A-Za-z1-9]*.py` below it as a rule module, so shared code lives in
files starting with `_` and is imported by its package name. The folders follow the template's
sections, as cfn-lint's own rules do.
"""

from pathlib import Path

RULES_DIR = Path(__file__).resolve().parent
