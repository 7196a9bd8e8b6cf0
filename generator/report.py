"""The post-deploy report: one dict in design.md's `--output json` shape, also drawn as a table.

Built from the plan and what apply returned, so the JSON and the human output never disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TextIO

from generator import access, lifecycle
from generator.diff import Change, Plan, RepositoryPlan

STATUSES = ("in-sync", "changed", "planned", "failed", "missing")
_SUMMARY_KEYS = {"in-sync": "inSync", "changed": "changed", "planned": "planned", "failed": "failed",
                 "missing": "missing"}


def build(plan: Plan, results: Mapping[Change, str | None] | None,
          api_calls: Mapping[str, int]) -> dict[str, Any]:
    """`results` is what apply returned (change -> error or None); None when nothing was applied."""
    repositories = [_repository(repo, results) for repo in plan.repositories]
    summary: dict[str, Any] = {"repositories": len(repositories)}
    for status in STATUSES:
        summary[_SUMMARY_KEYS[status]] = sum(1 for r in repositories if r["status"] == status)
    summary["apiCalls"] = dict(sorted(api_calls.items()))
    return {"repositories": repositories, "summary": summary}


def _repository(repo: RepositoryPlan, results: Mapping[Change, str | None] | None) -> dict[str, Any]:
    changes = []
    for change in repo.changes:
        error = results.get(change) if results is not None else None
        status = "planned" if results is None else ("failed" if error else "applied")
        changes.append({"setting": change.setting, "from": change.before, "to": change.after,
                        "status": status, "error": error})
    if repo.missing:
        status = "missing"
    elif repo.error or any(c["status"] == "failed" for c in changes):
        status = "failed"
    elif not changes:
        status = "in-sync"
    else:
        status = "planned" if results is None else "changed"
    out: dict[str, Any] = {"repositoryName": repo.name, "status": status, "changes": changes}
    if repo.error:
        out["error"] = repo.error
    return out


def exit_code(report: Mapping[str, Any], check: bool) -> int:
    """1 when a repository failed or is missing, or when `check` finds anything to change."""
    summary = report["summary"]
    if summary["failed"] or summary["missing"]:
        return 1
    return 1 if check and summary["planned"] else 0


def summary_line(report: Mapping[str, Any]) -> str:
    summary = report["summary"]
    counts = ", ".join(f"{summary[_SUMMARY_KEYS[s]]} {s}" for s in STATUSES if summary[_SUMMARY_KEYS[s]])
    calls = sum(summary["apiCalls"].values())
    return f"{summary['repositories']} repositories: {counts or 'none'} ({calls} API calls)"


def render_text(report: Mapping[str, Any], out: TextIO) -> None:
    """A table of every repository that is not in sync, then the summary line."""
    from rich.console import Console
    from rich.table import Table

    console = Console(file=out, width=None if out.isatty() else 160, highlight=False, markup=False)
    table = Table("repository", "setting", "from", "to", "status", box=None, pad_edge=False)
    for repo in report["repositories"]:
        if repo["status"] == "in-sync":
            continue
        if not repo["changes"]:
            table.add_row(repo["repositoryName"], "", "", "", _status(repo["status"], repo.get("error")))
        for change in repo["changes"]:
            setting = change["setting"]
            table.add_row(repo["repositoryName"], setting, _readable(change["from"], setting),
                          _readable(change["to"], setting), _status(change["status"], change["error"]))
    if table.row_count:
        console.print(table)
    console.print(summary_line(report))


def _status(status: str, error: str | None) -> str:
    return f"{status}: {error}" if error else status


def _readable(value: str | bool | None, setting: str = "") -> str:
    """A cell: policies as one short phrase per rule, since their JSON is too long for a table."""
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if not value.startswith("{"):
        return value
    if setting == "repositoryPolicy":
        return _access_phrase(value)
    try:
        rules = lifecycle.parse_text(value).by_priority()
    except lifecycle.PolicyError:
        return "(unreadable policy)"
    return "; ".join(_rule_phrase(rule) for rule in rules)


_COUNTS = {"imageCountMoreThan": "keep {n}", "sinceImagePushed": "pushed > {n}d",
           "sinceImagePulled": "pulled > {n}d", "sinceImageTransitioned": "archived > {n}d"}


def _rule_phrase(rule: lifecycle.Rule) -> str:
    """`2: tagged v*, keep 20` or `3: any, pushed > 30d, archive`."""
    tags = ",".join(rule.tag_prefixes + rule.tag_patterns)
    parts = [f"{rule.priority}: {rule.tag_status}{' ' + tags if tags else ''}",
             _COUNTS[rule.count_type].format(n=rule.count_number)]
    if rule.storage_class == "archive":
        parts.insert(1, "archived")
    if rule.action == "transition":
        parts.append("archive")
    return ", ".join(parts)


def _access_phrase(text: str) -> str:
    """`Pull: 111122223333, role/ci; PushOrganization: *`: who each statement lets in."""
    try:
        policy = access.parse_text(text)
    except access.PolicyError:
        return "(unreadable policy)"
    return "; ".join(f"{s.sid or s.effect}: {', '.join(v for _, v in s.principals)}"
                     for s in policy.statements)
