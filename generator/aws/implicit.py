"""Live ECR for what it creates by itself and for the registry's singletons: read, plan, write.

Reads, each only when something declared needs it, every page, all at once:
DescribePullThroughCacheRules, DescribeRepositoryCreationTemplates, GetSigningConfiguration,
GetAccountSetting (one per declared setting), ListPullTimeUpdateExclusions, and with an enforced
template DescribeRepositories (every repository, every page) plus the policies of the
repositories it governs. Then writes only what differs: UpdatePullThroughCacheRule,
UpdateRepositoryCreationTemplate, PutAccountSetting, the signing configuration through the
registry's read-merge-write-verify loop, and each governed repository's settings through the
repository writes. Never a Create, Register or Delete: those are CloudFormation's. A failure is
its entry's alone.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from generator.aws import ecr as aws_ecr
from generator.aws import registry as aws_registry
from generator.aws.ecr import describe, failures
from generator.base.errors import InputError
from generator.model.creation_templates import normalized
from generator.model.implicit import Implicit
from generator.model.registry import Part
from generator.reconcile import creation_templates, diff, pull_through_cache, registry_settings
from generator.reconcile.desired import RepositorySettings
from generator.reconcile.implicit import Account, ItemPlan, item_entries, registry_status
from generator.reconcile.registry_merge import SIGNING, Conflict, merge

PAGE_SIZE = 1000  # the largest page each Describe/List call takes: the fewest calls


@dataclass
class Live:
    """What the reads found; an entry in `errors` (by what was read) replaces its value."""

    rules: dict[str, dict[str, Any]] = field(default_factory=dict)
    templates: dict[str, dict[str, Any]] = field(default_factory=dict)
    signing: Any = None
    account_settings: dict[str, str | None] = field(default_factory=dict)
    exclusions: list[str] = field(default_factory=list)
    registry_id: str = ""
    errors: dict[str, str] = field(default_factory=dict)


@dataclass
class Outcome:
    """The report's new `registry` keys, and the repositories under enforced templates: their plan,
    what apply returned (None: nothing written) and the prefix that governs each."""

    section: dict[str, Any]
    plan: diff.Plan
    results: dict[diff.Change, str | None] | None
    prefixes: dict[str, str] | None  # None: no template is enforced


def wanted_settings(parts: Sequence[Part]) -> list[tuple[str, str]]:
    """Every declared account setting; two configs that want one setting differently would undo
    each other on every run, so that is bad input."""
    wanted: dict[str, str] = {}
    for part in parts:
        for name, value in part.account_settings:
            if wanted.setdefault(name, value) != value:
                raise InputError("registry.account_settings", f"two configs want {name} as "
                                 f"{wanted[name]} and {value}; one value per account")
    return list(wanted.items())


def read(ecr: Any, implicit: Implicit, parts: Sequence[Part], concurrency: int) -> Live:
    """Everything the declared sections need, every page, concurrently."""
    live = Live()
    tasks: dict[str, Callable[[], Any]] = {}
    if implicit.rules:
        tasks["rules"] = lambda: all_pages(ecr, "describe_pull_through_cache_rules", "pullThroughCacheRules")
    if implicit.templates:
        tasks["templates"] = lambda: all_pages(ecr, "describe_repository_creation_templates",
                                            "repositoryCreationTemplates")
    if any(part.signing is not None for part in parts):
        tasks["signing"] = lambda: aws_registry.read_document(ecr, SIGNING)
    for name, _ in wanted_settings(parts):
        tasks[f"setting:{name}"] = lambda name=name: ecr.get_account_setting(name=name).get("value")
    if any(part.pull_time_exclusions for part in parts):
        tasks["exclusions"] = lambda: _exclusions(ecr)
    with ThreadPoolExecutor(max(1, min(concurrency, len(tasks)))) as pool:
        futures = {key: pool.submit(_safely, task) for key, task in tasks.items()}
    for key, future in futures.items():
        value, error = future.result()
        if error:
            live.errors[key] = error
        elif key == "rules":
            live.rules = {rule["ecrRepositoryPrefix"]: rule for _, rule in value}
            live.registry_id = live.registry_id or next((r.get("registryId", "") for _, r in value), "")
        elif key == "templates":
            live.templates = {normalized(t["prefix"]): t for _, t in value}
            live.registry_id = next((page.get("registryId", "") for page, _ in value), "") or live.registry_id
        elif key == "signing":
            live.signing, registry_id, _ = value
            live.registry_id = live.registry_id or registry_id
        elif key == "exclusions":
            live.exclusions = value
        else:
            live.account_settings[key.removeprefix("setting:")] = value
    return live


def _safely(task: Callable[[], Any]) -> tuple[Any, str | None]:
    try:
        return task(), None
    except Conflict as exc:
        return None, str(exc)
    except failures() as exc:
        return None, describe(exc)


def all_pages(ecr: Any, operation: str, key: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(page, item) of every item of every page."""
    pages = ecr.get_paginator(operation).paginate(PaginationConfig={"PageSize": PAGE_SIZE})
    return [(page, item) for page in pages for item in page.get(key) or []]


