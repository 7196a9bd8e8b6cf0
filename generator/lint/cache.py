"""The lint cache: what linting a template's exact bytes gave, kept so that no bytes are linted twice.

An entry's key is a SHA-256 of everything the result depends on: the template's bytes and how
they are read, and the fingerprint of the run (`fingerprint`): cfn-lint's version and those of the
libraries it and ecrgen's rules run on, Python's, every file of ecrgen's code that linting runs
(the rules folder, whatever is in it, and the model and base packages the rules import), the
`.cfnlintrc` files cfn-lint reads, the region variables it defaults to, and the options. Change
any of them and the key changes: a miss, never a stale result.

Entries live in `default_dir()/lint` (`$ECRGEN_CACHE_DIR`, else `$XDG_CACHE_HOME/ecrgen`, else
`~/.cache/ecrgen`), one small JSON file each, written atomically (a temporary file renamed into
place), so concurrent runs and a kill mid-write leave whole entries or none. An entry that cannot
be read or parsed is a miss and is written again. A hit refreshes the entry's modification time,
and the least recently used entries go first when the folder passes `MAX_BYTES`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import re
from collections.abc import Iterable, Iterator, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from generator.base.errors import InputError
from generator.base.fileio import write_atomic

FORMAT = 1  # of the entries and keys: raise it when either changes
MAX_BYTES = 64 * 2**20
GENERATOR = Path(__file__).resolve().parents[1]
# The ecrgen code that linting runs: the runner, the rules (every file in their folder, so that
# rules added later count too) and the packages the rules may import (tests/test_layout.py).
CODE = (GENERATOR / "lint", GENERATOR / "model", GENERATOR / "base")
# Distributions whose versions can change a result besides cfn-lint's own requirements.
LIBRARIES = ("cfn-lint", "pydantic", "pyyaml")
RC_NAMES = (".cfnlintrc", ".cfnlintrc.yaml", ".cfnlintrc.yml")
# .cfnlintrc keys naming other files, whose contents no key could follow: no cache with them.
RC_NAMING_FILES = ("append_rules", "override_spec", "custom_rules", "registry_schemas")
REGION_VARIABLES = ("AWS_REGION", "AWS_DEFAULT_REGION")  # cfn-lint's default region


def default_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """Where ecrgen caches: `$ECRGEN_CACHE_DIR`, else `$XDG_CACHE_HOME/ecrgen`, else `~/.cache/ecrgen`."""
    if environ.get("ECRGEN_CACHE_DIR"):
        return Path(environ["ECRGEN_CACHE_DIR"]).expanduser()
    xdg = environ.get("XDG_CACHE_HOME", "")
    if os.path.isabs(xdg):  # the XDG specification ignores a relative path
        return Path(xdg) / "ecrgen"
    return Path.home() / ".cache" / "ecrgen"


def code_digest(folders: Iterable[Path]) -> str:
    """A digest of every file below `folders`, by path and bytes (compiled `__pycache__` aside)."""
    digest = hashlib.sha256()
    for folder in folders:
        for path in sorted(_files(folder)):
            name = path.relative_to(folder.parent).as_posix().encode()
            data = path.read_bytes()
            digest.update(b"%d:%s%d:" % (len(name), name, len(data)) + data)
    return digest.hexdigest()


def _files(folder: Path) -> Iterator[Path]:
    for root, dirs, files in os.walk(folder):
        dirs[:] = [name for name in dirs if name != "__pycache__"]
        yield from (Path(root) / name for name in files if not name.endswith((".pyc", ".pyo")))


def library_versions() -> dict[str, str]:
    """The installed version of cfn-lint, of each library it requires and of `LIBRARIES`."""
    names = set(LIBRARIES)
    for requirement in metadata.requires("cfn-lint") or []:
        if "extra ==" not in requirement:
            names.add(re.split(r"[^A-Za-z0-9._-]", requirement, maxsplit=1)[0].lower().replace("_", "-"))
    versions = {}
    for name in sorted(names):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = ""
    return versions


def rc_files(cwd: Path | None = None, home: Path | None = None) -> list[Path]:
    """The `.cfnlintrc` files cfn-lint reads: the first of its names in the home folder, then in
    the current folder (cfn-lint's ConfigFileArgs._find_config)."""
    found = []
    for folder in (home or Path.home(), cwd or Path.cwd()):
        found += [path for path in (folder / name for name in RC_NAMES) if path.is_file()][:1]
    return found


def uncacheable(rc: Iterable[Path]) -> str | None:
    """Why these .cfnlintrc files rule the cache out (they name other files), or None."""
    for path in rc:
        text = path.read_text(encoding="utf-8", errors="replace")
        named = [key for key in RC_NAMING_FILES if key in text]
        if named:
            return f"{path} sets {named[0]}, whose files the cache cannot follow"
    return None


def fingerprint(settings: Mapping[str, Any], rc: Iterable[Path] = (), code: Iterable[Path] = CODE,
                environ: Mapping[str, str] = os.environ) -> str:
    """A digest of everything besides a template's bytes that its lint result depends on."""
    context = {
        "format": FORMAT,
        "python": platform.python_version(),
        "libraries": library_versions(),
        "code": code_digest(code),
        "rc": {str(path): hashlib.sha256(path.read_bytes()).hexdigest() for path in rc},
        "regions": {name: environ.get(name) for name in REGION_VARIABLES},
        "settings": settings,
    }
    return hashlib.sha256(json.dumps(context, sort_keys=True).encode()).hexdigest()


def entry_key(fingerprint: str, mode: str, data: bytes) -> str:
    """The key of one template's entry: the run's fingerprint, how the bytes are read, the bytes."""
    # JSON has no raw NUL, so the header ends unambiguously before the bytes.
    header = json.dumps([FORMAT, fingerprint, mode]).encode()
    return hashlib.sha256(header + b"\0" + data).hexdigest()


class LintCache:
    """Lint results by key, as small JSON files below `root`, bounded to `max_bytes`."""

    def __init__(self, root: Path, max_bytes: int = MAX_BYTES) -> None:
        self.root = root / "lint"
        self.max_bytes = max_bytes
        self.error: str | None = None  # the first entry that could not be written, and why

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored value, or None: absent, unreadable or corrupt (then it is written again)."""
        path = self._path(key)
        try:
            entry = json.loads(path.read_bytes())
        except (OSError, ValueError):
            return None
        if not isinstance(entry, dict) or entry.get("key") != key or not isinstance(entry.get("value"), dict):
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # recently used: the last to go
        return entry["value"]

    def put(self, key: str, value: dict[str, Any]) -> None:
        """Store `value` atomically; a cache that cannot be written is noted in `error`, not raised."""
        try:
            write_atomic(self._path(key), json.dumps({"key": key, "value": value}, separators=(",", ":")))
        except InputError as exc:
            self.error = self.error or exc.render()

    def prune(self) -> None:
        """Delete the least recently used files until the cache holds at most `max_bytes`."""
        files = []
        for path in _files(self.root) if self.root.is_dir() else ():
            try:
                stat = path.stat()
            except OSError:  # deleted meanwhile by a concurrent run
                continue
            files.append((stat.st_mtime, stat.st_size, path))
        total = sum(size for _, size, _ in files)
        for _, size, path in sorted(files):
            if total <= self.max_bytes:
                break
            path.unlink(missing_ok=True)
            total -= size
