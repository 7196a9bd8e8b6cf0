"""Which findings do not count for the gate, and why (trivy's and grype's conventions).

In this order, the first that applies is the finding's `Suppression`: an active entry of the ignore
file, the latest OpenVEX statement saying `not_affected` or `fixed`, `--ignore-unfixed` (the scan
says no version fixes it) and `--exploitable-only` (the scan says no exploit is known). A finding
whose scan does not say (basic scanning) still counts under the two flags, and a warning says how
many. Suppressed findings stay in the JSON and SARIF, marked; text lists them on request.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace

from generator.findings import ignore, vex
from generator.findings.gate import NOT_EXPLOITABLE, SCAN_DONE, UNFIXED, Finding, ImageFindings, Suppression


@dataclass(frozen=True)
class Options:
    rules: Sequence[ignore.Rule] = ()
    vex: Sequence[vex.Statement] = ()
    ignore_unfixed: bool = False      # --ignore-unfixed
    exploitable_only: bool = False    # --exploitable-only


def apply(images: Sequence[ImageFindings], options: Options,
          today: dt.date) -> tuple[list[ImageFindings], list[str]]:
    """The images with each finding's suppression set, and the warnings for stderr."""
    active = [rule for rule in options.rules if not rule.expired(today)]
    expired = [rule for rule in options.rules if rule.expired(today)]
    matched: dict[int, list[str]] = {id(rule): [] for rule in options.rules}
    unknown = {"fix": 0, "exploit": 0}
    out = []
    for image in images:
        findings = []
        for finding in image.findings:
            for rule in [*active, *expired]:
                if rule.covers(image.repository, finding) and image.repository not in matched[id(rule)]:
                    matched[id(rule)].append(image.repository)
            suppression = _suppression(image, finding, active, options, unknown)
            findings.append(replace(finding, suppression=suppression))
        out.append(replace(image, findings=tuple(findings)))
    warnings = [ignore.expired(rule, matched[id(rule)]) for rule in expired]
    for rule in active:
        checked = dict.fromkeys(i.repository for i in images
                                if i.scan_status in SCAN_DONE and rule.applies_to(i.repository))
        if checked and not matched[id(rule)]:
            warnings.append(ignore.unmatched(rule, list(checked)))
    for flag, count, what in (("--ignore-unfixed", unknown["fix"], "a fix"),
                              ("--exploitable-only", unknown["exploit"], "an exploit")):
        if count:
            says = "finding does" if count == 1 else "findings do"
            warnings.append(f"{flag}: {count} {says} not say whether {what} exists (basic scanning); "
                            f"{'it still counts' if count == 1 else 'they still count'}")
    return out, warnings


def _suppression(image: ImageFindings, finding: Finding, active: list[ignore.Rule], options: Options,
                 unknown: dict[str, int]) -> Suppression | None:
    rule = ignore.covered(active, image, finding)
    if rule:
        return rule.suppression()
    suppression = vex.verdict(options.vex, image, finding)
    if suppression:
        return suppression
    if options.ignore_unfixed:
        if finding.fix_available == "NO":
            return UNFIXED
        unknown["fix"] += finding.fix_available is None
    if options.exploitable_only:
        if finding.exploit_available == "NO":
            return NOT_EXPLOITABLE
        unknown["exploit"] += finding.exploit_available is None
    return None
