"""`registry:` in ecr.yaml: resolution, the template round trip, and which setting scans a repository."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.base import template_body
from generator.base.errors import InputError
from generator.lint.runner import lint_text
from generator.model import config, registry
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
    assert registry.from_template(parsed, "stack s") == part_of(cfg)
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
    assert registry.from_template(parsed, "s") is None  # CloudFormation owns it: post-deploy leaves it


def test_a_damaged_registry_in_a_deployed_template_is_bad_input() -> None:
    meta = {"Metadata": {"ecrgen": {"system_name": "a", "name_pattern": "a-{name}",
                                    "registry": {"scanning": {"scan_on_push": ["b-*"]}}}}}
    with pytest.raises(InputError, match=r"Metadata.ecrgen.registry.scanning.scan_on_push\[0\]: 'b-\*' is outside"):
        registry.from_template(meta, "stack s")
    meta["Metadata"]["ecrgen"]["registry"] = {"scaning": {}}
    with pytest.raises(InputError, match=r"stack s: Metadata.ecrgen.registry.scaning"):
        registry.from_template(meta, "stack s")
    assert registry.from_template({"Resources": {}}, "s") is None


# The table of the ECR user guide, "Filters to choose which repositories are scanned".
NAMES = ["prod", "repo-prod", "prod-repo", "repo-prod-repo", "prodrepo"]
TABLE = {"prod": [1, 1, 1, 1, 1], "*prod": [1, 1, 0, 0, 0], "prod*": [1, 0, 1, 0, 1], "*prod*": [1, 1, 1, 1, 1],
         "prod*repo": [0, 0, 1, 0, 1]}


@pytest.mark.parametrize("pattern", sorted(TABLE))
def test_filters_match_as_the_user_guide_says(pattern: str) -> None:
    assert [int(registry.filter_matches(pattern, name)) for name in NAMES] == TABLE[pattern]


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
    scan = registry.effective_scan(scanning, "myapp-ecr-web", repo_setting)
    assert scan.frequency == frequency
    assert source in scan.source
    assert scan.on_push == (frequency in ("SCAN_ON_PUSH", "CONTINUOUS_SCAN"))
