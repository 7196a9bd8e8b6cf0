"""The pure core of `ecrgen findings`: severity ranks, parsing both scan kinds, ignore entries, the gate."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from generator.base.errors import InputError
from generator.findings import ignore, sarif, suppress
from generator.findings.gate import Finding, ImageFindings, Suppression, exit_code, parse_findings
from generator.model.severity import SEVERITIES, at_or_above

TODAY = dt.date(2026, 11, 29)


@pytest.mark.parametrize(("severity", "threshold", "expected"), [
    ("CRITICAL", "HIGH", True), ("HIGH", "HIGH", True), ("MEDIUM", "HIGH", False),
    ("INFORMATIONAL", "INFORMATIONAL", True), ("UNDEFINED", "INFORMATIONAL", False),
    ("UNTRIAGED", "INFORMATIONAL", False),
])
def test_at_or_above(severity: str, threshold: str, expected: bool) -> None:
    assert at_or_above(severity, threshold) is expected


def test_parse_basic_and_enhanced_findings() -> None:
    counts, found = parse_findings([
        {"imageScanFindings": {"findingSeverityCounts": {"HIGH": 1},
                               "findings": [{"name": "CVE-1", "severity": "HIGH", "uri": "https://x/CVE-1",
                                             "attributes": [{"key": "package_name", "value": "zlib"},
                                                            {"key": "package_version", "value": "1.2"}]}]}},
        {"imageScanFindings": {"enhancedFindings": [
            {"severity": "CRITICAL", "title": "CVE-2 - a",
             "packageVulnerabilityDetails": {"vulnerabilityId": "CVE-2", "referenceUrls": ["https://y/CVE-2"],
                                             "vulnerablePackages": [{"name": "a", "version": "1",
                                                                     "fixedInVersion": "2"}]}},
            {"severity": "LOW", "title": "no package details"}]}},
    ])
    assert counts == {"HIGH": 1}
    assert found == [
        Finding("CVE-1", "HIGH", "zlib", "1.2", None, "https://x/CVE-1"),
        Finding("CVE-2", "CRITICAL", "a", "1", "2", "https://y/CVE-2", title="CVE-2 - a", fix_available="YES"),
        Finding("no package details", "LOW", title="no package details"),
    ]


@pytest.mark.parametrize(("package", "finding", "expected"), [
    ({"name": "openssl", "epoch": 0, "version": "3.0.13", "release": "0ubuntu3.1", "fixedInVersion": "NotAvailable"},
     {"fixAvailable": "NO"}, ("0:3.0.13-0ubuntu3.1", None, "NO")),
    ({"name": "bash", "epoch": 1, "version": "5.2", "fixedInVersion": "1:5.2.1"}, {}, ("1:5.2", "1:5.2.1", "YES")),
    ({"name": "lodash", "epoch": 0, "version": "4.17.20", "packageManager": "NPM", "fixedInVersion": "4.17.21"},
     {"fixAvailable": "YES"}, ("4.17.20", "4.17.21", "YES")),
    ({"name": "zlib", "version": "1.3"}, {"fixAvailable": "PARTIAL"}, ("1.3", None, "PARTIAL")),
    ({"name": "zlib", "version": "1.3", "fixedInVersion": ""}, {}, ("1.3", None, None)),
])
def test_installed_and_fixed_versions_of_an_inspector_package(package: dict, finding: dict, expected: tuple) -> None:
    item = {"severity": "HIGH", "packageVulnerabilityDetails": {"vulnerabilityId": "CVE-1", "vulnerablePackages": [package]},
            **finding}
    (found,) = parse_findings([{"imageScanFindings": {"enhancedFindings": [item]}}])[1]
    assert (found.version, found.fixed_version, found.fix_available) == expected


@pytest.mark.parametrize(("details", "score"), [
    ({"score": 8.1, "packageVulnerabilityDetails": {"cvss": [{"baseScore": 7.5, "version": "3.1"}]}}, 8.1),
    ({"packageVulnerabilityDetails": {"cvss": [{"baseScore": 5.0, "version": "2.0"},
                                               {"baseScore": 7.5, "version": "3.1"}]}}, 7.5),
    ({"packageVulnerabilityDetails": {}}, None),
])
def test_the_cvss_score_of_an_inspector_finding(details: dict, score: float | None) -> None:
    (found,) = parse_findings([{"imageScanFindings": {"enhancedFindings": [{"severity": "LOW", **details}]}}])[1]
    assert found.cvss_score == score


def test_the_cvss_score_of_a_basic_finding() -> None:
    attributes = [{"key": "CVSS2_SCORE", "value": "4.3"}, {"key": "CVSS3_SCORE", "value": "6.1"}]
    scan = {"findings": [{"name": "CVE-1", "severity": "MEDIUM", "attributes": attributes},
                         {"name": "CVE-2", "severity": "LOW", "attributes": attributes[:1]},
                         {"name": "CVE-3", "severity": "LOW", "attributes": [{"key": "CVSS2_SCORE", "value": "n/a"}]}]}
    found = parse_findings([{"imageScanFindings": scan}])[1]
    assert [(f.cvss_score, f.fix_available, f.exploit_available) for f in found] == [
        (6.1, None, None), (4.3, None, None), (None, None, None)]


@pytest.mark.parametrize(("text", "message"), [
    ("ignore:\n  - id: CVE-1\n    reason: x\n    expires: next year\n",
     "ignore.yaml:4: ignore[0].expires: must be a date like 2027-01-31, got 'next year'"),
    ("ignore:\n  - id: CVE-1\n    reason: ''\n",
     "ignore.yaml:3: ignore[0].reason: must not be empty"),
    ("- id: CVE-1\n", "ignore.yaml:1: must be a mapping with key ignore"),
])
def test_ignore_file_problems_name_line_and_field(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "ignore.yaml"
    path.write_text(text)
    with pytest.raises(InputError) as caught:
        ignore.load(path)
    assert caught.value.render().replace(str(tmp_path) + "/", "") == message


def test_quoted_and_plain_dates_both_load(tmp_path: Path) -> None:
    path = tmp_path / "ignore.yaml"
    path.write_text("ignore:\n  - {id: A, reason: r, expires: 2027-01-31}\n  - {id: B, reason: r, expires: '2027-02-01'}\n")
    assert [r.entry.expires for r in ignore.load(path)] == [dt.date(2027, 1, 31), dt.date(2027, 2, 1)]


images_strategy = st.lists(st.builds(
    ImageFindings, repository=st.sampled_from(["a", "b"]),
    scan_status=st.sampled_from(["COMPLETE", "ACTIVE", "FAILED", "IN_PROGRESS", "NO_IMAGES", "NOT_SCANNED"]),
    findings=st.lists(st.builds(Finding, id=st.sampled_from(["C1", "C2"]),
                                severity=st.sampled_from([*SEVERITIES, "UNDEFINED"]),
                                suppression=st.none() | st.just(Suppression("ignore", "r")))).map(tuple)),
    max_size=4)


@given(images_strategy, st.sampled_from(SEVERITIES), st.sampled_from(SEVERITIES))
def test_a_stricter_threshold_never_passes_what_a_looser_one_fails(images, first, second) -> None:
    low, high = sorted((first, second), key=SEVERITIES.index)
    assert exit_code(images, low) >= exit_code(images, high)
    assert exit_code(images, None) == 0


def test_two_expired_entries_on_one_line_are_both_reported(tmp_path: Path) -> None:
    path = tmp_path / "ignore.yaml"
    path.write_text("ignore: [{id: A, reason: r, expires: 2020-01-01}, {id: B, reason: r, expires: 2020-01-01}]\n")
    image = ImageFindings("web", scan_status="COMPLETE", findings=(Finding("A", "HIGH"), Finding("B", "LOW")))
    _, warnings = suppress.apply([image], suppress.Options(rules=ignore.load(path)), TODAY)
    assert [w.replace(f"{tmp_path}/", "") for w in warnings] == [
        "ignore.yaml:1: ignore of A expired on 2020-01-01 and no longer applies; it now counts in web",
        "ignore.yaml:1: ignore of B expired on 2020-01-01 and no longer applies; it now counts in web"]


def test_sarif_runs_hold_at_most_github_s_25000_results_the_most_severe() -> None:
    low = [Finding(f"CVE-2024-{n}", "LOW") for n in range(25_000)]
    image = ImageFindings("web", scan_status="COMPLETE",
                          findings=(*low[:10], Finding("CVE-2025-1", "CRITICAL"), *low[10:]))
    log, warnings = sarif.render([image])
    run, = log["runs"]
    assert len(run["results"]) == 25_000 and len(run["tool"]["driver"]["rules"]) == 25_000
    assert ("CVE-2025-1", "error") in [(r["ruleId"], r["level"]) for r in run["results"]]
    assert run["results"][-1]["ruleId"] == "CVE-2024-24998"  # the last LOW is the one left out
    assert warnings == ["SARIF: 25,001 results are more than GitHub code scanning accepts in one run "
                        "(25,000); left out the 1 least severe (LOW 1); --output json lists every finding"]
    within, no_warning = sarif.render([replace(image, findings=image.findings[:25_000])])
    assert len(within["runs"][0]["results"]) == 25_000 and no_warning == []
