"""The report as a short Markdown summary: the totals and the top offenders, for a CI job summary
(`>> "$GITHUB_STEP_SUMMARY"`) or a terminal."""

from __future__ import annotations

from collections.abc import Callable

from generator.base.wording import binary_size, plural
from generator.model.lifecycle.images import format_timestamp
from generator.report import figures, units
from generator.report.figures import Report, RepositoryFigures

OFFENDERS = 5  # repositories named per list


def render(report: Report) -> str:
    findings = figures.findings_total(report)
    statuses = figures.status_total(report)
    lines = [f"## ECR registry report: {report.scope}", "",
             f"At {format_timestamp(report.generated_at)}; storage priced at "
             f"{report.prices.standard:.2f} USD per GB-month, archive at {report.prices.archive:.2f}.", "",
             "| | |", "|---|---|",
             f"| repositories | {len(report.repositories):,}"
             + (f" ({len(report.unreadable)} unreadable)" if report.unreadable else "") + " |",
             f"| images | {report.total('images'):,} ({report.total('archived_images'):,} archived) |",
             f"| storage | {binary_size(report.total('bytes'))}, "
             f"{units.usd(report.total('monthly_cost'))} per month |",
             f"| current policies free | {binary_size(report.total('freed.expiring_bytes'))}, "
             f"{units.usd(report.total('freed.monthly_saving'))} per month |",
             f"| without lifecycle policy | {len(figures.without_policy(report))} |",
             f"| status | {statuses['in-sync']} in sync, {statuses['drifted']} drifted, "
             f"{statuses['unmanaged']} unmanaged |",
             "| newest images' findings | "
             + (", ".join(f"{n} {severity.lower()}" for severity, n in findings.items()) or "none") + " |"]
    if report.in_use is not None:
        in_use = figures.in_use_total(report)
        images = plural(in_use.images, "image", thousands=True)
        lines.append(f"| in use ({report.in_use.sources}) | {images}, {len(in_use.at_risk):,} at risk: "
                     "expired or archived at ECR's next evaluation |")
    lines += _offenders("In use, and expired or archived at ECR's next evaluation", report,
                        lambda r: len(r.in_use.at_risk) if r.in_use else 0, _at_risk)
    lines += _offenders("Most expensive", report, lambda r: r.monthly_cost,
                        lambda r: f"{binary_size(r.bytes)}, {units.usd(r.monthly_cost)} per month")
    lines += _offenders("Most freed by their policy", report, lambda r: r.freed.expiring_bytes,
                        lambda r: f"{binary_size(r.freed.expiring_bytes)}, "
                                  f"{units.usd(r.freed.monthly_saving)} per month")
    lines += _offenders("No lifecycle policy", report, lambda r: 0 if r.has_policy else r.bytes + 1,
                        lambda r: f"{binary_size(r.bytes)}, kept forever")
    lines += _offenders("Critical and high findings in the newest image", report,
                        lambda r: r.findings.get("CRITICAL", 0) * 1000 + r.findings.get("HIGH", 0),
                        lambda r: f"{r.findings.get('CRITICAL', 0)} critical, "
                                  f"{r.findings.get('HIGH', 0)} high")
    lines += _offenders("Drifted from ecr.yaml or the stack", report, lambda r: r.status == "drifted",
                        lambda r: "drifted")
    if report.unreadable:
        lines += ["", "### Unreadable", ""]
        lines += [f"- `{name}`: {error}" for name, error in report.unreadable.items()]
    return "\n".join(lines) + "\n"


def _at_risk(repo: RepositoryFigures) -> str:
    """`2 of 3 images in use (ecs:prod/api, lambda:resize:live)`."""
    assert repo.in_use is not None  # listed only with images at risk
    users = list(dict.fromkeys(user for victim in repo.in_use.at_risk for user in victim.users))
    more = f" and {len(users) - OFFENDERS} more" if len(users) > OFFENDERS else ""
    return (f"{len(repo.in_use.at_risk)} of {plural(repo.in_use.images, 'image')} in use "
            f"({', '.join(users[:OFFENDERS])}{more})")


def _offenders(title: str, report: Report, key: Callable[[RepositoryFigures], float],
               text: Callable[[RepositoryFigures], str]) -> list[str]:
    """The OFFENDERS repositories with the largest positive `key`; nothing when none has any."""
    ranked = sorted((r for r in report.repositories if key(r) > 0), key=lambda r: (-key(r), r.name))
    if not ranked:
        return []
    more = len(ranked) - OFFENDERS
    lines = ["", f"### {title}", ""]
    lines += [f"- `{r.name}`: {text(r)}" for r in ranked[:OFFENDERS]]
    if more > 0:
        lines.append(f"- and {more} more")
    return lines
