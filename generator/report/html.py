"""The report as one self-contained HTML page: inline CSS and SVG, a few lines of inline script.

Nothing is fetched from anywhere (the page's Content-Security-Policy forbids it), so it reads
the same offline, from a CI artifact or printed. Each chart has its numbers in a table below
it; the repository table sorts when a header is clicked, and without script it is still there,
most expensive first. Light or dark follows the reader's setting; print is always light.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from generator.base.wording import binary_size, plural, size_unit
from generator.model.lifecycle.images import format_timestamp
from generator.report import figures, units
from generator.report.charts import Chart, render
from generator.report.figures import AGE_BUCKETS, COVERAGE, Report, RepositoryFigures

TOP = 20  # repositories drawn by name in a chart; the rest are summed as one bar
SEVERITY_COLORS = {"CRITICAL": "var(--critical)", "HIGH": "var(--high)", "MEDIUM": "var(--medium)",
                   "LOW": "var(--low)", "INFORMATIONAL": "var(--info)"}


@dataclass(frozen=True)
class Column:
    """One column of the repository table: its header, how it sorts and what a cell shows."""

    header: str
    numeric: bool
    sort_key: Callable[[RepositoryFigures], Any]
    text: Callable[[RepositoryFigures], str]
    in_use: bool = False  # shown only when images in use were looked for


def _in_use_sort(repo: RepositoryFigures) -> int:
    """Images at risk first, then images in use (a repository holds far fewer than 10**9)."""
    return len(repo.in_use.at_risk) * 10**9 + repo.in_use.images if repo.in_use else 0


def _in_use_cell(repo: RepositoryFigures) -> str:
    return f"{repo.in_use.images:,} ({len(repo.in_use.at_risk):,})" if repo.in_use else ""


def _policy_cell(repo: RepositoryFigures) -> str:
    if repo.policy_error:
        return "unreadable"
    return "yes" if repo.has_policy else "none"


COLUMNS: tuple[Column, ...] = (
    Column("repository", False, lambda r: r.name, lambda r: r.name),
    Column("status", False, lambda r: r.status, lambda r: r.status),
    Column("images", True, lambda r: r.images, lambda r: f"{r.images:,}"),
    Column("storage", True, lambda r: r.bytes, lambda r: binary_size(r.bytes)),
    Column("cost per month", True, lambda r: round(r.monthly_cost, 4), lambda r: units.usd(r.monthly_cost)),
    Column("lifecycle policy", False, _policy_cell, _policy_cell),
    Column("policy frees", True, lambda r: r.freed.expiring_bytes,
           lambda r: f"{binary_size(r.freed.expiring_bytes)} ({r.freed.expiring_images:,})"),
    Column("policy archives", True, lambda r: r.freed.archiving_bytes,
           lambda r: f"{binary_size(r.freed.archiving_bytes)} ({r.freed.archiving_images:,})"),
    Column("saves per month", True, lambda r: round(r.freed.monthly_saving, 4),
           lambda r: units.usd(r.freed.monthly_saving)),
    Column("in use (at risk)", True, _in_use_sort, _in_use_cell, in_use=True),
    Column("newest image scan", False, lambda r: r.coverage, lambda r: r.coverage),
    Column("critical", True, lambda r: r.findings.get("CRITICAL", 0),
           lambda r: str(r.findings.get("CRITICAL", 0))),
    Column("high", True, lambda r: r.findings.get("HIGH", 0), lambda r: str(r.findings.get("HIGH", 0))),
    Column("scan on push", False, lambda r: r.scan_on_push, lambda r: "yes" if r.scan_on_push else "no"),
)


def render_page(report: Report) -> str:
    """The whole page."""
    body = [_header(report), _summary(report), *(_figure(chart) for chart in _charts(report)),
            _repository_table(report), _at_risk(report), _unreadable(report), FOOTER]
    return (f"<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            "<meta name=\"color-scheme\" content=\"light dark\">\n"
            f"<title>ECR registry report: {escape(report.scope)}</title>\n<style>{CSS}</style>\n</head>\n"
            f"<body>\n<main>\n{''.join(body)}</main>\n<script>{SCRIPT}</script>\n</body>\n</html>\n")


# --- charts ---------------------------------------------------------------------------------

def _top(repositories: Sequence[RepositoryFigures], key: Callable[[RepositoryFigures], float]
         ) -> tuple[list[RepositoryFigures], list[RepositoryFigures]]:
    """The TOP repositories by `key` (largest first, then by name) that have any, and the rest."""
    ranked = sorted((r for r in repositories if key(r) > 0), key=lambda r: (-key(r), r.name))
    return ranked[:TOP], ranked[TOP:]


def _sized(values: Sequence[Sequence[float]]) -> tuple[str, list[list[float]]]:
    """The unit for the largest bar (a stack's sum) and the values in it, rounded for drawing."""
    largest = max((sum(bar) for bar in zip(*values, strict=True)), default=0)
    unit, scale = size_unit(largest)
    return unit, [[round(v / scale, 2) for v in series] for series in values]


def _charts(report: Report) -> list[Chart]:
    repos = report.repositories
    top, rest = _top(repos, lambda r: r.bytes)
    labels = [r.name for r in top] + ([f"{len(rest)} others"] if rest else [])
    standard = [r.bytes - r.archived_bytes for r in top] + ([sum(r.bytes - r.archived_bytes for r in rest)]
                                                            if rest else [])
    archive = [r.archived_bytes for r in top] + ([sum(r.archived_bytes for r in rest)] if rest else [])
    unit, (standard_scaled, archive_scaled) = _sized([standard, archive])
    storage = Chart("storage", "Storage by repository",
                    f"Stored bytes of the {len(top)} largest repositories in {unit}"
                    + (f", and the other {len(rest)} summed" if rest else "")
                    + ", standard and archive storage.",
                    labels, [("standard", standard_scaled), ("archive", archive_scaled)],
                    f"storage ({unit})", "repository", ("var(--series-1)", "var(--series-2)"), stacked=True)

    ages = figures.ages_total(report)
    unit, (age_scaled,) = _sized([[size for _, size in ages]])
    by_age = Chart("age", "Storage by image age",
                   f"Stored bytes in {unit} by how long ago each image was pushed.",
                   [label for _, _, label in AGE_BUCKETS], [("storage", age_scaled)],
                   f"storage ({unit})", "pushed", ("var(--series-1)",))

    top, rest = _top(repos, lambda r: r.freed.expiring_bytes + r.freed.archiving_bytes)
    freed = [[r.freed.expiring_bytes for r in top], [r.freed.archiving_bytes for r in top]]
    unit, (expiring, archiving) = _sized(freed)
    frees = Chart("frees", "What each lifecycle policy frees",
                  f"Bytes in {unit} that each repository's current lifecycle policy expires or archives at "
                  f"ECR's next evaluation, the {len(top)} largest"
                  + (f" (and {len(rest)} more in the table)" if rest else "") + ".",
                  [r.name for r in top], [("expires", expiring), ("archives", archiving)],
                  f"storage ({unit})", "repository", ("var(--series-1)", "var(--series-2)"), stacked=True)

    severities = list(figures.findings_total(report))
    top, rest = _top(repos, lambda r: sum(r.findings.values()))
    top.sort(key=lambda r: (tuple(-r.findings.get(s, 0) for s in severities), r.name))
    findings = Chart("findings", "Findings by severity in each repository's newest image",
                     f"Scan findings of the newest image of the {len(top)} repositories with the most, "
                     "by severity" + (f" (and {len(rest)} more in the table)" if rest else "") + ".",
                     [r.name for r in top],
                     [(s, [r.findings.get(s, 0) for r in top]) for s in severities],
                     "findings (count)", "repository",
                     [SEVERITY_COLORS.get(s, "var(--undefined)") for s in severities] or ["var(--series-1)"],
                     stacked=True)

    coverage = figures.coverage_total(report)
    scanned = Chart("coverage", "Scan coverage of each repository's newest image",
                    "How many repositories' newest images were scanned, are being scanned, failed, were "
                    "never scanned, or have no image at all.",
                    list(COVERAGE), [("repositories", [coverage[c] for c in COVERAGE])],
                    "repositories (count)", "newest image", ("var(--series-1)",))
    return [storage, by_age, frees, findings, scanned]


def _figure(chart: Chart) -> str:
    """The chart, then the same numbers in a table."""
    head = "".join(f"<th scope=\"col\">{escape(name)}</th>" for name, _ in chart.series)
    rows = "".join(
        f"<tr><th scope=\"row\">{escape(label)}</th>"
        + "".join(f"<td>{_number(values[i])}</td>" for _, values in chart.series) + "</tr>"
        for i, label in enumerate(chart.labels))
    table = (f"<div class=\"scroll\"><table class=\"numbers\"><caption>{escape(chart.title)}: "
             f"{escape(chart.value_title)}</caption>"
             f"<thead><tr><th scope=\"col\">{escape(chart.label_title)}</th>{head}</tr></thead>"
             f"<tbody>{rows or _empty_row(len(chart.series) + 1)}</tbody></table></div>")
    return (f"<section class=\"chart\" id=\"section-{chart.key}\"><h2>{escape(chart.title)}</h2>"
            f"<div class=\"chart-body\"><figure>{render(chart)}<figcaption>{escape(chart.description)}"
            f"</figcaption></figure>{table}</div></section>\n")


def _number(value: float) -> str:
    return f"{value:,.2f}" if isinstance(value, float) and not value.is_integer() else f"{value:,.0f}"


def _empty_row(span: int) -> str:
    return f"<tr><td colspan=\"{span}\">none</td></tr>"


# --- text parts -----------------------------------------------------------------------------

def _header(report: Report) -> str:
    prices = report.prices
    return (f"<header><h1>ECR registry report</h1><p class=\"meta\">{escape(report.scope)} &middot; "
            f"at {escape(format_timestamp(report.generated_at))} &middot; storage priced at "
            f"{prices.standard:.2f} USD per GB-month, archive at {prices.archive:.2f}</p></header>\n")


def _summary(report: Report) -> str:
    findings = figures.findings_total(report)
    statuses = figures.status_total(report)
    cards = [
        ("repositories", f"{len(report.repositories):,}",
         f"{len(report.unreadable)} unreadable" if report.unreadable else "all read"),
        ("images", f"{report.total('images'):,}", f"{report.total('archived_images'):,} archived"),
        ("storage", binary_size(report.total("bytes")),
         f"{units.usd(report.total('monthly_cost'))} per month"),
        ("policies free", binary_size(report.total("freed.expiring_bytes")),
         f"{units.usd(report.total('freed.monthly_saving'))} per month"),
        ("without lifecycle policy", str(len(figures.without_policy(report))), "ECR keeps every image"),
        ("drifted", str(statuses["drifted"]),
         f"{statuses['in-sync']} in sync, {statuses['unmanaged']} unmanaged"),
        ("critical findings", str(findings.get("CRITICAL", 0)),
         f"{findings.get('HIGH', 0)} high, in newest images"),
    ]
    if report.in_use is not None:
        in_use = figures.in_use_total(report)
        images = plural(in_use.images, "image", thousands=True)
        cards.insert(4, ("in use and at risk", f"{len(in_use.at_risk):,}",
                         f"of {images} in use ({report.in_use.sources})"))
    items = "".join(f"<div class=\"card\"><dt>{escape(name)}</dt><dd><span class=\"big\">"
                    f"{escape(value)}</span><span class=\"small\">{escape(note)}</span></dd></div>"
                    for name, value, note in cards)
    return f"<section id=\"summary\"><h2>Summary</h2><dl class=\"cards\">{items}</dl></section>\n"


def _repository_table(report: Report) -> str:
    columns = [c for c in COLUMNS if report.in_use is not None or not c.in_use]
    head = "".join(f"<th scope=\"col\" data-type=\"{'number' if c.numeric else 'text'}\">"
                   f"{escape(c.header)}</th>" for c in columns)
    ordered = sorted(report.repositories, key=lambda r: (-r.monthly_cost, r.name))
    rows = "".join("<tr>" + "".join(_cell(column, repo) for column in columns) + "</tr>" for repo in ordered)
    return (f"<section id=\"repositories\"><h2>Repositories</h2><div class=\"scroll\">"
            f"<table class=\"sortable\" id=\"repository-table\"><caption>Every repository read, most "
            f"expensive first; select a heading to sort by it.</caption><thead><tr>{head}</tr></thead>"
            f"<tbody>{rows or _empty_row(len(columns))}</tbody></table></div></section>\n")


def _cell(column: Column, repo: RepositoryFigures) -> str:
    key = column.sort_key(repo)
    sort = f"{float(key):.6f}" if column.numeric else str(key)
    tag = "th scope=\"row\"" if column is COLUMNS[0] else "td"
    return f"<{tag} data-sort=\"{escape(sort)}\">{escape(column.text(repo))}</{tag.split()[0]}>"


def _at_risk(report: Report) -> str:
    """Every image in use that its repository's policy expires or archives, and who uses it."""
    repos = figures.at_risk(report)
    if not repos:
        return ""
    rows = "".join(
        f"<tr><th scope=\"row\">{escape(repo.name)}</th><td><code>{escape(victim.digest[:19])}</code></td>"
        f"<td>{escape(', '.join(victim.tags) or 'untagged')}</td>"
        f"<td>{'archived' if victim.action == 'TRANSITION' else 'expired'} by rule {victim.rule}</td>"
        f"<td>{escape(', '.join(victim.users))}</td></tr>"
        for repo in repos for victim in repo.in_use.at_risk)  # type: ignore[union-attr]
    return ("<section id=\"at-risk\"><h2>Images in use that the policies expire or archive</h2><p>ECR's next "
            "evaluation of each current lifecycle policy expires or archives these images, which are in "
            "use: the next task start, scale-out or invocation that pulls one fails.</p>"
            "<div class=\"scroll\"><table class=\"list\"><thead><tr><th scope=\"col\">repository</th>"
            "<th scope=\"col\">image</th><th scope=\"col\">tags</th><th scope=\"col\">policy</th>"
            f"<th scope=\"col\">used by</th></tr></thead><tbody>{rows}</tbody></table></div></section>\n")


def _unreadable(report: Report) -> str:
    if not report.unreadable:
        return ""
    items = "".join(f"<li><strong>{escape(name)}</strong>: {escape(error)}</li>"
                    for name, error in report.unreadable.items())
    return (f"<section id=\"unreadable\"><h2>Unreadable repositories</h2><p>Not in the figures above: "
            f"{plural(len(report.unreadable), 'repository')} could not be read.</p><ul>{items}</ul>"
            "</section>\n")


FOOTER = ("<footer><p>What a policy frees is ecrgen's exact evaluation of each repository's current "
          "lifecycle policy at the time above, as ECR's next evaluation would act. Archive storage costs "
          "the same as standard for the first 150 TB a month, is billed for at least 90 days, and is "
          "restored at a fee per GB. Generated by <code>ecrgen report</code>.</p></footer>\n")


CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"

CSS = """
:root{--bg:#ffffff;--ink:#1f2328;--muted:#59636e;--rule:#d1d9e0;--card:#f6f8fa;--accent:#0969da;
--series-1:#2f6fde;--series-2:#a371f7;--critical:#82071e;--high:#cf222e;--medium:#d4a72c;--low:#54aeff;
--info:#8c959f;--undefined:#c8d1da}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--ink:#e6edf3;--muted:#9198a1;--rule:#3d444d;
--card:#151b23;--accent:#4493f8;--series-1:#4493f8;--series-2:#ab7df8;--critical:#ff7b72;--high:#f85149;
--medium:#d29922;--low:#79c0ff;--info:#9198a1;--undefined:#656c76}}
@media print{:root{--bg:#ffffff;--ink:#000000;--muted:#333333;--rule:#bbbbbb;--card:#ffffff}
section{break-inside:avoid}th button{all:unset}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);
font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1200px;margin:0 auto;padding:24px}
h1{font-size:26px;margin:0 0 4px}h2{font-size:19px;margin:32px 0 8px}
.meta,.small,figcaption,caption,footer{color:var(--muted)}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(190px,1fr));gap:12px;margin:0}
.card{background:var(--card);border:1px solid var(--rule);border-radius:8px;padding:12px}
.card dt{color:var(--muted);font-size:13px}.card dd{margin:0}
.big{display:block;font-size:24px;font-weight:600}.small{font-size:13px}
figure{margin:0}figure svg{display:block;max-width:100%;height:auto}
figcaption,caption{font-size:13px;text-align:left;padding:4px 0}
table{border-collapse:collapse;font-size:13px;font-variant-numeric:tabular-nums}
th,td{border-bottom:1px solid var(--rule);padding:4px 10px;text-align:right;white-space:nowrap}
th:first-child,td:first-child,tbody th,.list th,.list td{text-align:left}
thead th{position:sticky;top:0;background:var(--bg)}
.chart-body{display:grid;grid-template-columns:minmax(0,3fr) minmax(0,2fr);gap:20px;align-items:start}
@media (max-width:900px){.chart-body{grid-template-columns:minmax(0,1fr)}}
.numbers{margin-top:8px;width:100%}
.scroll{overflow-x:auto}
th button{font:inherit;color:var(--accent);background:none;border:0;padding:0;cursor:pointer}
th[aria-sort=ascending] button::after{content:" \\25B2"}
th[aria-sort=descending] button::after{content:" \\25BC"}
code{font-size:13px}
"""

# Sorting by a heading's column; added by script, so without script the headings are plain text.
SCRIPT = """
document.querySelectorAll("table.sortable").forEach(function (table) {
  var heads = table.tHead.rows[0].cells, body = table.tBodies[0];
  Array.prototype.forEach.call(heads, function (th, column) {
    var button = document.createElement("button");
    button.type = "button";
    button.textContent = th.textContent;
    th.textContent = "";
    th.appendChild(button);
    button.addEventListener("click", function () {
      var ascending = th.getAttribute("aria-sort") !== "ascending";
      var numeric = th.dataset.type === "number";
      Array.prototype.forEach.call(heads, function (other) { other.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      Array.prototype.slice.call(body.rows).sort(function (a, b) {
        var x = a.cells[column].dataset.sort, y = b.cells[column].dataset.sort;
        var order = numeric ? Number(x) - Number(y) : x.localeCompare(y);
        return ascending ? order : -order;
      }).forEach(function (row) { body.appendChild(row); });
    });
  });
});
"""
