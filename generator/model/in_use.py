"""Images in use: references to images, who uses them, and the digests they pin in a repository.

Pure. The AWS reads that find references (ECS services and tasks, Lambda functions) are in
`generator.aws.in_use`; here references are parsed (`repo:tag`, `repo@sha256:...`, full registry
URIs), an in-use file is read (`in_use_file`), this registry's references are told from other
registries' (`index`), and a repository's references are resolved against its images (`resolve`):
a tag to the image that carries it now, a digest as it is, and, with `pulled_within_days`, every
image that ECR saw pulled that recently.

A user names who uses an image: `ecs:CLUSTER/SERVICE`, `ecs:CLUSTER/TASK_ID`,
`lambda:FUNCTION:ALIAS` (or `:$LATEST`), `pulled:YYYY-MM-DD`, `file:LINE`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import Field, PositiveInt, model_validator

from generator.model.lifecycle.images import Image
from generator.model.schema import Strict

SERVICES: tuple[str, ...] = ("ecs", "lambda")  # the sources `--in-use` names
DOCKER_HUB = "docker.io"  # where a name without a registry host points, except in an in-use file
DAY = 86_400.0

# <account>.dkr.ecr.<region>.amazonaws.com, its FIPS (dkr.ecr-fips), China (.com.cn), dual-stack
# (<account>.dkr-ecr.<region>.on.aws) and isolated-partition forms.
ECR_HOST = re.compile(r"(?P<account>\d{12})\.dkr(?:\.ecr(?:-fips)?|-ecr)\.(?P<region>[a-z0-9-]+)\."
                      r"(?:amazonaws\.com(?:\.cn)?|on\.aws|c2s\.ic\.gov|sc2s\.sgov\.gov)\Z")
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_PATH = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*\Z")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}\Z")
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}\Z")
_HOST = re.compile(r"(?:[A-Za-z0-9-]+\.)*[A-Za-z0-9-]+(?::[0-9]+)?\Z")
EXAMPLES = "repo:tag, repo@sha256:<64 hex digits> or <account>.dkr.ecr.<region>.amazonaws.com/repo:tag"


@dataclass(frozen=True)
class Registry:
    """This account's registry in one region: the references that name it are ours."""

    account: str
    region: str

    @classmethod
    def of_arn(cls, arn: str) -> Registry:
        """From a repository ARN, `arn:aws:ecr:<region>:<account>:repository/<name>`."""
        parts = [*arn.split(":"), "", "", "", "", ""]
        return cls(account=parts[4], region=parts[3])


@dataclass(frozen=True)
class Reference:
    """One image reference. `host` None means this registry (a bare name in an in-use file)."""

    host: str | None
    repository: str
    tag: str | None = None
    digest: str | None = None

    def registry(self) -> Registry | None:
        """The ECR registry the reference names; None for any other registry."""
        if self.host is None:
            return None
        match = ECR_HOST.match(self.host)
        return Registry(match["account"], match["region"]) if match else None

    def __str__(self) -> str:
        name = self.repository if self.host is None else f"{self.host}/{self.repository}"
        return name + (f":{self.tag}" if self.tag else "") + (f"@{self.digest}" if self.digest else "")


def parse_reference(text: str, default_host: str | None = DOCKER_HUB) -> Reference:
    """`[host/]path[:tag][@digest]` as Docker reads it; ValueError when it is none.

    The first part is a host when it holds a `.` or `:` or is `localhost`; without one the name
    is `default_host`'s (Docker Hub for what ECS, Lambda and Kubernetes run). With neither tag
    nor digest the tag is `latest`, as `docker pull` takes it.
    """
    rest, _, digest = text.strip().partition("@")
    if digest and not _DIGEST.match(digest):
        raise ValueError(f"{digest!r} is not a sha256 digest")
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    tag = None
    if colon > slash:
        rest, tag = rest[:colon], rest[colon + 1:]
        if not _TAG.match(tag):
            raise ValueError(f"{tag!r} is not a tag")
    host = default_host
    first, sep, path = rest.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        if not _HOST.match(first):
            raise ValueError(f"{first!r} is not a registry host")
        host = first
        rest = path
    if not _PATH.match(rest):
        raise ValueError(f"{rest!r} is not a repository name")
    if tag is None and not digest:
        tag = "latest"
    return Reference(host, rest, tag, digest or None)


@dataclass(frozen=True)
class Use:
    """A reference and who uses it."""

    reference: Reference
    user: str


# --- the sources a run uses -----------------------------------------------------------------

