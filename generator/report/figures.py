"""The report's figures: what each repository stores and costs, what its lifecycle policy frees,
how old its images are, how its newest image scanned, and the totals; the JSON document.

Pure: takes what was read (settings, policy text, `DescribeImages` details) and returns figures.
What the policy expires or archives comes from ecrgen's exact evaluator (`model.lifecycle`),
at `now`, as ECR would at its next evaluation. Every page (HTML, JSON, Markdown) is drawn from
one `Report`, so they never disagree.

With in-use discovery (`--in-use`, `in_use:`), each reading also holds its images in use
(digest -> users, `model.in_use.Resolved`), and the figures count them and intersect them with
the same evaluation (`report.in_use`): an image in use that the policy expires or archives is
*at risk*, the outage that ECR's next evaluation causes.
"""

from __future__ import annotations

import functools
from bisect import bisect_left
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from generator.base.errors import InputError
from generator.model import lifecycle
from generator.model.in_use import Resolved
from generator.model.lifecycle.evaluate import DAY, monthly_cost
from generator.model.lifecycle.images import ARCHIVED, format_timestamp
from generator.model.severity import SCAN_DONE, SEVERITIES
from generator.report import in_use
from generator.report.in_use import InUseFigures, InUseSeen

# A repository's status against ecr.yaml or the stack: `unmanaged` when nothing describes it
# (--repository, --all) or some setting cannot be compared (post-deploy's `unmanaged`).
STATUSES = ("in-sync", "drifted", "unmanaged")
# Image ages by push time: (upper bound in days or None, JSON key, label).
AGE_BUCKETS: tuple[tuple[int | None, str, str], ...] = (
    (7, "under7d", "under 7 days"), (30, "7to30d", "7-30 days"), (90, "30to90d", "30-90 days"),
    (180, "90to180d", "90-180 days"), (365, "180to365d", "180-365 days"), (None, "over365d", "over a year"))
# Severities most serious first; scanners also report UNDEFINED (basic) and UNTRIAGED (enhanced).
SEVERITY_ORDER = (*reversed(SEVERITIES), "UNDEFINED", "UNTRIAGED")
NOT_SCANNED = "NOT_SCANNED"
# Scan coverage of each repository's newest image, in the order the page shows it.
COVERAGE = ("scanned", "in progress", "failed", "not scanned", "no images")
DEFAULT_PRICE_PER_GB = 0.10          # standard storage, USD per GB-month
DEFAULT_ARCHIVE_PRICE_PER_GB = 0.10  # archive storage, the first 150 TB a month (0.07 above)


@dataclass(frozen=True)
class Prices:
    """USD per GB-month of standard and of archive storage."""

    standard: float = DEFAULT_PRICE_PER_GB
    archive: float = DEFAULT_ARCHIVE_PRICE_PER_GB


@dataclass(frozen=True)
class RepositoryReading:
    """What was read of one repository: the input of its figures."""

    name: str
    status: str  # one of STATUSES
    scan_on_push: bool
    policy_text: str | None  # the live lifecycle policy; None: it has none
    images: Sequence[Mapping[str, Any]]  # DescribeImages' imageDetails, every page
    in_use: Resolved | None = None  # its images in use; None: not looked for (or not known)
    parsed: Sequence[lifecycle.Image] | None = None  # `images` parsed already (for in_use): not again


@dataclass(frozen=True)
class Freed:
    """What a lifecycle policy acts on at its next evaluation, and what that saves a month."""

    expiring_images: int = 0
    expiring_bytes: int = 0
    archiving_images: int = 0
    archiving_bytes: int = 0
    monthly_saving: float = 0.0


@dataclass(frozen=True)
class Newest:
    """The most recently pushed image that is not archived, and its scan."""

    digest: str
    tags: tuple[str, ...]
    pushed_at: float
    scan_status: str  # ECR's imageScanStatus.status, or NOT_SCANNED
    findings: Mapping[str, int]  # severity -> count, from imageScanFindingsSummary

    @property
    def coverage(self) -> str:
        return coverage_of(self.scan_status)


