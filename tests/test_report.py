"""`ecrgen report` end to end on moto, against figures this test computes on its own.

The registry is tests/report_registry.py's (nine repositories of tests/fixtures/report/ecr.yaml,
one of which refuses DescribeImages); the expected figures come from the fixture's images with
the plain rules of its policies, not from ecrgen's evaluator.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import boto3
import pytest

from generator.base.wording import binary_size
from generator.model.in_use import Resolved
from generator.report import charts, figures, units
from generator.report.in_use import InUseFigures, InUseSeen
from tests import report_registry
from tests.conftest import run_ecrgen
from tests.fault_proxy import FaultProxy, Faults, RepositoryFault, fault_proxy
from tests.report_registry import DAY, DENIED, NOW, NOW_EPOCH, registry

__all__ = ["fault_proxy", "registry"]  # the fixtures, imported for pytest
GIB = 2**30
HERE = report_registry.CONFIG.parent


def report(*args: str, code: int = 1) -> dict[str, Any]:
    result = run_ecrgen("report", *args, "--now", NOW, "--output", "json", cwd=HERE)
    assert result.returncode == code, result.stdout + result.stderr
    return json.loads(result.stdout)


def expected_freed(repo: report_registry.Repository) -> tuple[set[str], set[str]]:
    """(expired, archived) digests under the repository's live policy, by the plain rules."""
    standard = [i for i in repo.images if i.archived_at is None]  # newest first, as built
    age = {i.digest: (NOW_EPOCH - i.pushed_at) / DAY for i in repo.images}
    if repo.name in ("shop-ecr-base-image", "shop-ecr-ml-models"):
        return set(), set()
    if repo.name == "shop-ecr-reports":  # archive what was pushed over 90 days ago
        return set(), {i.digest for i in standard if age[i.digest] > 90}
    if repo.name == "shop-ecr-checkout":  # live: keep the 30 newest (drifted from ecr.yaml's 10)
        return {i.digest for i in standard[30:]}, set()
    untagged_old = {i.digest for i in standard if not i.tags and age[i.digest] > 14}
    return untagged_old | {i.digest for i in standard[20:]}, set()


def expected_in_use(repo: report_registry.Repository) -> dict[str, set[str]]:
    """digest -> users of the repository's images in use: the workloads, and pulls in 7 days."""
    found: dict[str, set[str]] = {}
    for name, index, user in report_registry.WORKLOADS:
        if name == repo.name:
            found.setdefault(repo.images[index].digest, set()).add(user)
    for image in repo.images:
        if image.pulled_at is not None and NOW_EPOCH - image.pulled_at <= 7 * DAY:
            day = dt.datetime.fromtimestamp(image.pulled_at, dt.UTC).date().isoformat()
            found.setdefault(image.digest, set()).add(f"pulled:{day}")
    return found