def _exclusions(ecr: Any) -> list[str]:
    """ListPullTimeUpdateExclusions, every page (botocore has no paginator for it)."""
    found: list[str] = []
    token = None
    while True:
        page = {"nextToken": token} if token else {}
        response = ecr.list_pull_time_update_exclusions(maxResults=PAGE_SIZE, **page)
        found += response.get("pullTimeUpdateExclusions") or []
        token = response.get("nextToken")
        if not token:
            return found


Hold = Callable[[diff.LiveState, diff.Plan], Collection[diff.Change]]


def reconcile(ecr: Any, implicit: Implicit, parts: Sequence[Part], named: Collection[str],
              concurrency: int, write: bool,
              hold_for: Callable[[Sequence[RepositorySettings]], Hold] | None = None) -> Outcome:
    """Read, plan, and when `write`, write what differs; the report's sections and the plan of
    the repositories enforced templates govern. `hold_for` gives the in-use guard for those
    repositories, which names the lifecycle writes to hold back (as for named repositories)."""
    live = read(ecr, implicit, parts, concurrency)
    account = Account(live.registry_id, ecr.meta.region_name, ecr.meta.partition)
    prefixes: dict[str, str] | None = None
    plan, results = diff.Plan(()), None
    governed: dict[str, int] = {}
    # Which template governs a repository depends on every team's templates: unknown, none is enforced.
    held: Collection[diff.Change] = ()
    if any(t.enforce_existing for t in implicit.templates) and "templates" not in live.errors:
        plan, prefixes, listing_error, state, wishes = _implicit_plan(ecr, implicit, live, named, account,
                                                                      concurrency)
        if listing_error:
            live.errors.setdefault("templates", listing_error)
        if hold_for is not None and wishes:
            held = hold_for(wishes)(state, plan)
        for prefix in prefixes.values():
            governed[prefix] = governed.get(prefix, 0) + 1
    rule_plans = pull_through_cache.plan(implicit.rules, live.rules, account, live.errors.get("rules"))
    template_plans = creation_templates.plan(implicit.templates, live.templates, account,
                                             live.errors.get("templates"), governed)
    setting_plans = registry_settings.plan_account_settings(
        wanted_settings(parts), live.account_settings,
        {k.removeprefix("setting:"): v for k, v in live.errors.items() if k.startswith("setting:")})
    signing_before = live.signing
    signing_after, signing_error = signing_before, live.errors.get("signing")
    if signing_error is None and signing_before is not None:
        try:
            signing_after = merge(SIGNING, signing_before, parts, live.registry_id)
        except Conflict as exc:
            signing_error = str(exc)
    item_results = setting_results = signing_outcome = None
    if write:
        with ThreadPoolExecutor(max(1, concurrency)) as pool:
            items = pool.submit(_write_items, ecr, [*rule_plans, *template_plans], concurrency)
            settings = pool.submit(_write_settings, ecr, setting_plans, concurrency)
            signing = pool.submit(aws_registry.reconcile, ecr, SIGNING, parts, live.registry_id) \
                if signing_error is None and signing_after != signing_before else None
            results = aws_ecr.apply(ecr, [c for c in plan.changes if c not in held], concurrency)
            item_results, setting_results = items.result(), settings.result()
            if signing is not None:
                outcome = signing.result()
                signing_outcome = (outcome.document, outcome.error)
    section: dict[str, Any] = {}
    if implicit.rules:
        section["pullThroughCache"] = item_entries(rule_plans, item_results)
    if implicit.templates:
        section["creationTemplates"] = item_entries(template_plans, item_results)
    if "signing" in live.errors or signing_before is not None:
        section["signing"] = registry_settings.signing_entry(signing_before, signing_after, not write,
                                                             signing_outcome, signing_error)
    if wanted_settings(parts):
        section["accountSettings"] = registry_settings.account_settings_entry(setting_plans,
                                                                              setting_results)
    exclusions = list(dict.fromkeys(arn for part in parts for arn in part.pull_time_exclusions))
    if exclusions:
        section["pullTimeExclusions"] = registry_settings.exclusions_entry(exclusions, live.exclusions,
                                                                         live.errors.get("exclusions"))
    return Outcome(section, plan, results, prefixes)


