"""`ecrgen findings` end to end against moto, whose scan results are set through its own API.

moto answers DescribeImageScanFindings with whatever was posted to
`/moto-api/static/ecr/scan-finding-results` for that repository (and keeps answering the same
for the same image id), once the image has been scanned (StartImageScan). It does not page,
and one image's result never changes: paging and a scan that finishes while we wait are in
tests/test_findings_stubbed.py.
"""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.conftest import ROOT

# The OASIS SARIF 2.1.0 schema (errata01): test data kept beside the checkout, in ../shared/schemas
# (its README: CI has ../shared there; the schema is not part of the project's sources).
SARIF_SCHEMA = ROOT.parent / "shared" / "schemas" / "sarif-schema-2.1.0.json"


def valid_sarif(text: str) -> dict[str, Any]:
    """The SARIF log `text`, checked against the OASIS schema."""
    import jsonschema

    if not SARIF_SCHEMA.is_file():
        pytest.fail(f"the OASIS SARIF schema is not at {SARIF_SCHEMA}: check out ../shared beside the project")
    log = json.loads(text)
    jsonschema.validate(log, json.loads(SARIF_SCHEMA.read_text()))
    return log


def push(ecr: Any, repository: str, tag: str, number: int) -> str:
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 100,
                   "digest": f"sha256:{number:064x}"},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 1000,
                    "digest": f"sha256:{number + 1000:064x}"}]})
    return ecr.put_image(repositoryName=repository, imageManifest=manifest, imageTag=tag)["image"]["imageId"][
        "imageDigest"]


def basic(name: str, severity: str, package: str = "openssl", version: str = "1.1.1") -> dict[str, Any]:
    return {"name": name, "severity": severity, "uri": f"https://nvd.nist.gov/vuln/detail/{name}",
            "attributes": [{"key": "package_name", "value": package},
                           {"key": "package_version", "value": version}]}


def scan_result(repository: str, findings: list[dict[str, Any]], status: str = "COMPLETE",
                enhanced: list[dict[str, Any]] | None = None, tag: str | None = None) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for finding in [*findings, *(enhanced or [])]:
        counts[finding["severity"]] = counts.get(finding["severity"], 0) + 1
    scan: dict[str, Any] = {"findings": findings, "findingSeverityCounts": counts}
    if enhanced is not None:
        scan = {"enhancedFindings": enhanced, "findingSeverityCounts": counts}
    return {"registryId": "123456789012", "repositoryName": repository,
            "imageId": {"imageTag": tag} if tag else {},
            "imageScanStatus": {"status": status, "description": f"scan {status.lower()}"},
            "imageScanFindings": scan if status == "COMPLETE" else {}}


def set_results(endpoint: str, *results: dict[str, Any]) -> None:
    body = json.dumps({"results": list(results), "region": "us-east-1"}).encode()
    request = urllib.request.Request(f"{endpoint}/moto-api/static/ecr/scan-finding-results", data=body,
                                     method="POST", headers={"Content-Type": "application/json"})
    urllib.request.urlopen(request, timeout=10).close()


def scanned_repository(ecr: Any, endpoint: str, name: str, findings: list[dict[str, Any]],
                       status: str = "COMPLETE", number: int = 1) -> str:
    """A repository with one scanned image whose scan reports `findings`; its digest."""
    ecr.create_repository(repositoryName=name)
    digest = push(ecr, name, "v1", number)
    ecr.start_image_scan(repositoryName=name, imageId={"imageDigest": digest})
    set_results(endpoint, scan_result(name, findings, status))
    return digest


@pytest.fixture()
def ecr(aws: str) -> Any:
    return boto3.client("ecr")


@pytest.fixture()
def three(ecr: Any, aws: str) -> dict[str, str]:
    """app-critical (CRITICAL + LOW), app-high (HIGH), app-low (LOW): name -> digest."""
    return {
        "app-critical": scanned_repository(ecr, aws, "app-critical", [basic("CVE-2024-0001", "CRITICAL"),
                                                                      basic("CVE-2024-0003", "LOW", "zlib")], number=1),
        "app-high": scanned_repository(ecr, aws, "app-high", [basic("CVE-2024-0002", "HIGH", "curl", "8.0")], number=2),
        "app-low": scanned_repository(ecr, aws, "app-low", [basic("CVE-2024-0003", "LOW", "zlib")], number=3),
    }