def test_the_figures_are_the_registrys(registry: list[report_registry.Repository], fault_proxy: FaultProxy) -> None:
    document = report("--config", "ecr.yaml", "--price-per-gb", "0.12", "--archive-price-per-gb", "0.05")
    readable = [repo for repo in registry if repo.name != DENIED]
    by_name = {r["repositoryName"]: r for r in document["repositories"]}
    assert sorted(by_name) == sorted(repo.name for repo in readable)
    assert document["unreadable"] == [{"repositoryName": DENIED, "error": pytest.approx(
        "AccessDeniedException: AccessDeniedException (injected by the fault proxy)")}]
    statuses = {name: entry["status"] for name, entry in by_name.items()}
    assert {name for name, status in statuses.items() if status == "drifted"} == {
        "shop-ecr-api", "shop-ecr-checkout", "shop-ecr-ml-models"}
    assert set(statuses.values()) == {"in-sync", "drifted"}

    total_cost = total_saving = 0.0
    at_risk: dict[str, dict[str, str]] = {}  # repository -> digest -> action
    for repo in readable:
        entry = by_name[repo.name]
        archived = [i for i in repo.images if i.archived_at is not None]
        stored = sum(i.size for i in repo.images)
        cost = (stored - sum(i.size for i in archived)) / GIB * 0.12 + sum(i.size for i in archived) / GIB * 0.05
        expired, archiving = expected_freed(repo)
        sizes = {i.digest: i.size for i in repo.images}
        saving = sum(sizes[d] for d in expired) / GIB * 0.12 + sum(sizes[d] for d in archiving) / GIB * 0.07
        total_cost, total_saving = total_cost + cost, total_saving + saving
        assert (entry["images"], entry["bytes"], entry["archivedImages"]) == (len(repo.images), stored, len(archived))
        assert entry["monthlyCostUsd"] == pytest.approx(cost, abs=0.006), repo.name
        assert entry["policy"] == {"expiringImages": len(expired), "expiringBytes": sum(sizes[d] for d in expired),
                                   "archivingImages": len(archiving),
                                   "archivingBytes": sum(sizes[d] for d in archiving),
                                   "monthlySavingsUsd": pytest.approx(saving, abs=0.006)}, repo.name
        ages = Counter()
        for image in repo.images:
            days = (NOW_EPOCH - image.pushed_at) / DAY
            bucket = next((key for bound, key, _ in figures.AGE_BUCKETS if bound and days < bound), "over365d")
            ages[bucket] += 1
        assert {key: value["images"] for key, value in entry["imagesByAge"].items()} == {
            key: ages[key] for _, key, _ in figures.AGE_BUCKETS}
        newest = repo.images[0]
        assert entry["newestImage"]["imageDigest"] == newest.digest
        assert entry["newestImage"]["findings"] == newest.findings
        assert entry["newestImage"]["scanStatus"] == (newest.scan or "NOT_SCANNED")
        assert entry["lifecyclePolicy"] is (repo.name not in ("shop-ecr-base-image", "shop-ecr-ml-models"))
        in_use = expected_in_use(repo)
        risky = {d: "EXPIRE" for d in in_use if d in expired} | {d: "TRANSITION" for d in in_use if d in archiving}
        at_risk[repo.name] = risky
        assert entry["inUse"]["images"] == len(in_use), repo.name
        assert {v["imageDigest"]: (v["action"], set(v["users"])) for v in entry["inUse"]["atRisk"]} == {
            d: (action, in_use[d]) for d, action in risky.items()}, repo.name
        assert (entry["inUse"]["expiringImages"], entry["inUse"]["archivingImages"]) == (
            list(risky.values()).count("EXPIRE"), list(risky.values()).count("TRANSITION"))
        assert entry["inUse"]["unknownReferences"] == []

    summary = document["summary"]
    assert summary["images"] == sum(len(repo.images) for repo in readable)
    assert summary["bytes"] == sum(i.size for repo in readable for i in repo.images)
    assert summary["monthlyCostUsd"] == pytest.approx(total_cost, abs=0.01)
    assert summary["policy"]["monthlySavingsUsd"] == pytest.approx(total_saving, abs=0.01)
    assert summary["withoutLifecyclePolicy"] == ["shop-ecr-ml-models", "shop-ecr-base-image"]  # largest first
    findings = Counter()
    for repo in readable:
        findings.update(repo.images[0].findings)
    assert summary["newestImageFindings"] == dict(findings) and next(iter(summary["newestImageFindings"])) == "CRITICAL"
    assert summary["newestImageCoverage"] == {"scanned": 6, "in progress": 1, "failed": 0, "not scanned": 1,
                                              "no images": 0}
    assert summary["statuses"] == {"in-sync": 5, "drifted": 3, "unmanaged": 0}
    # the web service's admin image is expired, the function's aliased one archived, the worker
    # image pulled two days ago expired: the outage ECR's next evaluation causes
    risky = [action for found in at_risk.values() for action in found.values()]
    assert (risky.count("EXPIRE"), risky.count("TRANSITION")) == (2, 1)
    assert summary["inUse"] == {
        "sources": "ecs, lambda, pulled within 7 days",
        "images": sum(len(expected_in_use(repo)) for repo in readable),
        "expiringImages": 2, "archivingImages": 1,
        "repositoriesAtRisk": sorted((name for name in at_risk if at_risk[name]),
                                     key=lambda name: (-len(at_risk[name]), name)),
        "unknownReferences": 0, "otherRegistries": 1}
    # The fewest calls: one DescribeRepositories for nine names, one policy read and one page of
    # images per repository (the images in use are resolved against the same pages), then the
    # discovery's own reads: each of the three task definitions once, $LATEST and the aliased
    # version of the function; nothing written.
    assert summary["apiCalls"] == {
        "DescribeRepositories": 1, "GetLifecyclePolicy": 9, "DescribeImages": 9,
        "ListClusters": 1, "ListServices": 1, "ListTasks": 1, "DescribeServices": 1, "DescribeTaskDefinition": 3,
        "ListFunctions": 1, "ListAliases": 1, "GetFunction": 2}
    assert all(op.startswith(("Describe", "Get", "List")) for op in summary["apiCalls"])
    # what reached the endpoint: ECR's and ECS's reads by name, Lambda's (REST, no name) as `?`
    assert not [op for op in fault_proxy.counts() if not op.startswith(("Describe", "Get", "List", "?"))]


