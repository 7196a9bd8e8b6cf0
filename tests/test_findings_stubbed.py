"""What moto cannot do for `ecrgen findings`, with botocore's Stubber: pages, and a scan that ends.

moto answers DescribeImages and DescribeImageScanFindings in one page and gives one image the
same scan result forever; real ECR pages both (100 findings a page by default) and moves a
scan from IN_PROGRESS to COMPLETE.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from generator.aws import ecr as aws_ecr
from generator.aws import findings as aws_findings

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
OLD, NEW = "sha256:" + "1" * 64, "sha256:" + "2" * 64


@pytest.fixture()
def ecr(monkeypatch: pytest.MonkeyPatch) -> Any:
    for key, value in {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x"}.items():
        monkeypatch.setenv(key, value)
    return boto3.client("ecr", region_name="us-east-1")


def image(digest: str, pushed: dt.datetime, tag: str) -> dict[str, Any]:
    return {"imageDigest": digest, "imageTags": [tag], "imagePushedAt": pushed, "repositoryName": "web",
            "registryId": "123456789012"}


def finding(name: str, severity: str) -> dict[str, Any]:
    return {"name": name, "severity": severity, "attributes": []}


def scan_page(status: str, findings: list[dict[str, Any]], token: str | None = None) -> dict[str, Any]:
    page: dict[str, Any] = {"repositoryName": "web", "imageId": {"imageDigest": NEW},
                            "imageScanStatus": {"status": status, "description": status.lower()},
                            "imageScanFindings": {"findings": findings,
                                                  "findingSeverityCounts": {"HIGH": 2, "LOW": 1}}}
    if token:
        page["nextToken"] = token
    return page


def findings_params(token: str | None = None) -> dict[str, Any]:
    params: dict[str, Any] = {"repositoryName": "web", "imageId": {"imageDigest": NEW}}
    if token:
        params["nextToken"] = token
    return params


def test_every_page_of_images_and_of_findings_is_read(ecr: Any) -> None:
    counter = aws_ecr.CallCounter()
    counter.attach(ecr)
    with Stubber(ecr) as stub:
        stub.add_response("describe_images", {"imageDetails": [image(NEW, T0 + dt.timedelta(days=2), "v2")],
                                              "nextToken": "p2"}, {"repositoryName": "web"})
        stub.add_response("describe_images", {"imageDetails": [image(OLD, T0, "v1")]},
                          {"repositoryName": "web", "nextToken": "p2"})
        stub.add_response("describe_image_scan_findings",
                          scan_page("COMPLETE", [finding("CVE-1", "HIGH"), finding("CVE-2", "LOW")], "f2"),
                          findings_params())
        stub.add_response("describe_image_scan_findings", scan_page("COMPLETE", [finding("CVE-3", "HIGH")]),
                          findings_params("f2"))
        result, = aws_findings.read(ecr, ["web"], concurrency=1)
        stub.assert_no_pending_responses()
    assert result.digest == NEW and result.tags == ("v2",)  # the later push, though listed first
    assert [f.id for f in result.findings] == ["CVE-1", "CVE-2", "CVE-3"]
    assert result.severity_counts == {"HIGH": 2, "LOW": 1}
    assert len(result.blocking("HIGH")) == 2 and result.fails("HIGH")
    assert counter.counts == {"DescribeImages": 2, "DescribeImageScanFindings": 2}


def test_wait_reads_a_running_scan_again_until_it_completes(ecr: Any) -> None:
    with Stubber(ecr) as stub:
        stub.add_response("describe_images", {"imageDetails": [image(NEW, T0, "v2")]},
                          {"repositoryName": "web", "imageIds": [{"imageTag": "v2"}]})
        for _ in range(2):
            stub.add_response("describe_image_scan_findings", scan_page("IN_PROGRESS", []), findings_params())
        stub.add_response("describe_image_scan_findings", scan_page("COMPLETE", [finding("CVE-1", "LOW")]),
                          findings_params())
        result, = aws_findings.read(ecr, ["web"], tag="v2", wait=5, poll_seconds=0.01)
        stub.assert_no_pending_responses()
    assert result.scan_status == "COMPLETE" and not result.fails("HIGH") and result.fails("LOW")


def test_a_refused_call_is_that_repository_s_status(ecr: Any) -> None:
    with Stubber(ecr) as stub:
        stub.add_client_error("describe_images", "AccessDeniedException", "not allowed to ecr:DescribeImages",
                              expected_params={"repositoryName": "web"})
        result, = aws_findings.read(ecr, ["web"])
    assert result.scan_status == "ERROR" and result.fails("CRITICAL") and not result.fails(None)
    assert result.description == "AccessDeniedException: not allowed to ecr:DescribeImages"
