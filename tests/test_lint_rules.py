"""ecrgen's cfn-lint rules, in-process: each fires at the right line and stays quiet where it should."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cfnlint.decode.decode import decode_str
from cfnlint.rules import Rules
from cfnlint.template import Template
from hypothesis import given, settings
from hypothesis import strategies as st

from generator.lint.rules import RULES_DIR
from generator.lint.rules._helpers import UNRESOLVED, literal, lookup
from generator.lint.rules.resources.ecr.LifecyclePolicyText import LifecyclePolicyText
from generator.lint.runner import lint_path, lint_text
from generator.model import lifecycle
from generator.model.stack_limits import MAX_DIRECT_BODY_BYTES

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "lint"

# rule id -> (fixture where it fires, the lines it must report there)
FIRES = {
    "E9501": ("lifecycle_invalid.yaml", [21, 37, 43, 50, 73, 87]),
    "E9502": ("exclusions_invalid.yaml", [9]),
    "E9503": ("exclusions_invalid.yaml", [20]),
    "E9504": ("exclusions_invalid.yaml", [33]),
    "E9505": ("exclusions_invalid.yaml", [52, 54]),
    "E9506": ("policy_public.yaml", [23, 39, 53, 67, 73, 79, 85, 91, 97, 116, 122, 128, 134, 140, 159]),
    "E9511": ("access_invalid.yaml", [25, 30, 55, 69, 80]),
    "E9512": ("access_invalid.yaml", [21, 33, 53]),
    "W9501": ("settings_weak.yaml", [9, 18, 35, 45]),
    "W9502": ("settings_weak.yaml", [11, 18, 26, 37]),
    "W9503": ("settings_weak.yaml", [18, 38]),
    "W9511": ("access_invalid.yaml", [17, 33, 53]),
    "I9501": ("deletion_policy.yaml", [4, 14]),
    "I9502": ("deletion_policy.yaml", [17, 38]),
    "W9510": ("registry_singletons.yaml", [4, 12, 19]),
    "E9513": ("implicit_invalid.yaml", [21, 28]),
    "E9514": ("implicit_invalid.yaml", [8, 14]),
    "W9512": ("implicit_invalid.yaml", [32, 38]),
}
# rule id -> fixture with near misses (and unresolvable intrinsics) where it must stay quiet
QUIET = {
    "E9501": "lifecycle_valid.yaml",
    "E9502": "exclusions_valid.yaml",
    "E9503": "exclusions_valid.yaml",
    "E9504": "exclusions_valid.yaml",
    "E9505": "exclusions_valid.yaml",
    "E9506": "policy_private.yaml",
    "E9511": "access_valid.yaml",
    "E9512": "access_valid.yaml",
    "W9501": "settings_strong.yaml",
    "W9502": "settings_strong.yaml",
    "W9503": "settings_strong.yaml",
    "W9511": "access_valid.yaml",
    "I9501": "settings_strong.yaml",
    "I9502": "settings_strong.yaml",
    "W9510": "registry_shared.yaml",
    "E9513": "implicit_valid.yaml",
    "E9514": "implicit_valid.yaml",
    "W9512": "implicit_valid.yaml",
}
CLEAN = [FIXTURES / name for name in sorted(set(QUIET.values()))] + [FIXTURES / "cdk.json",
                                                                    ROOT / "templates" / "ecr.yaml"]


def ecr_rules() -> list:
    return list(Rules.create_from_directory(str(RULES_DIR)).values())


@pytest.mark.parametrize("rule_id", sorted(FIRES))
def test_rule_fires_at_the_offending_line(rule_id: str) -> None:
    fixture, lines = FIRES[rule_id]
    findings = lint_path(FIXTURES / fixture)
    assert sorted(f.line for f in findings if f.rule_id == rule_id) == lines


@pytest.mark.parametrize("rule_id", sorted(QUIET))
def test_rule_stays_quiet_on_near_misses(rule_id: str) -> None:
    assert [f.render() for f in lint_path(FIXTURES / QUIET[rule_id]) if f.rule_id == rule_id] == []


@pytest.mark.parametrize("path", CLEAN, ids=lambda p: p.name)
def test_clean_templates_have_no_finding_at_all(path: Path) -> None:
    """The quiet fixtures, the CDK-style template and the shipped template: no false findings."""
    assert [f.render() for f in lint_path(path)] == []


def test_a_creation_templates_policies_are_checked_like_a_repositorys() -> None:
    """Its LifecyclePolicy by the lifecycle rule, its RepositoryPolicy by the access rules, each
    finding at the line of the offending rule or statement in the block literal; and a signing
    configuration is a registry singleton like the others."""
    findings = lint_path(FIXTURES / "implicit_invalid.yaml")

    def lines(rule_id: str) -> list[int]:
        return sorted(f.line for f in findings if f.rule_id == rule_id)

    assert lines("E9501") == [43, 45]
    assert lines("E9511") == [56]
    assert lines("E9512") == lines("W9511") == [54]
    assert lines("E9506") == [53]
    assert lines("W9510") == [59]


def test_every_rule_has_a_firing_and_a_quiet_case() -> None:
    ids = {rule.id for rule in ecr_rules()}
    assert ids == set(FIRES) | {"W9504"} == set(QUIET) | {"W9504"}


def test_rules_follow_the_plugin_format() -> None:
    rules = ecr_rules()
    files = [p for p in RULES_DIR.rglob("*.py") if not p.name.startswith("_")]
    assert len(rules) == len(files), "one rule class per file"
    for rule in rules:
        assert rule.id[0] in "EWI" and rule.id[1:3] == "95", rule.id
        assert rule.shortdesc and len(rule.description) > len(rule.shortdesc)
        assert rule.source_url.startswith("https://docs.aws.amazon.com/"), rule.id
        assert rule.tags


def test_rule_folders_are_packages_so_an_installed_ecrgen_ships_them() -> None:
    for folder in {p.parent for p in RULES_DIR.rglob("*.py")}:
        assert (folder / "__init__.py").is_file(), folder


def test_lifecycle_problems_are_one_finding_each_with_the_policy_problem() -> None:
    messages = [f.message for f in lint_path(FIXTURES / "lifecycle_invalid.yaml") if f.rule_id == "E9501"]
    assert any("not valid JSON" in m for m in messages)
    assert sum("each rule needs a unique priority" in m for m in messages) == 2
    assert any("tagStatus 'any' must have the highest priority" in m for m in messages)
    assert any("got 'bogus'" in m for m in messages)


def test_policy_lines_map_only_through_a_block_literal() -> None:
    """A JSON template's policy is one line: the finding points at that line."""
    text = ('{"Resources": {"R": {"Type": "AWS::ECR::Repository", "DeletionPolicy": "Retain",\n'
            '"UpdateReplacePolicy": "Retain", "Properties": {"ImageTagMutability": "IMMUTABLE",\n'
            '"ImageScanningConfiguration": {"ScanOnPush": true}, "LifecyclePolicy": {\n'
            '"LifecyclePolicyText": "{\\n\\"rules\\": [{\\"rulePriority\\": 1, \\"selection\\": '
            '{\\"tagStatus\\": \\"any\\", \\"countType\\": \\"imageCountMoreThan\\", \\"countNumber\\": 0},\\n'
            '\\"action\\": {\\"type\\": \\"expire\\"}}]}"}}}}}\n')
    assert [(f.rule_id, f.line) for f in lint_text(text, "t.json")] == [("E9501", 4)]


