"""`registry:` in ecr.yaml: resolution, the template round trip, and which setting scans a repository."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generator.base import template_body
from generator.base.errors import InputError
from generator.lint.runner import lint_text
from generator.model import config, effective_scan, registry, registry_metadata
from generator.model.repository import SYSTEM_NAME_PATTERN
from generator.render import template

CONFIG = """\
system_name: myapp
repositories:
  - name: web
registry:
  scanning:
    type: ENHANCED
    scan_on_push: ["${SystemName}-ecr-*"]
    continuous: ["${SystemName}-ecr-web"]
  replication:
    - destinations: [{region: eu-west-1}, {region: us-east-2, registry_id: "111122223333"}]
      prefixes: ["${SystemName}-ecr-"]
  policy_statements:
    - Sid: ecrgen-${SystemName}-in
      Effect: Allow
      Principal: {AWS: "arn:aws:iam::111122223333:root"}
      Action: ecr:ReplicateImage
      Resource: "arn:aws:ecr:*:*:repository/${SystemName}-ecr-*"
      Condition: {StringEquals: {"aws:username": "${aws:username}"}}
"""


@pytest.fixture()
def cfg(tmp_path: Path) -> config.Config:
    (tmp_path / "ecr.yaml").write_text(CONFIG)
    return config.load(tmp_path / "ecr.yaml")


def part_of(cfg: config.Config, system_name: str | None = None) -> registry.Part:
    assert cfg.registry is not None
    return registry.resolve(cfg.registry, cfg.name_pattern, system_name or cfg.system_name)


def test_the_part_is_resolved_for_a_system_name(cfg: config.Config) -> None:
    part = part_of(cfg)
    assert (part.namespace, part.sid_prefix) == ("myapp-ecr-", "ecrgen-myapp-")
    assert part.scan_on_push == ("myapp-ecr-*",) and part.continuous == ("myapp-ecr-web",)
    assert part.replication == (registry.Replication((("eu-west-1", None), ("us-east-2", "111122223333")),
                                                     ("myapp-ecr-",)),)
    statement = part.statements[0]
    assert statement["Sid"] == "ecrgen-myapp-in"
    assert statement["Condition"] == {"StringEquals": {"aws:username": "${aws:username}"}}  # policy variable kept
    prod = part_of(cfg, "prod")
    assert (prod.namespace, prod.scan_on_push, prod.statements[0]["Sid"]) == ("prod-ecr-", ("prod-ecr-*",),
                                                                               "ecrgen-prod-in")


def test_a_pattern_without_a_fixed_prefix_owns_nothing(tmp_path: Path) -> None:
    (tmp_path / "ecr.yaml").write_text("system_name: a\nname_pattern: '{name}'\nrepositories: [{name: web}]\n"
                                       "registry: {}\n")
    with pytest.raises(InputError, match=r"ecr.yaml:4: registry: needs a name_pattern with a fixed prefix"):
        config.load(tmp_path / "ecr.yaml")


def test_the_template_carries_the_part_for_post_deploy(cfg: config.Config) -> None:
    body = template.render(template.build(cfg))
    assert [f.render() for f in lint_text(body, "t.yaml") if f.level == "error"] == []
    assert "W9510" not in {f.rule_id for f in lint_text(body, "t.yaml")}
    parsed = template_body.parse(body, "stack s")
    assert registry_metadata.from_template(parsed, "stack s") == part_of(cfg)
    assert "${SystemName}" not in str(parsed["Metadata"])  # CloudFormation resolves nothing there


def test_via_template_emits_the_singletons_and_warns(cfg: config.Config, tmp_path: Path) -> None:
    (tmp_path / "ecr.yaml").write_text(CONFIG.replace("registry:\n", "registry:\n  via: template\n"))
    cfg = config.load(tmp_path / "ecr.yaml")
    body = template.render(template.build(cfg))
    parsed = template_body.parse(template.render(template.build(cfg), "json"), "s")
    types = {name: r["Type"] for name, r in parsed["Resources"].items() if name.startswith("Ecrgen")}
    assert types == {"EcrgenRegistryScanning": "AWS::ECR::RegistryScanningConfiguration",
                     "EcrgenReplication": "AWS::ECR::ReplicationConfiguration",
                     "EcrgenRegistryPolicy": "AWS::ECR::RegistryPolicy"}
    scanning = parsed["Resources"]["EcrgenRegistryScanning"]["Properties"]
    assert scanning["Rules"][0]["RepositoryFilters"][0]["Filter"] == {"Fn::Sub": "${SystemName}-ecr-*"}
    condition = parsed["Resources"]["EcrgenRegistryPolicy"]["Properties"]["PolicyText"]["Statement"][0]["Condition"]
    assert condition == {"StringEquals": {"aws:username": "${aws:username}"}}
    findings = lint_text(body, "t.yaml")
    assert [f.rule_id for f in findings if f.rule_id == "W9510"] == ["W9510"] * 3
    assert not [f for f in findings if f.level == "error"]
    assert registry_metadata.from_template(parsed, "s") is None  # CloudFormation owns it: post-deploy leaves it


def test_a_damaged_registry_in_a_deployed_template_is_bad_input() -> None:
    meta = {"Metadata": {"ecrgen": {"system_name": "a", "name_pattern": "a-{name}",
                                    "registry": {"scanning": {"scan_on_push": ["b-*"]}}}}}
    with pytest.raises(InputError, match=r"Metadata.ecrgen.registry.scanning.scan_on_push\[0\]: 'b-\*' is outside"):
        registry_metadata.from_template(meta, "stack s")
    meta["Metadata"]["ecrgen"]["registry"] = {"scaning": {}}
    with pytest.raises(InputError, match=r"stack s: Metadata.ecrgen.registry.scaning"):
        registry_metadata.from_template(meta, "stack s")
    assert registry_metadata.from_template({"Resources": {}}, "s") is None


# The table of the ECR user guide, "Filters to choose which repositories are scanned".
NAMES = ["prod", "repo-prod", "prod-repo", "repo-prod-repo", "prodrepo"]
TABLE = {"prod": [1, 1, 1, 1, 1], "*prod": [1, 1, 0, 0, 0], "prod*": [1, 0, 1, 0, 1], "*prod*": [1, 1, 1, 1, 1],
         "prod*repo": [0, 0, 1, 0, 1]}


@pytest.mark.parametrize("pattern", sorted(TABLE))
def test_filters_match_as_the_user_guide_says(pattern: str) -> None:
    assert [int(effective_scan.filter_matches(pattern, name)) for name in NAMES] == TABLE[pattern]


def rule(frequency: str, *filters: str) -> dict[str, object]:
    return {"scanFrequency": frequency, "repositoryFilters": [{"filter": f, "filterType": "WILDCARD"} for f in filters]}


@pytest.mark.parametrize(("scanning", "repo_setting", "frequency", "source"), [
    ({"scanType": "BASIC", "rules": []}, True, "SCAN_ON_PUSH", "repository setting scanOnPush true"),
    ({"scanType": "BASIC", "rules": []}, False, "MANUAL", "repository setting scanOnPush false"),
    ({"scanType": "BASIC", "rules": [rule("SCAN_ON_PUSH", "team-b-*")]}, True, "MANUAL",
     "no BASIC scan-on-push filter matches"),
    ({"scanType": "BASIC", "rules": [rule("SCAN_ON_PUSH", "myapp-ecr-*")]}, False, "SCAN_ON_PUSH",
     "registry BASIC rule SCAN_ON_PUSH, filter 'myapp-ecr-*'"),
    ({"scanType": "ENHANCED", "rules": [rule("SCAN_ON_PUSH", "myapp-*"), rule("CONTINUOUS_SCAN", "web")]}, True,
     "CONTINUOUS_SCAN", "registry ENHANCED rule CONTINUOUS_SCAN, filter 'web'"),
    ({"scanType": "ENHANCED", "rules": [rule("CONTINUOUS_SCAN", "team-b-*")]}, True, "OFF",
     "no ENHANCED scanning filter matches"),
    ({"scanType": "ENHANCED", "rules": []}, True, "OFF", "enhanced scanning without any rule"),
])
def test_which_setting_scans_a_repository(scanning: dict[str, object], repo_setting: bool, frequency: str,
                                          source: str) -> None:
    scan = effective_scan.effective_scan(scanning, "myapp-ecr-web", repo_setting)
    assert scan.frequency == frequency
    assert source in scan.source
    assert scan.on_push == (frequency in ("SCAN_ON_PUSH", "CONTINUOUS_SCAN"))


# --- namespaces: no config's holds another's --------------------------------------------------

_word = st.text("ab0", min_size=1, max_size=3)
# SystemNames built of short words and every separator a name may hold: 'a', 'a-b', 'a--b', 'a.b/c'...
system_names = st.builds(lambda first, rest: first + "".join(sep + word for sep, word in rest), _word,
                         st.lists(st.tuples(st.sampled_from(["-", "--", "---", ".", "_", "__", "/"]), _word),
                                  max_size=3))
PATTERNS = ["${SystemName}-{name}", "${SystemName}-ecr-{name}", "${SystemName}/{name}", "team-${SystemName}--{name}",
            "${SystemName}.${SystemName}-{name}"]


def bare_part(name_pattern: str, system_name: str) -> registry.Part:
    return registry.resolve(registry.RegistrySection(), name_pattern, system_name)


@settings(max_examples=400, deadline=None)
@given(names=st.lists(system_names, min_size=2, max_size=2, unique=True), pattern=st.sampled_from(PATTERNS),
       pick=st.integers(0, 1), suffix=st.text("ab-._/*X", max_size=8))
def test_no_value_has_two_owners(names: list[str], pattern: str, pick: int, suffix: str) -> None:
    """Whatever the two SystemNames ('a' and 'a-b', 'a' and 'a--b', 'a.b/c'...), a filter, prefix
    or Sid built from either's namespace is owned by at most one of them."""
    parts = [bare_part(pattern, name) for name in names]
    value = parts[pick].namespace + suffix
    sid = parts[pick].sid_prefix + suffix
    assert sum(p.owns(value) for p in parts) <= 1
    assert sum(p.owns_statement({"Sid": sid}) for p in parts) <= 1
    assert all(re.fullmatch(SYSTEM_NAME_PATTERN, name) for name in names)


