"""Writing a repository's shield tags (`model.protection.ShieldPlan`): tags added, then removed.

Adding: `BatchGetImage` (100 images a call, asking for every manifest type so that ECR returns
each manifest exactly as stored), then one `PutImage` per image with that manifest, its media
type and its digest (ECR refuses a manifest that does not hash to it, so no new image can come
of it) and the image's own shield tag. That works under IMMUTABLE: the tag is new.

Removing: `BatchDeleteImage` by tag, 100 a call, only for tags that are not an image's last
(ECR deletes an image with its last tag). The images are read again just before (one
`DescribeImages` per 100), so a tag removed by someone else since the first read cannot turn a
removal into a deletion.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from generator.aws.ecr import describe, failures
from generator.model.protection import ShieldPlan

IDS_BATCH = 100  # BatchGetImage, BatchDeleteImage and DescribeImages take at most 100 image ids
MANIFEST_TYPES = ("application/vnd.docker.distribution.manifest.v2+json",
                  "application/vnd.docker.distribution.manifest.list.v2+json",
                  "application/vnd.oci.image.manifest.v1+json",
                  "application/vnd.oci.image.index.v1+json",
                  "application/vnd.docker.distribution.manifest.v1+json")
T = TypeVar("T")


def _batches(items: Sequence[T]) -> list[Sequence[T]]:
    return [items[i:i + IDS_BATCH] for i in range(0, len(items), IDS_BATCH)]


def write(ecr: Any, repository: str, plan: ShieldPlan) -> tuple[ShieldPlan, str | None]:
    """Write `plan`; returns the part written (and the plan's kept tags) and what failed, if anything."""
    errors: list[str] = []
    added = _add(ecr, repository, plan.add, errors)
    removed, kept = _remove(ecr, repository, plan.remove, errors)
    return ShieldPlan(tuple(added), tuple(removed), plan.kept + tuple(kept)), "; ".join(errors) or None


def _add(ecr: Any, repository: str, wanted: Sequence[tuple[str, str]],
         errors: list[str]) -> list[tuple[str, str]]:
    manifests: dict[str, dict[str, Any]] = {}
    for batch in _batches([digest for digest, _ in wanted]):
        try:
            answer = ecr.batch_get_image(repositoryName=repository, acceptedMediaTypes=list(MANIFEST_TYPES),
                                         imageIds=[{"imageDigest": digest} for digest in batch])
        except failures() as exc:
            errors.append(f"BatchGetImage: {describe(exc)}")
            continue
        manifests.update((image["imageId"]["imageDigest"], image) for image in answer.get("images", []))
        errors += [f"BatchGetImage {f.get('imageId', {}).get('imageDigest')}: {f.get('failureCode')}: "
                   f"{f.get('failureReason')}" for f in answer.get("failures", [])]
    added = []
    for digest, tag in wanted:
        image = manifests.get(digest)
        if image is None:
            continue
        params = {"repositoryName": repository, "imageManifest": image["imageManifest"], "imageTag": tag,
                  "imageDigest": digest}
        if image.get("imageManifestMediaType"):
            params["imageManifestMediaType"] = image["imageManifestMediaType"]
        try:
            ecr.put_image(**params)
        except ecr.exceptions.ImageAlreadyExistsException:
            pass  # the tag is there already: what was wanted
        except failures() as exc:
            errors.append(f"PutImage {tag}: {describe(exc)}")
            continue
        added.append((digest, tag))
    return added


def _remove(ecr: Any, repository: str, wanted: Sequence[tuple[str, str]],
            errors: list[str]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(removed, kept): the tags of an image that would be left with none by now are kept."""
    removed: list[tuple[str, str]] = []
    kept: list[tuple[str, str]] = []
    for batch in _batches(wanted):
        digests = list(dict.fromkeys(digest for digest, _ in batch))
        try:
            details = ecr.describe_images(repositoryName=repository,
                                          imageIds=[{"imageDigest": d} for d in digests])["imageDetails"]
        except failures() as exc:  # an image gone since the first read: nothing removed, read it all next run
            errors.append(f"shield tags not removed, images changed while post-deploy ran: {describe(exc)}")
            continue
        going = {tag for _, tag in batch}
        left = {d["imageDigest"]: set(d.get("imageTags", [])) - going for d in details}
        safe = [(digest, tag) for digest, tag in batch if left.get(digest)]
        kept += [pair for pair in batch if pair not in safe]
        if not safe:
            continue
        try:
            answer = ecr.batch_delete_image(repositoryName=repository,
                                            imageIds=[{"imageTag": tag} for _, tag in safe])
        except failures() as exc:
            errors.append(f"BatchDeleteImage: {describe(exc)}")
            continue
        failed = {f.get("imageId", {}).get("imageTag"): f for f in answer.get("failures", [])
                  if f.get("failureCode") != "ImageNotFound"}
        errors += [f"BatchDeleteImage {tag}: {f.get('failureCode')}: {f.get('failureReason')}"
                   for tag, f in failed.items()]
        removed += [(digest, tag) for digest, tag in safe if tag not in failed]
    return removed, kept