def test_every_scope_and_every_format(registry: list[report_registry.Repository], tmp_path: Path) -> None:
    everything = report("--all")
    assert everything["summary"]["statuses"] == {"in-sync": 0, "drifted": 0, "unmanaged": 8}
    assert everything["summary"]["apiCalls"] == {"DescribeRepositories": 1, "GetLifecyclePolicy": 9,
                                                 "DescribeImages": 9}
    assert everything["scope"] == "every repository in us-east-1"
    some = report("--repository", "shop-ecr-web", "--repository", "shop-ecr-reports", code=0)
    assert [r["repositoryName"] for r in some["repositories"]] == ["shop-ecr-web", "shop-ecr-reports"]
    assert some["unreadable"] == []
    missing = report("--repository", "shop-ecr-web", "--repository", "shop-ecr-gone")
    assert missing["unreadable"] == [{"repositoryName": "shop-ecr-gone",
                                      "error": "repository not found in this account and region"}]

    page = tmp_path / "out" / "report.html"
    result = run_ecrgen("report", "--config", "ecr.yaml", "--now", NOW, "--out", str(page), cwd=HERE)
    assert result.returncode == 1 and "1 unreadable" in result.stderr
    html = page.read_text()
    assert html.startswith("<!doctype html>") and html.count("<svg") == 5 and "shop-ecr-payments" in html
    assert "<script src" not in html and "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    markdown = run_ecrgen("report", "--config", "ecr.yaml", "--now", NOW, cwd=HERE)
    assert markdown.returncode == 1
    assert markdown.stdout.startswith("## ECR registry report: ecr.yaml in us-east-1")
    assert "- `shop-ecr-ml-models`: 29.3 GiB, kept forever" in markdown.stdout
    assert "- `shop-ecr-payments`: AccessDeniedException" in markdown.stdout


