"""Naming a package of an image, as the ignore file and OpenVEX do: a package URL (purl, trivy's and
OpenVEX's word) or a name and optional version, matched against what ECR reports of a finding's
package (its name, installed version and, from Inspector, its package manager).

ECR does not report a package's distribution (`pkg:deb/ubuntu/...` or `pkg:deb/debian/...`), so a
purl's namespace is not compared; its type is, through the package managers Inspector names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote

from generator.findings.gate import Finding

_OS = frozenset({"OS"})
# purl types and the Inspector package managers (PackageManager) whose packages are of that type.
MANAGERS: Mapping[str, frozenset[str]] = {
    "deb": _OS, "rpm": _OS, "apk": _OS, "alpm": _OS,
    "npm": frozenset({"NPM", "YARN", "NODEPKG"}), "pypi": frozenset({"PIP", "PIPENV", "POETRY", "PYTHONPKG"}),
    "golang": frozenset({"GOBINARY", "GOMOD"}), "maven": frozenset({"JAR", "POM"}),
    "gem": frozenset({"GEMSPEC", "BUNDLER"}), "nuget": frozenset({"NUGET", "DOTNET_CORE"}),
    "cargo": frozenset({"CARGO"}), "composer": frozenset({"COMPOSER"}),
}
PURL_EXAMPLE = "a package URL like pkg:deb/ubuntu/openssl@3.0.13"


@dataclass(frozen=True)
class Purl:
    """A package URL: pkg:type/namespace/name@version?qualifiers#subpath (percent-decoded)."""

    type: str
    namespace: str
    name: str
    version: str | None = None
    qualifiers: Mapping[str, str] | None = None


def parse_purl(text: str) -> Purl:
    """A purl, or ValueError saying what one looks like."""
    rest = text[4:].lstrip("/").split("#", 1)[0] if text.startswith("pkg:") else ""
    rest, _, query = rest.partition("?")
    path, at, version = rest.rpartition("@")
    if not at:
        path, version = rest, ""
    segments = [unquote(part) for part in path.strip("/").split("/")]
    if len(segments) < 2 or not all(segments):
        raise ValueError(f"must be {PURL_EXAMPLE}, got {text!r}")
    qualifiers = {key.lower(): unquote(value) for key, _, value in
                  (pair.partition("=") for pair in query.split("&") if pair)}
    return Purl(segments[0].lower(), "/".join(segments[1:-1]), segments[-1], unquote(version) or None,
                qualifiers)


@dataclass(frozen=True)
class PackageRef:
    """A package as an ignore entry or a VEX statement names it."""

    names: frozenset[str]                  # lower case: `core`, `@angular/core`, `org.x:core`
    version: str | None = None             # exactly this installed version; None: any
    managers: frozenset[str] | None = None  # Inspector package managers of its type; None: any

    @classmethod
    def named(cls, name: str, version: str | None = None) -> PackageRef:
        return cls(frozenset({name.lower()}), version)

    @classmethod
    def of_purl(cls, purl: Purl) -> PackageRef:
        names = {purl.name}
        if purl.namespace:
            names |= {f"{purl.namespace}/{purl.name}", f"{purl.namespace}:{purl.name}"}
        version, epoch = purl.version, (purl.qualifiers or {}).get("epoch")
        if version and epoch and ":" not in version:  # rpm: the epoch is a qualifier
            version = f"{epoch}:{version}"
        return cls(frozenset(name.lower() for name in names), version, MANAGERS.get(purl.type))

    def matches(self, finding: Finding) -> bool:
        if finding.package is None or finding.package.lower() not in self.names:
            return False
        if self.version is not None and (_without_zero_epoch(self.version)
                                         != _without_zero_epoch(finding.version)):
            return False
        manager = finding.package_manager
        return self.managers is None or manager is None or manager in self.managers


def _without_zero_epoch(version: str | None) -> str | None:
    """`0:3.0.13-1` and `3.0.13-1` are the same version (epoch 0 is the default)."""
    return version[2:] if version and version.startswith("0:") else version