def repos(*names: str) -> list[str]:
    return [arg for name in names for arg in ("--repository", name)]


def test_the_gate_fails_on_findings_at_or_above_the_threshold(ecrgen, three) -> None:
    result = ecrgen("findings", *repos(*three), "--fail-on", "HIGH", "--output", "json")
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    by_name = {image["repositoryName"]: image for image in report["images"]}
    assert list(by_name) == ["app-critical", "app-high", "app-low"]
    assert by_name["app-critical"]["imageDigest"] == three["app-critical"]
    assert by_name["app-critical"]["imageTags"] == ["v1"]
    assert by_name["app-critical"]["scanStatus"] == "COMPLETE"
    assert by_name["app-critical"]["severityCounts"] == {"CRITICAL": 1, "LOW": 1}
    assert by_name["app-high"]["findings"] == [{
        "id": "CVE-2024-0002", "severity": "HIGH", "package": "curl", "version": "8.0", "fixedVersion": None,
        "uri": "https://nvd.nist.gov/vuln/detail/CVE-2024-0002", "ignored": False, "fixAvailable": None,
        "exploitAvailable": None, "cvssScore": None, "packageManager": None, "filePath": None, "suppression": None}]
    summary = report["summary"]
    assert summary["images"] == 3 and summary["failed"] == 2
    assert summary["severityCounts"] == {"CRITICAL": 1, "HIGH": 1, "LOW": 2}
    # The minimum: one DescribeImages page and one DescribeImageScanFindings page per repository.
    assert summary["apiCalls"] == {"DescribeImageScanFindings": 3, "DescribeImages": 3}


@pytest.mark.parametrize(("fail_on", "names", "code"), [
    ("CRITICAL", ["app-high", "app-low"], 0),
    ("CRITICAL", ["app-critical"], 1),
    ("high", ["app-low"], 0),
    ("LOW", ["app-low"], 1),
    (None, ["app-critical", "app-high"], 0),
])
def test_exit_code_follows_the_threshold(ecrgen, three, fail_on, names, code) -> None:
    flags = ["--fail-on", fail_on] if fail_on else []
    result = ecrgen("findings", *repos(*names), *flags)
    assert result.returncode == code, result.stdout + result.stderr


def test_text_table_lists_findings_at_or_above_the_threshold(ecrgen, three) -> None:
    result = ecrgen("findings", *repos("app-critical"), "--fail-on", "CRITICAL")
    assert result.returncode == 1
    assert "app-critical:v1" in result.stdout and "COMPLETE  FAILED" in result.stdout
    assert "CRITICAL 1, LOW 1" in result.stdout
    assert "CVE-2024-0001" in result.stdout and "openssl" in result.stdout
    assert "CVE-2024-0003" not in result.stdout  # LOW is below the threshold: counted, not listed
    assert "1 repository; 1 failed --fail-on CRITICAL" in result.stdout


def test_the_most_recent_push_or_the_given_tag(ecrgen, ecr, aws) -> None:
    ecr.create_repository(repositoryName="web")
    old = push(ecr, "web", "v1", 10)
    time.sleep(1.1)  # moto records push times to the second
    new = push(ecr, "web", "v2", 11)
    for digest in (old, new):
        ecr.start_image_scan(repositoryName="web", imageId={"imageDigest": digest})
    set_results(aws, scan_result("web", [basic("CVE-2024-0009", "CRITICAL")], tag="v1"),
                scan_result("web", [], tag="v2"))
    latest = json.loads(ecrgen("findings", "-r", "web", "--fail-on", "HIGH", "-o", "json").stdout)
    assert latest["images"][0]["imageDigest"] == new and latest["summary"]["failed"] == 0
    given = ecrgen("findings", "-r", "web", "--tag", "v1", "--fail-on", "HIGH", "-o", "json")
    assert given.returncode == 1
    assert json.loads(given.stdout)["images"][0]["imageDigest"] == old
    by_digest = ecrgen("findings", "-r", "web", "--digest", old, "--fail-on", "HIGH")
    assert by_digest.returncode == 1