def test_the_in_use_flags_a_file_and_no_extra_call(registry: list[report_registry.Repository],
                                                    fault_proxy: FaultProxy, tmp_path: Path) -> None:
    web = next(repo for repo in registry if repo.name == "shop-ecr-web")
    admin, old = web.images[24], web.images[30]  # both expired by "keep the 20 most recent"
    listed = tmp_path / "in-use.txt"
    listed.write_text(f"shop-ecr-web@{old.digest}\nshop-ecr-web:gone\ndocker.io/library/redis:7\n")
    document = report("--repository", "shop-ecr-web", "--in-use", "ecs", "--in-use-file", str(listed), code=0)
    (entry,) = document["repositories"]
    assert {v["imageDigest"]: v["users"] for v in entry["inUse"]["atRisk"]} == {
        admin.digest: ["ecs:shop/admin"], old.digest: ["file:1"]}
    assert entry["inUse"]["images"] == 3  # and the web service's current image, kept
    assert entry["inUse"]["unknownReferences"] == [{"reference": "shop-ecr-web:gone", "user": "file:2"}]
    assert document["summary"]["inUse"] == {
        "sources": f"ecs, {listed}", "images": 3, "expiringImages": 2, "archivingImages": 0,
        "repositoriesAtRisk": ["shop-ecr-web"], "unknownReferences": 1, "otherRegistries": 2}
    calls = document["summary"]["apiCalls"]
    assert calls["DescribeImages"] == 1 and calls["ListClusters"] == 1  # the images read once, for both
    assert not {"ListFunctions", "GetFunction"} & set(calls)  # lambda was not asked for

    markdown = run_ecrgen("report", "--repository", "shop-ecr-web", "--now", NOW, "--in-use", "ecs", cwd=HERE)
    assert markdown.returncode == 0, markdown.stderr
    assert "| in use (ecs) | 2 images, 1 at risk: expired or archived at ECR's next evaluation |" in markdown.stdout
    assert "- `shop-ecr-web`: 1 of 2 images in use (ecs:shop/admin)" in markdown.stdout
    page = tmp_path / "report.html"
    result = run_ecrgen("report", "--repository", "shop-ecr-web", "--now", NOW, "--in-use", "ecs",
                        "--out", str(page), cwd=HERE)
    assert f"wrote {page} (html): 1 repository, " in result.stderr and "in use: 2 images, 1 at risk" in result.stderr
    html = page.read_text()
    assert "<th scope=\"col\" data-type=\"number\">in use (at risk)</th>" in html and ">2 (1)</td>" in html
    assert "ecs:shop/admin" in html.split("id=\"at-risk\"")[1]

    # without the flags (and without in_use: in a config), not one call more
    plain = report("--repository", "shop-ecr-web", code=0)
    assert plain["summary"]["apiCalls"] == {"DescribeRepositories": 1, "GetLifecyclePolicy": 1, "DescribeImages": 1}
    assert "inUse" not in plain["summary"] and "inUse" not in plain["repositories"][0]
    assert "in use" not in run_ecrgen("report", "--repository", "shop-ecr-web", "--now", NOW, "--output", "html",
                                      cwd=HERE).stdout


def test_discovery_that_fails_is_exit_2_naming_the_call(registry: list[report_registry.Repository],
                                                        fault_proxy: FaultProxy) -> None:
    fault_proxy.configure(Faults(repositories=(RepositoryFault("*", operations=("ListClusters",)),)))
    result = run_ecrgen("report", "--all", "--in-use", "ecs")
    assert result.returncode == 2 and result.stdout == "", result.stderr
    assert "report: cannot find the images in use: ecs ListClusters: AccessDeniedException" in result.stderr


def test_a_stack_is_its_own_scope(aws: str, tmp_path: Path) -> None:
    (tmp_path / "ecr.yaml").write_text("system_name: solo\nrepositories:\n  - name: app\n")
    assert run_ecrgen("template", "--config", "ecr.yaml", "--no-lint", cwd=tmp_path).returncode == 0
    cfn = boto3.client("cloudformation")
    cfn.create_stack(StackName="solo-ecr", TemplateBody=(tmp_path / "templates" / "ecr.yaml").read_text())
    cfn.get_waiter("stack_create_complete").wait(StackName="solo-ecr", WaiterConfig={"Delay": 1})
    result = run_ecrgen("report", "--stack-name", "solo-*", "--output", "json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    # moto's CloudFormation leaves scan on push off and sets no lifecycle policy: drift
    assert [(r["repositoryName"], r["status"], r["images"]) for r in document["repositories"]] == [
        ("solo-ecr-app", "drifted", 0)]
    assert document["repositories"][0]["newestImage"] is None
    assert document["summary"]["newestImageCoverage"]["no images"] == 1


@pytest.mark.parametrize(("args", "message"), [
    (["--all", "--repository", "x"], "give exactly one of --config FILE, --stack-name NAME..."),
    ([], "give exactly one of"),
    (["--all", "--price-per-gb", "-1"], "report: --price-per-gb: must be a price of zero or more, got -1.0"),
    (["--all", "--archive-price-per-gb", "nan"], "--archive-price-per-gb: must be a price of zero or more"),
    (["--all", "--now", "yesterday"], "report: --now: 'yesterday' is not an ISO 8601 time"),
    (["--repository", "nothing-here"], "report: no repositories matched: nothing-here in us-east-1"),
    (["--all"], "report: no repositories matched: every repository in us-east-1"),
])
def test_bad_input_and_nothing_matched_exit_2(aws: str, args: list[str], message: str) -> None:
    result = run_ecrgen("report", *args)
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


# --- the pure core --------------------------------------------------------------------------

def detail(digest: str, days: float, size: int, tags: tuple[str, ...] = (), **extra: Any) -> dict[str, Any]:
    return {"imageDigest": digest, "imageTags": list(tags), "imagePushedAt": 1_000 * DAY - days * DAY,
            "imageSizeInBytes": size, **extra}


POLICY = json.dumps({"rules": [
    {"rulePriority": 1, "selection": {"tagStatus": "any", "storageClass": "archive",
                                      "countType": "sinceImageTransitioned", "countUnit": "days",
                                      "countNumber": 90}, "action": {"type": "expire"}},
    {"rulePriority": 2, "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed",
                                      "countUnit": "days", "countNumber": 30},
     "action": {"type": "transition", "targetStorageClass": "archive"}}]})


