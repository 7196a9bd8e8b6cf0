"""Which setting actually scans a repository: the registry's scanning filters or its own scanOnPush.

Pure: the registry's scanning document (as GetRegistryScanningConfiguration returns it) and a
repository name in, the frequency and the setting that decides it out, following the ECR user
guide. post-deploy reports it for each managed repository, since registry filters override the
repository-level setting.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from generator.model.registry import CONTINUOUS_SCAN, MANUAL, SCAN_ON_PUSH


@dataclass(frozen=True)
class EffectiveScan:
    """How a repository's images are actually scanned, and which setting decides it."""

    repository: str
    scan_type: str
    frequency: str          # SCAN_ON_PUSH | CONTINUOUS_SCAN | MANUAL (basic, by hand) | OFF (enhanced, none)
    source: str             # the rule and filter, or the repository-level setting

    @property
    def on_push(self) -> bool:
        return self.frequency in (SCAN_ON_PUSH, CONTINUOUS_SCAN)


def filter_matches(pattern: str, name: str) -> bool:
    """ECR's filter semantics: without '*' a filter matches names that contain it; with '*', the
    whole name, '*' standing for any run of characters."""
    if "*" not in pattern:
        return pattern in name
    regex = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.fullmatch(regex, name) is not None


def effective_scan(scanning: Mapping[str, Any], repository: str,
                   repository_scan_on_push: bool) -> EffectiveScan:
    """Following the ECR user guide: once the registry's scanning configuration has filters, it
    decides for every repository and the repository-level scanOnPush is ignored; with ENHANCED a
    CONTINUOUS_SCAN filter wins over a SCAN_ON_PUSH one, and a repository no filter matches is
    not scanned; with BASIC it is scanned by hand only (MANUAL). Without any filter (the default
    BASIC configuration) the repository-level scanOnPush still applies."""
    scan_type = str(scanning.get("scanType") or "BASIC")
    rules = [r for r in scanning.get("rules") or [] if isinstance(r, Mapping)]
    if not any(r.get("repositoryFilters") for r in rules):
        if scan_type == "ENHANCED":
            return EffectiveScan(repository, scan_type, "OFF", "enhanced scanning without any rule")
        frequency = SCAN_ON_PUSH if repository_scan_on_push else MANUAL
        return EffectiveScan(repository, scan_type, frequency,
                             f"repository setting scanOnPush {str(repository_scan_on_push).lower()} "
                             "(the registry has no scanning filters)")
    order = (CONTINUOUS_SCAN, SCAN_ON_PUSH) if scan_type == "ENHANCED" else (SCAN_ON_PUSH,)
    for frequency in order:
        for rule in rules:
            if rule.get("scanFrequency") != frequency:
                continue
            for item in rule.get("repositoryFilters") or []:
                pattern = item.get("filter") if isinstance(item, Mapping) else None
                if isinstance(pattern, str) and filter_matches(pattern, repository):
                    return EffectiveScan(repository, scan_type, frequency,
                                         f"registry {scan_type} rule {frequency}, filter {pattern!r}")
    if scan_type == "ENHANCED":
        return EffectiveScan(repository, scan_type, "OFF", "no ENHANCED scanning filter matches; the "
                             "registry's filters override the repository-level scanOnPush")
    return EffectiveScan(repository, scan_type, MANUAL, "no BASIC scan-on-push filter matches; the "
                         "registry's filters override the repository-level scanOnPush")


def effective_scans(scanning: Mapping[str, Any] | None, wishes: Sequence[Any],
                    live: Mapping[str, Any]) -> list[tuple[EffectiveScan, bool | None]]:
    """How each managed repository that exists is scanned once this run is done, with whether
    the config wants it scanned on push (None: not managed). Its repository-level setting is the
    wanted one where managed (post-deploy sets it), else the live one."""
    if scanning is None:
        return []
    out = []
    for wish in wishes:
        repo = live.get(wish.name)
        if repo is not None:
            on_push = repo.scan_on_push if wish.scan_on_push is None else wish.scan_on_push
            out.append((effective_scan(scanning, wish.name, on_push), wish.scan_on_push))
    return out