@pytest.mark.parametrize(("status", "fail_on", "code"), [
    ("FAILED", "HIGH", 1), ("FAILED", None, 0), ("IN_PROGRESS", "CRITICAL", 1),
])
def test_an_unfinished_or_failed_scan_fails_the_gate(ecrgen, ecr, aws, status, fail_on, code) -> None:
    scanned_repository(ecr, aws, "api", [], status=status)
    flags = ["--fail-on", fail_on] if fail_on else []
    result = ecrgen("findings", "-r", "api", *flags, "-o", "json")
    assert result.returncode == code, result.stderr
    assert json.loads(result.stdout)["images"][0]["scanStatus"] == status


def test_wait_polls_a_running_scan_until_the_time_is_up(ecrgen, ecr, aws) -> None:
    scanned_repository(ecr, aws, "api", [], status="IN_PROGRESS")
    start = time.monotonic()
    result = ecrgen("findings", "-r", "api", "--wait", "2", "--fail-on", "HIGH")
    assert time.monotonic() - start >= 2
    assert result.returncode == 1
    assert "IN_PROGRESS  FAILED" in result.stdout and "still IN_PROGRESS after --wait 2" in result.stdout


def test_repositories_without_a_scan_or_an_image_get_a_status(ecrgen, ecr, aws) -> None:
    ecr.create_repository(repositoryName="empty")
    ecr.create_repository(repositoryName="unscanned")
    push(ecr, "unscanned", "v1", 20)
    result = ecrgen("findings", *repos("empty", "unscanned", "gone"), "--fail-on", "HIGH", "-o", "json")
    assert result.returncode == 1
    statuses = {i["repositoryName"]: i["scanStatus"] for i in json.loads(result.stdout)["images"]}
    assert statuses == {"empty": "NO_IMAGES", "unscanned": "NOT_SCANNED", "gone": "REPOSITORY_NOT_FOUND"}
    text = ecrgen("findings", *repos("empty", "unscanned"), "--fail-on", "HIGH")
    assert "scanning is off for the repository" in text.stdout and "Traceback" not in text.stderr
    # An empty repository alone has nothing to ship: the gate passes.
    assert ecrgen("findings", "-r", "empty", "--fail-on", "LOW").returncode == 0


def test_enhanced_findings_give_the_fixed_version(ecrgen, ecr, aws) -> None:
    ecr.create_repository(repositoryName="inspected")
    digest = push(ecr, "inspected", "v1", 30)
    ecr.start_image_scan(repositoryName="inspected", imageId={"imageDigest": digest})
    enhanced = {"severity": "HIGH", "title": "CVE-2024-6119 - libssl3t64, openssl", "status": "ACTIVE",
                "packageVulnerabilityDetails": {
                    "vulnerabilityId": "CVE-2024-6119",
                    "sourceUrl": "https://people.canonical.com/~ubuntu-security/cve/2024/CVE-2024-6119.html",
                    "vulnerablePackages": [{"name": "libssl3t64", "version": "3.0.13",
                                            "fixedInVersion": "0:3.0.13-0ubuntu3.4"},
                                           {"name": "openssl", "version": "3.0.13",
                                            "fixedInVersion": "0:3.0.13-0ubuntu3.4"}]}}
    result = scan_result("inspected", [], enhanced=[enhanced])
    result["imageScanStatus"]["status"] = "ACTIVE"
    set_results(aws, result)
    out = ecrgen("findings", "-r", "inspected", "--fail-on", "HIGH", "-o", "json")
    assert out.returncode == 1
    found = json.loads(out.stdout)["images"][0]["findings"]
    assert [(f["package"], f["fixedVersion"]) for f in found] == [
        ("libssl3t64", "0:3.0.13-0ubuntu3.4"), ("openssl", "0:3.0.13-0ubuntu3.4")]