@dataclass(frozen=True)
class Sources:
    """Where in-use images are found. Empty: no discovery, no extra call."""

    services: tuple[str, ...] = ()           # "ecs", "lambda"
    pulled_within_days: int | None = None    # images ECR saw pulled this recently
    file: str | None = None                  # an in-use file (one reference a line, or kubectl's pods)

    def __bool__(self) -> bool:
        return bool(self.services or self.pulled_within_days or self.file)

    def describe(self) -> str:
        """`ecs, lambda, pulled within 30 days, in-use.txt`: what a report says it looked at."""
        parts = list(self.services)
        if self.pulled_within_days:
            parts.append(f"pulled within {self.pulled_within_days} days")
        if self.file:
            parts.append(self.file)
        return ", ".join(parts)


class InUseSection(Strict):
    """`in_use:` in ecr.yaml: where post-deploy and the preview look for images in use."""

    sources: list[Literal["ecs", "lambda"]] = Field(default_factory=list)
    pulled_within_days: PositiveInt | None = None
    file: str | None = None

    @model_validator(mode="after")
    def _something(self) -> InUseSection:
        if not (self.sources or self.pulled_within_days or self.file):
            raise ValueError("needs at least one of sources (ecs, lambda), pulled_within_days or file")
        return self

    def to_sources(self, base: Path) -> Sources:
        """The sources, the file relative to the folder of ecr.yaml."""
        return Sources(tuple(dict.fromkeys(self.sources)), self.pulled_within_days,
                       str(base / self.file) if self.file else None)


# The IAM actions each service's discovery calls (generator.aws.in_use), on every resource.
IAM_ACTIONS: dict[str, tuple[str, ...]] = {
    "ecs": ("ecs:ListClusters", "ecs:ListServices", "ecs:DescribeServices", "ecs:ListTasks",
            "ecs:DescribeTasks", "ecs:DescribeTaskDefinition"),
    "lambda": ("lambda:ListFunctions", "lambda:ListAliases", "lambda:GetFunction"),
}


def iam_actions(services: Iterable[str]) -> list[str]:
    return [action for service in services for action in IAM_ACTIONS[service]]


def parse_services(text: str) -> tuple[str, ...]:
    """`ecs,lambda` -> ("ecs", "lambda"); ValueError naming what is allowed."""
    names = [part.strip() for part in text.split(",") if part.strip()]
    wrong = [name for name in names if name not in SERVICES]
    if wrong or not names:
        raise ValueError(f"must be {' or '.join(SERVICES)} or both, comma-separated, got {text!r}")
    return tuple(dict.fromkeys(names))


# --- this registry's references, by repository ----------------------------------------------

@dataclass(frozen=True)
class Index:
    """This registry's references by repository name; references to other registries counted."""

    by_repository: Mapping[str, tuple[Use, ...]]
    other_registries: int = 0


def index(uses: Iterable[Use], registry: Registry) -> Index:
    """Group the references that name `registry`; count (and drop) the others'."""
    grouped: dict[str, list[Use]] = {}
    others = 0
    for use in uses:
        ref = use.reference
        if ref.host is not None and ref.registry() != registry:
            others += 1
            continue
        grouped.setdefault(ref.repository, []).append(use)
    return Index({name: tuple(found) for name, found in grouped.items()}, others)


@dataclass(frozen=True)
class Resolved:
    """One repository's images in use (digest -> its users, sorted) and the references that
    name no image of it (a tag since moved away or deleted: whoever uses it cannot pull it)."""

    users: Mapping[str, tuple[str, ...]]
    unknown: tuple[Use, ...] = ()


def resolve(uses: Sequence[Use], images: Sequence[Image], now: float,
            pulled_within_days: int | None = None) -> Resolved:
    """The images of one repository that `uses` name (a tag by the image carrying it now, a
    digest as it is) and, with `pulled_within_days`, every image pulled in that many days."""
    by_tag = {tag: image.digest for image in images for tag in image.tags}
    digests = {image.digest for image in images}
    users: dict[str, set[str]] = {}
    unknown = []
    for use in uses:
        ref = use.reference
        digest = (ref.digest if ref.digest in digests else None) if ref.digest else by_tag.get(ref.tag or "")
        if digest is None:
            unknown.append(use)
        else:
            users.setdefault(digest, set()).add(use.user)
    if pulled_within_days:
        since = now - pulled_within_days * DAY
        for image in images:
            if image.last_pulled_at is not None and image.last_pulled_at >= since:
                day = datetime.fromtimestamp(image.last_pulled_at, UTC).date().isoformat()
                users.setdefault(image.digest, set()).add(f"pulled:{day}")
    return Resolved({digest: tuple(sorted(found)) for digest, found in users.items()}, tuple(unknown))