@dataclass(frozen=True)
class RepositoryFigures:
    name: str
    status: str
    scan_on_push: bool
    has_policy: bool
    policy_error: str | None  # the live policy could not be read: nothing is evaluated
    images: int
    bytes: int
    archived_images: int
    archived_bytes: int
    monthly_cost: float
    freed: Freed
    ages: tuple[tuple[int, int], ...]  # (images, bytes) per AGE_BUCKETS
    scanned_images: int
    newest: Newest | None
    in_use: InUseFigures | None = None  # None: images in use not looked for

    @property
    def coverage(self) -> str:
        return self.newest.coverage if self.newest else "no images"

    @property
    def findings(self) -> Mapping[str, int]:
        return self.newest.findings if self.newest else {}


@dataclass(frozen=True)
class Report:
    """Every figure of one run; `unreadable` maps a repository to the reason it could not be read."""

    generated_at: float
    scope: str
    prices: Prices
    repositories: tuple[RepositoryFigures, ...]
    unreadable: Mapping[str, str] = field(default_factory=dict)
    api_calls: Mapping[str, int] = field(default_factory=dict)
    in_use: InUseSeen | None = None  # None: images in use not looked for

    def total(self, name: str) -> Any:
        """The sum of one figure over every repository (`freed.expiring_bytes` reaches into freed)."""
        first, _, rest = name.partition(".")
        values = (getattr(r, first) for r in self.repositories)
        return sum(getattr(v, rest) for v in values) if rest else sum(values)


def coverage_of(scan_status: str) -> str:
    """How far a scan status covers the image: one of COVERAGE."""
    if scan_status in SCAN_DONE:
        return "scanned"
    if scan_status in ("IN_PROGRESS", "PENDING"):
        return "in progress"
    return "not scanned" if scan_status == NOT_SCANNED else "failed"


def repository(reading: RepositoryReading, now: float, prices: Prices) -> RepositoryFigures:
    """The figures of one repository; InputError when its images or policy cannot be read."""
    images = reading.parsed if reading.parsed is not None else parse_images(reading.name, reading.images)
    archived = [image for image in images if image.status == ARCHIVED]
    size = sum(image.size for image in images)
    archived_size = sum(image.size for image in archived)
    policy_error = None
    freed = Freed()
    evaluation = None
    if reading.policy_text is not None:
        policy = _policy(reading.policy_text)
        if isinstance(policy, lifecycle.PolicyError):
            policy_error = str(policy)
        else:
            evaluation = lifecycle.evaluate(policy, images, now)
            freed = _freed(evaluation, prices)
    scanned = sum(1 for d in reading.images if (d.get("imageScanStatus") or {}).get("status") in SCAN_DONE)
    return RepositoryFigures(
        name=reading.name, status=reading.status, scan_on_push=reading.scan_on_push,
        has_policy=reading.policy_text is not None, policy_error=policy_error, images=len(images),
        bytes=size, archived_images=len(archived), archived_bytes=archived_size,
        monthly_cost=monthly_cost(size - archived_size, prices.standard)
        + monthly_cost(archived_size, prices.archive),
        freed=freed, ages=_ages(images, now), scanned_images=scanned,
        newest=_newest(reading.images, images),
        in_use=in_use.figures(reading.in_use, evaluation) if reading.in_use is not None else None)


def parse_images(name: str, details: Sequence[Mapping[str, Any]]) -> list[lifecycle.Image]:
    """A repository's images as the evaluator reads them; InputError naming the repository."""
    return lifecycle.parse_images({"imageDetails": list(details)}, f"{name} (images)")


def build(readings: Sequence[RepositoryReading], now: float, prices: Prices, scope: str,
          unreadable: Mapping[str, str], api_calls: Mapping[str, int], seen: InUseSeen | None = None
          ) -> Report:
    """The report; a repository whose images or policy cannot be read joins `unreadable`."""
    figures = []
    problems = dict(unreadable)
    for reading in readings:
        try:
            figures.append(repository(reading, now, prices))
        except InputError as exc:
            problems[reading.name] = exc.render()
    return Report(now, scope, prices, tuple(figures), dict(sorted(problems.items())), dict(api_calls), seen)


