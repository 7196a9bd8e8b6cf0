"""The in-use file (`--in-use-file`, `in_use.file`): images in use where ecrgen cannot look itself.

Two shapes, told apart by the first character:
- one image reference a line: `repo:tag` or `repo@sha256:...` (a repository of this registry) or
  a full URI such as `<account>.dkr.ecr.<region>.amazonaws.com/repo:tag`; blank lines and lines
  starting with `#` are skipped. Each is used by `file:LINE`.
- the output of `kubectl get pods -A -o json`: every container's `image` (spec and status) and
  `status.containerStatuses[].imageID` (the digest the node pulled), init and ephemeral
  containers included. Each is used by `file:LINE:NAMESPACE/POD`, LINE being that field's.
Anything that is no image reference is an input error, every one reported at once with its line.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from generator.base import source
from generator.base.errors import InputError, Problem
from generator.base.source import Document
from generator.model.in_use import EXAMPLES, Use, parse_reference

MAX_PROBLEMS = 20  # past this many, one line says how many more there are
_SECTIONS = (("spec", ("initContainers", "containers", "ephemeralContainers"), ("image",)),
             ("status", ("initContainerStatuses", "containerStatuses", "ephemeralContainerStatuses"),
              ("image", "imageID")))
# What a container runtime puts before an imageID (`docker-pullable://repo@sha256:...`).
_RUNTIME = re.compile(r"[a-z-]+://")
# An image id alone (`sha256:...`, what Docker reports for an image it did not pull by digest)
# names no repository: the container's `image` field still does.
_IMAGE_ID = re.compile(r"(?:sha256:)?[0-9a-f]{64}\Z")


def read(path: Path | str) -> tuple[Use, ...]:
    """Every use the file lists; InputError (exit 2) naming each line that cannot be read."""
    return parse(source.read_text(path), str(path))


def parse(text: str, where: str) -> tuple[Use, ...]:
    if text.lstrip().startswith("{"):
        return _pods(source.load(where, text))
    return _lines(text, where)


def _lines(text: str, where: str) -> tuple[Use, ...]:
    uses, problems = [], []
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        try:
            uses.append(Use(parse_reference(stripped, default_host=None), f"file:{number}"))
        except ValueError as exc:
            problems.append(Problem(f"{stripped!r} is not an image reference: {exc}; expected {EXAMPLES}",
                                    line=number))
    _raise(where, problems)
    return tuple(uses)


def _pods(doc: Document) -> tuple[Use, ...]:
    data = doc.data
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        raise InputError(doc.source, doc.problem((), "expected one image reference a line, or the "
                                                     "output of `kubectl get pods -A -o json` (with items)"))
    uses: list[Use] = []
    problems: list[Problem] = []
    for index, pod in enumerate(data["items"]):
        if not isinstance(pod, dict):
            problems.append(doc.problem(("items", index), "must be a pod (an object)"))
            continue
        meta = _mapping(pod.get("metadata"))
        name = f"{meta.get('namespace', 'default')}/{meta.get('name', index)}"
        for section, lists, keys in _SECTIONS:
            for list_key in lists:
                containers = _mapping(pod.get(section)).get(list_key) or []
                for position, container in enumerate(containers if isinstance(containers, list) else []):
                    for key in keys:
                        at = ("items", index, section, list_key, position, key)
                        use = _use(_mapping(container).get(key), doc, at, name, problems)
                        if use is not None:
                            uses.append(use)
    _raise(doc.source, problems)
    return tuple(uses)


def _use(value: Any, doc: Document, at: tuple[str | int, ...], pod: str,
         problems: list[Problem]) -> Use | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        problems.append(doc.problem(at, f"must be an image reference, got {value!r}"))
        return None
    text = _RUNTIME.sub("", value, count=1)
    if _IMAGE_ID.match(text):
        return None
    try:
        return Use(parse_reference(text), f"file:{doc.line_of(at)}:{pod}")
    except ValueError as exc:
        problems.append(doc.problem(at, f"{value!r} is not an image reference: {exc}"))
        return None


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _raise(where: str, problems: list[Problem]) -> None:
    if not problems:
        return
    shown = problems[:MAX_PROBLEMS]
    if len(problems) > MAX_PROBLEMS:
        shown.append(Problem(f"... and {len(problems) - MAX_PROBLEMS} more that are no image reference"))
    raise InputError(where, shown)
