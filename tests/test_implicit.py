"""The pure core of what ECR creates by itself: the config sections, which template governs a
repository, the plans for rules and templates, the signing merge, the metadata round trip."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from generator.base.errors import InputError
from generator.model import config, implicit
from generator.model.creation_templates import governing
from generator.model.registry import Part
from generator.model.registry_settings import SigningRule
from generator.reconcile import creation_templates, pull_through_cache
from generator.reconcile.implicit import Account
from generator.reconcile.registry_merge import Conflict, merge_signing
from generator.render import template

ACCOUNT = Account("123456789012", "us-east-1", "aws")
ARN = f"arn:aws:ecr:us-east-1:{ACCOUNT.account_id}:repository/x"
CONFIG = """\
system_name: myapp
defaults:
  image_tag_mutability: IMMUTABLE_WITH_EXCLUSION
  mutability_exclusions: [latest]
  scan_on_push: false
  lifecycle:
    - {tag_status: untagged, since_pushed_days: 7}
  tags: {Owner: platform}
repositories:
  - name: web
pull_through_cache:
  - prefix: "${SystemName}-ecr-hub"
    upstream: docker-hub
    credential: ecr-pullthroughcache/hub
  - prefix: "${SystemName}-ecr-ecr"
    upstream_url: 111122223333.dkr.ecr.eu-west-1.amazonaws.com
    custom_role: arn:aws:iam::123456789012:role/puller
    upstream_repository_prefix: base
creation_templates:
  - prefix: "${SystemName}-ecr-hub"
    applied_for: [PULL_THROUGH_CACHE]
    access:
      pull: {services: [lambda]}
  - prefix: "${SystemName}-ecr-pushed/"
    applied_for: [CREATE_ON_PUSH, REPLICATION]
    image_tag_mutability: MUTABLE
    mutability_exclusions: []
    lifecycle: []
    enforce_existing: false
    description: pushed by pipelines
    resource_tags: {Team: a}