@pytest.mark.parametrize(("system_name", "value", "owner"), [
    ("shop", "shop-*", None), ("shop", "shop-api-*", "shop-api"), ("shop", "shop-api", None),
    ("a", "a--b-web", "a--b"), ("a.b", "a.b-c/d-x", "a.b-c/d"), ("shop", "shop-web*", None),
])
def test_a_value_of_a_longer_system_name_is_that_name_s(system_name: str, value: str, owner: str | None) -> None:
    part = bare_part("${SystemName}-{name}", system_name)
    assert part.longer_owner(value) == owner
    assert part.owns(value) is (owner is None)


@pytest.mark.parametrize(("sid", "owned"), [
    ("ecrgen-shop-ReplicateIn", True), ("ecrgen-shop-api-ReplicateIn", False), ("ecrgen-shop-Replicate-In", True),
    ("ecrgen-shop-replicate-in", False), ("ecrgen-shop--x-In", False), ("ecrgen-shopping-In", False),
])
def test_a_sid_is_owned_by_exactly_one_system_name(sid: str, owned: bool) -> None:
    assert bare_part("${SystemName}-{name}", "shop").owns_statement({"Sid": sid}) is owned


def test_declaring_what_a_longer_name_would_own_is_refused(tmp_path: Path) -> None:
    text = CONFIG.replace('${SystemName}-ecr-web"]', '${SystemName}-ecr-x-ecr-web"]').replace(
        "ecrgen-${SystemName}-in", "ecrgen-${SystemName}-replicate-in")
    (tmp_path / "ecr.yaml").write_text(text)
    with pytest.raises(InputError) as raised:
        config.load(tmp_path / "ecr.yaml")
    message = str(raised.value)
    assert "registry.scanning.continuous[0]: 'myapp-ecr-x-ecr-web' also lies in the namespace of SystemName " \
           "'myapp-ecr-x' ('myapp-ecr-x-ecr-')" in message
    assert "registry.policy_statements[0].Sid: 'ecrgen-myapp-replicate-in' reads as a Sid of SystemName " \
           "'myapp-replicate'" in message and "(e.g. ecrgen-myapp-ReplicateIn)" in message


