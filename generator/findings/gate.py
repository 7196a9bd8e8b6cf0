"""Scan findings of one image per repository, and the pipeline gate over them.

Pure: turns the pages of `DescribeImageScanFindings` (basic and enhanced scanning alike) into
`Finding`s, decides which image fails a `--fail-on` threshold, and shapes the JSON report and
the text table. The AWS reads live in `generator.aws.findings`, SARIF in `generator.findings.sarif`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TextIO

from generator.model.severity import RANK, SCAN_DONE, SEVERITIES, at_or_above

# ECR's imageScanStatus.status values, by what they mean for the gate (SCAN_DONE: a finished scan).
SCAN_RUNNING = frozenset({"IN_PROGRESS", "PENDING"})
# ecrgen's own statuses for images it could not get findings for.
NOT_SCANNED = "NOT_SCANNED"            # scanning is off, or the image was pushed before it was on
NO_IMAGES = "NO_IMAGES"                # the repository is empty: nothing to ship, nothing to fail
IMAGE_NOT_FOUND = "IMAGE_NOT_FOUND"    # --tag / --digest names no image
REPOSITORY_NOT_FOUND = "REPOSITORY_NOT_FOUND"
ERROR = "ERROR"                        # AWS refused or the call was lost: the message says why
# Statuses that never fail the gate: the findings are known, or there is no image at all.
NOT_FAILING = SCAN_DONE | {NO_IMAGES}
NOT_AVAILABLE = "NotAvailable"  # Inspector's fixedInVersion of a package that no version fixes yet


@dataclass(frozen=True)
class Suppression:
    """Why a finding does not count for the gate: an ignore entry, a VEX statement or a flag."""

    kind: str                          # ignore | vex | unfixed (--ignore-unfixed) | not-exploitable
    reason: str | None = None          # the entry's reason, the statement's impact statement
    source: str | None = None          # where it is written: "ignore.yaml:4", "vex.json:12"
    status: str | None = None          # VEX: not_affected | fixed
    justification: str | None = None   # VEX: vulnerable_code_not_present, ...

    @property
    def label(self) -> str:
        """What the text table shows beside the severity."""
        return self.status or LABELS[self.kind]

    @property
    def text(self) -> str:
        """The whole reason in words (the text output's note and SARIF's justification)."""
        if self.kind != "vex":
            return self.reason or ""
        head = f"{self.status} ({self.justification})" if self.justification else str(self.status)
        return f"{head}: {self.reason}" if self.reason else head

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "reason": self.reason, "source": self.source, "status": self.status,
                "justification": self.justification}


LABELS = {"ignore": "ignored", "unfixed": "no fix", "not-exploitable": "no exploit"}
UNFIXED = Suppression("unfixed", "no fix available (--ignore-unfixed)")
NOT_EXPLOITABLE = Suppression("not-exploitable", "no known exploit (--exploitable-only)")


@dataclass(frozen=True)
class Finding:
    """One vulnerability in one package of one image."""

    id: str
    severity: str
    package: str | None = None
    version: str | None = None
    fixed_version: str | None = None
    uri: str | None = None
    title: str | None = None
    fix_available: str | None = None      # YES | NO | PARTIAL (Inspector); None: the scan does not say
    exploit_available: str | None = None  # YES | NO (Inspector); None: the scan does not say
    cvss_score: float | None = None       # Inspector's score, else the newest CVSS base score
    package_manager: str | None = None    # Inspector's: OS, NPM, PIP, ...
    path: str | None = None               # the package's file in the image, where Inspector says
    suppression: Suppression | None = None

    @property
    def ignored(self) -> bool:
        """Suppressed: listed, but it does not count for the gate."""
        return self.suppression is not None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "severity": self.severity, "package": self.package,
                "version": self.version, "fixedVersion": self.fixed_version, "uri": self.uri,
                "ignored": self.ignored, "fixAvailable": self.fix_available,
                "exploitAvailable": self.exploit_available, "cvssScore": self.cvss_score,
                "packageManager": self.package_manager, "filePath": self.path,
                "suppression": self.suppression.to_json() if self.suppression else None}

    @property
    def fixed_in(self) -> str:
        """The FIXED column: the version, "no fix" when the scan says there is none, else "-"."""
        return self.fixed_version or ("no fix" if self.fix_available == "NO" else "-")


@dataclass(frozen=True)
class ImageFindings:
    """What the gate knows about one repository's image: its scan status and findings."""

    repository: str
    digest: str | None = None
    tags: tuple[str, ...] = ()
    scan_status: str = ERROR
    description: str | None = None  # why: ECR's status description or ecrgen's reason
    severity_counts: Mapping[str, int] = field(default_factory=dict)
    findings: tuple[Finding, ...] = ()

    def blocking(self, fail_on: str) -> list[Finding]:
        """Findings at or above `fail_on` that nothing suppresses."""
        return [f for f in self.findings if not f.ignored and at_or_above(f.severity, fail_on)]

    def fails(self, fail_on: str | None) -> bool:
        """The gate: with a threshold, an image fails on a blocking finding or an unknown scan."""
        if fail_on is None:
            return False
        return self.scan_status not in NOT_FAILING or bool(self.blocking(fail_on))