# Amazon Inspector's finding for CVE-2024-6119 as DescribeImageScanFindings returns it (the ECR and
# Inspector user guides' sample, tests/test_notifications.py), with what real findings add: the
# installed package's release, a package without a fix ("NotAvailable"), the exploit and the scores.
INSPECTOR_FINDING = {
    "awsAccountId": "123456789012", "description": "Possible denial of service in X.509 name checks",
    "findingArn": "arn:aws:inspector2:us-east-1:123456789012:finding/0123456789abcdef",
    "severity": "HIGH", "status": "ACTIVE", "title": "CVE-2024-6119 - libssl3t64, openssl",
    "type": "PACKAGE_VULNERABILITY", "fixAvailable": "PARTIAL", "exploitAvailable": "YES", "score": 7.5,
    "scoreDetails": {"cvss": {"score": 7.5, "scoreSource": "NVD", "version": "3.1",
                              "scoringVector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", "adjustments": []}},
    "packageVulnerabilityDetails": {
        "source": "UBUNTU_CVE", "vendorSeverity": "medium", "vulnerabilityId": "CVE-2024-6119",
        "sourceUrl": "https://ubuntu.com/security/CVE-2024-6119",
        "cvss": [{"baseScore": 7.5, "scoringVector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H",
                  "source": "NVD", "version": "3.1"}],
        "vulnerablePackages": [
            {"arch": "X86_64", "epoch": 0, "name": "openssl", "packageManager": "OS", "version": "3.0.13",
             "release": "0ubuntu3.1", "fixedInVersion": "0:3.0.13-0ubuntu3.4"},
            {"arch": "X86_64", "epoch": 0, "name": "libssl3t64", "packageManager": "OS", "version": "3.0.13",
             "release": "0ubuntu3.1", "fixedInVersion": "NotAvailable"}]},
}


def inspected(ecr: Any, endpoint: str, *enhanced: dict[str, Any], name: str = "inspected") -> str:
    """A repository whose latest image has an enhanced (Inspector) scan with these findings; its digest."""
    ecr.create_repository(repositoryName=name)
    digest = push(ecr, name, "v1", 50)
    ecr.start_image_scan(repositoryName=name, imageId={"imageDigest": digest})
    result = scan_result(name, [], enhanced=list(enhanced))
    result["imageScanStatus"]["status"] = "ACTIVE"
    set_results(endpoint, result)
    return digest


def test_inspector_s_fix_exploit_and_score_reach_every_output(ecrgen, ecr, aws) -> None:
    image_ref = f"inspected@{inspected(ecr, aws, INSPECTOR_FINDING)}"
    report = json.loads(ecrgen("findings", "-r", "inspected", "-o", "json").stdout)
    assert report["images"][0]["findings"] == [
        {"id": "CVE-2024-6119", "severity": "HIGH", "package": "openssl", "version": "0:3.0.13-0ubuntu3.1",
         "fixedVersion": "0:3.0.13-0ubuntu3.4", "uri": "https://ubuntu.com/security/CVE-2024-6119",
         "ignored": False, "fixAvailable": "YES", "exploitAvailable": "YES", "cvssScore": 7.5,
         "packageManager": "OS", "filePath": None, "suppression": None},
        {"id": "CVE-2024-6119", "severity": "HIGH", "package": "libssl3t64", "version": "0:3.0.13-0ubuntu3.1",
         "fixedVersion": None, "uri": "https://ubuntu.com/security/CVE-2024-6119",
         "ignored": False, "fixAvailable": "NO", "exploitAvailable": "YES", "cvssScore": 7.5,
         "packageManager": "OS", "filePath": None, "suppression": None}]

    text = ecrgen("findings", "-r", "inspected").stdout
    assert "NotAvailable" not in text
    header, *rows = [line.split() for line in text.splitlines() if "CVE-2024-6119" in line or "INSTALLED" in line]
    assert header == ["ID", "SEVERITY", "CVSS", "PACKAGE", "INSTALLED", "FIXED", "EXPLOIT", "LINK"]
    assert rows == [["CVE-2024-6119", "HIGH", "7.5", "libssl3t64", "0:3.0.13-0ubuntu3.1", "no", "fix", "yes",
                     "https://ubuntu.com/security/CVE-2024-6119"],
                    ["CVE-2024-6119", "HIGH", "7.5", "openssl", "0:3.0.13-0ubuntu3.1", "0:3.0.13-0ubuntu3.4", "yes",
                     "https://ubuntu.com/security/CVE-2024-6119"]]

    run, = valid_sarif(ecrgen("findings", "-r", "inspected", "-o", "sarif").stdout)["runs"]
    rule, = run["tool"]["driver"]["rules"]
    assert rule["properties"]["security-severity"] == "7.5"
    assert [(r["message"]["text"], r["properties"]["fixAvailable"], r["properties"]["exploitAvailable"],
             r["properties"]["cvssScore"]) for r in run["results"]] == [
        (f"CVE-2024-6119 (HIGH) in openssl 0:3.0.13-0ubuntu3.1, fixed in 0:3.0.13-0ubuntu3.4: {image_ref}", "YES", "YES", 7.5),
        (f"CVE-2024-6119 (HIGH) in libssl3t64 0:3.0.13-0ubuntu3.1, no fix available: {image_ref}", "NO", "YES", 7.5)]