def _implicit_plan(ecr: Any, implicit: Implicit, live: Live, named: Collection[str], account: Account,
                   concurrency: int) -> tuple[diff.Plan, dict[str, str], str | None, diff.LiveState,
                                              list[RepositorySettings]]:
    """Every repository (DescribeRepositories, every page), the ones enforced templates govern,
    their wanted policies, and the plan that brings them to their template's settings."""
    try:
        described = [repo for _, repo in all_pages(ecr, "describe_repositories", "repositories")]
    except failures() as exc:
        return (diff.Plan(()), {}, f"cannot list the repositories the templates govern: {describe(exc)}",
                diff.LiveState(), [])
    wishes = creation_templates.implicit_wishes(implicit.templates, live.templates,
                                                [r["repositoryName"] for r in described], named, account)
    prefixes = {wish.name: prefix for wish, prefix in wishes}
    settings = [wish for wish, _ in wishes]
    state = aws_ecr.read_described(
        ecr, [r for r in described if r["repositoryName"] in prefixes],
        {w.name for w in settings if w.lifecycle_policy is not None},
        {w.name for w in settings if w.repository_policy is not None}, concurrency)
    return diff.plan(settings, state), prefixes, None, state, settings


def _write_items(ecr: Any, plans: Sequence[ItemPlan], concurrency: int) -> dict[str, str | None]:
    """Each rule's or template's update call, concurrently: prefix -> None when applied, else the error."""
    todo = [p for p in plans if p.operation]

    def call(plan: ItemPlan) -> str | None:
        try:
            getattr(ecr, plan.operation or "")(**plan.params)
            return None
        except failures() as exc:
            return describe(exc)

    with ThreadPoolExecutor(max(1, min(concurrency, len(todo) or 1))) as pool:
        return dict(zip((p.prefix for p in todo), pool.map(call, todo), strict=True))


def _write_settings(ecr: Any, plans: Sequence[registry_settings.AccountSettingPlan],
                    concurrency: int) -> dict[str, str | None]:
    todo = [p for p in plans if p.error is None]

    def call(plan: registry_settings.AccountSettingPlan) -> str | None:
        try:
            ecr.put_account_setting(**plan.params)
            return None
        except failures() as exc:
            return describe(exc)

    with ThreadPoolExecutor(max(1, min(concurrency, len(todo) or 1))) as pool:
        return dict(zip((p.name for p in todo), pool.map(call, todo), strict=True))


def fold(registry: dict[str, Any], outcome: Outcome) -> None:
    """The outcome's sections into the report's `registry`, whose status then covers them."""
    registry.update(outcome.section)
    registry["status"] = registry_status(registry)