def test_an_old_style_sid_is_left_in_place_and_reported() -> None:
    """`ecrgen-myapp-replicate-in`, written before Sids were delimited, may be `myapp-replicate`'s:
    never removed, reported so that its owner can remove it by hand."""
    from generator.reconcile.registry_merge import POLICY, left_alone, merge_policy

    part = bare_part("${SystemName}-ecr-{name}", "myapp")
    old = {"Sid": "ecrgen-myapp-replicate-in", "Effect": "Allow", "Principal": {"AWS": "*"},
           "Action": "ecr:ReplicateImage"}
    live = {"Version": "2012-10-17", "Statement": [old, {**old, "Sid": "ecrgen-myapp-Gone"}]}
    assert merge_policy(live, part) == {"Version": "2012-10-17", "Statement": [old]}
    [left] = left_alone({POLICY: live}, [part])
    assert (left.setting, left.item) == (POLICY, "ecrgen-myapp-replicate-in")
    assert "SystemName 'myapp-replicate'" in left.reason and "remove it by hand" in left.reason


def test_via_template_fills_this_account_and_region_as_post_deploy_does(tmp_path: Path) -> None:
    resource = "arn:${AWS::Partition}:ecr:${AWS::Region}:${AWS::AccountId}:repository/${SystemName}-ecr-*"
    text = CONFIG.replace("registry:\n", "registry:\n  via: template\n").replace(
        '"arn:aws:ecr:*:*:repository/${SystemName}-ecr-*"', f'"{resource}"').replace(
        "arn:aws:iam::111122223333:root", "arn:aws:iam::${AWS::AccountId}:root")
    (tmp_path / "ecr.yaml").write_text(text)
    parsed = template_body.parse(template.render(template.build(config.load(tmp_path / "ecr.yaml")), "json"), "s")
    statement = parsed["Resources"]["EcrgenRegistryPolicy"]["Properties"]["PolicyText"]["Statement"][0]
    assert statement["Resource"] == {"Fn::Sub": resource}
    assert statement["Principal"] == {"AWS": {"Fn::Sub": "arn:aws:iam::${AWS::AccountId}:root"}}
    assert statement["Condition"] == {"StringEquals": {"aws:username": "${aws:username}"}}