def test_ignore_unfixed_and_exploitable_only(ecrgen, ecr, aws) -> None:
    no_exploit = {**INSPECTOR_FINDING, "severity": "CRITICAL", "exploitAvailable": "NO", "fixAvailable": "YES",
                  "title": "CVE-2024-2511 - openssl",
                  "packageVulnerabilityDetails": {**INSPECTOR_FINDING["packageVulnerabilityDetails"],
                                                  "vulnerabilityId": "CVE-2024-2511",
                                                  "vulnerablePackages": [{"name": "openssl", "version": "3.0.13",
                                                                          "fixedInVersion": "3.0.14"}]}}
    inspected(ecr, aws, INSPECTOR_FINDING, no_exploit)
    scanned_repository(ecr, aws, "basic", [basic("CVE-2024-0002", "HIGH", "curl", "8.0")], number=60)

    unfixed = ecrgen("findings", "-r", "inspected", "--ignore-unfixed", "--fail-on", "HIGH", "-o", "json")
    assert unfixed.returncode == 1  # openssl has a fix: it counts
    found = json.loads(unfixed.stdout)["images"][0]["findings"]
    assert [(f["id"], f["package"], f["suppression"] and f["suppression"]["kind"]) for f in found] == [
        ("CVE-2024-6119", "openssl", None), ("CVE-2024-6119", "libssl3t64", "unfixed"), ("CVE-2024-2511", "openssl", None)]

    assert ecrgen("findings", "-r", "inspected", "--fail-on", "CRITICAL").returncode == 1
    exploitable = ecrgen("findings", "-r", "inspected", "--exploitable-only", "--fail-on", "CRITICAL")
    assert exploitable.returncode == 0, exploitable.stdout  # the CRITICAL one has no known exploit
    assert "1 suppressed (no known exploit 1); --show-suppressed lists them" in exploitable.stdout
    shown = ecrgen("findings", "-r", "inspected", "--exploitable-only", "--show-suppressed", "--fail-on", "CRITICAL")
    assert "CRITICAL (no exploit)" in shown.stdout

    basic_only = ecrgen("findings", "-r", "basic", "--ignore-unfixed", "--exploitable-only", "--fail-on", "HIGH")
    assert basic_only.returncode == 1  # basic scanning says nothing of fixes or exploits: the finding counts
    assert basic_only.stderr == (
        "warning: --ignore-unfixed: 1 finding does not say whether a fix exists (basic scanning); it still counts\n"
        "warning: --exploitable-only: 1 finding does not say whether an exploit exists (basic scanning); it still "
        "counts\n")