def small_repository(index: int) -> str:
    return (f"  Repo{index}:\n    Type: AWS::ECR::Repository\n    DeletionPolicy: Retain\n"
            "    UpdateReplacePolicy: Retain\n    Properties:\n      ImageTagMutability: IMMUTABLE\n"
            "      ImageScanningConfiguration:\n        ScanOnPush: true\n      LifecyclePolicy:\n"
            "        LifecyclePolicyText: '{\"rules\":[{\"rulePriority\":1,\"description\":\"Keep 20\","
            "\"selection\":{\"tagStatus\":\"any\",\"countType\":\"imageCountMoreThan\",\"countNumber\":20},"
            "\"action\":{\"type\":\"expire\"}}]}'\n")


def template_of(size: int) -> str:
    """A clean template of about `size` bytes: three repositories, then comment lines, which
    count toward the body CloudFormation is sent but give cfn-lint nothing to validate (a
    template that size in repositories takes it seconds)."""
    text = "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n" + "".join(map(small_repository, range(3)))
    padding = "# " + "x" * 97 + "\n"
    while len(text.encode()) < size:
        text += padding
    return text


def test_body_size_warns_over_the_direct_deploy_limit() -> None:
    findings = lint_text(template_of(MAX_DIRECT_BODY_BYTES + 1), "big.yaml")
    assert [(f.rule_id, f.line) for f in findings] == [("W9504", 1)]
    assert "--s3-bucket" in findings[0].message