@functools.lru_cache(maxsize=256)
def _policy(text: str) -> lifecycle.Policy | lifecycle.PolicyError:
    """A policy text read once, however many repositories share it (most share a few)."""
    try:
        return lifecycle.parse_text(text)
    except lifecycle.PolicyError as exc:
        return exc


def _freed(evaluation: lifecycle.Evaluation, prices: Prices) -> Freed:
    """Expiring an image saves its price (archive or standard); archiving saves the difference."""
    expiring = [d.image for d in evaluation.decisions if d.rule.action == "expire"]
    archiving = [d.image for d in evaluation.decisions if d.rule.action == "transition"]
    expired_archive = sum(image.size for image in expiring if image.status == ARCHIVED)
    expiring_size = sum(image.size for image in expiring)
    archiving_size = sum(image.size for image in archiving)
    saving = (monthly_cost(expiring_size - expired_archive, prices.standard)
              + monthly_cost(expired_archive, prices.archive)
              + monthly_cost(archiving_size, prices.standard - prices.archive))
    return Freed(len(expiring), expiring_size, len(archiving), archiving_size, saving)


def _ages(images: Sequence[lifecycle.Image], now: float) -> tuple[tuple[int, int], ...]:
    counts = [0] * len(AGE_BUCKETS)
    sizes = [0] * len(AGE_BUCKETS)
    bounds = [now - days * DAY for days, _, _ in reversed(AGE_BUCKETS[:-1])]  # push times, oldest first
    last = len(bounds)
    for image in images:
        index = last - bisect_left(bounds, image.pushed_at)  # pushed after the 7-day bound: bucket 0
        counts[index] += 1
        sizes[index] += image.size
    return tuple(zip(counts, sizes, strict=True))


def _scan_status(detail: Mapping[str, Any]) -> str:
    return str((detail.get("imageScanStatus") or {}).get("status") or NOT_SCANNED)


def _newest(details: Sequence[Mapping[str, Any]], images: Sequence[lifecycle.Image]) -> Newest | None:
    """The latest push that is not archived (ties: the later entry, as ECR lists pushes), the
    image `ecrgen findings` gates by default."""
    candidates = [i for i, image in enumerate(images) if image.status != ARCHIVED]
    if not candidates:
        return None
    index = max(reversed(candidates), key=lambda i: images[i].pushed_at)
    detail, image = details[index], images[index]
    counts = (detail.get("imageScanFindingsSummary") or {}).get("findingSeverityCounts") or {}
    return Newest(image.digest, image.tags, image.pushed_at, _scan_status(detail),
                  {severity: int(counts[severity]) for severity in _severities(counts)})


def _severities(counts: Mapping[str, Any]) -> list[str]:
    """The severities of `counts`, most serious first, unknown ones after the known."""
    rank = {severity: index for index, severity in enumerate(SEVERITY_ORDER)}
    return sorted(counts, key=lambda s: (rank.get(s, len(rank)), s))


# --- totals ---------------------------------------------------------------------------------

def findings_total(report: Report) -> dict[str, int]:
    """Findings of every newest image, by severity, most serious first."""
    counts: Counter[str] = Counter()
    for repo in report.repositories:
        counts.update(repo.findings)
    return {severity: counts[severity] for severity in _severities(counts)}


def coverage_total(report: Report) -> dict[str, int]:
    """How many repositories' newest images each coverage class holds."""
    counts = Counter(repo.coverage for repo in report.repositories)
    return {name: counts[name] for name in COVERAGE}


def status_total(report: Report) -> dict[str, int]:
    counts = Counter(repo.status for repo in report.repositories)
    return {status: counts[status] for status in STATUSES}


def ages_total(report: Report) -> tuple[tuple[int, int], ...]:
    repos = report.repositories
    return tuple((sum(r.ages[i][0] for r in repos), sum(r.ages[i][1] for r in repos))
                 for i in range(len(AGE_BUCKETS)))


def in_use_total(report: Report) -> InUseFigures:
    """The images in use and at risk of every repository, together."""
    return in_use.total(r.in_use for r in report.repositories if r.in_use is not None)