def test_an_openvex_statement_suppresses_with_its_justification(ecrgen, ecr, aws, tmp_path: Path) -> None:
    digest = inspected(ecr, aws, INSPECTOR_FINDING)
    (tmp_path / "vex.json").write_text(json.dumps({
        "@context": "https://openvex.dev/ns/v0.2.0", "@id": "https://example.com/vex/inspected-1",
        "author": "Platform team", "timestamp": "2026-11-01T10:00:00Z", "version": 1,
        "statements": [{"vulnerability": {"name": "CVE-2024-6119"},
                        "products": [{"@id": f"pkg:oci/inspected@{digest.replace(':', '%3A')}",
                                      "subcomponents": [{"@id": "pkg:deb/ubuntu/openssl"},
                                                        {"@id": "pkg:deb/ubuntu/libssl3t64"}]}],
                        "status": "not_affected", "justification": "vulnerable_code_not_in_execute_path",
                        "impact_statement": "the TLS client is never used"}]}, indent=2))
    gate = ecrgen("findings", "-r", "inspected", "--vex", "vex.json", "--fail-on", "HIGH", "-o", "json", cwd=tmp_path)
    assert gate.returncode == 0, gate.stdout + gate.stderr
    assert [f["suppression"] for f in json.loads(gate.stdout)["images"][0]["findings"]] == 2 * [
        {"kind": "vex", "reason": "the TLS client is never used", "source": "vex.json:8", "status": "not_affected",
         "justification": "vulnerable_code_not_in_execute_path"}]
    text = ecrgen("findings", "-r", "inspected", "--vex", "vex.json", "--show-suppressed", cwd=tmp_path).stdout
    assert "HIGH (not_affected)" in text
    assert ("VEX CVE-2024-6119: not_affected (vulnerable_code_not_in_execute_path): the TLS client is never used"
            in text)
    run, = valid_sarif(ecrgen("findings", "-r", "inspected", "--vex", "vex.json", "-o", "sarif", cwd=tmp_path).stdout)["runs"]
    assert [r["suppressions"] for r in run["results"]] == 2 * [[{
        "kind": "external",
        "justification": "not_affected (vulnerable_code_not_in_execute_path): the TLS client is never used"}]]


def test_an_ignore_entry_that_matched_nothing_is_reported(ecrgen, three, tmp_path: Path) -> None:
    (tmp_path / "ignore.yaml").write_text(
        "ignore:\n  - {id: cve-2024-0002, reason: build only}\n"
        "  - {id: CVE-2024-0002, reason: only curl 7, packages: [{name: curl, version: '7.0'}]}\n"
        "  - {id: CVE-2024-0001, reason: other team, repositories: [batch-*]}\n")
    result = ecrgen("findings", *repos(*three), "--ignore", "ignore.yaml", "-o", "json", cwd=tmp_path)
    assert result.stderr == ("warning: ignore.yaml:3: ignore of CVE-2024-0002 (curl 7.0) matched no finding in "
                             "app-critical, app-high, app-low: remove it, or check its id, packages and paths\n")
    found = json.loads(result.stdout)["images"][1]["findings"][0]
    assert found["id"] == "CVE-2024-0002" and found["ignored"]  # the id matched in another case


def test_an_empty_repository_is_a_note_in_sarif_not_an_error(ecrgen, ecr, aws) -> None:
    ecr.create_repository(repositoryName="empty")
    run, = valid_sarif(ecrgen("findings", *repos("empty", "gone"), "-o", "sarif").stdout)["runs"]
    assert [(n["level"], n["message"]["text"]) for n in run["invocations"][0]["toolExecutionNotifications"]] == [
        ("note", "empty: scan NO_IMAGES: the repository has no images"),
        ("error", "gone: scan REPOSITORY_NOT_FOUND: repository not found in this account and region")]


IGNORE = """\
ignore:
  - id: CVE-2024-0002
    reason: curl is only used at build time
    expires: {expires}
    repositories: ["app-*"]
"""


