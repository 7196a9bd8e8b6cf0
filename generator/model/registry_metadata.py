"""The registry part in a template's top-level `Metadata.ecrgen`, for post-deploy --stack-name.

`ecrgen template` records the `registry:` section there as written, with the SystemName and the
name_pattern that decide its namespace; post-deploy reads it back from the deployed stack and
resolves it for the SystemName the stack was deployed with.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from generator.base.errors import InputError, Problem
from generator.base.source import Path_, dotted
from generator.model import metadata
from generator.model.metadata import METADATA_KEY
from generator.model.registry import Part, RegistrySection, resolve
from generator.model.repository import SYSTEM_NAME_PLACEHOLDER


def to_metadata(section: RegistrySection, system_name: str, name_pattern: str) -> dict[str, Any]:
    """What the template's top-level `Metadata.ecrgen` records: the section as in ecr.yaml, with
    the config's SystemName and the name_pattern that decide its namespace.

    Every `${...}` is written as its literal form (`metadata.written`), and post-deploy fills
    `${SystemName}` with the value the stack was deployed with."""
    data = {"system_name": system_name, "name_pattern": name_pattern,
            "registry": section.model_dump(mode="json", exclude_defaults=True)}
    return metadata.written(data)  # type: ignore[no-any-return]


def from_template(template: Mapping[str, Any], where: str, system_name: str | None = None) -> Part | None:
    """The part a deployed template asks post-deploy to reconcile; None when there is none (or
    when the template sets the registry itself, `via: template`).

    `system_name` is the stack's SystemName parameter as deployed (None: the template's own).
    A template written before ecrgen kept `${SystemName}` in its Metadata names the config's
    SystemName instead: when that differs from the deployed one, it is refused, not guessed."""
    meta = in_template(template)
    if meta is None:
        return None
    at: Path_ = ("Metadata", METADATA_KEY)
    meta = metadata.read(meta)
    names = [meta.get(key) for key in ("system_name", "name_pattern")]
    if not all(isinstance(value, str) for value in names):
        raise InputError(where, Problem("must be a string", dotted((*at, "system_name"))))
    ownership = meta.get("owner", "namespace")
    try:
        section = RegistrySection.model_validate(meta["registry"])
    except ValidationError as exc:
        raise InputError(where, [Problem(err["msg"], dotted((*at, "registry", *err["loc"])))
                                 for err in exc.errors()]) from None
    if section.via == "template":
        return None
    written_for, name_pattern = names
    system = system_name or written_for
    refusal = (f"the stack was deployed with SystemName={system}, but the registry part in its "
               f"template's {dotted(at)} names SystemName {written_for} (a template from an older "
               "ecrgen): run `ecrgen template` and deploy again, or `ecrgen post-deploy --config "
               f"ecr.yaml --system-name {system}`")
    renamed = system != written_for
    if renamed and SYSTEM_NAME_PLACEHOLDER not in name_pattern and written_for in name_pattern:
        raise InputError(where, refusal)
    try:
        return resolve(section, name_pattern, system, at=(*at, "registry"), source=where, ownership=ownership)
    except InputError:
        if not renamed:
            raise
        raise InputError(where, refusal) from None


def in_template(template: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The template's `Metadata.ecrgen` when it holds a registry part, else None."""
    meta = template.get("Metadata")
    meta = meta.get(METADATA_KEY) if isinstance(meta, Mapping) else None
    return meta if isinstance(meta, Mapping) and "registry" in meta else None