"""


def load(tmp_path: Path, text: str = CONFIG) -> config.Config:
    (tmp_path / "ecr.yaml").write_text(text)
    return config.load(tmp_path / "ecr.yaml")


def test_sections_resolve_with_defaults_and_system_name(tmp_path: Path) -> None:
    cfg = load(tmp_path)
    hub, ecr = cfg.implicit.rules
    assert (hub.prefix, hub.upstream_registry, hub.upstream_url) == (
        "${SystemName}-ecr-hub", "docker-hub", "registry-1.docker.io")
    assert hub.credential_arn == "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:" \
                                 "ecr-pullthroughcache/hub"
    assert ecr.upstream_registry == "ecr"  # from its URL
    cached, pushed = cfg.implicit.templates
    assert (cached.image_tag_mutability, cached.mutability_exclusions, cached.scan_on_push) == (
        "IMMUTABLE_WITH_EXCLUSION", ("latest",), False)  # defaults
    assert cached.lifecycle_policy is not None and cached.resource_tags == (("Owner", "platform"),)
    assert cached.repository_policy is not None and cached.enforce_existing
    assert (pushed.image_tag_mutability, pushed.lifecycle_policy, pushed.resource_tags) == ("MUTABLE", None,
                                                                                            (("Team", "a"),))
    filled = cfg.implicit.for_system("other", implicit.owner_part(cfg.name_pattern, "other", "namespace"))
    assert [r.prefix for r in filled.rules] == ["other-ecr-hub", "other-ecr-ecr"]


def test_a_system_name_that_leaves_the_namespace_or_the_length_is_refused(tmp_path: Path) -> None:
    cfg = load(tmp_path)
    with pytest.raises(InputError, match=r"pull_through_cache\[0\].prefix: 'a-very-long-system-name-ecr-hub' is "
                                         "not a valid prefix: 2-30"):
        cfg.implicit.for_system("a-very-long-system-name",
                                implicit.owner_part(cfg.name_pattern, "a-very-long-system-name", "namespace"))


def test_owner_registry_may_claim_any_prefix(tmp_path: Path) -> None:
    text = CONFIG.replace('"${SystemName}-ecr-hub"', "docker-hub", 1) + "owner: registry\n"
    with pytest.raises(InputError, match="'docker-hub' is outside this config's namespace"):
        load(tmp_path, text.replace("owner: registry\n", ""))
    assert load(tmp_path, text).implicit.rules[0].prefix == "docker-hub"
    root = text.replace('prefix: "${SystemName}-ecr-pushed/"', "prefix: ROOT")
    assert load(tmp_path, root).implicit.templates[1].prefix == "ROOT"


@pytest.mark.parametrize(("name", "prefixes", "expected"), [
    ("myapp-ecr-hub/library/nginx", ["myapp-ecr-hub", "myapp-ecr-hub/library", "ROOT"], "myapp-ecr-hub/library"),
    ("myapp-ecr-hub/nginx", ["myapp-ecr-hub/", "myapp-ecr"], "myapp-ecr-hub/"),
    ("myapp-ecr-hubx/nginx", ["myapp-ecr-hub"], None),  # a prefix is a whole path segment
    ("myapp-ecr-hub", ["myapp-ecr-hub"], None),  # the prefix itself is no repository under it
    ("anything", ["myapp-ecr-hub", "ROOT"], "ROOT"),
])
def test_the_longest_prefix_governs(name: str, prefixes: list[str], expected: str | None) -> None:
    assert governing(name, prefixes) == expected


def test_only_repositories_an_enforced_template_of_ours_governs_are_wished(tmp_path: Path) -> None:
    cfg = load(tmp_path)
    templates = cfg.implicit.for_system("myapp", implicit.owner_part(cfg.name_pattern, "myapp", "namespace")).templates
    names = ["myapp-ecr-hub/a", "myapp-ecr-hub/team-b/x", "myapp-ecr-pushed/b", "myapp-ecr-web", "other/c"]
    wishes = creation_templates.implicit_wishes(templates, ["myapp-ecr-hub/team-b"], names, {"myapp-ecr-web"},
                                                ACCOUNT)
    # team-b's longer prefix governs its repository; pushed is not enforced; web is named.
    assert [(wish.name, prefix) for wish, prefix in wishes] == [("myapp-ecr-hub/a", "myapp-ecr-hub")]
    assert wishes[0][0].exclusion_filters == frozenset({"latest"}) and wishes[0][0].scan_on_push is False


def test_a_rule_is_in_sync_with_the_full_arn_of_its_named_secret(tmp_path: Path) -> None:
    rule = load(tmp_path).implicit.for_system("myapp", implicit.owner_part("${SystemName}-ecr-{name}", "myapp",
                                                                           "namespace")).rules[0]
    live = {**rule.to_api(), "credentialArn": f"{ACCOUNT.fill(rule.credential_arn or '')}-AbCdEf"}
    assert pull_through_cache.plan([rule], {rule.prefix: live}, ACCOUNT) == [
        pull_through_cache.ItemPlan(rule.prefix)]
    other = {**live, "credentialArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/x"}
    (plan,) = pull_through_cache.plan([rule], {rule.prefix: other}, ACCOUNT)
    assert plan.operation == "update_pull_through_cache_rule" and plan.error is None
    (gone,) = pull_through_cache.plan([replace(rule, credential_arn=None)], {rule.prefix: other}, ACCOUNT)
    assert gone.operation is None and "cannot be changed in place" in (gone.error or "")
    assert pull_through_cache.plan([rule], {}, ACCOUNT)[0].missing


def test_templates_compare_by_meaning(tmp_path: Path) -> None:
    cfg = load(tmp_path)
    cached = cfg.implicit.for_system("myapp", implicit.owner_part(cfg.name_pattern, "myapp", "namespace")).templates[0]
    live = cached.to_api(ARN)
    policy = json.loads(live["repositoryPolicy"])
    policy["Statement"][0]["Action"].reverse()
    lifecycle = json.loads(live["lifecyclePolicy"])
    reordered = {**live, "repositoryPolicy": json.dumps(policy, indent=4), "lifecyclePolicy": json.dumps(lifecycle),
                 "appliedFor": list(reversed(live["appliedFor"])), "customRoleArn": None, "description": ""}
    assert creation_templates.differences(cached, reordered, ACCOUNT) == ()
    widened = {**reordered, "imageTagMutabilityExclusionFilters": [{"filter": "*", "filterType": "WILDCARD"}]}
    (change,) = creation_templates.differences(cached, widened, ACCOUNT)
    assert (change.setting, change.before, change.after) == (
        "imageTagMutability", "IMMUTABLE_WITH_EXCLUSION [*]", "IMMUTABLE_WITH_EXCLUSION [latest]")


OURS = Part("myapp-ecr-", "ecrgen-myapp-", None, (), (), (), (),
            signing=(SigningRule("arn:aws:signer:us-east-1:123456789012:/signing-profiles/mine", ("myapp-ecr-*",)),))
FILTERS = st.sampled_from(["myapp-ecr-*", "myapp-ecr-web", "team-b-*", "other/*", "*"])
RULES = st.lists(st.fixed_dictionaries({"signingProfileArn": st.sampled_from(["p1", "p2"]),
                                        "repositoryFilters": st.lists(st.builds(
                                            lambda f: {"filter": f, "filterType": "WILDCARD_MATCH"}, FILTERS),
                                            max_size=3)}), max_size=6)


@given(rules=RULES)
def test_the_signing_merge_keeps_every_other_rule_and_is_idempotent(rules: list[dict[str, Any]]) -> None:
    def ours(rule: dict[str, Any]) -> bool:
        return bool(rule["repositoryFilters"]) and all(OURS.owns(f["filter"]) for f in rule["repositoryFilters"])

    try:
        merged = merge_signing({"rules": rules}, OURS)
    except Conflict:
        assert len([r for r in rules if not ours(r)]) + 1 > 10
        return
    assert [r for r in merged["rules"] if not ours(r)] == [r for r in rules if not ours(r)]  # in order, as they were
    assert [r for r in merged["rules"] if ours(r)] == [rule.to_api() for rule in OURS.signing or ()]
    assert merge_signing(merged, OURS) == merged
    assert merge_signing({"rules": rules}, replace(OURS, signing=None)) == {"rules": rules}  # not managed


def test_the_template_records_what_post_deploy_keeps(tmp_path: Path) -> None:
    cfg = load(tmp_path)
    data = json.loads(template.render(template.build(cfg), "json"))
    wanted = cfg.implicit.for_system("myapp", implicit.owner_part(cfg.name_pattern, "myapp", "namespace"))
    assert implicit.from_template(data, "stack s") == wanted
    types = [resource["Type"] for resource in data["Resources"].values()]
    assert types.count("AWS::ECR::PullThroughCacheRule") == 2
    assert types.count("AWS::ECR::RepositoryCreationTemplate") == 2


def test_the_template_route_emits_the_signing_configuration(tmp_path: Path) -> None:
    text = CONFIG + ("registry:\n  via: template\n  signing:\n"
                     "    - signing_profile: arn:aws:signer:us-east-1:123456789012:/signing-profiles/mine\n"
                     "      filters: [\"${SystemName}-ecr-*\"]\n")
    data = json.loads(template.render(template.build(load(tmp_path, text)), "json"))
    assert data["Resources"]["EcrgenSigning"]["Properties"]["Rules"] == [
        {"SigningProfileArn": "arn:aws:signer:us-east-1:123456789012:/signing-profiles/mine",
         "RepositoryFilters": [{"Filter": {"Fn::Sub": "${SystemName}-ecr-*"}, "FilterType": "WILDCARD_MATCH"}]}]
    with pytest.raises(InputError, match=r"registry\.account_settings: no CloudFormation resource sets"):
        load(tmp_path, text + "  account_settings: {blob_mounting: ENABLED}\n")


def test_account_wide_resources_live_in_the_first_stack_only(tmp_path: Path) -> None:
    """Each exists once per account and region; they count against that stack's limits."""
    from generator.render import shards

    cfg = load(tmp_path, CONFIG.replace("  - name: web\n", "  - name: web\n  - name: api\n  - name: batch\n")
               + "max_per_stack: 2\nregistry:\n  pull_time_exclusions: [arn:aws:iam::123456789012:role/scanner]\n")
    rendered, index = shards.render_all(cfg, tmp_path / "templates" / "ecr.yaml", "json", "ecr.yaml")
    assert index is not None and len(rendered) == 2
    types = [[r["Type"] for r in json.loads(part.text)["Resources"].values()] for part in rendered]
    assert types[0].count("AWS::ECR::PullThroughCacheRule") == 2 and "AWS::ECR::PullTimeUpdateExclusion" in types[0]
    assert [t for t in types[1] if t != "AWS::ECR::Repository"] == []
    metadata = [json.loads(part.text).get("Metadata", {}).get("ecrgen", {}) for part in rendered]
    assert "creationTemplates" in metadata[0] and "creationTemplates" not in metadata[1]
    assert metadata[0]["registry"] == metadata[1]["registry"]  # the same registry part in every stack


def test_the_post_deploy_policy_gains_exactly_what_the_sections_need(tmp_path: Path) -> None:
    def actions(text: str) -> set[str]:
        data = json.loads(template.render(template.build(load(tmp_path, text)), "json"))
        statements = data["Resources"][template.POST_DEPLOY_POLICY_ID]["Properties"]["PolicyDocument"]["Statement"]
        return {a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}

    plain = actions("system_name: myapp\npost_deploy_policy: true\nrepositories:\n  - name: web\n")
    full = actions(CONFIG + "post_deploy_policy: true\n")
    assert full - plain == {"ecr:DescribePullThroughCacheRules", "ecr:UpdatePullThroughCacheRule",
                            "ecr:DescribeRepositoryCreationTemplates", "ecr:UpdateRepositoryCreationTemplate",
                            "ecr:GetRepositoryPolicy", "ecr:SetRepositoryPolicy", "iam:PassRole"}
    assert not {a for a in plain if "PullThrough" in a or "CreationTemplate" in a or "Signing" in a}
