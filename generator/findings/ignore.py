"""The `--ignore FILE` of `ecrgen findings`: accepted findings, each with a reason and an end.

```yaml
ignore:
  - id: CVE-2023-12345
    reason: not reachable, the binary is never run
    expires: 2027-01-31            # optional; from the day after, the finding counts again
    repositories: ["myapp-ecr-*"]  # optional glob(s) on the repository name; default: all
```
An ignored finding is still listed (marked ignored) but does not fail the gate. An expired entry
ignores nothing and is reported, so that accepted risks come back for review.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, ValidationError

from generator.base import source
from generator.base.errors import InputError, Problem
from generator.base.source import Document
from generator.findings.gate import ImageFindings
from generator.model.schema import Strict, plain_message, shown


def _day(value: Any) -> dt.date:
    """A day written as a day: 2027-01-31 (YAML dates arrive as their text, see base.source)."""
    reason = ""
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError as exc:  # 2027-02-30
            reason = f" ({exc})"
    raise ValueError(f"must be a date like 2027-01-31, got {shown(value)}{reason}")


Day = Annotated[dt.date, BeforeValidator(_day)]


class IgnoreEntry(Strict):
    id: Annotated[str, Field(min_length=1)]
    reason: Annotated[str, Field(min_length=1)]
    expires: Day | None = None
    repositories: list[str] = Field(default_factory=lambda: ["*"])


class IgnoreFile(Strict):
    ignore: list[IgnoreEntry]


@dataclass(frozen=True)
class Rule:
    """One entry, with the line it is on for messages."""

    entry: IgnoreEntry
    where: str  # "ignore.yaml:4"

    def expired(self, today: dt.date) -> bool:
        return self.entry.expires is not None and self.entry.expires < today

    def covers(self, repository: str, finding_id: str) -> bool:
        return finding_id == self.entry.id and any(fnmatchcase(repository, glob)
                                                    for glob in self.entry.repositories)


def load(path: Path | str) -> list[Rule]:
    """Read and validate the ignore file; every problem at once, each with its line and field."""
    doc = source.load(path)
    try:
        parsed = IgnoreFile.model_validate(doc.data)
    except ValidationError as exc:
        raise InputError(doc.source, [_problem(doc, err) for err in exc.errors()]) from None
    return [Rule(entry, f"{doc.source}:{doc.line_of(('ignore', index))}")
            for index, entry in enumerate(parsed.ignore)]


_HINTS = {
    "reason": "is required: say why this finding is accepted",
    "id": "is required: the finding id, e.g. CVE-2023-12345",
    "ignore": "is required: a list of {id, reason, expires, repositories}",
}


def _problem(doc: Document, err: Any) -> Problem:
    loc = tuple(err["loc"])
    if err["type"] == "missing":
        return doc.problem(loc, _HINTS.get(str(loc[-1]), "is required"))
    if err["type"] == "extra_forbidden":
        allowed = IgnoreFile.model_fields if len(loc) == 1 else IgnoreEntry.model_fields
        return doc.problem(loc, f"unknown key; allowed: {', '.join(allowed)}")
    if err["type"] == "model_type":
        return doc.problem(loc, "must be a mapping" + (" with key ignore" if not loc else ""))
    if err["type"] == "value_error":
        return doc.problem(loc, str(err["ctx"]["error"]))
    return doc.problem(loc, plain_message(err, doc.written.get(loc)))


@dataclass(frozen=True)
class Expired:
    """An expired entry and the images where the finding it named now counts again."""

    rule: Rule
    images: tuple[str, ...]

    def message(self) -> str:
        entry = self.rule.entry
        where = f"; it now counts in {', '.join(self.images)}" if self.images else ""
        return (f"{self.rule.where}: ignore of {entry.id} expired on {entry.expires} and no longer "
                f"applies{where}")


def apply(rules: Sequence[Rule], images: Sequence[ImageFindings],
          today: dt.date) -> tuple[list[ImageFindings], list[Expired]]:
    """Mark the findings that an active entry covers as ignored; list the expired entries."""
    active = [rule for rule in rules if not rule.expired(today)]
    expired: list[tuple[Rule, list[str]]] = [(rule, []) for rule in rules if rule.expired(today)]
    out = []
    for image in images:
        findings = []
        for finding in image.findings:
            rule = next((r for r in active if r.covers(image.repository, finding.id)), None)
            if rule:
                finding = replace(finding, ignored=True, ignore_reason=rule.entry.reason)
            for old, hits in expired:
                if old.covers(image.repository, finding.id) and image.repository not in hits:
                    hits.append(image.repository)
            findings.append(finding)
        out.append(replace(image, findings=tuple(findings)))
    return out, [Expired(rule, tuple(hits)) for rule, hits in expired]
