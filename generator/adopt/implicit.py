"""Live pull-through cache rules and creation templates -> ecr.yaml's `pull_through_cache:` and
`creation_templates:` (the pure half; `generator.aws.importer` reads them).

A template is written in a repository's words, by the same code as an imported repository
(lifecycle rules or a policy file, `access` or a policy file), listing only what differs from the
imported `defaults`; its resource tags always, since unset ones would take the defaults' tags.
Every template gets `enforce_existing: false`: an import reproduces what exists and changes
nothing, so whether post-deploy should bring the repositories already under a prefix to its
template is the user's decision. A prefix in the imported config's namespace names
`${SystemName}`; one outside it makes the config claim the registry (`owner: registry`), which is
said on stderr.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from generator.adopt import importer
from generator.model.implicit import owner_part
from generator.model.pull_through_cache import FIXED_URLS


def sections(rules: Sequence[Mapping[str, Any]], templates: Sequence[Mapping[str, Any]], name_pattern: str,
             account_arn: str) -> importer.Sections:
    """The `more` of `importer.build` that writes `rules` and `templates` (as the Describe calls
    return them); `account_arn` is any repository ARN of the registry (for a policy's
    `${AWS::...}` values)."""
    def build(system: str, defaults: dict[str, Any], files: Any, result: importer.Imported) -> dict[str, Any]:
        owner = owner_part(name_pattern, system, "namespace")
        ours, literal = owner.namespace, name_pattern.split("{name}", 1)[0]
        outside: list[str] = []

        def prefix(value: str) -> str:
            if ours and owner.owns(value):
                return literal + value[len(ours):]
            outside.append(value)
            return value

        out: dict[str, Any] = {}
        if rules:
            out["pull_through_cache"] = [_rule(rule, prefix)
                                         for rule in sorted(rules, key=_key("ecrRepositoryPrefix"))]
        if templates:
            out["creation_templates"] = [
                _template(t, prefix, (system, name_pattern), defaults, files, result, account_arn)
                for t in sorted(templates, key=_key("prefix"))]
        if outside:
            out["owner"] = "registry"
            result.notes.append(f"owner: registry, since {', '.join(sorted(set(outside)))} lie outside the "
                                f"namespace {ours!r}: this config claims the whole registry's rules and "
                                "templates")
        return out
    return build


def _key(field: str) -> Any:
    return lambda item: str(item.get(field, ""))


def _rule(rule: Mapping[str, Any], prefix: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"prefix": prefix(rule["ecrRepositoryPrefix"])}
    upstream, url = rule.get("upstreamRegistry"), rule["upstreamRegistryUrl"]
    if upstream:
        out["upstream"] = upstream
    if not upstream or FIXED_URLS.get(upstream) != url:
        out["upstream_url"] = url
    for key, field in (("credential", "credentialArn"), ("custom_role", "customRoleArn"),
                       ("upstream_repository_prefix", "upstreamRepositoryPrefix")):
        if rule.get(field):
            out[key] = rule[field]
    return out


def _template(template: Mapping[str, Any], prefix: Any, names: tuple[str, str], defaults: dict[str, Any],
              files: Any, result: importer.Imported, account_arn: str) -> dict[str, Any]:
    encryption = template.get("encryptionConfiguration") or {}
    live = importer.LiveRepository(
        name=f"template-{template['prefix'].rstrip('/')}", arn=account_arn,
        image_tag_mutability=template.get("imageTagMutability") or "MUTABLE",
        exclusion_filters=tuple(f["filter"] for f in template.get("imageTagMutabilityExclusionFilters", ())),
        scan_on_push=True, encryption_type=encryption.get("encryptionType", "AES256"),
        kms_key=encryption.get("kmsKey") or None, lifecycle_text=template.get("lifecyclePolicy") or None,
        policy_text=template.get("repositoryPolicy") or None, tags=())
    _, settings = importer.entry(live, *names, files, result)
    out: dict[str, Any] = {"prefix": prefix(template["prefix"]),
                           "applied_for": list(template.get("appliedFor") or ())}
    for key, field in (("description", "description"), ("custom_role", "customRoleArn")):
        if template.get(field):
            out[key] = template[field]
    own = {key: settings[key] for key in ("mutability", "encryption", "lifecycle", "access")}
    out.update(importer.render_settings(own, defaults))
    out["resource_tags"] = {tag["Key"]: tag["Value"] for tag in template.get("resourceTags") or []}
    out["enforce_existing"] = False
    return out