def at_risk(report: Report) -> list[RepositoryFigures]:
    """Repositories with images in use that their policy expires or archives, the most first."""
    return sorted((r for r in report.repositories if r.in_use and r.in_use.at_risk),
                  key=lambda r: (-len(r.in_use.at_risk), r.name))  # type: ignore[union-attr]


def without_policy(report: Report) -> list[RepositoryFigures]:
    """Repositories with no lifecycle policy, most expensive first: ECR keeps their images forever."""
    return sorted((r for r in report.repositories if not r.has_policy), key=lambda r: (-r.bytes, r.name))


# --- JSON -----------------------------------------------------------------------------------

def to_json(report: Report) -> dict[str, Any]:
    """The `--output json` document: every figure, per repository and in total (`inUse` only
    when images in use were looked for)."""
    document: dict[str, Any] = {
        "generatedAt": format_timestamp(report.generated_at),
        "scope": report.scope,
        "prices": {"standardUsdPerGbMonth": report.prices.standard,
                   "archiveUsdPerGbMonth": report.prices.archive},
        "repositories": [_repository_json(repo) for repo in report.repositories],
        "unreadable": [{"repositoryName": name, "error": error} for name, error in report.unreadable.items()],
        "summary": {
            "repositories": len(report.repositories),
            "unreadable": len(report.unreadable),
            "images": report.total("images"),
            "bytes": report.total("bytes"),
            "archivedImages": report.total("archived_images"),
            "archivedBytes": report.total("archived_bytes"),
            "monthlyCostUsd": round(report.total("monthly_cost"), 2),
            "policy": _freed_json_total(report),
            "withoutLifecyclePolicy": [r.name for r in without_policy(report)],
            "imagesByAge": _ages_json(ages_total(report)),
            "scannedImages": report.total("scanned_images"),
            "newestImageCoverage": coverage_total(report),
            "newestImageFindings": findings_total(report),
            "statuses": status_total(report),
            "apiCalls": dict(sorted(report.api_calls.items())),
        },
    }
    if report.in_use is not None:
        document["summary"]["inUse"] = in_use.summary_json(report.in_use, in_use_total(report),
                                                           [r.name for r in at_risk(report)])
    return document


def _repository_json(repo: RepositoryFigures) -> dict[str, Any]:
    newest = None
    if repo.newest is not None:
        newest = {"imageDigest": repo.newest.digest, "imageTags": list(repo.newest.tags),
                  "imagePushedAt": format_timestamp(repo.newest.pushed_at),
                  "scanStatus": repo.newest.scan_status, "findings": dict(repo.newest.findings)}
    out: dict[str, Any] = {
        "repositoryName": repo.name, "status": repo.status, "scanOnPush": repo.scan_on_push,
        "lifecyclePolicy": repo.has_policy, "images": repo.images, "bytes": repo.bytes,
        "archivedImages": repo.archived_images, "archivedBytes": repo.archived_bytes,
        "monthlyCostUsd": round(repo.monthly_cost, 2), "policy": _freed_json(repo.freed),
        "imagesByAge": _ages_json(repo.ages), "scannedImages": repo.scanned_images, "newestImage": newest}
    if repo.policy_error:
        out["policyError"] = repo.policy_error
    if repo.in_use is not None:
        out["inUse"] = in_use.repository_json(repo.in_use)
    return out


def _freed_json(freed: Freed) -> dict[str, Any]:
    return {"expiringImages": freed.expiring_images, "expiringBytes": freed.expiring_bytes,
            "archivingImages": freed.archiving_images, "archivingBytes": freed.archiving_bytes,
            "monthlySavingsUsd": round(freed.monthly_saving, 2)}


def _freed_json_total(report: Report) -> dict[str, Any]:
    return _freed_json(Freed(*(report.total(f"freed.{name}") for name in (
        "expiring_images", "expiring_bytes", "archiving_images", "archiving_bytes", "monthly_saving"))))


def _ages_json(ages: tuple[tuple[int, int], ...]) -> dict[str, dict[str, int]]:
    return {key: {"images": images, "bytes": size}
            for (_, key, _), (images, size) in zip(AGE_BUCKETS, ages, strict=True)}
