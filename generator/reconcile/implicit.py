"""The plan for what ECR creates by itself and the registry's singletons, and its report sections.

Pull-through cache rules and creation templates are CloudFormation's: post-deploy compares each
with what ECR has and writes an `Update...` only where it differs, reports one that the template
creates but that is not there as `missing` (it never creates one), and one that only a
replacement could fix as `failed`, with why. The repositories under an enforced template's prefix
join the repository plan (`generator.reconcile.diff`) and are reported `implicit`, with the
prefix. The signing configuration is merged like the other registry documents
(`generator.reconcile.registry_merge`), account settings are put when they differ, and missing
pull-time exclusions are reported.

Pure: live data in, plans and report sections out.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from generator.model.repository_policy import PLACEHOLDERS

# Worst first: the status of a group of entries is the worst of theirs.
RANKS = ("failed", "missing", "planned", "changed", "in-sync")
ITEMS = {"pullThroughCache": "pull-through cache rule", "creationTemplates": "creation template"}


@dataclass(frozen=True)
class Account:
    """Where post-deploy runs: what fills `${AWS::AccountId}`, `${AWS::Region}`, `${AWS::Partition}`."""

    account_id: str
    region: str
    partition: str = "aws"

    def fill(self, text: str) -> str:
        values = (self.account_id, self.partition, self.region)
        for placeholder, value in zip(PLACEHOLDERS, values, strict=True):
            text = text.replace(placeholder, value)
        return text

    @property
    def repository_arn(self) -> str:
        """An ARN of this registry's repositories, to resolve a policy's placeholders with."""
        return f"arn:{self.partition}:ecr:{self.region}:{self.account_id}:repository/x"


@dataclass(frozen=True)
class SettingChange:
    setting: str
    before: Any
    after: Any


@dataclass(frozen=True)
class ItemPlan:
    """One rule or template: what differs, and the one call that fixes it (None: nothing to
    write, or nothing that can be written: then `error` says why)."""

    prefix: str
    changes: tuple[SettingChange, ...] = ()
    operation: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    missing: bool = False
    error: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)  # more keys for the report entry


def item_entries(plans: Sequence[ItemPlan], results: Mapping[str, str | None] | None) -> list[dict[str, Any]]:
    """Report entries: `results` maps a prefix to its write's error (None: applied); None when
    nothing was applied."""
    out = []
    for plan in plans:
        error = plan.error
        if error is None and results is not None and plan.operation:
            error = results.get(plan.prefix)
        change_status = "failed" if error else ("planned" if results is None else "applied")
        if plan.missing:
            status = "missing"
        elif error:
            status = "failed"
        elif plan.changes:
            status = "planned" if results is None else "changed"
        else:
            status = "in-sync"
        entry: dict[str, Any] = {"prefix": plan.prefix, "status": status, **plan.extra,
                                 "changes": [{"setting": c.setting, "from": c.before, "to": c.after,
                                              "status": change_status, "error": error} for c in plan.changes]}
        if error:
            entry["error"] = error
        out.append(entry)
    return out


def worst(statuses: Sequence[str]) -> str:
    """The group's status: `in-sync` when empty."""
    return min(statuses, key=RANKS.index, default="in-sync")


def registry_status(section: Mapping[str, Any]) -> str:
    """The whole `registry` section's status, its documents' and every entry's: a missing rule,
    template or exclusion counts as failed (the run exits 1, as for a missing repository)."""
    statuses = [section["status"]]
    statuses += [e["status"] for key in ITEMS for e in section.get(key, [])]
    statuses += [section[key]["status"] for key in ("signing", "accountSettings", "pullTimeExclusions")
                 if key in section]
    status = worst(statuses)
    return "failed" if status == "missing" else status


def text_lines(section: Mapping[str, Any]) -> list[str]:
    """The text report's lines for every entry that is not in sync."""
    lines = []
    for key, what in ITEMS.items():
        for entry in section.get(key, []):
            if entry["status"] == "in-sync":
                continue
            lines.append(f"{what} {entry['prefix']}: {entry['status']}"
                         + (f": {entry['error']}" if entry.get("error") else ""))
            lines += [f"  {c['setting']}: {_short(c['from'])} -> {_short(c['to'])}" for c in entry["changes"]]
    signing = section.get("signing")
    if signing and signing["status"] != "in-sync":
        lines.append(f"registry signing: {signing['status']}"
                     + (f": {signing['error']}" if signing["error"] else ""))
        lines.append(f"  before: {_short(signing['from'])}")
        lines.append(f"  after:  {_short(signing['to'])}")
    settings = section.get("accountSettings")
    for change in settings["changes"] if settings else []:
        lines.append(f"account setting {change['setting']}: {change['from']} -> {change['to']}: "
                     f"{change['status']}" + (f": {change['error']}" if change["error"] else ""))
    exclusions = section.get("pullTimeExclusions")
    if exclusions and exclusions["status"] != "in-sync":
        missing = [p["principalArn"] for p in exclusions["principals"] if p["status"] == "missing"]
        lines.append(f"pull-time exclusions: {exclusions['status']}"
                     + (f": {exclusions['error']}" if exclusions["error"] else "")
                     + (f" ({', '.join(missing)})" if missing else ""))
    return lines


def _short(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