def parse_findings(pages: Iterable[Mapping[str, Any]]) -> tuple[dict[str, int], list[Finding]]:
    """Severity counts and findings from the pages of one DescribeImageScanFindings call."""
    counts: dict[str, int] = {}
    findings: list[Finding] = []
    for page in pages:
        scan = page.get("imageScanFindings") or {}
        counts = dict(scan.get("findingSeverityCounts") or counts)
        findings.extend(_basic(item) for item in scan.get("findings") or ())
        for item in scan.get("enhancedFindings") or ():
            findings.extend(_enhanced(item))
    return counts, findings


def _basic(item: Mapping[str, Any]) -> Finding:
    """Basic scanning: CVE name, severity, and the package and CVSS scores in `attributes`."""
    attributes = {a.get("key"): a.get("value") for a in item.get("attributes") or ()}
    score = _score(attributes.get("CVSS3_SCORE"))
    return Finding(id=str(item.get("name") or "unknown"), severity=str(item.get("severity") or "UNDEFINED"),
                   package=attributes.get("package_name"), version=attributes.get("package_version"),
                   uri=item.get("uri"), title=item.get("description"),
                   cvss_score=_score(attributes.get("CVSS2_SCORE")) if score is None else score)


def _enhanced(item: Mapping[str, Any]) -> list[Finding]:
    """Enhanced scanning (Amazon Inspector): one finding per vulnerable package."""
    details = item.get("packageVulnerabilityDetails") or {}
    ident = str(details.get("vulnerabilityId") or item.get("title") or item.get("findingArn") or "unknown")
    urls = details.get("referenceUrls") or []
    uri = details.get("sourceUrl") or (urls[0] if urls else None)
    score = _score(item.get("score"))
    base = Finding(id=ident, severity=str(item.get("severity") or "UNTRIAGED"), uri=uri,
                   title=item.get("title") or item.get("description"),
                   fix_available=item.get("fixAvailable") or None,
                   exploit_available=item.get("exploitAvailable") or None,
                   cvss_score=_newest_cvss(details.get("cvss") or []) if score is None else score)
    packages = details.get("vulnerablePackages") or []
    if not packages:
        return [base]
    return [_package(base, p) for p in packages]


def _package(base: Finding, package: Mapping[str, Any]) -> Finding:
    """The finding for one package: its full installed version (epoch:version-release, as
    Inspector writes the fixed one) and whether a version fixes it ("NotAvailable": none does)."""
    fixed = package.get("fixedInVersion") or None
    fix_available = base.fix_available
    if fixed == NOT_AVAILABLE:
        fixed, fix_available = None, "NO"
    elif fixed:
        fix_available = "YES"
    version, release, epoch = package.get("version"), package.get("release"), package.get("epoch")
    if version and release:
        version = f"{version}-{release}"
    if version and epoch is not None and (epoch or release):
        version = f"{epoch}:{version}"
    return replace(base, package=package.get("name"), version=version, fixed_version=fixed,
                   fix_available=fix_available, package_manager=package.get("packageManager") or None,
                   path=package.get("filePath") or None)


def _newest_cvss(scores: Sequence[Mapping[str, Any]]) -> float | None:
    """The base score of the newest CVSS version given (3.1 over 2.0)."""
    def version(entry: Mapping[str, Any]) -> tuple[int, ...]:
        return tuple(int(part) for part in str(entry.get("version") or "0").split(".") if part.isdigit())

    newest = max(scores, key=version, default=None)
    return _score(newest.get("baseScore")) if newest else None


