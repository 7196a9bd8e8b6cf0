"""`registry:` in ecr.yaml: this config's part of the account's registry-wide documents.

The scanning configuration, the replication configuration and the registry policy are one
document each per account and region, shared by every team, and every put replaces the whole
document. A config owns only what lies in its namespace: wildcard filters and replication
prefixes that start with the literal prefix of its `name_pattern` for its SystemName
(`myapp-ecr-`), and policy statements whose Sid starts with `ecrgen-<SystemName>-`.
`registry_merge` splices that part into a live document without touching anything else.

Pure: the model, its resolution into a `Part`, and which setting actually scans a repository.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from pydantic import Field, ValidationError

from generator.base.errors import InputError, Problem
from generator.base.source import Document, Path_, dotted
from generator.model.metadata import METADATA_KEY
from generator.model.registry_settings import (
    AccountSettings,
    PullTimeExclusions,
    SigningRule,
    SigningRuleEntry,
    check_exclusions,
    resolve_signing,
)
from generator.model.repository import SYSTEM_NAME_PLACEHOLDER
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
    signing: tuple[SigningRule, ...] | None = None     # None: not managed
    account_settings: tuple[tuple[str, str], ...] = ()  # (API name, value), only those declared
    pull_time_exclusions: tuple[str, ...] = ()
    registry_owner: bool = False    # `owner: registry`: this config owns every filter and prefix

    def filters_for(self, frequency: str) -> tuple[str, ...]:
        return {SCAN_ON_PUSH: self.scan_on_push, CONTINUOUS_SCAN: self.continuous}.get(frequency, ())

    def owns(self, value: Any) -> bool:
        """A scan filter or replication prefix of this config's namespace."""
        if self.registry_owner:
            return isinstance(value, str)
        return isinstance(value, str) and value.startswith(self.namespace)

    def owns_statement(self, statement: Any) -> bool:
        return isinstance(statement, Mapping) and isinstance(statement.get("Sid"), str) and \
            statement["Sid"].startswith(self.sid_prefix)


def namespace(name_pattern: str, system_name: str) -> str:
    """The literal part of `name_pattern` before `{name}`, for this SystemName: `myapp-ecr-`."""
    return name_pattern.split("{name}", 1)[0].replace(SYSTEM_NAME_PLACEHOLDER, system_name)


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
    claimable = "" if registry_owner else owner  # what a declared value must start with
    sid_prefix = f"ecrgen-{system_name}-"
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
        _check_values(filters, where, problem, claimable, "filter", SCAN_FILTER, SCAN_FILTER_LENGTH,
                      "lowercase letters, digits, '.', '_', '-', '/' and '*', starting and ending "
                      "with a letter, digit or '*'")
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
        _check_values(prefixes, where, problem, claimable, "prefix", PREFIX_FILTER, PREFIX_LENGTH,
                      "a repository name prefix: lowercase letters, digits, '.', '_', '-', '/'")
        rules.append(Replication(tuple((d.region, d.registry_id) for d in rule.destinations),
                                 tuple(dict.fromkeys(prefixes))))
    statements = [_substituted(s, system_name) for s in section.policy_statements]
    seen: dict[str, int] = {}
    for index, statement in enumerate(statements):
        _check_statement(statement, sid_prefix, ("policy_statements", index), problem)
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
                registry_owner=registry_owner)
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


def _check_values(values: Sequence[str], where: Path_, problem: Any, owner: str, what: str,
                  pattern: re.Pattern[str], length: tuple[int, int], allowed: str) -> None:
    for index, value in enumerate(values):
        if not length[0] <= len(value) <= length[1] or not pattern.match(value):
            problem((*where, index), f"{value!r} is not a valid {what}: {length[0]}-{length[1]} "
                    f"characters, {allowed}")
        elif owner and not value.startswith(owner):
            problem((*where, index), f"{value!r} is outside this config's namespace: a {what} must start "
                    f"with {owner!r} (the literal prefix of name_pattern), or it would claim what another "
                    "team owns")


def _check_statement(statement: dict[str, Any], sid_prefix: str, where: Path_, problem: Any) -> None:
    unknown = [key for key in statement if key not in STATEMENT_KEYS]
    if unknown:
        problem((*where, unknown[0]), f"unknown key; allowed: {', '.join(STATEMENT_KEYS)}")
    sid = statement.get("Sid")
    if not isinstance(sid, str) or not sid.startswith(sid_prefix) or len(sid) == len(sid_prefix):
        problem((*where, "Sid"), f"must be a Sid starting with {sid_prefix!r} (ecrgen-${{SystemName}}-...), "
                f"the statements this config owns; got {sid!r}")
    if statement.get("Effect") not in ("Allow", "Deny"):
        problem((*where, "Effect"), f"must be Allow or Deny, got {statement.get('Effect')!r}")
    if "Action" not in statement and "NotAction" not in statement:
        problem((*where, "Action"), "is required (or NotAction)")
    if "Principal" not in statement and "NotPrincipal" not in statement:
        problem((*where, "Principal"), "is required in a registry policy (or NotPrincipal)")