def test_expiring_archived_images_saves_the_archive_price_and_archiving_the_difference() -> None:
    reading = figures.RepositoryReading("r", "in-sync", True, POLICY, [
        detail("sha256:a", 400, 4 * GIB, imageStatus="ARCHIVED", lastArchivedAt=1_000 * DAY - 200 * DAY),
        detail("sha256:b", 40, 2 * GIB),
        detail("sha256:c", 1, GIB, ("v2",), imageScanStatus={"status": "COMPLETE"},
               imageScanFindingsSummary={"findingSeverityCounts": {"LOW": 2, "UNDEFINED": 1, "CRITICAL": 1}}),
    ])
    repo = figures.repository(reading, 1_000 * DAY, figures.Prices(0.10, 0.04))
    assert repo.freed == figures.Freed(1, 4 * GIB, 1, 2 * GIB, pytest.approx(4 * 0.04 + 2 * 0.06))
    assert repo.monthly_cost == pytest.approx(3 * 0.10 + 4 * 0.04)
    assert repo.ages == ((1, GIB), (0, 0), (1, 2 * GIB), (0, 0), (0, 0), (1, 4 * GIB))
    assert repo.newest is not None and repo.newest.digest == "sha256:c"
    assert list(repo.findings.items()) == [("CRITICAL", 1), ("LOW", 2), ("UNDEFINED", 1)]
    assert (repo.scanned_images, repo.coverage) == (1, "scanned")


def test_images_in_use_are_at_risk_when_the_evaluation_removes_them() -> None:
    details = [detail("sha256:a", 400, 4 * GIB, imageStatus="ARCHIVED", lastArchivedAt=1_000 * DAY - 200 * DAY),
               detail("sha256:b", 40, 2 * GIB), detail("sha256:c", 1, GIB, ("v2",))]
    users = {"sha256:a": ("ecs:prod/api",), "sha256:b": ("lambda:f:live",), "sha256:c": ("file:1",)}
    reading = figures.RepositoryReading("r", "in-sync", True, POLICY, details, in_use=Resolved(users))
    repo = figures.repository(reading, 1_000 * DAY, figures.Prices())
    assert repo.in_use is not None
    # rule 1 expires the long-archived a, rule 2 archives the untagged b, c is kept
    assert [(v.digest, v.action, v.rule, v.users) for v in repo.in_use.at_risk] == [
        ("sha256:a", "EXPIRE", 1, ("ecs:prod/api",)), ("sha256:b", "TRANSITION", 2, ("lambda:f:live",))]
    assert (repo.in_use.images, repo.in_use.expiring, repo.in_use.archiving) == (3, 1, 1)
    for no_evaluation in (None, '{"rules": []}'):  # no policy, or one that cannot be read: nothing at risk
        other = figures.repository(replace(reading, policy_text=no_evaluation), 1_000 * DAY, figures.Prices())
        assert other.in_use == InUseFigures(3)

    result = figures.build([reading, replace(reading, name="s", in_use=Resolved({}))], 1_000 * DAY,
                           figures.Prices(), "test", {}, {}, InUseSeen("ecs, lambda", 4))
    document = figures.to_json(result)
    assert document["summary"]["inUse"] == {
        "sources": "ecs, lambda", "images": 3, "expiringImages": 1, "archivingImages": 1,
        "repositoriesAtRisk": ["r"], "unknownReferences": 0, "otherRegistries": 4}
    assert document["repositories"][0]["inUse"]["atRisk"][1] == {
        "imageDigest": "sha256:b", "imageTags": [], "action": "TRANSITION", "appliedRulePriority": 2,
        "users": ["lambda:f:live"]}
    assert document["repositories"][1]["inUse"] == {"images": 0, "expiringImages": 0, "archivingImages": 0,
                                                    "atRisk": [], "unknownReferences": []}
    plain = figures.to_json(figures.build([replace(reading, in_use=None)], 1_000 * DAY, figures.Prices(), "test",
                                          {}, {}))
    assert "inUse" not in plain["summary"] and "inUse" not in plain["repositories"][0]
    # images parsed already (for the in-use references) are not parsed again
    assert figures.repository(replace(reading, parsed=[]), 1_000 * DAY, figures.Prices()).images == 0


