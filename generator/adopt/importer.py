"""Live repositories -> ecr.yaml: the pure half of `ecrgen import` (the reads are in aws/importer).

`build` takes each repository's live settings and returns the ecr.yaml text, the policy files
it references and what could not be carried over. The file is as short as a person would write
it: each setting shared by most repositories goes into `defaults`, each repository lists only
where it differs. Names map back through `name_pattern` and `system_name` (inferred from the most
common prefix unless given); a name outside the pattern keeps its exact name in `physical_name`.
A policy becomes `lifecycle:` rules or `access:` only when these express it exactly (checked by
rendering them back); otherwise it goes to a file. Same registry, same bytes.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml
from pydantic import ValidationError

from generator.model import access, lifecycle, repository_policy
from generator.model.repository import (
    COUNT_KEYS,
    DEFAULT_NAME_PATTERN,
    EXCLUSION_MODES,
    SYSTEM_NAME_PATTERN,
    SYSTEM_NAME_PLACEHOLDER,
    LifecycleRule,
    logical_id,
)

FALLBACK_SYSTEM_NAME = "imported"
_BUILTIN = {"mutability": ("IMMUTABLE", ()), "scan_on_push": True, "encryption": {"type": "AES256"}}
_COUNT_KEY_OF = {count_type: key for key, count_type in COUNT_KEYS.items()}


@dataclass(frozen=True)
class LiveRepository:
    """What `ecrgen import` reads of one repository."""

    name: str
    arn: str
    image_tag_mutability: str
    exclusion_filters: tuple[str, ...]
    scan_on_push: bool
    encryption_type: str
    kms_key: str | None
    lifecycle_text: str | None
    policy_text: str | None
    tags: tuple[tuple[str, str], ...]


@dataclass
class Imported:
    """The ecr.yaml text, the policy files (path as written in ecr.yaml -> text), what was left out."""

    text: str
    policy_files: dict[str, str] = field(default_factory=dict)
    not_carried: list[str] = field(default_factory=list)
    system_name: str = ""
    notes: list[str] = field(default_factory=list)  # what the user should know about the file


# More top-level sections, from (system name, the defaults' settings, the policy files, the result).
Sections = Callable[[str, dict[str, Any], "_PolicyFiles", Imported], dict[str, Any]]


def build(repositories: Sequence[LiveRepository], header: str, system_name: str | None = None,
          name_pattern: str = DEFAULT_NAME_PATTERN, policies_dir: str = "policies",
          more: Sections | None = None) -> Imported:
    """The ecr.yaml that reproduces `repositories`; `header` is its leading comment. `more` adds
    sections written with the same defaults and policy files (`generator.adopt.implicit`)."""
    repos = sorted(repositories, key=lambda r: r.name)
    system = system_name or infer_system_name([r.name for r in repos], name_pattern)
    result = Imported("", system_name=system)
    files = _PolicyFiles(policies_dir, result)
    entries = sorted((entry(repo, system, name_pattern, files, result) for repo in repos),
                     key=lambda entry: (entry[0]["name"], entry[1]["_physical"]))
    _unique_logical_ids(entries)
    settings = [entry[1] for entry in entries]
    defaults = _defaults(settings)
    document: dict[str, Any] = {"system_name": system}
    if name_pattern != DEFAULT_NAME_PATTERN:
        document["name_pattern"] = name_pattern
    rendered_defaults = render_settings(defaults, {})
    if rendered_defaults:
        document["defaults"] = rendered_defaults
    document["repositories"] = [{**names, **render_settings(own, defaults)} for names, own in entries]
    if more is not None:
        document.update(more(system, defaults, files, result))
    result.text = header + yaml.safe_dump(document, sort_keys=False, default_flow_style=False,
                                          allow_unicode=True, width=100)
    return result


# --- names ----------------------------------------------------------------------------------

def _pattern_regex(name_pattern: str, system: str | None) -> re.Pattern[str]:
    """Groups `system` (unless given) and `name`; a placeholder used twice matches the same text."""
    groups = {SYSTEM_NAME_PLACEHOLDER: ("system", r"[a-z0-9][a-z0-9._/-]*?"), "{name}": ("name", ".+")}
    seen: set[str] = set()
    regex = ""
    for part in re.split(r"(\$\{SystemName\}|\{name\})", name_pattern):
        if part == SYSTEM_NAME_PLACEHOLDER and system:
            regex += re.escape(system)
        elif part in groups:
            group, body = groups[part]
            regex += f"(?P={group})" if group in seen else f"(?P<{group}>{body})"
            seen.add(group)
        else:
            regex += re.escape(part)
    return re.compile(regex + r"\Z")


def infer_system_name(names: Sequence[str], name_pattern: str) -> str:
    """The SystemName that the most names fit (ties: the shortest, then the first alphabetically)."""
    if SYSTEM_NAME_PLACEHOLDER not in name_pattern:
        return FALLBACK_SYSTEM_NAME
    regex = _pattern_regex(name_pattern, None)
    counts = Counter(m["system"] for m in map(regex.match, names)
                     if m and re.match(SYSTEM_NAME_PATTERN, m["system"]))
    if not counts:
        return FALLBACK_SYSTEM_NAME
    return min(counts, key=lambda s: (-counts[s], len(s), s))


def _names(repo: LiveRepository, system: str, name_pattern: str) -> dict[str, str]:
    match = _pattern_regex(name_pattern, system).match(repo.name)
    if match and name_pattern.replace(SYSTEM_NAME_PLACEHOLDER, system).replace(
            "{name}", match["name"]) == repo.name:
        return {"name": match["name"]}
    return {"name": repo.name, "physical_name": repo.name}


def _unique_logical_ids(entries: list[tuple[dict[str, str], dict[str, Any]]]) -> None:
    """`a-b` and `a_b` give one logical id: the later gets a numbered name and its exact name."""
    seen: set[str] = set()
    for names, settings in entries:
        candidate, number = names["name"], 1
        while logical_id(candidate) in seen:
            number += 1
            candidate = f"{names['name']}-{number}"
        if candidate != names["name"]:
            names.setdefault("physical_name", settings["_physical"])
            names["name"] = candidate
        seen.add(logical_id(candidate))


# --- settings -------------------------------------------------------------------------------

def entry(repo: LiveRepository, system: str, name_pattern: str, files: _PolicyFiles,
           result: Imported) -> tuple[dict[str, str], dict[str, Any]]:
    mode = repo.image_tag_mutability
    exclusions = tuple(sorted(repo.exclusion_filters)) if mode in EXCLUSION_MODES else ()
    encryption: dict[str, Any] = {"type": repo.encryption_type}
    if repo.kms_key and repo.encryption_type != "AES256":
        encryption["kms_key"] = repo.kms_key
    settings: dict[str, Any] = {"_physical": repo.name, "mutability": (mode, exclusions),
                                "scan_on_push": repo.scan_on_push, "encryption": encryption,
                                "lifecycle": _lifecycle(repo, files, result),
                                "access": _access(repo, files, result),
                                "tags": dict(sorted(repo.tags))}
    return _names(repo, system, name_pattern), settings


def _lifecycle(repo: LiveRepository, files: _PolicyFiles, result: Imported) -> Any:
    """`("rules", [...])`, `("file", path)` or None (no policy, or one that is not carried over)."""
    if repo.lifecycle_text is None:
        return None
    try:
        policy = lifecycle.parse_text(repo.lifecycle_text)
    except lifecycle.PolicyError as exc:
        result.not_carried.append(f"{repo.name}: lifecycle policy not carried over, ECR would reject "
                                  f"it from a template: {exc}")
        return None
    if "${" in repo.lifecycle_text:
        result.not_carried.append(f"{repo.name}: lifecycle policy not carried over: a description holds "
                                  "${...} text, which a template cannot carry as it is")
        return None
    rules = lifecycle_rules(policy)
    if rules is not None:
        return ("rules", rules)
    return ("file", files.add(repo.name, "lifecycle", repo.lifecycle_text))


def lifecycle_rules(policy: lifecycle.Policy) -> list[dict[str, Any]] | None:
    """The policy as ecr.yaml rules, or None when they would not give back exactly the policy."""
    auto = _auto_priorities(policy.rules)
    rules = []
    for rule, numbered in zip(policy.rules, auto, strict=True):
        spec: dict[str, Any] = {}
        if rule.priority != numbered:
            spec["priority"] = rule.priority
        if rule.description:
            spec["description"] = rule.description
        spec["tag_status"] = rule.tag_status
        if rule.tag_prefixes:
            spec["tag_prefixes"] = list(rule.tag_prefixes)
        if rule.tag_patterns:
            spec["tag_patterns"] = list(rule.tag_patterns)
        if rule.storage_class != "standard":
            spec["storage_class"] = rule.storage_class
        spec[_COUNT_KEY_OF[rule.count_type]] = rule.count_number
        if rule.action == "transition":
            spec["action"] = "archive"
        rules.append(spec)
    if any("priority" in spec for spec in rules):  # numbering is all or nothing: keep every priority
        rules = [{"priority": rule.priority, **{k: v for k, v in spec.items() if k != "priority"}}
                 for rule, spec in zip(policy.rules, rules, strict=True)]
    try:
        back = lifecycle.Policy(tuple(LifecycleRule.model_validate(spec).to_rule(spec.get("priority", n))
                                      for spec, n in zip(rules, auto, strict=True)))
    except ValidationError:
        return None
    return rules if back.key() == policy.key() and not lifecycle.validate(back) else None


def _auto_priorities(rules: Sequence[lifecycle.Rule]) -> list[int]:
    """The priorities ecr.yaml gives rules written without one: in order, `any` rules last."""
    order = sorted(range(len(rules)), key=lambda i: rules[i].tag_status == "any")
    numbered = {index: position + 1 for position, index in enumerate(order)}
    return [numbered[i] for i in range(len(rules))]


def _access(repo: LiveRepository, files: _PolicyFiles, result: Imported) -> Any:
    """`("access", {...})`, `("file", path)` or None."""
    if repo.policy_text is None:
        return None
    try:
        policy = repository_policy.parse_text(repo.policy_text)
    except repository_policy.PolicyError as exc:
        result.not_carried.append(f"{repo.name}: repository policy not carried over, it does not "
                                  f"parse: {exc}")
        return None
    text = repo.policy_text
    own = tuple(st for st in policy.statements if repository_policy.added_by_service(st, repo.arn) is None)
    if len(own) < len(policy.statements):  # a service's own statement: post-deploy keeps it as it is
        for st in policy.statements:
            if st not in own:
                result.not_carried.append(f"{repo.name}: repository policy statement {st.sid} not carried "
                                          "over: the service manages it, and post-deploy keeps it")
        if not own:
            return None
        policy = dataclasses.replace(policy, statements=own)
        text = policy.to_text()
    section = access_section(policy, repo.arn)
    if section is not None:
        return ("access", section)
    if "${" in text:
        result.not_carried.append(f"{repo.name}: repository policy not carried over: it holds "
                                  "${...} text, which the template would read as a variable")
        return None
    return ("file", files.add(repo.name, "repository-policy", text))


def access_section(policy: repository_policy.Policy, arn: str) -> dict[str, Any] | None:
    """The `access:` section that renders exactly `policy` for the repository `arn`, or None."""
    grants: dict[str, dict[str, Any]] = {"pull": {}, "push": {}}
    read = frozenset(a.lower() for a in access.READ_ACTIONS)
    push = read | frozenset(a.lower() for a in access.UPLOAD_ACTIONS)
    for st in policy.statements:
        if st.effect != "Allow" or st.not_principal or st.not_action or st.resources is not None:
            return None
        service = _service(st)
        if service:
            grants["pull"].setdefault("services", []).append(service)
            continue
        actions = frozenset(a.lower() for a in st.actions)
        kind = "pull" if actions == read else "push" if actions == push else None
        if kind is None or not _add_grant(grants[kind], st):
            return None
    section = {kind: grant for kind, grant in grants.items() if grant}
    try:
        rendered = access.Access.model_validate(section).to_policy().resolve(arn)
    except (ValidationError, ValueError):
        return None
    return section if rendered.key() == policy.key() else None


def _service(st: repository_policy.Statement) -> str | None:
    """The `services:` name whose statement `st` is, by principal, actions and condition (its
    values, the accounts, are checked when the whole section is rendered back)."""
    if len(st.principals) != 1 or st.principals[0][0] != "Service" or len(st.conditions) != 1:
        return None
    operator, key, _ = st.conditions[0]
    for name, service in access.SERVICES.items():
        if (st.principals[0][1] == service.principal
                and {a.lower() for a in st.actions} == {a.lower() for a in service.actions}
                and (operator, key.lower()) == (service.operator, service.condition_key.lower())):
            return name
    return None


def _add_grant(grant: dict[str, Any], st: repository_policy.Statement) -> bool:
    everyone = all(principal in (("*", "*"), ("AWS", "*")) for principal in st.principals)
    if not st.conditions and not everyone and all(kind == "AWS" for kind, _ in st.principals):
        for _, value in st.principals:
            root = re.fullmatch(r"arn:[a-z-]+:iam::([0-9]{12}):root", value)
            account = root.group(1) if root else value if access.ACCOUNT.match(value) else None
            key, item = ("accounts", account) if account else ("roles", value)
            grant.setdefault(key, []).append(item)
        return True
    if not everyone or len(st.conditions) != 1:  # `"*"` and `{"AWS": "*"}` mean the same
        return False
    operator, key, values = st.conditions[0]
    key = key.lower()  # condition key names are case-insensitive
    if (operator, key) == ("StringEquals", "aws:principalorgid") and len(values) == 1 \
            and "organization" not in grant:
        grant["organization"] = values[0]
        return True
    if (operator, key) == ("ForAnyValue:StringLike", "aws:principalorgpaths"):
        grant.setdefault("org_paths", []).extend(values)
        return True
    return False


class _PolicyFiles:
    """Policy files by content: repositories with the same policy share one file."""

    def __init__(self, directory: str, result: Imported) -> None:
        self.directory, self.result = directory.rstrip("/") or ".", result
        self.by_text: dict[tuple[str, str], str] = {}

    def add(self, repository: str, kind: str, text: str) -> str:
        pretty = json.dumps(json.loads(text), indent=2, ensure_ascii=False) + "\n"
        key = (kind, pretty)
        if key not in self.by_text:
            stem = re.sub(r"[^a-z0-9._-]+", "-", repository)
            self.by_text[key] = f"{self.directory}/{stem}.{kind}.json"
            self.result.policy_files[self.by_text[key]] = pretty
        return self.by_text[key]


# --- defaults -------------------------------------------------------------------------------

def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=list)


def _defaults(settings: list[dict[str, Any]]) -> dict[str, Any]:
    """Per setting, the most common value; access only when every repository has one (a
    repository cannot opt out of a default `access`, while `lifecycle: []` opts out of a default
    lifecycle policy); tags shared by every repository."""
    defaults: dict[str, Any] = {}
    for key in ("mutability", "scan_on_push", "encryption", "lifecycle", "access"):
        values = [s[key] for s in settings]
        if key == "access" and any(v is None for v in values):
            continue
        counts = Counter(_canonical(v) for v in values)
        best = min(counts, key=lambda c: (-counts[c], c))
        if counts[best] > 1 or len(settings) == 1:
            defaults[key] = next(v for v in values if _canonical(v) == best)
    if len(settings) > 1:
        shared = set(settings[0]["tags"].items())
        for s in settings[1:]:
            shared &= set(s["tags"].items())
        if shared:
            defaults["tags"] = dict(sorted(shared))
    return defaults


def render_settings(own: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    """ecr.yaml keys for the settings in `own` that differ from `defaults` (or the built-ins)."""
    out: dict[str, Any] = {}
    base = {**_BUILTIN, **defaults}

    def differs(key: str) -> bool:
        return key in own and _canonical(own[key]) != _canonical(base.get(key))

    if differs("mutability"):
        mode, exclusions = own["mutability"]
        out["image_tag_mutability"] = mode
        if exclusions or base.get("mutability", ("", ()))[1]:
            out["mutability_exclusions"] = list(exclusions)
    if differs("scan_on_push"):
        out["scan_on_push"] = own["scan_on_push"]
    if differs("encryption"):
        out["encryption"] = own["encryption"]
    for key, file_key in (("lifecycle", "lifecycle_policy_file"), ("access", "repository_policy_file")):
        if differs(key) and own[key] is None:
            out[key] = []  # only lifecycle gets here: access is defaulted only when all have one
        elif differs(key):
            kind, value = own[key]
            out[file_key if kind == "file" else key] = value
    tags = {k: v for k, v in own.get("tags", {}).items() if defaults.get("tags", {}).get(k) != v}
    if tags:
        out["tags"] = tags
    return out
