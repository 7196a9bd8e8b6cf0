"""`registry:` in ecr.yaml: this config's part of the account's registry-wide documents.

The scanning configuration, the replication configuration and the registry policy are one
document each per account and region, shared by every team, and every put replaces the whole
document. A config owns only what lies in its namespace: wildcard filters and replication
prefixes that start with the literal prefix of its `name_pattern` for its SystemName
(`myapp-ecr-`), and policy statements whose Sid starts with `ecrgen-<SystemName>-`. A value that
starts like that but also lies in the namespace of a longer SystemName (`myapp-ecr-x-ecr-web` for
`myapp-ecr-x`, `ecrgen-shop-api-In` for `shop-api`) is the longer name's: so every value has at
most one owner, and no config's namespace holds another's. `registry_merge` splices that part
into a live document without touching anything else.

Pure: the model and its resolution into a `Part` (for one account and region);
`registry_metadata` carries the part in a template's Metadata, `effective_scan` says which setting
actually scans a repository.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from pydantic import Field

from generator.base.errors import InputError, Problem
from generator.base.source import Document, Path_, dotted
from generator.base.strings import map_strings
from generator.model.registry_settings import (
    AccountSettings,
    PullTimeExclusions,
    SigningRule,
    SigningRuleEntry,
    check_exclusions,
    resolve_signing,
)
from generator.model.repository import SYSTEM_NAME_PATTERN, SYSTEM_NAME_PLACEHOLDER
from generator.model.schema import Strict

# ECR's documented limits (API reference: PutRegistryScanningConfiguration, RegistryScanningRule,
# ScanningRepositoryFilter, PutReplicationConfiguration, ReplicationRule, RepositoryFilter).
MAX_SCAN_FILTERS = 100              # per scanning rule
MAX_REPLICATION_RULES = 10
MAX_DESTINATIONS = 25               # across every rule of the replication configuration
MAX_PREFIXES = 100                  # per replication rule
SCAN_FILTER = re.compile(r"[a-z0-9*](?:[._\-/a-z0-9*]?[a-z0-9*]+)*\Z")
SCAN_FILTER_LENGTH = (1, 255)
PREFIX_FILTER = re.compile(r"(?:[a-z0-9]+(?:[._-][a-z0-9]*)*/)*[a-z0-9]*(?:[._-][a-z0-9]*)*\Z")
PREFIX_LENGTH = (2, 256)
REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d\Z")
ACCOUNT_ID = re.compile(r"\d{12}\Z")
STATEMENT_KEYS = ("Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource",
                  "NotResource", "Condition")

SCAN_ON_PUSH, CONTINUOUS_SCAN, MANUAL = "SCAN_ON_PUSH", "CONTINUOUS_SCAN", "MANUAL"
SID_TEMPLATE = f"ecrgen-{SYSTEM_NAME_PLACEHOLDER}-"  # the Sids a config owns start so
# What post-deploy fills in a statement for each account and region, as CloudFormation would.
TARGET_PLACEHOLDERS = ("${AWS::Region}", "${AWS::AccountId}", "${AWS::Partition}")
_PSEUDO_PARAMETER = re.compile(r"\$\{(AWS::[A-Za-z]+)\}")
_SYSTEM_NAME = re.compile(SYSTEM_NAME_PATTERN.removeprefix("^").removesuffix("$"))


class Scanning(Strict):
    type: Literal["BASIC", "ENHANCED"] | None = None
    scan_on_push: list[str] = Field(default_factory=list)
    continuous: list[str] = Field(default_factory=list)


class Destination(Strict):
    region: str
    registry_id: str | None = None


class ReplicationRule(Strict):
    destinations: list[Destination]
    prefixes: list[str]


class RegistrySection(Strict):
    """The `registry:` section as written; `resolve` checks it and fills in ${SystemName}."""

    via: Literal["post-deploy", "template"] = "post-deploy"
    scanning: Scanning = Scanning()
    replication: list[ReplicationRule] = Field(default_factory=list)
    policy_statements: list[dict[str, Any]] = Field(default_factory=list)
    signing: list[SigningRuleEntry] | None = None  # None: the signing configuration is not managed
    account_settings: AccountSettings = AccountSettings()
    pull_time_exclusions: PullTimeExclusions = Field(default_factory=list)


@dataclass(frozen=True)
class Replication:
    destinations: tuple[tuple[str, str | None], ...]   # (region, registry id or None: this account)
    prefixes: tuple[str, ...]


@dataclass(frozen=True)
class Part:
    """What one config owns of the registry documents, resolved for one SystemName."""

    namespace: str                  # filters and prefixes starting with this are ours
    sid_prefix: str                 # statements whose Sid starts with this are ours
    scan_type: str | None           # None: never change the scan type
    scan_on_push: tuple[str, ...]
    continuous: tuple[str, ...]
    replication: tuple[Replication, ...]
    statements: tuple[Mapping[str, Any], ...]
    via: str = "post-deploy"
    system_name: str = ""           # "" (a bare Part, in tests): the namespaces are plain prefixes
    name_prefix: str = ""           # name_pattern before {name}, ${SystemName} unfilled
    signing: tuple[SigningRule, ...] | None = None     # None: not managed
    account_settings: tuple[tuple[str, str], ...] = ()  # (API name, value), only those declared
    pull_time_exclusions: tuple[str, ...] = ()
    registry_owner: bool = False    # `owner: registry`: this config owns every filter and prefix

    def filters_for(self, frequency: str) -> tuple[str, ...]:
        return {SCAN_ON_PUSH: self.scan_on_push, CONTINUOUS_SCAN: self.continuous}.get(frequency, ())

    def owns(self, value: Any) -> bool:
        """A scan filter or replication prefix of this config's namespace (and of no longer one);
        with `owner: registry`, any."""
        if self.registry_owner:
            return isinstance(value, str)
        return isinstance(value, str) and value.startswith(self.namespace) and \
            self.longer_owner(value) is None

    def owns_statement(self, statement: Any) -> bool:
        sid = statement.get("Sid") if isinstance(statement, Mapping) else None
        return isinstance(sid, str) and sid.startswith(self.sid_prefix) and \
            self.longer_owner(sid, sid=True) is None

    def for_target(self, region: str, account: str, partition: str) -> tuple[Part, list[tuple[str, str]]]:
        """The part as one account and region takes it: `${AWS::Region}`, `${AWS::AccountId}` and
        `${AWS::Partition}` filled in, and a replication destination that is this very registry
        dropped (ECR refuses it; a rule left without one goes). The dropped ones, with why."""
        values = dict(zip(TARGET_PLACEHOLDERS, (region, account, partition), strict=True))

        def fill(text: str) -> str:
            for placeholder, value in values.items():
                text = text.replace(placeholder, value)
            return text

        dropped: list[tuple[str, str]] = []
        rules = []
        for index, rule in enumerate(self.replication):
            kept = tuple(d for d in rule.destinations if (d[0], d[1] or account) != (region, account))
            if len(kept) < len(rule.destinations):
                dropped.append((region, f"replication[{index}] replicates to {region} in this account, which "
                                "is this registry itself (ECR refuses that): left out here, kept for every "
                                "other target"))
            if kept:
                rules.append(Replication(kept, rule.prefixes))
        statements = tuple(map_strings(dict(statement), fill) for statement in self.statements)
        return replace(self, replication=tuple(rules), statements=statements), dropped

    def longer_owner(self, value: str, sid: bool = False) -> str | None:
        """The longer SystemName whose namespace also holds `value` (a filter or prefix; a Sid)."""
        if not self.system_name:
            return None
        return longer_owner(value, SID_TEMPLATE if sid else self.name_prefix, self.system_name)


def namespace(name_pattern: str, system_name: str) -> str:
    """The literal part of `name_pattern` before `{name}`, for this SystemName: `myapp-ecr-`."""
    return name_pattern.split("{name}", 1)[0].replace(SYSTEM_NAME_PLACEHOLDER, system_name)


def longer_owner(value: str, template: str, system_name: str) -> str | None:
    """A SystemName longer than `system_name` whose namespace (`template` filled with it) also
    holds `value`, or None. Such a value is the longer name's: `shop-api-*` is not `shop`'s
    (for `${SystemName}-{name}`), `ecrgen-a--b-In` is not `a`'s. Whatever characters the names
    hold ('-', '.', '_', '/', '--'), every value then has at most one owner."""
    head = template.split(SYSTEM_NAME_PLACEHOLDER, 1)[0]
    if SYSTEM_NAME_PLACEHOLDER not in template or not value.startswith(head + system_name):
        return None
    tail = value[len(head) + len(system_name):]
    for end in range(1, len(tail) + 1):
        longer = system_name + tail[:end]
        if _SYSTEM_NAME.fullmatch(longer) and \
                value.startswith(template.replace(SYSTEM_NAME_PLACEHOLDER, longer)):
            return longer
    return None


def resolve(section: RegistrySection, name_pattern: str, system_name: str,
            doc: Document | None = None, at: Path_ = ("registry",), source: str = "registry",
            ownership: str = "namespace") -> Part:
    """The part `section` claims for `system_name`; InputError listing every problem.

    `doc` locates problems in ecr.yaml; without it (a template's Metadata, `--system-name`)
    problems name the field only. `ownership` "registry" (ecr.yaml's `owner: registry`) makes every
    filter and prefix this config's.
    """
    problems: list[Problem] = []

    def problem(path: Path_, message: str) -> None:
        full = (*at, *path)
        problems.append(doc.problem(full, message) if doc else Problem(message, dotted(full)))

    def sub(value: str) -> str:
        return value.replace(SYSTEM_NAME_PLACEHOLDER, system_name)

    registry_owner = ownership == "registry"
    owner = namespace(name_pattern, system_name)
    name_prefix = name_pattern.split("{name}", 1)[0]
    sid_prefix = SID_TEMPLATE.replace(SYSTEM_NAME_PLACEHOLDER, system_name)
    # What a declared value must lie in: the namespace, or (the registry's owner) anywhere.
    claimable = ("", "") if registry_owner else (name_prefix, system_name)
    if not owner and not registry_owner:
        problem((), "needs a name_pattern with a fixed prefix before {name} (e.g. "
                "'${SystemName}-ecr-{name}'): the prefix is the namespace this config owns in the registry")
    scanning = section.scanning
    if scanning.continuous and scanning.type != "ENHANCED":
        problem(("scanning", "continuous"), "continuous scanning needs scanning.type ENHANCED, "
                f"got {scanning.type or 'no type'}")
    for key in ("scan_on_push", "continuous"):
        filters = [sub(f) for f in getattr(scanning, key)]
        where: Path_ = ("scanning", key)
        if len(filters) > MAX_SCAN_FILTERS:
            problem(where, f"has {len(filters)} filters; ECR allows at most {MAX_SCAN_FILTERS} per rule")
        _check_values(filters, where, problem, claimable, "filter", SCAN_FILTER,
                      SCAN_FILTER_LENGTH, "lowercase letters, digits, '.', '_', '-', '/' and '*', "
                      "starting and ending with a letter, digit or '*'")
    if len(section.replication) > MAX_REPLICATION_RULES:
        problem(("replication",), f"has {len(section.replication)} rules; ECR allows at most "
                f"{MAX_REPLICATION_RULES}")
    destinations = sum(len(rule.destinations) for rule in section.replication)
    if destinations > MAX_DESTINATIONS:
        problem(("replication",), f"has {destinations} destinations in all; ECR allows at most "
                f"{MAX_DESTINATIONS}")
    rules = []
    for index, rule in enumerate(section.replication):
        if not rule.destinations:
            problem(("replication", index, "destinations"), "needs at least one destination")
        for d_index, dest in enumerate(rule.destinations):
            if not REGION.match(dest.region):
                problem(("replication", index, "destinations", d_index, "region"),
                        f"{dest.region!r} is not an AWS region name such as 'eu-west-1'")
            if dest.registry_id is not None and not ACCOUNT_ID.match(dest.registry_id):
                problem(("replication", index, "destinations", d_index, "registry_id"),
                        f"{dest.registry_id!r} is not a 12-digit account id (quote it in YAML)")
        prefixes = [sub(p) for p in rule.prefixes]
        where = ("replication", index, "prefixes")
        if not 1 <= len(prefixes) <= MAX_PREFIXES:
            problem(where, f"needs 1 to {MAX_PREFIXES} prefixes inside this config's namespace "
                    f"({owner!r}), got {len(prefixes)}: a rule without one would replicate every team's "
                    "repositories")
        _check_values(prefixes, where, problem, claimable, "prefix", PREFIX_FILTER,
                      PREFIX_LENGTH, "a repository name prefix: lowercase letters, digits, '.', '_', "
                      "'-', '/'")
        rules.append(Replication(tuple((d.region, d.registry_id) for d in rule.destinations),
                                 tuple(dict.fromkeys(prefixes))))
    statements = [_substituted(s, system_name) for s in section.policy_statements]
    seen: dict[str, int] = {}
    for index, statement in enumerate(statements):
        _check_statement(statement, system_name, ("policy_statements", index), problem)
        sid = statement.get("Sid")
        if isinstance(sid, str):
            if sid in seen:
                problem(("policy_statements", index, "Sid"), f"{sid!r} duplicates "
                        f"policy_statements[{seen[sid]}]: each Sid must be unique")
            seen.setdefault(sid, index)
    part = Part(namespace=owner, sid_prefix=sid_prefix, scan_type=scanning.type,
                scan_on_push=tuple(dict.fromkeys(sub(f) for f in scanning.scan_on_push)),
                continuous=tuple(dict.fromkeys(sub(f) for f in scanning.continuous)),
                replication=tuple(rules), statements=tuple(statements), via=section.via,
                system_name=system_name, name_prefix=name_prefix, registry_owner=registry_owner)
    signing = None if section.signing is None else resolve_signing(
        section.signing, sub, part.owns, owner, registry_owner, problem)
    if section.via == "template" and section.account_settings.wanted():
        problem(("account_settings",), "no CloudFormation resource sets the account settings: they need "
                "post-deploy; leave via: template out (or set them by hand)")
    exclusions = check_exclusions(section.pull_time_exclusions, problem)
    if problems:
        raise InputError(doc.source if doc else source, sorted(problems, key=lambda p: p.line or 0))
    return replace(part, signing=signing, account_settings=section.account_settings.wanted(),
                   pull_time_exclusions=exclusions)


def _check_values(values: Sequence[str], where: Path_, problem: Any, owner: tuple[str, str], what: str,
                  pattern: re.Pattern[str], length: tuple[int, int], allowed: str) -> None:
    """`owner` is (name_pattern before {name}, SystemName)."""
    space = owner[0].replace(SYSTEM_NAME_PLACEHOLDER, owner[1])
    for index, value in enumerate(values):
        if not length[0] <= len(value) <= length[1] or not pattern.match(value):
            problem((*where, index), f"{value!r} is not a valid {what}: {length[0]}-{length[1]} "
                    f"characters, {allowed}")
        elif space and not value.startswith(space):
            problem((*where, index), f"{value!r} is outside this config's namespace: a {what} must start "
                    f"with {space!r} (the literal prefix of name_pattern), or it would claim what another "
                    "team owns")
        elif longer := longer_owner(value, *owner):
            theirs = namespace(owner[0] + "{name}", longer)
            problem((*where, index), f"{value!r} also lies in the namespace of SystemName {longer!r} "
                    f"({theirs!r}), so it would be that config's: use a {what} that no longer SystemName "
                    f"can claim (e.g. ending with '*' right after {space!r})")


def _check_statement(statement: dict[str, Any], system_name: str, where: Path_, problem: Any) -> None:
    unknown = [key for key in statement if key not in STATEMENT_KEYS]
    if unknown:
        problem((*where, unknown[0]), f"unknown key; allowed: {', '.join(STATEMENT_KEYS)}")
    sid = statement.get("Sid")
    sid_prefix = SID_TEMPLATE.replace(SYSTEM_NAME_PLACEHOLDER, system_name)
    if not isinstance(sid, str) or not sid.startswith(sid_prefix) or len(sid) == len(sid_prefix):
        problem((*where, "Sid"), f"must be a Sid starting with {sid_prefix!r} (ecrgen-${{SystemName}}-...), "
                f"the statements this config owns; got {sid!r}")
    elif longer := longer_owner(sid, SID_TEMPLATE, system_name):
        problem((*where, "Sid"), f"{sid!r} reads as a Sid of SystemName {longer!r}, so it would be that "
                f"config's: write the part after {sid_prefix!r} without '-' (e.g. "
                f"{sid_prefix}{_camel(sid[len(sid_prefix):])})")
    elif "${" in sid:
        problem((*where, "Sid"), f"{sid!r}: a Sid takes no placeholder but ${{SystemName}}")
    for path, text in _strings(statement):
        unknown = [name for name in _PSEUDO_PARAMETER.findall(text)
                   if f"${{{name}}}" not in TARGET_PLACEHOLDERS]
        if unknown and path[0] != "Sid":
            problem((*where, *path), f"${{{unknown[0]}}} cannot be filled in: post-deploy fills "
                    f"{', '.join(TARGET_PLACEHOLDERS)} for each account and region (and ${{SystemName}}); "
                    "write any other value literally")
    if statement.get("Effect") not in ("Allow", "Deny"):
        problem((*where, "Effect"), f"must be Allow or Deny, got {statement.get('Effect')!r}")
    if "Action" not in statement and "NotAction" not in statement:
        problem((*where, "Action"), "is required (or NotAction)")
    if "Principal" not in statement and "NotPrincipal" not in statement:
        problem((*where, "Principal"), "is required in a registry policy (or NotPrincipal)")


def _camel(text: str) -> str:
    """`replicate-in` -> `ReplicateIn`: a suggestion in IAM's own Sid characters."""
    return "".join(word[:1].upper() + word[1:] for word in re.split(r"[^A-Za-z0-9]+", text))


def _substituted(value: Any, system_name: str) -> Any:
    """`${SystemName}` filled in every string of a statement; other `${...}` (policy variables) kept."""
    return map_strings(value, lambda text: text.replace(SYSTEM_NAME_PLACEHOLDER, system_name))


def _strings(value: Any, at: Path_ = ()) -> list[tuple[Path_, str]]:
    """Every string in `value` with where it is."""
    if isinstance(value, str):
        return [(at, value)]
    items = enumerate(value) if isinstance(value, list) else value.items() if isinstance(value, dict) else ()
    return [found for key, item in items for found in _strings(item, (*at, key))]


def self_destinations(section: RegistrySection, regions: Sequence[str],
                      accounts: Sequence[str] | None) -> list[str]:
    """Warnings for replication destinations that are, in some target of a StackSet (`regions`,
    `accounts`; None: organizational units), the registry itself."""
    out = []
    for index, rule in enumerate(section.replication):
        for d_index, dest in enumerate(rule.destinations):
            ours = dest.registry_id is None or accounts is None or dest.registry_id in accounts
            if dest.region in regions and ours:
                where = f"registry.replication[{index}].destinations[{d_index}]"
                out.append(f"{where}: {dest.region} is also one of targets.regions: in that region it is the "
                           "registry itself, which ECR refuses; post-deploy leaves it out there"
                           + (" (the template's ReplicationConfiguration would fail there)"
                              if section.via == "template" else ""))
    return out


def distinct(parts: Sequence[Part]) -> list[Part]:
    """Each part once (several stacks of one config carry the same); two different parts of one
    namespace would undo each other on every run, so they are an error."""
    out: list[Part] = []
    for part in parts:
        same = [p for p in out if p.namespace == part.namespace or p.sid_prefix == part.sid_prefix]
        if same and same[0] != part:
            raise InputError("--stack-name", f"two stacks claim the registry namespace {part.namespace!r} "
                             "with different settings; one config per namespace")
        if not same:
            out.append(part)
    return out
