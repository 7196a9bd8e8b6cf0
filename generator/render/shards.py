"""Several stacks for one ecr.yaml: which stack holds each repository, stable across edits.

CloudFormation holds at most 500 resources, 200 outputs and 1 MB of template per stack. When the
repositories do not fit one stack, or `max_per_stack` asks for smaller stacks, `ecrgen template`
writes `ecr-01.yaml`, `ecr-02.yaml`, ... and an index, `ecr.stacks.json`, naming each stack's
repositories. The index is the record of the assignment and is read back on every run:

- a repository the index names stays in its stack, whatever else is added or removed;
- a new repository goes to the lowest-numbered stack with room, else to a new stack;
- a removed repository leaves its stack; a stack left empty leaves the index.

So no edit of ecr.yaml ever moves another repository (a retained repository moved to another
stack makes that stack's update fail: the repository already exists), and logical ids come from
names alone. Nothing moves by itself even when a stack overflows (a smaller `max_per_stack`,
more outputs, longer policies): that is refused, naming the stack, and the user moves
repositories on purpose by editing the index (README, "Moving a repository between stacks").

Pure: no AWS; the index is read and written by the caller through `read_index`/`index_text`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from generator.base import source, template_body
from generator.base.errors import InputError, Problem
from generator.model.config import Config
from generator.model.stack_limits import MAX_BODY_BYTES, TemplateLimitError

INDEX_SUFFIX = ".stacks.json"
INDEX_ABOUT = ("Written by `ecrgen template`: which stack holds each repository of ecr.yaml. ecrgen "
               "reads it back so that no repository ever moves to another stack by itself; commit it "
               "with the templates. To move a repository on purpose, see README.md.")


class ShardError(ValueError):
    """The recorded assignment cannot hold the repositories without moving one."""


@dataclass(frozen=True)
class Capacity:
    """What one stack may hold: repositories by count, and their template fragments by bytes."""

    repositories: int
    body_bytes: int


def stack_key(prefix: str, number: int) -> str:
    """`ecr-01`: the template's file stem and the index's key for stack `number`."""
    return f"{prefix}-{number:02d}"


def assign(names: Sequence[str], sizes: Mapping[str, int], previous: Mapping[str, Sequence[str]],
           capacity: Capacity, prefix: str) -> dict[str, list[str]]:
    """Stack key -> its repositories (in `names` order), keeping every assignment in `previous`.

    `names` are the repositories of ecr.yaml in order, `sizes` their template fragments in bytes,
    `previous` the index read back (keys `<prefix>-NN`).
    """
    numbers = {_number(key, prefix): key for key in previous}
    placed = {name: key for key, members in previous.items() for name in members}
    stacks: dict[str, list[str]] = {stack_key(prefix, n): [] for n in sorted(numbers)}
    used: dict[str, int] = dict.fromkeys(stacks, 0)
    for name in names:
        key = placed.get(name)
        if key is not None:
            stacks[stack_key(prefix, _number(key, prefix))].append(name)
            used[stack_key(prefix, _number(key, prefix))] += sizes[name]
    for key, members in stacks.items():
        if len(members) > capacity.repositories or used[key] > capacity.body_bytes:
            raise ShardError(f"stack {key} holds {len(members)} repositories ({used[key]:,} bytes of "
                             f"template); at most {capacity.repositories} ({capacity.body_bytes:,} bytes) "
                             f"fit: move some to another stack by editing the index (see README)")
    for name in names:
        if name in placed:
            continue
        key = next((k for k, members in stacks.items() if len(members) < capacity.repositories
                    and used[k] + sizes[name] <= capacity.body_bytes), None)
        if key is None:
            key = stack_key(prefix, max((_number(k, prefix) for k in stacks), default=0) + 1)
            stacks[key], used[key] = [], 0
        stacks[key].append(name)
        used[key] += sizes[name]
    order = {name: index for index, name in enumerate(names)}
    return {key: sorted(members, key=order.__getitem__) for key, members in stacks.items() if members}


def _number(key: str, prefix: str) -> int:
    match = re.fullmatch(rf"{re.escape(prefix)}-(\d+)", key)
    if not match or int(match[1]) == 0:
        raise ShardError(f"stack {key!r} is not named {prefix}-NN (01, 02, ...)")
    return int(match[1])


# --- the index file -------------------------------------------------------------------------

def index_path(out: Path) -> Path:
    """`templates/ecr.yaml` -> `templates/ecr.stacks.json`."""
    return out.with_name(out.stem + INDEX_SUFFIX)


def read_index(path: Path, names: Sequence[str]) -> dict[str, list[str]]:
    """The recorded assignment; names no longer in ecr.yaml are dropped (they left their stack)."""
    doc = source.load(path)
    stacks = doc.data.get("stacks") if isinstance(doc.data, dict) else None
    if not isinstance(stacks, dict) or not all(
            isinstance(v, list) and all(isinstance(n, str) for n in v) for v in stacks.values()):
        raise InputError(doc.source, doc.problem(("stacks",), 'must be {"stacks": {"<stack>": '
                                                 '["<repository>", ...], ...}}'))
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for key, members in stacks.items():
        for index, name in enumerate(members):
            if name in seen:
                problems.append(doc.problem(("stacks", key, index), f"{name!r} is also in stack "
                                            f"{seen[name]}: a repository belongs to one stack"))
            seen.setdefault(name, key)
    if problems:
        raise InputError(doc.source, problems)
    wanted = set(names)
    return {key: [n for n in members if n in wanted] for key, members in stacks.items()}


def index_text(stacks: Mapping[str, Sequence[str]]) -> str:
    return json.dumps({"about": INDEX_ABOUT, "stacks": stacks}, indent=2) + "\n"


# --- from a config to several templates -----------------------------------------------------

@dataclass(frozen=True)
class Stack:
    key: str          # `ecr-01`
    config: Config    # the config with this stack's repositories only


def split(config: Config, sizes: Mapping[str, int], previous: Mapping[str, Sequence[str]],
          capacity: Capacity, prefix: str) -> list[Stack]:
    """One config per stack, each with the repositories `assign` gives it; the first also holds
    the account-wide resources (pull-through cache rules, creation templates, exclusions)."""
    by_name = {repo.name: repo for repo in config.repositories}
    stacks = assign([repo.name for repo in config.repositories], sizes, previous, capacity, prefix)
    return [Stack(key, replace(config, repositories=tuple(by_name[n] for n in members),
                               first_stack=number == 0))
            for number, (key, members) in enumerate(stacks.items())]


@dataclass(frozen=True)
class Rendered:
    path: Path
    text: str
    repositories: int


def render_all(config: Config, out: Path, fmt: str, source_name: str) -> tuple[list[Rendered], str | None]:
    """The templates to write for `config`, and the index text (None: one template, as always).

    One template while everything fits and nothing asks for more (no `max_per_stack`, no index
    yet). On the first split the repositories of the existing single template stay together in
    the first stack, so the stack deployed from it keeps them.
    """
    from generator.render import template

    index = index_path(out)
    names = [repo.name for repo in config.repositories]
    previous = read_index(index, names) if index.exists() else None
    if previous is None and not config.max_per_stack:
        try:
            text = template.render(template.build(config), fmt, source=source_name)
        except TemplateLimitError:
            text = None
        if text is not None and len(text.encode()) <= MAX_BODY_BYTES:
            return [Rendered(out, text, len(names))], None
    if previous is None:
        previous = _single_template(out, config)
    fit, body_bytes = template.stack_capacity(config)
    try:
        stacks = split(config, template.repository_bytes(config, fmt), previous,
                       Capacity(fit, body_bytes), out.stem)
    except ShardError as exc:
        raise InputError(str(index), str(exc)) from None
    rendered = [Rendered(out.with_name(stack.key + out.suffix),
                         template.render(template.build(stack.config), fmt, source=source_name),
                         len(stack.config.repositories)) for stack in stacks]
    return rendered, index_text({stack.key: [r.name for r in stack.config.repositories] for stack in stacks})


def _single_template(out: Path, config: Config) -> dict[str, list[str]]:
    """The repositories of the one template written before the split, as the first stack."""

    if not out.is_file():
        return {}
    try:
        resources = template_body.parse(out.read_text(encoding="utf-8"), str(out))["Resources"]
    except (InputError, OSError, UnicodeDecodeError):
        return {}
    by_id = {repo.logical_id: repo.name for repo in config.repositories}
    return {stack_key(out.stem, 1): [by_id[i] for i in resources if i in by_id]}
