"""Read YAML or JSON documents while remembering the line of every value.

PyYAML's composer keeps positions on nodes; we build plain data from the same node tree and a
map from each value's path (``("repositories", 1, "name")``) to its 1-based line, so that
validation errors can point at the line the user must edit.

Scalars are read as CloudFormation reads them: a YAML date (`2027-01-31`, even `2027-02-30`, on
which PyYAML raises a bare ValueError) is the text written, and so is every mapping key (`On:`
is "On", not true). Numbers and true/false stay typed; where a model wants text, the text written
(`Document.written`) lets its message quote the user. An explicit tag must fit its value
(`!!str 1`, `!!float 1.5`); one that does not (`!!int latest`) is refused with its line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from generator.base.errors import InputError, Problem

Path_ = tuple[str | int, ...]

try:
    _Loader: type = yaml.CSafeLoader  # libyaml, many times faster
except AttributeError:  # pragma: no cover - PyYAML without libyaml
    _Loader = yaml.SafeLoader

STR_TAG = "tag:yaml.org,2002:str"


class SafeLoader(_Loader):  # type: ignore[misc,valid-type]
    """The safe loader, with YAML dates read as the text written (as CloudFormation reads them)."""


SafeLoader.add_constructor("tag:yaml.org,2002:timestamp", SafeLoader.construct_yaml_str)


class Document:
    """Parsed data plus the line of each value, addressed by path."""

    def __init__(self, source: str, data: Any, lines: dict[Path_, int],
                 written: dict[Path_, str] | None = None) -> None:
        self.source = source
        self.data = data
        self.lines = lines
        self.written = written or {}  # the text of each value YAML read as a number, true/false or null

    def line_of(self, path: Path_) -> int | None:
        """The line of the value at `path`, or of its nearest ancestor that has one."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get(())

    def problem(self, path: Path_, message: str) -> Problem:
        return Problem(message, field=dotted(path), line=self.line_of(path))


def dotted(path: Path_) -> str:
    """`("repositories", 1, "name")` -> `repositories[1].name`."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


JSON_TOO_DEEP = "nests too deeply: hundreds of nested lists or objects"  # json.loads' RecursionError


def load_policy_json(text: str) -> Any:
    """A policy's JSON text as data; ValueError with one sentence saying where it breaks. Shared
    by the lifecycle and repository policy models, which each wrap it in their own PolicyError."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    except RecursionError:
        raise ValueError(JSON_TOO_DEEP) from None


def load_json(text: str, source: str) -> Any:
    """JSON text as data, or an InputError at the line where it breaks."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(source, Problem(f"not valid JSON: {exc.msg} (column {exc.colno})",
                                         line=exc.lineno)) from None
    except RecursionError:
        raise InputError(source, JSON_TOO_DEEP) from None


def read_text(path: Path | str) -> str:
    """The file's text, or an InputError saying why it cannot be read."""
    source = str(path)
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise InputError(source, "file not found") from None
    except IsADirectoryError:
        raise InputError(source, "is a directory, expected a file") from None
    except OSError as exc:
        raise InputError(source, f"cannot read: {exc.strerror}") from None
    if b"\0" in raw:
        raise InputError(source, "is a binary file, expected YAML or JSON text")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(source, f"is not UTF-8 text (byte {exc.start})") from None


def load(path: Path | str, text: str | None = None) -> Document:
    """Parse a YAML (or JSON, which is YAML) file into a Document."""
    source = str(path)
    if text is None:
        text = read_text(path)
    loader = SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise InputError(source, "is empty")
        lines: dict[Path_, int] = {}
        written: dict[Path_, str] = {}
        data = _build(loader, node, (), lines, written, source)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise InputError(source, Problem(f"{_syntax(source)} error: {exc.problem}", line=line)) from None
    except yaml.YAMLError as exc:
        raise InputError(source, f"{_syntax(source)} error: {exc}") from None
    except RecursionError:  # an alias inside its own anchor (`&a [*a]`), or hundreds of levels
        raise InputError(source, "nests too deeply: an alias that contains itself, or hundreds of "
                         "nested lists or mappings") from None
    finally:
        loader.dispose()
    return Document(source, data, lines, written)


def _syntax(source: str) -> str:
    """What the user wrote: JSON files are read by the YAML parser, but say JSON to them."""
    return "JSON syntax" if source.lower().endswith(".json") else "YAML syntax"


_PLAIN_TAGS = {"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"}


def _build(loader: Any, node: yaml.Node, path: Path_, lines: dict[Path_, int], written: dict[Path_, str],
           source: str) -> Any:
    lines[path] = node.start_mark.line + 1
    if not isinstance(node, yaml.ScalarNode) and node.tag not in _PLAIN_TAGS:
        raise InputError(source, Problem(f"unsupported YAML tag {node.tag!r}: plain values only",
                                         dotted(path), lines[path]))
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise InputError(source, Problem("keys must be plain strings", dotted(path),
                                                 key_node.start_mark.line + 1))
            _check_tag(loader, key_node, path, source)
            key = key_node.value  # the text written: `On:` is "On", `2024:` is "2024"
            if key in out:
                raise InputError(source, Problem(f"duplicate key {key!r}", dotted((*path, key)),
                                                 key_node.start_mark.line + 1))
            child = (*path, key)
            out[key] = _build(loader, value_node, child, lines, written, source)
            lines[child] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(loader, item, (*path, i), lines, written, source) for i, item in enumerate(node.value)]
    _check_tag(loader, node, path, source)
    value = loader.construct_object(node, deep=True)
    if not isinstance(value, str):
        written[path] = node.value
    return value


def _check_tag(loader: Any, node: yaml.Node, path: Path_, source: str) -> None:
    """A scalar's explicit tag must be text or the type its text has anyway (`!!float 1.5`):
    PyYAML answers `!!int latest` or `!!timestamp x` with a bare ValueError or worse."""
    if node.tag not in (STR_TAG, loader.resolve(yaml.ScalarNode, node.value, (True, False))):
        raise InputError(source, Problem(f"unsupported YAML tag {node.tag!r}: plain values only",
                                         dotted(path), node.start_mark.line + 1))
