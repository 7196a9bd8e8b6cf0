"""The plan for creation templates, and the repositories under their prefixes.

A template is compared setting by setting with the live one (policies by meaning, lists as
sets) and, when anything differs, written whole with UpdateRepositoryCreationTemplate: the API
takes every field, so nothing the config leaves out survives by accident. With
`enforce_existing`, every existing repository whose name the template governs (ECR's rule: the
longest prefix `P` with the name under `P/`, else ROOT) becomes a wish like a named repository's,
unless ecr.yaml names it (its own settings win) or another template governs it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

from generator.model import repository_policy
from generator.model.creation_templates import CreationTemplate, governing, normalized
from generator.model.repository import EXCLUSION_MODES
from generator.reconcile.desired import RepositorySettings
from generator.reconcile.diff import same_policy
from generator.reconcile.implicit import Account, ItemPlan, SettingChange
from generator.reconcile.phrases import mutability_text

OPERATION = "update_repository_creation_template"


def plan(wanted: Sequence[CreationTemplate], live: Mapping[str, Mapping[str, Any]], account: Account,
         error: str | None = None, governed: Mapping[str, int] | None = None) -> list[ItemPlan]:
    """One plan per wanted template; `live` maps each live template's prefix (without a trailing
    '/') to it as DescribeRepositoryCreationTemplates shows it. `governed` counts the existing
    repositories each enforced template keeps (by its prefix), for the report."""
    out = []
    for template in wanted:
        extra: dict[str, Any] = {"enforceExisting": template.enforce_existing}
        if governed is not None and template.enforce_existing:
            extra["repositories"] = governed.get(template.prefix, 0)
        current = live.get(normalized(template.prefix))
        if error:
            out.append(ItemPlan(template.prefix, error=error, extra=extra))
        elif current is None:
            out.append(ItemPlan(template.prefix, missing=True, extra=extra))
        else:
            changes = differences(template, current, account)
            out.append(ItemPlan(template.prefix, changes, OPERATION if changes else None,
                                template.to_api(account.repository_arn) if changes else {}, extra=extra))
    return out


def differences(template: CreationTemplate, live: Mapping[str, Any],
                account: Account) -> tuple[SettingChange, ...]:
    """Each setting of `template` that the live template gives differently, as (setting, live, wanted)."""
    want = template.to_api(account.repository_arn)
    return tuple(SettingChange(key, _shown(key, live), _shown(key, want)) for key in SETTINGS
                 if not _same(key, want, live, template))


SETTINGS = ("appliedFor", "description", "customRoleArn", "resourceTags", "imageTagMutability",
            "encryptionConfiguration", "lifecyclePolicy", "repositoryPolicy")


def _same(key: str, want: Mapping[str, Any], live: Mapping[str, Any], template: CreationTemplate) -> bool:
    wanted, have = want[key], live.get(key)
    if key == "appliedFor":
        return set(wanted) == set(have or ())
    if key == "resourceTags":
        return {(t["Key"], t["Value"]) for t in wanted} == \
            {(t.get("Key"), t.get("Value")) for t in have or ()}
    if key == "imageTagMutability":
        return _mutability(want) == _mutability(live)
    if key == "encryptionConfiguration":
        have = have or {"encryptionType": "AES256"}
        return bool(wanted["encryptionType"] == have.get("encryptionType") and (
            "kmsKey" not in wanted or wanted["kmsKey"] == have.get("kmsKey")))
    if key == "lifecyclePolicy" and template.lifecycle_policy is not None:
        return same_policy(template.lifecycle_policy, have or None)
    if key == "repositoryPolicy" and wanted:
        return same_access(wanted, have or None)
    return (wanted or None) == (have or None)


def _mutability(template: Mapping[str, Any]) -> tuple[str, frozenset[str]]:
    """A template's mode and its exclusion filters (which count only in the *_WITH_EXCLUSION modes)."""
    mode = template.get("imageTagMutability") or "MUTABLE"
    filters = frozenset(f.get("filter") for f in template.get("imageTagMutabilityExclusionFilters") or [])
    return mode, filters if mode in EXCLUSION_MODES else frozenset()


def same_access(want_text: str, have_text: str | None) -> bool:
    """Two repository policies that grant the same (`repository_policy.Policy.key`)."""
    if have_text is None:
        return False
    try:
        return repository_policy.parse_text(have_text).key() == repository_policy.parse_text(want_text).key()
    except repository_policy.PolicyError:
        return False


def _shown(key: str, template: Mapping[str, Any]) -> Any:
    """A setting as the report shows it: the mode with its filters as text, others as the API has
    them (None where unset)."""
    if key == "imageTagMutability":
        return mutability_text(*_mutability(template))
    value = template.get(key)
    return value if value not in ("", [], None) else None


def implicit_wishes(templates: Sequence[CreationTemplate], live_prefixes: Iterable[str], names: Iterable[str],
                    named: Collection[str], account: Account) -> list[tuple[RepositorySettings, str]]:
    """(the wish, the governing template's prefix) of each existing repository that an enforced
    template of this config governs, in `names` order; a repository ecr.yaml names is left to
    its own settings."""
    ours = {normalized(t.prefix): t for t in templates}
    prefixes = set(ours) | {normalized(p) for p in live_prefixes}
    out = []
    for name in names:
        if name in named:
            continue
        prefix = governing(name, prefixes)
        template = ours.get(prefix) if prefix is not None else None
        if template is None or not template.enforce_existing:
            continue
        out.append((RepositorySettings(
            name=name, origin=f"creation template {template.prefix}",
            image_tag_mutability=template.image_tag_mutability,
            exclusion_filters=frozenset(template.mutability_exclusions), scan_on_push=template.scan_on_push,
            lifecycle_policy=template.lifecycle_policy, repository_policy=template.repository_policy),
            template.prefix))
    return out