def test_body_size_is_quiet_up_to_the_limit() -> None:
    text = template_of(MAX_DIRECT_BODY_BYTES - 600)
    assert len(text.encode()) <= MAX_DIRECT_BODY_BYTES
    assert lint_text(text, "fits.yaml") == []


@pytest.mark.parametrize(("value", "expected"), [
    ("IMMUTABLE", "IMMUTABLE"),
    ({"Fn::Sub": "IMMUTABLE"}, "IMMUTABLE"),
    ({"Fn::Sub": "v-${!Literal}"}, "v-${!Literal}"),
    ({"Fn::Sub": "${Mode}"}, UNRESOLVED),
    ({"Ref": "Mode"}, UNRESOLVED),
    ({"Fn::If": ["C", "IMMUTABLE", "MUTABLE"]}, UNRESOLVED),
    ({"ScanOnPush": True}, {"ScanOnPush": True}),
])
def test_literal_resolves_only_what_needs_no_deploy(value: object, expected: object) -> None:
    assert literal(value) == expected


def test_lookup_stops_at_intrinsics_and_missing_keys() -> None:
    data = {"A": {"B": [{"C": "x"}]}, "R": {"Ref": "P"}}
    assert lookup(data, ["A", "B", 0, "C"]) == "x"
    assert lookup(data, ["A", "B", 1, "C"]) is None
    assert lookup(data, ["A", "missing", "C"]) is None
    assert lookup(data, ["R", "C"]) is UNRESOLVED


RAW_RULES = st.lists(st.fixed_dictionaries({
    "rulePriority": st.integers(0, 3),
    "selection": st.fixed_dictionaries({
        "tagStatus": st.sampled_from(["tagged", "untagged", "any", "bogus"]),
        "countType": st.sampled_from(["imageCountMoreThan", "sinceImagePushed"]),
        "countNumber": st.integers(0, 30)}, optional={"tagPrefixList": st.just(["v"]),
                                                     "countUnit": st.just("days")}),
    "action": st.just({"type": "expire"})}), min_size=1, max_size=4)


@settings(max_examples=60, deadline=None)
@given(RAW_RULES)
def test_policy_findings_are_the_lifecycle_models_problems_at_their_lines(rules: list[dict]) -> None:
    """Any policy, valid or not: one E9501 per problem lifecycle.parse reports, at the line of the
    offending field inside the block literal."""
    policy = json.dumps({"rules": rules}, indent=2)
    head = ("Resources:\n  R:\n    Type: AWS::ECR::Repository\n    Properties:\n      LifecyclePolicy:\n"
            "        LifecyclePolicyText: |\n")
    text = head + "".join(f"          {line}\n" for line in policy.splitlines())
    try:
        lifecycle.parse(json.loads(policy))
        problems = []
    except lifecycle.PolicyError as exc:
        problems = exc.problems
    cfn = Template("t.yaml", decode_str(text)[0], ["us-east-1"])
    matches = LifecyclePolicyText().match(cfn)
    assert [m.message for m in matches] == [f"Lifecycle policy: {p.describe()}" for p in problems]
    lines = text.splitlines()
    for match, problem in zip(matches, problems, strict=True):
        line = lines[match.location[0]]
        assert head.count("\n") <= match.location[0] < len(lines)
        key = problem.field.split(".")[-1]
        if problem.rule is not None and key and key in json.dumps(rules[problem.rule]):
            assert f'"{key}"' in line, (problem, line)