def test_a_repository_whose_images_or_policy_cannot_be_read_is_set_aside_or_named() -> None:
    broken = figures.RepositoryReading("broken", "unmanaged", False, None, [{"imageDigest": "x"}])
    odd = figures.RepositoryReading("odd", "unmanaged", False, '{"rules": []}', [detail("sha256:a", 1, 10)])
    result = figures.build([broken, odd], 1_000 * DAY, figures.Prices(), "test", {}, {})
    assert "broken (images): imageDetails[0].imagePushedAt: is required" in result.unreadable["broken"]
    (repo,) = result.repositories
    assert repo.has_policy and "must be a non-empty list of rules" in (repo.policy_error or "")
    assert figures.to_json(result)["repositories"][0]["policyError"] == repo.policy_error


def test_a_chart_is_the_same_svg_every_time_with_title_desc_and_no_script() -> None:
    chart = charts.Chart("k", "Storage <by> repository", "What it shows.", ["a", "b"],
                         [("standard", [1.5, 2]), ("archive", [0, 1])], "storage (GiB)", "repository",
                         ("var(--series-1)", "var(--series-2)"), stacked=True)
    svg = charts.render(chart)
    assert svg == charts.render(chart)
    assert svg.startswith('<svg id="chart-k"') and 'role="img"' in svg
    assert '<title id="chart-k-title">Storage &lt;by&gt; repository</title>' in svg
    assert '<desc id="chart-k-desc">What it shows.</desc>' in svg
    assert "<script" not in svg and "<!--" not in svg and "storage (GiB)" in svg


@pytest.mark.parametrize(("value", "text"), [(0, "0 B"), (1023, "1023 B"), (1024, "1.0 KiB"),
                                             (3 * GIB // 2, "1.5 GiB"), (2**50, "1.0 PiB")])
def test_sizes_read_in_binary_units(value: int, text: str) -> None:
    assert binary_size(value) == text


def test_money_under_a_cent_is_not_shown_as_nothing() -> None:
    assert (units.usd(0), units.usd(0.001), units.usd(1234.5)) == ("0.00 USD", "< 0.01 USD", "1,234.50 USD")


def test_a_refused_policy_read_sets_the_repository_aside(registry: list[report_registry.Repository],
                                                          fault_proxy: FaultProxy) -> None:
    # base-image wants no lifecycle policy in ecr.yaml: its policy is read apart from post-deploy's read
    fault_proxy.configure(Faults(repositories=(
        RepositoryFault("shop-ecr-base-image", operations=("GetLifecyclePolicy",)),)))
    document = report("--config", "ecr.yaml")
    assert [u["repositoryName"] for u in document["unreadable"]] == ["shop-ecr-base-image"]
    assert len(document["repositories"]) == 8  # payments is readable now


def test_long_reads_show_progress_on_stderr(aws: str) -> None:
    ecr = boto3.client("ecr")
    for index in range(50):
        ecr.create_repository(repositoryName=f"many-{index:02}")
    result = run_ecrgen("report", "--all", "--output", "json")
    assert result.returncode == 0, result.stderr
    assert "reading policies: 50\nreading images: 50\n" in result.stderr  # a pipeline log: one line a phase
    assert json.loads(result.stdout)["summary"]["repositories"] == 50
