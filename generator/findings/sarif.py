"""`ecrgen findings --output sarif`: SARIF 2.1.0 for code-scanning dashboards (GitHub and others).

One run; one rule per finding id (its worst severity sets the level, its highest CVSS score
GitHub's `security-severity`); one result per finding, located at the repository, with the image
digest and tags in its logical location and properties. Suppressed findings carry an external
suppression with its reason (the ignore file's, the VEX statement's status and justification, or the flag's);
images whose scan is missing or failed become error notifications, an empty repository a note.

GitHub code scanning refuses a run of more than 25,000 results, and (since June 2025) a file of
several runs with the same tool and category, so splitting cannot help: past the limit the run
keeps the most severe results and says what it left out, in a warning and a notification.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from typing import Any

from generator import __version__
from generator.findings.gate import NO_IMAGES, SCAN_DONE, Finding, ImageFindings
from generator.model.severity import RANK

SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
INFORMATION_URI = "https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-scanning.html"
LEVELS = {"CRITICAL": "error", "HIGH": "error", "MEDIUM": "warning"}  # anything else: note
# GitHub ranks security alerts by this CVSS-like score: >= 9 critical, >= 7 high, >= 4 medium.
SECURITY_SEVERITY = {"CRITICAL": "9.5", "HIGH": "8.0", "MEDIUM": "5.5", "LOW": "2.0", "INFORMATIONAL": "0.0"}
MAX_RESULTS = 25_000  # per run: GitHub's documented hard limit ("SARIF results exceed limit")


def render(images: Sequence[ImageFindings]) -> tuple[dict[str, Any], list[str]]:
    """The SARIF log for `images` (a JSON-ready dict), and warnings for stderr."""
    kept, left_out = _within_limit([(image, finding) for image in images for finding in image.findings])
    worst: dict[str, Finding] = {}
    scores: dict[str, float] = {}
    for _, finding in kept:
        known = worst.get(finding.id)
        if known is None or RANK.get(finding.severity, -1) > RANK.get(known.severity, -1):
            worst[finding.id] = finding
        if finding.cvss_score is not None:
            scores[finding.id] = max(finding.cvss_score, scores.get(finding.id, 0.0))
    rule_ids = sorted(worst)
    rules = [_rule(worst[rule_id], scores.get(rule_id)) for rule_id in rule_ids]
    index = {rule_id: i for i, rule_id in enumerate(rule_ids)}
    results = [_result(image, finding, index[finding.id]) for image, finding in kept]
    notifications = [{"level": "note" if image.scan_status == NO_IMAGES else "error",
                      "message": {"text": _status_line(image)}}
                     for image in images if image.scan_status not in SCAN_DONE]
    warnings = [left_out] if left_out else []
    notifications += [{"level": "warning", "message": {"text": text}} for text in warnings]
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "ecrgen", "version": __version__, "informationUri": INFORMATION_URI,
                                "rules": rules}},
            "invocations": [{"executionSuccessful": True, "toolExecutionNotifications": notifications}],
            "results": results,
        }],
    }, warnings


Results = list[tuple[ImageFindings, Finding]]


def _within_limit(pairs: Results) -> tuple[Results, str]:
    """At most MAX_RESULTS, in their order (suppressed, then less severe results are left out
    first); what was left out, in words ("" when nothing was)."""
    if len(pairs) <= MAX_RESULTS:
        return pairs, ""
    order = sorted(range(len(pairs)), key=lambda i: _priority(pairs[i][1]))
    keep = set(order[:MAX_RESULTS])
    dropped = Counter(pairs[i][1].severity for i in order[MAX_RESULTS:])
    counts = ", ".join(f"{severity} {count:,}" for severity, count in
                       sorted(dropped.items(), key=lambda item: -RANK.get(item[0], -1)))
    return [pair for i, pair in enumerate(pairs) if i in keep], (
        f"SARIF: {len(pairs):,} results are more than GitHub code scanning accepts in one run "
        f"({MAX_RESULTS:,}); left out the {len(pairs) - MAX_RESULTS:,} least severe ({counts}); "
        "--output json lists every finding")


def _priority(finding: Finding) -> tuple[bool, int]:
    return finding.ignored, -RANK.get(finding.severity, -1)


def _status_line(image: ImageFindings) -> str:
    reason = f": {image.description}" if image.description else ""
    return f"{image.repository}: scan {image.scan_status}{reason}"


def _rule(finding: Finding, score: float | None) -> dict[str, Any]:
    """The rule of one finding id; GitHub ranks it by the CVSS score where there is one."""
    text = finding.title or finding.id
    security_severity = SECURITY_SEVERITY.get(finding.severity, "0.0") if score is None else f"{score:.1f}"
    rule: dict[str, Any] = {
        "id": finding.id, "name": "ContainerImageVulnerability",
        "shortDescription": {"text": f"{finding.id} ({finding.severity})"},
        "fullDescription": {"text": text},
        "defaultConfiguration": {"level": LEVELS.get(finding.severity, "note")},
        "help": {"text": f"{text}\n{finding.uri or ''}".strip()},
        "properties": {"tags": ["security", "vulnerability", "container"],
                       "security-severity": security_severity},
    }
    if finding.uri:
        rule["helpUri"] = finding.uri
    return rule


def _result(image: ImageFindings, finding: Finding, rule_index: int) -> dict[str, Any]:
    package = f" in {finding.package} {finding.version or ''}".rstrip() if finding.package else ""
    fixed = {"-": "", "no fix": ", no fix available"}.get(finding.fixed_in, f", fixed in {finding.fixed_in}")
    image_ref = f"{image.repository}@{image.digest}" if image.digest else image.repository
    key = "\0".join((image.repository, finding.id, finding.package or "", finding.version or ""))
    result: dict[str, Any] = {
        "ruleId": finding.id, "ruleIndex": rule_index, "level": LEVELS.get(finding.severity, "note"),
        "message": {"text": f"{finding.id} ({finding.severity}){package}{fixed}: {image_ref}"},
        "locations": [{
            "physicalLocation": {"artifactLocation": {"uri": image.repository}, "region": {"startLine": 1}},
            "logicalLocations": [{"name": image_ref, "kind": "module"}],
        }],
        "partialFingerprints": {"ecrgenFinding/v1": hashlib.sha256(key.encode()).hexdigest()},
        "properties": {"repositoryName": image.repository, "imageDigest": image.digest,
                       "imageTags": list(image.tags), "package": finding.package,
                       "installedVersion": finding.version, "fixedVersion": finding.fixed_version,
                       "fixAvailable": finding.fix_available, "exploitAvailable": finding.exploit_available,
                       "cvssScore": finding.cvss_score},
    }
    if finding.suppression:
        result["suppressions"] = [{"kind": "external", "justification": finding.suppression.text}]
    return result
