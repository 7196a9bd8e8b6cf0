"""Live reads for `ecrgen findings`: each repository's image and its scan findings, concurrently.

Per repository: `DescribeImages` (every page, to find the most recently pushed image; one call
for an image given by tag or digest), then `DescribeImageScanFindings` (every page). A scan that
is still running is read again every `poll_seconds` until it ends or `wait` seconds pass. A
repository that cannot be read gets a status saying why; the others go on.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from generator.aws.client import error_code
from generator.aws.ecr import describe, failures
from generator.findings.gate import (
    ERROR,
    IMAGE_NOT_FOUND,
    NO_IMAGES,
    NOT_SCANNED,
    REPOSITORY_NOT_FOUND,
    SCAN_RUNNING,
    ImageFindings,
    parse_findings,
)

POLL_SECONDS = 5.0  # how often a running scan is read again under --wait
_STATUS_OF_ERROR = {
    "RepositoryNotFoundException": (REPOSITORY_NOT_FOUND, "repository not found in this account and region"),
    "ImageNotFoundException": (IMAGE_NOT_FOUND, "no image with this tag or digest"),
    "ScanNotFoundException": (NOT_SCANNED, "no scan of this image: scanning is off for the repository, "
                                           "or the image was pushed before it was turned on"),
}


def read(ecr: Any, repositories: Sequence[str], *, tag: str | None = None, digest: str | None = None,
         wait: float = 0.0, concurrency: int = 8, poll_seconds: float = POLL_SECONDS) -> list[ImageFindings]:
    """One `ImageFindings` per repository, in the order given."""
    def one(name: str) -> ImageFindings:
        return _read_one(ecr, name, tag, digest, wait, poll_seconds)

    with ThreadPoolExecutor(concurrency) as pool:
        return list(pool.map(one, repositories))


def _read_one(ecr: Any, name: str, tag: str | None, digest: str | None, wait: float,
              poll_seconds: float) -> ImageFindings:
    image: Mapping[str, Any] | None = None
    try:
        image = _image(ecr, name, tag, digest)
        if image is None:
            return ImageFindings(name, scan_status=NO_IMAGES, description="the repository has no images")
        return _scan(ecr, name, image, wait, poll_seconds)
    except failures() as exc:
        status, reason = _STATUS_OF_ERROR.get(error_code(exc), (ERROR, describe(exc)))
        return ImageFindings(name, digest=image.get("imageDigest") if image else digest,
                             tags=tuple(image.get("imageTags", ())) if image else (),
                             scan_status=status, description=reason)


def _image(ecr: Any, name: str, tag: str | None, digest: str | None) -> Mapping[str, Any] | None:
    """The image given by tag or digest, else the most recently pushed one (None when empty)."""
    if tag or digest:
        image_id = {"imageDigest": digest} if digest else {"imageTag": tag}
        details = ecr.describe_images(repositoryName=name, imageIds=[image_id])["imageDetails"]
        return details[0] if details else None
    pages = ecr.get_paginator("describe_images").paginate(repositoryName=name)
    images = [d for page in pages for d in page.get("imageDetails", []) if d.get("imageStatus") != "ARCHIVED"]
    # Ties on the push time go to the later entry, the order in which ECR lists pushes.
    return max(reversed(images), key=lambda d: d["imagePushedAt"], default=None)


def _scan(ecr: Any, name: str, image: Mapping[str, Any], wait: float, poll_seconds: float) -> ImageFindings:
    """Every page of the image's findings; a running scan is polled until `wait` runs out."""
    deadline = time.monotonic() + wait
    paginator = ecr.get_paginator("describe_image_scan_findings")
    while True:
        pages = list(paginator.paginate(repositoryName=name, imageId={"imageDigest": image["imageDigest"]}))
        scan = pages[0].get("imageScanStatus") or {}
        status = str(scan.get("status") or ERROR)
        remaining = deadline - time.monotonic()
        if status not in SCAN_RUNNING or remaining <= 0:
            break
        time.sleep(min(poll_seconds, remaining))
    counts, findings = parse_findings(pages)
    description = scan.get("description")
    if status in SCAN_RUNNING and wait:
        description = f"still {status} after --wait {wait:g}" + (f": {description}" if description else "")
    return ImageFindings(name, digest=image["imageDigest"], tags=tuple(image.get("imageTags", ())),
                         scan_status=status, description=description, severity_counts=counts,
                         findings=tuple(findings))