def _score(value: Any) -> float | None:
    """A CVSS score (0-10) from a number or its text; None when there is none."""
    try:
        score = float(value)
    except (TypeError, ValueError):
        return None
    return score if 0 <= score <= 10 else None


# --- the report ----------------------------------------------------------------------------

def exit_code(images: Sequence[ImageFindings], fail_on: str | None) -> int:
    return 1 if any(image.fails(fail_on) for image in images) else 0


def build(images: Sequence[ImageFindings], fail_on: str | None,
          api_calls: Mapping[str, int]) -> dict[str, Any]:
    """The `--output json` document."""
    total: Counter[str] = Counter()
    for image in images:
        total.update(image.severity_counts)
    return {
        "images": [{"repositoryName": image.repository, "imageDigest": image.digest,
                    "imageTags": list(image.tags), "scanStatus": image.scan_status,
                    "severityCounts": dict(image.severity_counts),
                    "findings": [f.to_json() for f in image.findings]} for image in images],
        "summary": {"images": len(images), "severityCounts": dict(total),
                    "failed": sum(image.fails(fail_on) for image in images),
                    "suppressed": sum(f.ignored for image in images for f in image.findings),
                    "apiCalls": dict(sorted(api_calls.items()))},
    }


def render_text(images: Sequence[ImageFindings], fail_on: str | None, out: TextIO,
                show_suppressed: bool = False) -> None:
    """Per image: status and severity counts, then the findings at or above the threshold; the
    suppressed ones counted (listed, with their reasons, with `show_suppressed`)."""
    shown_from = fail_on or SEVERITIES[0]
    for image in images:
        name = image.repository + (f":{image.tags[0]}" if image.tags else "")
        digest = f" ({image.digest[:19]})" if image.digest else ""
        verdict = "  FAILED" if image.fails(fail_on) else ""
        out.write(f"{name}{digest}: {image.scan_status}{verdict}\n")
        if image.description and image.scan_status not in SCAN_DONE:
            out.write(f"  {image.description}\n")
        counts = ", ".join(f"{sev} {image.severity_counts[sev]}"
                           for sev in (*reversed(SEVERITIES), "UNDEFINED", "UNTRIAGED")
                           if image.severity_counts.get(sev))
        if image.scan_status in SCAN_DONE:
            out.write(f"  {counts or 'no findings'}\n")
        rows = [f for f in image.findings if at_or_above(f.severity, shown_from)]
        hidden = [] if show_suppressed else [f for f in rows if f.ignored]
        rows = [f for f in rows if show_suppressed or not f.ignored]
        rows.sort(key=lambda f: (-RANK[f.severity], f.id, f.package or ""))
        if rows:
            _table(rows, out)
        for note in dict.fromkeys(f"{NOTED[f.suppression.kind]} {f.id}: {f.suppression.text}" for f in rows
                                  if f.suppression and f.suppression.kind in NOTED):
            out.write(f"  {note}\n")
        if hidden:
            kinds = Counter(SUPPRESSED_BY[f.suppression.kind] for f in hidden if f.suppression)
            by = ", ".join(f"{kind} {count}" for kind, count in kinds.items())
            out.write(f"  {len(hidden)} suppressed ({by}); --show-suppressed lists them\n")
    failed = sum(image.fails(fail_on) for image in images)
    gate = f"; {failed} failed --fail-on {fail_on}" if fail_on else ""
    count = len(images)
    out.write(f"{count} {'repository' if count == 1 else 'repositories'}{gate}\n")


NOTED = {"ignore": "ignored", "vex": "VEX"}  # suppressions with a reason in words, noted below the table
SUPPRESSED_BY = {"ignore": "ignore file", "vex": "VEX", "unfixed": "no fix",
                 "not-exploitable": "no known exploit"}


def _table(rows: list[Finding], out: TextIO) -> None:
    cells = [("ID", "SEVERITY", "CVSS", "PACKAGE", "INSTALLED", "FIXED", "EXPLOIT", "LINK")]
    for f in rows:
        severity = f"{f.severity} ({f.suppression.label})" if f.suppression else f.severity
        score = "-" if f.cvss_score is None else f"{f.cvss_score:.1f}"
        cells.append((f.id, severity, score, f.package or "-", f.version or "-", f.fixed_in,
                      (f.exploit_available or "-").lower(), f.uri or "-"))
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]) - 1)]
    for row in cells:
        out.write("  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False))
                  + "  " + row[-1] + "\n")
