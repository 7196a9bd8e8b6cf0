"""Image lists in the shape `aws ecr describe-images` prints, read into plain records.

The preview accepts what users already have: `{"imageDetails": [...]}` or a bare list of the
same objects, timestamps as ISO 8601 strings (the AWS CLI v2), epoch seconds (CLI v1) or
datetimes (boto3). Times become UTC epoch seconds so the evaluator compares plain floats.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from generator.base.errors import InputError, Problem
from generator.base.source import load_json

ACTIVE, ARCHIVED, ACTIVATING = "ACTIVE", "ARCHIVED", "ACTIVATING"
IMAGE_STATUSES = (ACTIVE, ARCHIVED, ACTIVATING)
# Past this many problems, one summary line says how many more there are.
MAX_PROBLEMS = 20


@dataclass(frozen=True, slots=True)
class Image:
    """One image; times are UTC epoch seconds (None: never happened)."""

    digest: str
    tags: tuple[str, ...]
    pushed_at: float
    size: int = 0
    last_pulled_at: float | None = None
    archived_at: float | None = None
    activated_at: float | None = None
    status: str = ACTIVE

    @property
    def storage_class(self) -> str | None:
        """The lifecycle `storageClass` that selects this image; None while it is being restored."""
        return {ACTIVE: "standard", ARCHIVED: "archive"}.get(self.status)


def parse_timestamp(value: Any) -> float:
    """An ISO 8601 string, epoch seconds or datetime -> UTC epoch seconds; ValueError otherwise.

    A time without an offset is taken as UTC, as AWS writes its times.
    """
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        try:  # also rejects NaN, infinities and years past 9999, which no report could print
            moment = datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            raise ValueError(f"{value!r} is not a time in epoch seconds") from None
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"{value!r} is not an ISO 8601 time such as 2026-01-31T12:00:00Z") from None
    else:
        raise ValueError(f"must be an ISO 8601 time or epoch seconds, got {value!r}")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def format_timestamp(epoch: float) -> str:
    """UTC epoch seconds -> `2026-01-01T00:00:00Z` (fractions kept only when present)."""
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


def load_images(text: str, source: str) -> list[Image]:
    """Parse describe-images JSON text; raises InputError naming every broken field."""
    return parse_images(load_json(text, source), source)


def parse_images(data: Any, source: str) -> list[Image]:
    """Read `{"imageDetails": [...]}` or a bare list of image objects into Images."""
    prefix = "imageDetails"
    if isinstance(data, dict):
        if "imageDetails" not in data:
            raise InputError(source, Problem("expected the output of `aws ecr describe-images`: "
                                             "an object with imageDetails, or a list of images"))
        data = data["imageDetails"]
    else:
        prefix = ""
    if not isinstance(data, list):
        raise InputError(source, Problem(f"must be a list of images, got {type(data).__name__}",
                                         field=prefix))
    problems: list[Problem] = []
    images: list[Image] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(data):
        where = f"{prefix}[{index}]"
        image = _parse_image(raw, where, problems)
        if image is None:
            continue
        if image.digest in seen:
            problems.append(Problem(f"duplicates the digest of {prefix}[{seen[image.digest]}]",
                                    field=f"{where}.imageDigest"))
            continue
        seen[image.digest] = index
        images.append(image)
    if problems:
        extra = len(problems) - MAX_PROBLEMS
        shown = problems[:MAX_PROBLEMS]
        if extra > 0:
            shown.append(Problem(f"... and {extra} more problems"))
        raise InputError(source, shown)
    return images


def _parse_image(raw: Any, where: str, problems: list[Problem]) -> Image | None:
    if not isinstance(raw, dict):
        problems.append(Problem(f"must be an image object, got {type(raw).__name__}", field=where))
        return None
    before = len(problems)

    def bad(key: str, message: str) -> None:
        problems.append(Problem(message, field=f"{where}.{key}"))

    digest = raw.get("imageDigest")
    if not isinstance(digest, str) or not digest:
        bad("imageDigest", f"is required: a digest such as sha256:..., got {digest!r}")
    tags = raw.get("imageTags") or []
    one_line = isinstance(tags, list) and all(isinstance(t, str) and t and "\n" not in t for t in tags)
    if not one_line:
        bad("imageTags", f"must be a list of non-empty one-line tag strings, got {tags!r}")
        tags = []
    size = raw.get("imageSizeInBytes", 0)
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        bad("imageSizeInBytes", f"must be a whole number of bytes, got {size!r}")
    status = raw.get("imageStatus", ACTIVE)
    if status not in IMAGE_STATUSES:
        bad("imageStatus", f"must be one of {', '.join(IMAGE_STATUSES)}, got {status!r}")
    times: dict[str, float | None] = {}
    for key in ("imagePushedAt", "lastRecordedPullTime", "lastArchivedAt", "lastActivatedAt"):
        value = raw.get(key)
        if value is None:
            times[key] = None
            if key == "imagePushedAt":
                bad(key, "is required: when the image was pushed (ISO 8601)")
            continue
        try:
            times[key] = parse_timestamp(value)
        except ValueError as exc:
            bad(key, str(exc))
    if len(problems) > before:
        return None
    return Image(digest=digest, tags=tuple(tags), pushed_at=times["imagePushedAt"],  # type: ignore[arg-type]
                 size=size, last_pulled_at=times["lastRecordedPullTime"],
                 archived_at=times["lastArchivedAt"], activated_at=times["lastActivatedAt"],
                 status=status)