def _substituted(value: Any, system_name: str) -> Any:
    """`${SystemName}` filled in every string of a statement; other `${...}` (policy variables) kept."""
    if isinstance(value, str):
        return value.replace(SYSTEM_NAME_PLACEHOLDER, system_name)
    if isinstance(value, list):
        return [_substituted(item, system_name) for item in value]
    if isinstance(value, dict):
        return {key: _substituted(item, system_name) for key, item in value.items()}
    return value


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


# --- in a template's Metadata, for post-deploy --stack-name ---------------------------------

def to_metadata(section: RegistrySection, system_name: str, name_pattern: str) -> dict[str, Any]:
    """What the template's top-level `Metadata.ecrgen` records: the section as in ecr.yaml, with
    the SystemName and name_pattern that decide its namespace, `${SystemName}` filled in with the
    config's own (CloudFormation resolves no parameter in Metadata)."""
    data = {"system_name": system_name, "name_pattern": name_pattern,
            "registry": section.model_dump(mode="json", exclude_defaults=True)}
    return _substituted(data, system_name)  # type: ignore[no-any-return]


def from_template(template: Mapping[str, Any], where: str) -> Part | None:
    """The part a deployed template asks post-deploy to reconcile; None when there is none (or
    when the template sets the registry itself, `via: template`)."""
    meta = template.get("Metadata")
    meta = meta.get(METADATA_KEY) if isinstance(meta, Mapping) else None
    if not isinstance(meta, Mapping) or "registry" not in meta:
        return None
    at: Path_ = ("Metadata", METADATA_KEY)
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
    return resolve(section, names[1], names[0], at=(*at, "registry"), source=where, ownership=ownership)


# --- which setting scans a repository -------------------------------------------------------

@dataclass(frozen=True)
class EffectiveScan:
    """How a repository's images are actually scanned, and which setting decides it."""

    repository: str
    scan_type: str
    frequency: str          # SCAN_ON_PUSH | CONTINUOUS_SCAN | MANUAL (basic, by hand) | OFF (enhanced, none)
    source: str             # the rule and filter, or the repository-level setting

    @property
    def on_push(self) -> bool:
        return self.frequency in (SCAN_ON_PUSH, CONTINUOUS_SCAN)


def filter_matches(pattern: str, name: str) -> bool:
    """ECR's filter semantics: without '*' a filter matches names that contain it; with '*', the
    whole name, '*' standing for any run of characters."""
    if "*" not in pattern:
        return pattern in name
    regex = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.fullmatch(regex, name) is not None


def effective_scan(scanning: Mapping[str, Any], repository: str,
                   repository_scan_on_push: bool) -> EffectiveScan:
    """Following the ECR user guide: once the registry's scanning configuration has filters, it
    decides for every repository and the repository-level scanOnPush is ignored; with ENHANCED a
    CONTINUOUS_SCAN filter wins over a SCAN_ON_PUSH one, and a repository no filter matches is
    not scanned; with BASIC it is scanned by hand only (MANUAL). Without any filter (the default
    BASIC configuration) the repository-level scanOnPush still applies."""
    scan_type = str(scanning.get("scanType") or "BASIC")
    rules = [r for r in scanning.get("rules") or [] if isinstance(r, Mapping)]
    if not any(r.get("repositoryFilters") for r in rules):
        if scan_type == "ENHANCED":
            return EffectiveScan(repository, scan_type, "OFF", "enhanced scanning without any rule")
        frequency = SCAN_ON_PUSH if repository_scan_on_push else MANUAL
        return EffectiveScan(repository, scan_type, frequency,
                             f"repository setting scanOnPush {str(repository_scan_on_push).lower()} "
                             "(the registry has no scanning filters)")
    order = (CONTINUOUS_SCAN, SCAN_ON_PUSH) if scan_type == "ENHANCED" else (SCAN_ON_PUSH,)
    for frequency in order:
        for rule in rules:
            if rule.get("scanFrequency") != frequency:
                continue
            for item in rule.get("repositoryFilters") or []:
                pattern = item.get("filter") if isinstance(item, Mapping) else None
                if isinstance(pattern, str) and filter_matches(pattern, repository):
                    return EffectiveScan(repository, scan_type, frequency,
                                         f"registry {scan_type} rule {frequency}, filter {pattern!r}")
    if scan_type == "ENHANCED":
        return EffectiveScan(repository, scan_type, "OFF", "no ENHANCED scanning filter matches; the "
                             "registry's filters override the repository-level scanOnPush")
    return EffectiveScan(repository, scan_type, MANUAL, "no BASIC scan-on-push filter matches; the "
                         "registry's filters override the repository-level scanOnPush")


def effective_scans(scanning: Mapping[str, Any] | None, wishes: Sequence[Any],
                    live: Mapping[str, Any]) -> list[tuple[EffectiveScan, bool | None]]:
    """How each managed repository that exists is scanned once this run is done, with whether
    the config wants it scanned on push (None: not managed). Its repository-level setting is the
    wanted one where managed (post-deploy sets it), else the live one."""
    if scanning is None:
        return []
    out = []
    for wish in wishes:
        repo = live.get(wish.name)
        if repo is not None:
            on_push = repo.scan_on_push if wish.scan_on_push is None else wish.scan_on_push
            out.append((effective_scan(scanning, wish.name, on_push), wish.scan_on_push))
    return out