def test_an_active_ignore_entry_passes_the_gate(ecrgen, three, tmp_path: Path) -> None:
    (tmp_path / "ignore.yaml").write_text(IGNORE.format(expires="2099-12-31"))
    result = ecrgen("findings", "-r", "app-high", "--fail-on", "HIGH", "--ignore", "ignore.yaml", "-o", "json",
                    cwd=tmp_path)
    assert result.returncode == 0, result.stdout
    finding = json.loads(result.stdout)["images"][0]["findings"][0]
    assert finding["id"] == "CVE-2024-0002" and finding["ignored"] is True
    assert finding["suppression"] == {"kind": "ignore", "reason": "curl is only used at build time",
                                      "source": "ignore.yaml:2", "status": None, "justification": None}
    assert json.loads(result.stdout)["summary"]["suppressed"] == 1
    text = ecrgen("findings", "-r", "app-high", "--fail-on", "HIGH", "--ignore", "ignore.yaml", cwd=tmp_path)
    assert "CVE-2024-0002" not in text.stdout  # as trivy: suppressed findings are counted, not listed
    assert "  1 suppressed (ignore file 1); --show-suppressed lists them\n" in text.stdout
    shown = ecrgen("findings", "-r", "app-high", "--fail-on", "HIGH", "--ignore", "ignore.yaml", "--show-suppressed",
                   cwd=tmp_path)
    assert "HIGH (ignored)" in shown.stdout and "suppressed" not in shown.stdout
    assert "ignored CVE-2024-0002: curl is only used at build time" in shown.stdout


def test_an_expired_ignore_entry_applies_no_more_and_says_so(ecrgen, three, tmp_path: Path) -> None:
    (tmp_path / "ignore.yaml").write_text(IGNORE.format(expires="2020-01-31"))
    result = ecrgen("findings", "-r", "app-high", "--fail-on", "HIGH", "--ignore", "ignore.yaml", "-o", "json",
                    cwd=tmp_path)
    assert result.returncode == 1
    assert json.loads(result.stdout)["images"][0]["findings"][0]["ignored"] is False
    assert ("ignore.yaml:2: ignore of CVE-2024-0002 expired on 2020-01-31 and no longer applies; "
            "it now counts in app-high") in result.stderr


def test_an_ignore_entry_for_other_repositories_does_not_apply(ecrgen, three, tmp_path: Path) -> None:
    (tmp_path / "ignore.yaml").write_text(IGNORE.format(expires="2099-12-31").replace("app-*", "batch-*"))
    result = ecrgen("findings", "-r", "app-high", "--fail-on", "HIGH", "--ignore", "ignore.yaml", cwd=tmp_path)
    assert result.returncode == 1


