"""The post-deploy report: one dict in design.md's `--output json` shape, also drawn as a table.

Built from the plan and what apply returned, so the JSON and the human output never disagree.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

from generator.model import lifecycle, repository_policy
from generator.model.effective_scan import EffectiveScan
from generator.reconcile import implicit, in_use, phrases
from generator.reconcile.diff import Change, Plan, RepositoryPlan
from generator.reconcile.registry_merge import DocumentPlan, Left

# A repository's status; the summary counts each, so the counts add up to the repositories.
STATUSES = ("in-sync", "changed", "planned", "failed", "missing", "unmanaged")
_SUMMARY_KEYS = {"in-sync": "inSync", "changed": "changed", "planned": "planned", "failed": "failed",
                 "missing": "missing", "unmanaged": "unmanaged", "at-risk": "atRisk", "implicit": "implicit"}
SUMMARY_KEYS = tuple(_SUMMARY_KEYS[s] for s in STATUSES)  # the summary's count per status, in order


def build(plan: Plan, results: Mapping[Change, str | None] | None, api_calls: Mapping[str, int],
          verdicts: Mapping[str, in_use.Verdict] | None = None,
          governed_by: Mapping[str, str] | None = None) -> dict[str, Any]:
    """`results` is what apply returned (change -> error or None); None when nothing was applied.
    `verdicts` are the in-use guard's, by repository (None: no in-use discovery). `governed_by`
    maps each repository an enforced creation template governs to the template's prefix (None:
    no template is enforced): it is reported with that `prefix`, and as `implicit` where it
    needed nothing."""
    repositories = [_repository(repo, results) for repo in plan.repositories]
    for entry in repositories:
        if verdicts and entry["repositoryName"] in verdicts:
            in_use.annotate(entry, verdicts[entry["repositoryName"]], applied=results is not None)
        if governed_by and entry["repositoryName"] in governed_by:
            entry["prefix"] = governed_by[entry["repositoryName"]]
            if entry["status"] == "in-sync":
                entry["status"] = "implicit"
    summary: dict[str, Any] = {"repositories": len(repositories)}
    # `at-risk` exists only where the in-use guard ran, `implicit` only where templates are
    # enforced: a run without them reports as it always did.
    optional = [status for status, ran in (("at-risk", verdicts), ("implicit", governed_by))
                if ran is not None]
    for status in (*STATUSES, *optional):
        summary[_SUMMARY_KEYS[status]] = sum(1 for r in repositories if r["status"] == status)
    summary["apiCalls"] = dict(sorted(api_calls.items()))
    return {"repositories": repositories, "summary": summary}


def _repository(repo: RepositoryPlan, results: Mapping[Change, str | None] | None) -> dict[str, Any]:
    """The repository's entry. Its status is `unmanaged` when nothing else is to do but some
    setting could not be compared: never `in-sync` when something was not checked."""
    changes: list[dict[str, Any]] = []
    for change in repo.changes:
        error = results.get(change) if results is not None else None
        status = "planned" if results is None else ("failed" if error else "applied")
        changes.append({"setting": change.setting, "from": change.before, "to": change.after,
                        "status": status, "error": error})
    if repo.missing:
        status = "missing"
    elif repo.error or any(c["status"] == "failed" for c in changes):
        status = "failed"
    elif changes:
        status = "planned" if results is None else "changed"
    else:
        status = "unmanaged" if repo.unmanaged else "in-sync"
    changes.extend({"setting": u.setting, "status": "unmanaged", "reason": u.reason} for u in repo.unmanaged)
    changes.extend({"setting": k.setting, "status": "kept", "reason": k.reason} for k in repo.kept)
    out: dict[str, Any] = {"repositoryName": repo.name, "status": status, "changes": changes}
    if repo.error:
        out["error"] = repo.error
    return out


def registry(plans: Sequence[DocumentPlan], outcomes: Mapping[str, tuple[Any, str | None]] | None,
             scans: Sequence[tuple[EffectiveScan, bool | None]], left: Sequence[Left] = (),
             skipped: Sequence[tuple[str, str]] = ()) -> dict[str, Any]:
    """The report's `registry` section: each document written or planned (`from`/`to` are the
    whole documents), how each managed repository is actually scanned, the live elements that
    look like this config's but were `kept` as another config's, and what of the part this
    account and region cannot take (`skipped`: (item, why)). `outcomes` maps a setting to
    (document now live, error); None when nothing was applied. A repository that wants scan on
    push (`scans`' second item) but is not scanned by any setting is drift."""
    changes = []
    for doc in plans:
        to, error = doc.after, doc.error
        if error is None and outcomes is not None:
            live, error = outcomes[doc.setting]
            to = doc.after if error else live
        status = "failed" if error else ("planned" if outcomes is None else "applied")
        changes.append({"setting": doc.setting, "from": doc.before, "to": to, "status": status,
                        "error": error})
    if any(c["status"] == "failed" for c in changes):
        status = "failed"
    elif not changes:
        status = "in-sync"
    else:
        status = "planned" if outcomes is None else "changed"
    scanning = []
    for scan, wanted in scans:
        entry = {"repositoryName": scan.repository, "scanType": scan.scan_type, "frequency": scan.frequency,
                 "source": scan.source, "status": "drift" if wanted and not scan.on_push else "ok"}
        if entry["status"] == "drift":
            entry["reason"] = f"wants scan on push, but {scan.source}"
        scanning.append(entry)
    kept = [{"setting": e.setting, "item": e.item, "status": "kept", "reason": e.reason} for e in left]
    skips = [{"setting": "replication", "item": item, "status": "skipped", "reason": why}
             for item, why in skipped]
    return {"status": status, "changes": changes, "scanning": scanning, "kept": kept, "skipped": skips}


def exit_code(report: Mapping[str, Any], check: bool) -> int:
    """1 when a repository or registry document failed, a repository is missing, at risk (its
    policy will expire an image in use) or is not scanned as wanted, or when `check` finds
    anything to change.

    Unmanaged settings never make 1: nothing could be compared, so nothing is known to drift."""
    summary = report["summary"]
    section = report.get("registry") or {"status": "in-sync", "scanning": []}
    if summary["failed"] or summary["missing"] or summary.get("atRisk") or section["status"] == "failed" or \
            any(s["status"] == "drift" for s in section["scanning"]):
        return 1
    return 1 if check and (summary["planned"] or section["status"] == "planned") else 0


def summary_line(report: Mapping[str, Any]) -> str:
    summary = report["summary"]
    counts = ", ".join(f"{summary[key]} {s}" for s, key in _SUMMARY_KEYS.items() if summary.get(key))
    calls = sum(summary["apiCalls"].values())
    return f"{summary['repositories']} repositories: {counts or 'none'} ({calls} API calls)"


def render_text(report: Mapping[str, Any], out: TextIO) -> None:
    """A table of every repository that is not in sync (or keeps a service's statement), then the
    summary line."""
    from rich.console import Console
    from rich.table import Table

    console = Console(file=out, width=None if out.isatty() else 160, highlight=False, markup=False)
    table = Table("repository", "setting", "from", "to", "status", box=None, pad_edge=False)
    for repo in report["repositories"]:
        extra = in_use.rows(repo)
        if repo["status"] in ("in-sync", "implicit") and not repo["changes"] and not extra:
            continue
        if not repo["changes"] and not extra:
            table.add_row(repo["repositoryName"], "", "", "", _status(repo["status"], repo.get("error")))
        for change in repo["changes"]:
            if change["status"] in ("unmanaged", "kept"):
                table.add_row(repo["repositoryName"], change["setting"], "", "",
                              _status(change["status"], change["reason"]))
                continue
            table.add_row(repo["repositoryName"], change["setting"],
                          *_readable(change["from"], change["to"], change["setting"]),
                          _status(change["status"], change["error"]))
        for row in extra:
            table.add_row(repo["repositoryName"], *row)
    if table.row_count:
        console.print(table)
    if report.get("registry"):
        _render_registry(report["registry"], console)
    console.print(summary_line(report))


def _render_registry(section: Mapping[str, Any], console: Any) -> None:
    """Each registry document before and after (whole, as compact JSON), then scanning drift."""
    for line in implicit.text_lines(section):
        console.print(line, soft_wrap=True)
    for change in section["changes"]:
        console.print(f"registry {change['setting']}: {_status(change['status'], change['error'])}")
        console.print(f"  before: {json.dumps(change['from'], separators=(',', ':'))}", soft_wrap=True)
        console.print(f"  after:  {json.dumps(change['to'], separators=(',', ':'))}", soft_wrap=True)
    for entry in [*section.get("kept", ()), *section.get("skipped", ())]:
        console.print(f"registry {entry['setting']}: {entry['status']} {entry['item']!r}: {entry['reason']}")
    for scan in section["scanning"]:
        if scan["status"] == "drift":
            console.print(f"{scan['repositoryName']}: scanning drift: {scan['reason']}")
    drift = sum(1 for s in section["scanning"] if s["status"] == "drift")
    console.print(f"registry: {section['status']}"
                  + (f", {drift} repositories not scanned on push" if drift else ""))


def _status(status: str, error: str | None) -> str:
    return f"{status}: {error}" if error else status


def _readable(before: str | bool | None, after: str | bool | None, setting: str) -> tuple[str, str]:
    """The from and to cells: policies as short phrases, since their JSON is too long for a
    table; lifecycle rules with their descriptions where only those differ."""
    if setting == "repositoryPolicy":
        return _access_cell(before), _access_cell(after)
    policies = [_policy(value) for value in (before, after)]
    if policies[0] is not None and policies[1] is not None:
        return phrases.policy_pair(policies[0], policies[1])
    return _cell(before, policies[0]), _cell(after, policies[1])


def _policy(value: str | bool | None) -> lifecycle.Policy | None:
    """The policy a cell's value holds, if it is one that can be read."""
    if not isinstance(value, str) or not value.startswith("{"):
        return None
    try:
        return lifecycle.parse_text(value)
    except lifecycle.PolicyError:
        return None


def _access_cell(value: str | bool | None) -> str:
    """Who each statement of a repository policy lets in."""
    if not isinstance(value, str):
        return "(none)"
    try:
        return phrases.access_phrase(repository_policy.parse_text(value))
    except repository_policy.PolicyError:
        return "(unreadable policy)"


def _cell(value: str | bool | None, policy: lifecycle.Policy | None) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if policy is not None:
        return phrases.policy_phrase(policy)
    return "(unreadable policy)" if value.startswith("{") else value
