"""`--vex FILE`: OpenVEX documents (https://openvex.dev), as trivy reads them.

A statement names a vulnerability (its name or an alias, any case), the products it is about and a
status. `not_affected` (with a justification or an impact statement) and `fixed` suppress the
vulnerability's findings there, with the justification as the reason; `affected` and
`under_investigation` do not. Where several statements speak of the same finding, the latest
(`timestamp`, else the document's; then the later in the files) decides.

A product is an image (`pkg:oci/NAME@sha256:...?repository_url=REGISTRY/REPOSITORY`, or as Docker
writes it, `[REGISTRY/]REPOSITORY[:TAG][@sha256:...]`) whose `subcomponents`, package URLs, narrow
it to those packages; or a package URL on its own, that package in every image. OpenVEX 0.0.1's
plain strings (`"vulnerability": "CVE-..."`, `"products": ["pkg:..."]`, statement-level
`subcomponents`) are read too.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from generator.base import source
from generator.base.errors import InputError, Problem
from generator.base.source import Document, Path_
from generator.findings.gate import Finding, ImageFindings, Suppression
from generator.findings.packages import PackageRef, parse_purl
from generator.model.schema import shown

CONTEXT = "https://openvex.dev/ns"
STATUSES = ("not_affected", "affected", "fixed", "under_investigation")
SUPPRESSING = frozenset({"not_affected", "fixed"})
JUSTIFICATIONS = ("component_not_present", "vulnerable_code_not_present",
                  "vulnerable_code_not_in_execute_path", "vulnerable_code_cannot_be_controlled_by_adversary",
                  "inline_mitigations_already_exist")
IMAGE = re.compile(r"(?:(?P<registry>[^/]+\.[^/]+)/)?(?P<repository>[a-z0-9][a-z0-9._/-]*)"
                   r"(?::(?P<tag>\w[\w.-]{0,127}))?(?:@(?P<digest>sha256:[0-9a-f]{64}))?")
EARLIEST = dt.datetime.min.replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class ImageRef:
    """An image a product names: by repository (or, from a bare OCI purl, its last part), tag, digest."""

    repository: str | None = None
    name: str | None = None
    tag: str | None = None
    digest: str | None = None

    def matches(self, image: ImageFindings) -> bool:
        return ((self.repository is None or image.repository == self.repository)
                and (self.name is None or image.repository.rsplit("/", 1)[-1] == self.name)
                and (self.digest is None or image.digest == self.digest)
                and (self.tag is None or self.tag in image.tags))


@dataclass(frozen=True)
class Product:
    image: ImageRef | None                 # None: every image
    packages: tuple[PackageRef, ...] = ()  # empty: every package of the image

    def matches(self, image: ImageFindings, finding: Finding) -> bool:
        return ((self.image is None or self.image.matches(image))
                and (not self.packages or any(p.matches(finding) for p in self.packages)))


@dataclass(frozen=True)
class Statement:
    names: frozenset[str]   # the vulnerability's name and aliases, lower case
    products: tuple[Product, ...]
    status: str
    justification: str | None
    impact: str | None       # impact_statement, else status_notes
    time: dt.datetime
    where: str               # "vex.json:12"

    def matches(self, image: ImageFindings, finding: Finding) -> bool:
        return finding.id.lower() in self.names and any(p.matches(image, finding) for p in self.products)


def verdict(statements: Sequence[Statement], image: ImageFindings, finding: Finding) -> Suppression | None:
    """The suppression the latest statement about this finding gives, if it gives one."""
    latest = None
    for statement in statements:  # in file order: the later of equal times wins
        if statement.matches(image, finding) and (latest is None or statement.time >= latest.time):
            latest = statement
    if latest is None or latest.status not in SUPPRESSING:
        return None
    return Suppression("vex", latest.impact, latest.where, latest.status, latest.justification)


def load(path: Path | str) -> list[Statement]:
    """Every statement of the file, in order; InputError listing every problem."""
    doc = source.load(path)
    data = doc.data
    context = data.get("@context") if isinstance(data, dict) else None
    if not isinstance(context, str) or not context.startswith(CONTEXT):
        raise InputError(doc.source, Problem(f"not an OpenVEX document (@context {CONTEXT}/...); "
                                             "ecrgen reads OpenVEX only", line=doc.line_of(())))
    reader = _Reader(doc)
    default_time = reader.time(("timestamp",)) or EARLIEST
    statements = reader.list(("statements",), "the list of statements")
    out = [reader.statement(("statements", index), default_time) for index in range(len(statements))]
    if reader.problems:
        raise InputError(doc.source, reader.problems)
    return [statement for statement in out if statement is not None]


class _Reader:
    """Reads the document's values by path, collecting a located problem for each wrong one."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.problems: list[Problem] = []

    def get(self, path: Path_) -> Any:
        value = self.doc.data
        for part in path:
            if isinstance(value, dict) and isinstance(part, str):
                value = value.get(part)
            elif isinstance(value, list) and isinstance(part, int) and part < len(value):
                value = value[part]
            else:
                return None
        return value

    def bad(self, path: Path_, message: str) -> None:
        self.problems.append(self.doc.problem(path, message))

    def text(self, path: Path_, required: str = "") -> str | None:
        value = self.get(path)
        if value is None and required:
            self.bad(path, f"is required: {required}")
        elif value is not None and not (isinstance(value, str) and value):
            self.bad(path, f"must be text, got {shown(value)}")
            return None
        return value

    def list(self, path: Path_, required: str = "") -> list[Any]:
        value = self.get(path)
        if value is None:
            if required:
                self.bad(path, f"is required: {required}")
            return []
        if not isinstance(value, list):
            self.bad(path, f"must be a list, got {shown(value)}")
            return []
        return value

    def one_of(self, path: Path_, allowed: Sequence[str], required: str = "") -> str | None:
        value = self.text(path, required)
        if value is not None and value not in allowed:
            self.bad(path, f"must be one of {', '.join(allowed)}, got {value!r}")
            return None
        return value

    def time(self, path: Path_) -> dt.datetime | None:
        value = self.get(path)
        if value is None:
            return None
        text = re.sub(r"(\.\d{6})\d+", r"\1", str(value))  # Go writes nanoseconds; Python reads micro
        try:
            moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            self.bad(path, f"must be a time like 2026-01-31T12:00:00Z, got {shown(value)}")
            return None
        return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)

    def ids(self, path: Path_, parse: Callable[[str], Any]) -> list[tuple[int, Any]]:
        """Each item of a list (an object, or a plain string as in 0.0.1) with its parsed `@id`."""
        out = []
        for index, item in enumerate(self.list(path)):
            at: Path_ = (*path, index) if isinstance(item, str) else (*path, index, "@id")
            text = item if isinstance(item, str) else self.text(at, "a package URL or an image")
            if text is None:
                continue
            try:
                out.append((index, parse(text)))
            except ValueError as exc:
                self.bad(at, str(exc))
        return out

    def packages(self, path: Path_) -> tuple[PackageRef, ...]:
        return tuple(package for _, package in self.ids(path, _package))

    def statement(self, at: Path_, default_time: dt.datetime) -> Statement | None:
        if not isinstance(self.get(at), dict):
            self.bad(at, f"must be a mapping (a statement), got {shown(self.get(at))}")
            return None
        before = len(self.problems)
        names = self.vulnerability((*at, "vulnerability"))
        shared = self.packages((*at, "subcomponents"))  # OpenVEX 0.0.1
        products = [replace(p, packages=p.packages or shared) for p in self.products((*at, "products"))]
        status = self.one_of((*at, "status"), STATUSES, ", ".join(STATUSES))
        justification = self.one_of((*at, "justification"), JUSTIFICATIONS)
        impact_statement = self.text((*at, "impact_statement"))
        if status == "not_affected" and not justification and not impact_statement:
            self.bad(at, "a not_affected statement needs a justification or an impact_statement")
        impact = impact_statement or self.text((*at, "status_notes"))
        moment = self.time((*at, "timestamp")) or default_time
        if len(self.problems) > before or status is None:
            return None
        return Statement(names, tuple(products), status, justification, impact, moment,
                         f"{self.doc.source}:{self.doc.line_of(at)}")

    def vulnerability(self, at: Path_) -> frozenset[str]:
        value = self.get(at)
        if isinstance(value, str) and value:
            return frozenset({value.lower()})
        if not isinstance(value, dict):
            self.bad(at, 'is required: the vulnerability, e.g. {"name": "CVE-2024-6119"}')
            return frozenset()
        name = self.text((*at, "name"), "the vulnerability's id, e.g. CVE-2024-6119")
        aliases = [alias for alias in self.list((*at, "aliases")) if isinstance(alias, str)]
        return frozenset(n.lower() for n in [name or "", *aliases] if n)

    def products(self, at: Path_) -> list[Product]:
        if self.get(at) is None:
            self.bad(at, "is required: the images or packages it is about")
            return []
        out = []
        for index, subject in self.ids(at, _image_or_package):
            packages = self.packages((*at, index, "subcomponents"))
            if isinstance(subject, ImageRef):
                out.append(Product(subject, packages))
            else:  # a package, and the packages inside it
                out.append(Product(None, (subject, *packages)))
        return out


def _package(text: str) -> PackageRef:
    try:
        return PackageRef.of_purl(parse_purl(text))
    except ValueError:
        raise ValueError(f"must be a package URL like pkg:deb/ubuntu/openssl@3.0.13, got {text!r}") from None


def _image_or_package(text: str) -> ImageRef | PackageRef:
    """A product: an OCI purl or a Docker image reference is an image; another purl, a package."""
    if text.startswith("pkg:"):
        try:
            purl = parse_purl(text)
        except ValueError:
            purl = None
        if purl is not None and purl.type != "oci":
            return PackageRef.of_purl(purl)
        if purl is not None:
            url = (purl.qualifiers or {}).get("repository_url", "")
            repository = url.split("/", 1)[1] if "/" in url else None
            return ImageRef(repository=repository, name=None if repository else purl.name,
                            tag=(purl.qualifiers or {}).get("tag"), digest=purl.version)
    else:
        match = IMAGE.fullmatch(unquote(text))
        if match:
            return ImageRef(repository=match["repository"], tag=match["tag"], digest=match["digest"])
    raise ValueError(f"must be a package URL or an image like NAME@sha256:..., got {text!r}")
