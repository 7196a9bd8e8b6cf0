"""The plan for pull-through cache rules: each wanted rule against the live one with its prefix.

UpdatePullThroughCacheRule changes a rule's credential and custom role in place; the upstream,
its URL and the upstream repository prefix cannot change without replacing the rule (which is
CloudFormation's to do, from the template), so such drift is reported, never written. A wanted
credential given by the secret's name names the same secret as the full ARN (with its random
suffix) that ECR may report.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from generator.model.pull_through_cache import ROOT, PullThroughCacheRule, same_credential
from generator.reconcile.implicit import Account, ItemPlan, SettingChange

OPERATION = "update_pull_through_cache_rule"
# What only a replacement changes: the API field, and the rule's value for it.
FIXED = (("upstreamRegistryUrl", "upstream_url"), ("upstreamRegistry", "upstream_registry"),
         ("upstreamRepositoryPrefix", "upstream_repository_prefix"))


def plan(wanted: Sequence[PullThroughCacheRule], live: Mapping[str, Mapping[str, Any]], account: Account,
         error: str | None = None) -> list[ItemPlan]:
    """One plan per wanted rule; `live` maps each live rule's prefix to it as
    DescribePullThroughCacheRules shows it; `error` when the rules could not be read."""
    out = []
    for rule in wanted:
        if error:
            out.append(ItemPlan(rule.prefix, error=error))
        elif rule.prefix not in live:
            out.append(ItemPlan(rule.prefix, missing=True))
        else:
            out.append(_compare(rule, live[rule.prefix], account))
    return out


def _compare(rule: PullThroughCacheRule, live: Mapping[str, Any], account: Account) -> ItemPlan:
    changes, fixed = [], []
    for key, attribute in FIXED:
        want, have = getattr(rule, attribute), live.get(key)
        if key == "upstreamRepositoryPrefix":  # absent means ROOT
            want, have = want or ROOT, have or ROOT
        if key == "upstreamRegistry" and have is None:
            continue  # rules made before ECR reported it: the URL says it
        if want != have:
            changes.append(SettingChange(key, have, want))
            fixed.append(key)
    params: dict[str, Any] = {"ecrRepositoryPrefix": rule.prefix}
    credential = account.fill(rule.credential_arn) if rule.credential_arn else None
    have_credential = live.get("credentialArn") or None
    same = credential is not None and same_credential(credential, have_credential)
    if not same and (credential or have_credential):
        changes.append(SettingChange("credentialArn", have_credential, credential))
        if credential is None:
            fixed.append("credentialArn")  # an update sets a credential, it cannot remove one
    if credential:
        params["credentialArn"] = have_credential if same else credential
    have_role = live.get("customRoleArn") or None
    if rule.custom_role_arn != have_role:
        changes.append(SettingChange("customRoleArn", have_role, rule.custom_role_arn))
        if rule.custom_role_arn is None:
            fixed.append("customRoleArn")
    if rule.custom_role_arn:
        params["customRoleArn"] = rule.custom_role_arn
    if fixed:
        return ItemPlan(rule.prefix, tuple(changes), error=(
            f"{', '.join(fixed)} cannot be changed in place (UpdatePullThroughCacheRule sets only a new "
            "credential or custom role): the rule must be replaced, by a stack update or by hand"))
    if not changes:
        return ItemPlan(rule.prefix)
    return ItemPlan(rule.prefix, tuple(changes), OPERATION, params)
