"""Finding severities, ranked: what `--fail-on`, `notifications.min_severity` and SARIF compare."""

from __future__ import annotations

from typing import Literal

# Lowest first. Scanners also report UNDEFINED (basic) and UNTRIAGED (enhanced): those have no
# rank, so no threshold ever counts them.
SEVERITIES = ("INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL")
Severity = Literal["INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL"]
RANK = {name: rank for rank, name in enumerate(SEVERITIES)}
# ECR's imageScanStatus.status values of a finished scan (basic: COMPLETE, enhanced: ACTIVE).
SCAN_DONE = frozenset({"COMPLETE", "ACTIVE"})


def at_or_above(severity: str, threshold: str) -> bool:
    """True when `severity` ranks at or above `threshold` (unranked severities never do)."""
    return severity in RANK and RANK[severity] >= RANK[threshold]
