"""The `--ignore FILE` of `ecrgen findings`: accepted findings, each with a reason and an end.

```yaml
ignore:                            # or trivy's `vulnerabilities:` (.trivyignore.yaml)
  - id: CVE-2023-12345             # any case
    reason: not reachable, the binary is never run      # or trivy's `statement:`
    expires: 2027-01-31            # optional, or trivy's `expired_at:`; from the day after, it counts again
    repositories: ["myapp-ecr-*"]  # optional glob(s) on the repository name; default: all
    packages: [{name: openssl, version: 3.0.13-0ubuntu3.1}]   # optional: only in these packages
    purls: ["pkg:deb/ubuntu/openssl"]                         # optional, trivy's: the same by package URL
    paths: ["usr/lib/python3*/site-packages/urllib3-*"]       # optional, trivy's: globs on the package's file
```
An ignored finding does not fail the gate. An expired entry ignores nothing and is reported, so that
accepted risks come back for review; so is an entry that matched nothing where it applies.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any

from pydantic import AliasChoices, BeforeValidator, Field, ValidationError

from generator.base import source
from generator.base.errors import InputError, Problem
from generator.base.source import Document
from generator.findings.gate import Finding, ImageFindings, Suppression
from generator.findings.packages import PackageRef, parse_purl
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


def _purl(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"must be a package URL like pkg:deb/ubuntu/openssl@3.0.13, got {shown(value)}")
    parse_purl(value)
    return value


Day = Annotated[dt.date, BeforeValidator(_day)]
Text = Annotated[str, Field(min_length=1)]
# trivy's words for ecrgen's (.trivyignore.yaml): either may be written, not both.
TRIVY_WORDS = {"statement": "reason", "expired_at": "expires", "vulnerabilities": "ignore"}


class PackageEntry(Strict):
    name: Text
    version: Text | None = None


class IgnoreEntry(Strict):
    id: Text
    reason: Text = Field(validation_alias=AliasChoices("reason", "statement"))
    expires: Day | None = Field(None, validation_alias=AliasChoices("expires", "expired_at"))
    repositories: list[str] = Field(default_factory=lambda: ["*"])
    packages: list[PackageEntry] = Field(default_factory=list)
    purls: list[Annotated[str, BeforeValidator(_purl)]] = Field(default_factory=list)
    paths: list[Text] = Field(default_factory=list)


class IgnoreFile(Strict):
    ignore: list[IgnoreEntry] = Field(validation_alias=AliasChoices("ignore", "vulnerabilities"))


ALLOWED = {"file": "ignore, vulnerabilities",
           "entry": "id, reason, statement, expires, expired_at, repositories, packages, purls, paths",
           "package": "name, version"}


@dataclass(frozen=True)
class Rule:
    """One entry, with the line it is on for messages."""

    entry: IgnoreEntry
    where: str  # "ignore.yaml:4"

    @cached_property
    def packages(self) -> tuple[PackageRef, ...]:
        return (*(PackageRef.named(p.name, p.version) for p in self.entry.packages),
                *(PackageRef.of_purl(parse_purl(purl)) for purl in self.entry.purls))

    def expired(self, today: dt.date) -> bool:
        return self.entry.expires is not None and self.entry.expires < today

    def applies_to(self, repository: str) -> bool:
        return any(fnmatchcase(repository, glob) for glob in self.entry.repositories)

    def covers(self, repository: str, finding: Finding) -> bool:
        """trivy's matching: the id (any case), and each of the package and path scopes given."""
        path, globs = (finding.path or "").lstrip("/"), self.entry.paths
        return (finding.id.lower() == self.entry.id.lower() and self.applies_to(repository)
                and (not self.packages or any(p.matches(finding) for p in self.packages))
                and (not globs or any(fnmatchcase(path, glob.lstrip("/")) for glob in globs)))

    def suppression(self) -> Suppression:
        return Suppression("ignore", self.entry.reason, self.where)

    def describe(self) -> str:
        """`CVE-1`, or `CVE-1 (openssl 3.0.14)` for an entry scoped to packages."""
        scope = [" ".join(filter(None, (p.name, p.version))) for p in self.entry.packages] + self.entry.purls
        return self.entry.id + (f" ({', '.join(scope)})" if scope else "")


def load(path: Path | str) -> list[Rule]:
    """Read and validate the ignore file; every problem at once, each with its line and field."""
    doc = source.load(path)
    try:
        parsed = IgnoreFile.model_validate(doc.data)
    except ValidationError as exc:
        raise InputError(doc.source, [_problem(doc, err) for err in exc.errors()]) from None
    key = "ignore" if "ignore" in doc.data else "vulnerabilities"
    return [Rule(entry, f"{doc.source}:{doc.line_of((key, index))}")
            for index, entry in enumerate(parsed.ignore)]


_HINTS = {
    "reason": "is required: say why this finding is accepted (or trivy's statement)",
    "id": "is required: the finding id, e.g. CVE-2023-12345",
    "ignore": "is required: a list of {id, reason, expires, repositories} (or trivy's vulnerabilities)",
}


def _problem(doc: Document, err: Any) -> Problem:
    loc = tuple(err["loc"])
    if err["type"] == "missing":
        return doc.problem(loc, _HINTS.get(str(loc[-1]), "is required"))
    if err["type"] == "extra_forbidden" and loc[-1] in TRIVY_WORDS and len(loc) in (1, 3):
        ours = TRIVY_WORDS[str(loc[-1])]
        return doc.problem(loc, f"give {ours} or {loc[-1]} (trivy's word for it), not both")
    if err["type"] == "extra_forbidden":
        allowed = ALLOWED["file" if len(loc) == 1 else "entry" if len(loc) == 3 else "package"]
        return doc.problem(loc, f"unknown key; allowed: {allowed}")
    if err["type"] == "model_type":
        return doc.problem(loc, "must be a mapping" + (" with key ignore" if not loc else ""))
    if err["type"] == "value_error":
        return doc.problem(loc, str(err["ctx"]["error"]))
    return doc.problem(loc, plain_message(err, doc.written.get(loc)))


def unmatched(rule: Rule, repositories: list[str]) -> str:
    """The warning for an active entry that covered nothing in the repositories it applies to."""
    return (f"{rule.where}: ignore of {rule.describe()} matched no finding in {', '.join(repositories)}: "
            "remove it, or check its id, packages and paths")


def expired(rule: Rule, repositories: list[str]) -> str:
    """The warning for an expired entry, naming where its finding now counts again."""
    where = f"; it now counts in {', '.join(repositories)}" if repositories else ""
    return (f"{rule.where}: ignore of {rule.entry.id} expired on {rule.entry.expires} and no longer "
            f"applies{where}")


def covered(rules: list[Rule], image: ImageFindings, finding: Finding) -> Rule | None:
    return next((rule for rule in rules if rule.covers(image.repository, finding)), None)
