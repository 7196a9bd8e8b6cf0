"""A lifecycle policy's problems are all reported in one run, and its length is the sent text's.

The property: the problems of a policy with several broken parts are exactly the union of the
problems each broken part causes alone. So fixing any of the reported problems never reveals a
new one, and nobody has to fix two, rerun and see four more.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generator.lint.runner import lint_text
from generator.model import lifecycle
from generator.model.lifecycle.constraints import MAX_TEXT
from generator.model.repository import LifecycleRule
from tests.conftest import run_ecrgen
from tests.strategies import lifecycle_rules

Mutation = Callable[[dict[str, Any], int], None]


def _unknown_rule_key(rule: dict[str, Any], _: int) -> None:
    rule["prio"] = 1


def _unknown_selection_key(rule: dict[str, Any], _: int) -> None:
    rule["selection"]["tagstatus"] = "any"


def _bogus_count_type(rule: dict[str, Any], _: int) -> None:
    rule["selection"]["countType"] = "olderThan"


def _zero_count(rule: dict[str, Any], _: int) -> None:
    rule["selection"]["countNumber"] = 0


def _delete_action(rule: dict[str, Any], _: int) -> None:
    rule["action"]["type"] = "delete"


def _numeric_description(rule: dict[str, Any], _: int) -> None:
    rule["description"] = 5


def _priority_as_text(rule: dict[str, Any], _: int) -> None:
    rule["rulePriority"] = str(rule["rulePriority"])


def _count_over_32_bits(rule: dict[str, Any], _: int) -> None:
    rule["selection"]["countNumber"] = 2**31


def _five_wildcards(rule: dict[str, Any], index: int) -> None:
    rule["selection"]["tagPatternList"] = [f"a*b*c*d*e*{index}"]


def _pulled_but_expired(rule: dict[str, Any], _: int) -> None:
    rule["selection"].update(countType="sinceImagePulled", countUnit="days")


def _prefix_on_untagged(rule: dict[str, Any], index: int) -> None:
    rule["selection"]["tagPrefixList"] = [f"Z-{index}"]  # no valid rule has an upper-case prefix


SCHEMA: list[Mutation] = [_unknown_rule_key, _unknown_selection_key, _bogus_count_type, _zero_count,
                          _delete_action, _numeric_description, _priority_as_text]


def mutations_for(rule: dict[str, Any]) -> list[Mutation]:
    """The breakages that touch only this rule, schema and semantic alike."""
    selection = rule["selection"]
    found = [*SCHEMA, _count_over_32_bits]
    if "tagPatternList" in selection:
        found.append(_five_wildcards)
    if rule["action"]["type"] == "expire" and selection.get("storageClass", "standard") == "standard":
        found.append(_pulled_but_expired)
    if selection["tagStatus"] != "tagged":
        found.append(_prefix_on_untagged)
    return found


def valid_policy(specs: list[dict[str, Any]]) -> dict[str, Any]:
    rules = [LifecycleRule.model_validate(spec).to_rule(i) for i, spec in enumerate(specs, start=1)]
    rules = [r for r in rules if r.tag_status != "any"] + [r for r in rules if r.tag_status == "any"]
    rules = [lifecycle.Rule(**{**r.__dict__, "priority": i}) for i, r in enumerate(rules, start=1)]
    return lifecycle.Policy(tuple(rules)).to_aws()


def problems(data: dict[str, Any]) -> set[str]:
    try:
        lifecycle.parse(data)
    except lifecycle.PolicyError as exc:
        return {problem.describe() for problem in exc.problems}
    return set()


def broken(data: dict[str, Any], changes: dict[int, Mutation]) -> dict[str, Any]:
    result = copy.deepcopy(data)
    for index, mutate in changes.items():
        mutate(result["rules"][index], index)
    return result


@st.composite
def policies_with_broken_rules(draw: st.DrawFn) -> tuple[dict[str, Any], dict[int, Mutation]]:
    data = valid_policy(draw(lifecycle_rules().filter(lambda rules: len(rules) >= 2)))
    indices = draw(st.lists(st.integers(0, len(data["rules"]) - 1), min_size=2, unique=True))
    return data, {i: draw(st.sampled_from(mutations_for(data["rules"][i]))) for i in indices}


@settings(deadline=None)
@given(policies_with_broken_rules())
def test_the_problems_of_broken_parts_add_up_so_fixing_one_reveals_nothing_new(
        case: tuple[dict[str, Any], dict[int, Mutation]]) -> None:
    data, changes = case
    assert problems(data) == set()
    alone = {index: problems(broken(data, {index: mutate})) for index, mutate in changes.items()}
    assert all(alone.values()), "every breakage causes a problem on its own"
    assert problems(broken(data, changes)) == set().union(*alone.values())


def rule(priority: int, **selection: Any) -> dict[str, Any]:
    action = selection.pop("action", {"type": "expire"})
    return {"rulePriority": priority, "selection": {"countType": "imageCountMoreThan", "countNumber": 5,
                                                    **selection}, "action": action}


FIVE_PROBLEMS = {"rules": [
    rule(1, tagStatus="bogus"),                                         # schema
    rule(2, tagStatus="tagged", tagPatternList=["a*b*c*d*e*"]),          # semantic
    {**rule(3, tagStatus="tagged", tagPrefixList=["v", ""]), "x": 1},   # schema and semantic
    rule(4, tagStatus="any"),                                           # 'any' is not last
    rule(5, tagStatus="untagged", countType="sinceImagePulled", countUnit="days"),  # expire, not archive
]}


def test_a_policy_with_five_problems_reports_all_five_at_once() -> None:
    assert sorted(problems(FIVE_PROBLEMS)) == sorted([
        "rule priority 1 selection.tagStatus: must be one of tagged, untagged, any, got 'bogus'",
        "rule priority 2 selection.tagPatternList: 'a*b*c*d*e*' has 5 wildcards; at most 4 are allowed",
        "rule priority 3 x: unknown key; allowed: action, description, rulePriority, selection",
        "rule priority 3 selection.tagPrefixList: must not contain an empty prefix",
        "rule priority 4 rulePriority: a rule with tagStatus 'any' must have the highest priority among "
        "the standard rules, but 5 is higher than 4",
        "rule priority 5 selection.countType: 'sinceImagePulled' is only allowed with action 'transition' "
        "(archive)",
    ])


def test_lifecycle_validate_and_e9501_report_every_problem_at_once(tmp_path: Path) -> None:
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(FIVE_PROBLEMS, indent=2))
    result = run_ecrgen("lifecycle", "validate", str(path))
    assert result.returncode == 1
    assert len(result.stdout.splitlines()) == 6, result.stdout
    template = {"Resources": {"Repo": {"Type": "AWS::ECR::Repository", "DeletionPolicy": "Retain",
                                       "UpdateReplacePolicy": "Retain", "Properties": {
                                           "LifecyclePolicy": {"LifecyclePolicyText": json.dumps(FIVE_PROBLEMS)}}}}}
    findings = [f for f in lint_text(json.dumps(template), "t.json") if f.rule_id == "E9501"]
    assert len(findings) == 6, [f.message for f in findings]


# --- the length is the length of the text that is sent -------------------------------------

def long_policy() -> dict[str, Any]:
    """About 27,000 characters compact, over 30,720 indented: 50 rules with 8 prefixes each."""
    return {"rules": [rule(i, tagStatus="tagged", tagPrefixList=[f"p{i}-{n}-" + "x" * 40 for n in range(8)])
                      for i in range(1, 51)]}


def padded_policy() -> str:
    """One rule padded with trailing blanks to 31,150 characters: over the limit as sent."""
    text = json.dumps({"rules": [rule(1, tagStatus="any")]})
    return text + " " * (31_150 - len(text))


def test_the_fixtures_are_what_the_issue_describes() -> None:
    compact = json.dumps(long_policy(), separators=(",", ":"))
    assert 24_000 < len(compact) <= MAX_TEXT < len(json.dumps(long_policy(), indent=2))
    assert len(padded_policy()) == 31_150


@pytest.mark.parametrize(("text", "valid"), [
    (json.dumps(long_policy(), separators=(",", ":")), True),
    (padded_policy(), False),
])
def test_validate_and_lint_measure_the_text_that_is_sent(tmp_path: Path, text: str, valid: bool) -> None:
    path = tmp_path / "policy.json"
    path.write_text(text)
    result = run_ecrgen("lifecycle", "validate", str(path))
    assert result.returncode == (0 if valid else 1), result.stdout
    template = {"Resources": {"Repo": {"Type": "AWS::ECR::Repository", "DeletionPolicy": "Retain",
                                       "UpdateReplacePolicy": "Retain", "Properties": {
                                           "LifecyclePolicy": {"LifecyclePolicyText": text}}}}}
    e9501 = [f.message for f in lint_text(json.dumps(template), "t.json") if f.rule_id == "E9501"]
    if valid:
        assert e9501 == []
    else:
        assert "the policy text is 31150 characters; ECR accepts 100 to 30720" in result.stdout
        assert e9501 == ["Lifecycle policy: the policy text is 31150 characters; ECR accepts 100 to 30720"]


def test_a_policy_ecrgen_renders_is_measured_as_it_writes_it() -> None:
    policy = lifecycle.parse_text(json.dumps(long_policy(), separators=(",", ":")))
    assert [p.message for p in lifecycle.validate(policy)] == [
        f"the policy text is {len(policy.to_text())} characters as ecrgen writes it into the template "
        "(indented JSON); ECR accepts 100 to 30720"]
    with pytest.raises(lifecycle.PolicyError, match="as ecrgen writes it into the template"):
        lifecycle.parse(long_policy())  # data without its text: ecrgen renders it, so that counts