def test_an_ignore_entry_without_a_reason_is_bad_input(ecrgen, tmp_path: Path) -> None:
    (tmp_path / "ignore.yaml").write_text("ignore:\n  - id: CVE-2024-0002\n    expires: 2027-01-31\n")
    result = ecrgen("findings", "-r", "app", "--ignore", "ignore.yaml", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == ("ignore.yaml:2: ignore[0].reason: is required: say why this finding is accepted "
                                     "(or trivy's statement)")


@pytest.mark.parametrize(("args", "message"), [
    (["-r", "a", "--config", "ecr.yaml"], "give exactly one of --stack-name"),
    ([], "give exactly one of --stack-name"),
    (["-r", "a", "--tag", "v1", "--digest", "sha256:1"], "give --tag or --digest, not both"),
    (["-r", "a", "--fail-on", "SEVERE"], "Invalid value for '--fail-on'"),
    (["-r", "a", "--vex", "missing.json"], "missing.json: file not found"),
])
def test_bad_flags_exit_2(ecrgen, args, message) -> None:
    result = ecrgen("findings", *args)
    assert result.returncode == 2 and message in result.stderr


def test_sarif_is_valid_sarif_2_1_0(ecrgen, three, tmp_path: Path) -> None:
    (tmp_path / "ignore.yaml").write_text(IGNORE.format(expires="2099-12-31"))
    result = ecrgen("findings", *repos(*three, "missing"), "--ignore", "ignore.yaml", "-o", "sarif",
                    cwd=tmp_path)
    log = valid_sarif(result.stdout)
    run, = log["runs"]
    rules = [rule["id"] for rule in run["tool"]["driver"]["rules"]]
    assert rules == ["CVE-2024-0001", "CVE-2024-0002", "CVE-2024-0003"]  # CVE-2024-0003 once, two images
    assert [(r["ruleId"], r["level"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"])
            for r in run["results"]] == [("CVE-2024-0001", "error", "app-critical"),
                                         ("CVE-2024-0003", "note", "app-critical"),
                                         ("CVE-2024-0002", "error", "app-high"),
                                         ("CVE-2024-0003", "note", "app-low")]
    assert all(rules[r["ruleIndex"]] == r["ruleId"] for r in run["results"])
    assert run["results"][2]["suppressions"] == [{"kind": "external",
                                                  "justification": "curl is only used at build time"}]
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert [n["message"]["text"] for n in notes] == [
        "missing: scan REPOSITORY_NOT_FOUND: repository not found in this account and region"]


def test_a_run_over_github_s_result_limit_keeps_the_most_severe_and_says_so(ecrgen, three, monkeypatch) -> None:
    from generator.findings import sarif

    monkeypatch.setattr(sarif, "MAX_RESULTS", 2)  # GitHub's is 25,000 (tests/test_findings_core.py)
    result = ecrgen("findings", *repos(*three), "--fail-on", "HIGH", "-o", "sarif")
    assert result.returncode == 1  # the gate sees every finding; only the SARIF is cut
    run, = valid_sarif(result.stdout)["runs"]
    assert [(r["ruleId"], r["level"]) for r in run["results"]] == [("CVE-2024-0001", "error"),
                                                                   ("CVE-2024-0002", "error")]
    assert [rule["id"] for rule in run["tool"]["driver"]["rules"]] == ["CVE-2024-0001", "CVE-2024-0002"]
    message = ("SARIF: 4 results are more than GitHub code scanning accepts in one run (2); left out the 2 "
               "least severe (LOW 2); --output json lists every finding")
    assert result.stderr == f"warning: {message}\n"
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert [(n["level"], n["message"]["text"]) for n in notes] == [("warning", message)]


STACK_CONFIG = """\
system_name: shop
outputs: []
repositories:
  - name: web
  - name: api
"""


def test_repositories_of_a_deployed_stack_or_a_config(ecrgen, aws, ecr, tmp_path: Path) -> None:
    (tmp_path / "ecr.yaml").write_text(STACK_CONFIG)
    assert ecrgen("template", "--config", "ecr.yaml", "--out", "t.yaml", "--no-lint", cwd=tmp_path).returncode == 0
    boto3.client("cloudformation").create_stack(StackName="shop", TemplateBody=(tmp_path / "t.yaml").read_text())
    digest = push(ecr, "shop-ecr-web", "v1", 40)
    ecr.start_image_scan(repositoryName="shop-ecr-web", imageId={"imageDigest": digest})
    set_results(aws, scan_result("shop-ecr-web", [basic("CVE-2024-0001", "CRITICAL")]))
    for source in (["--stack-name", "shop"], ["--config", "ecr.yaml"]):
        result = ecrgen("findings", *source, "--fail-on", "CRITICAL", "-o", "json", cwd=tmp_path)
        assert result.returncode == 1, result.stderr
        statuses = {i["repositoryName"]: i["scanStatus"] for i in json.loads(result.stdout)["images"]}
        assert statuses == {"shop-ecr-web": "COMPLETE", "shop-ecr-api": "NO_IMAGES"}
    calls = json.loads(ecrgen("findings", "--stack-name", "shop", "-o", "json").stdout)["summary"]["apiCalls"]
    assert calls["GetTemplate"] == 1 and calls["ListStackResources"] == 1


def test_credentials_are_never_printed(ecrgen, three, monkeypatch) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s3cr3t-never-print-me")
    for output in ("text", "json", "sarif"):
        result = ecrgen("findings", *repos(*three, "gone"), "-o", output)
        assert "s3cr3t-never-print-me" not in result.stdout + result.stderr
