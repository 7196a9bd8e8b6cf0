"""The lifecycle rule model: raw AWS JSON in, every documented constraint checked, text out."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from generator.model import lifecycle
from generator.model.repository import LifecycleRule
from tests.strategies import lifecycle_rules

KEEP_20 = {"rules": [{"rulePriority": 1, "description": "Delete more than 20 images",
                      "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 20},
                      "action": {"type": "expire"}}]}


def rule(priority: int = 1, **selection: Any) -> dict[str, Any]:
    action = selection.pop("action", {"type": "expire"})
    base = {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 5}
    return {"rulePriority": priority, "selection": {**base, **selection}, "action": action}


def problems_of(data: Any) -> list[str]:
    with pytest.raises(lifecycle.PolicyError) as caught:
        lifecycle.parse(data)
    return [p.describe() for p in caught.value.problems]


def test_the_articles_policy_parses_and_renders_back() -> None:
    policy = lifecycle.parse(KEEP_20)
    assert policy.to_aws() == KEEP_20
    assert json.loads(policy.to_text()) == KEEP_20
    assert policy.to_text().startswith('{\n  "rules": [')


@pytest.mark.parametrize(("data", "expected"), [
    ("nope", "must be a JSON object"),
    ({"rules": []}, "rules: must be a non-empty list"),
    ({"rules": [rule()], "extra": 1}, "extra: unknown key"),
    ({"rules": [{**rule(), "prio": 1}]}, "rule priority 1 prio: unknown key"),
    ({"rules": [rule(tagStatus="bogus")]}, "selection.tagStatus: must be one of tagged, untagged, any, got 'bogus'"),
    ({"rules": [rule(countType="olderThan")]}, "selection.countType: must be one of"),
    ({"rules": [rule(countNumber=0)]}, "selection.countNumber: must be an integer of at least 1"),
    ({"rules": [rule(countNumber=2**31)]}, "selection.countNumber: must be 1 to 2,147,483,647, got 2147483648"),
    ({"rules": [rule(storageClass="archive", countType="sinceImageTransitioned", countUnit="days", countNumber=89)]},
     "archived images cannot be expired before 90 days in archive, got 89"),
    ({"rules": [rule(countNumber=True)]}, "selection.countNumber: must be an integer"),
    ({"rules": [rule(countType="sinceImagePushed")]}, "selection.countUnit: must be 'days'"),
    ({"rules": [rule(countUnit="days")]}, "selection.countUnit: is not allowed with countType 'imageCountMoreThan'"),
    ({"rules": [{**rule(), "rulePriority": 0}]}, "rulePriority: must be a positive integer, got 0"),
    ({"rules": [{**rule(), "rulePriority": "1"}]}, "rulePriority: must be a positive integer, got '1'"),
    ({"rules": [rule(action={"type": "transition"})]}, "action.targetStorageClass: must be 'archive'"),
    ({"rules": [rule(action={"type": "expire", "targetStorageClass": "archive"})]},
     "action.targetStorageClass: is only allowed with action type 'transition'"),
    ({"rules": [rule(tagStatus="tagged")]}, "exactly one of tagPrefixList or tagPatternList"),
    ({"rules": [rule(tagStatus="tagged", tagPrefixList=[])]}, "selection.tagPrefixList: must not be empty"),
    ({"rules": [rule(tagStatus="tagged", tagPrefixList="prod")]}, "must be a list of strings"),
    ({"rules": [rule(tagStatus="untagged", tagPatternList=["a*"])]},
     "selection.tagPatternList: is only allowed with tagStatus 'tagged'"),
    ({"rules": [rule(tagStatus="tagged", tagPatternList=["*1*2*3*4*5"])]}, "5 wildcards; at most 4"),
    ({"rules": [rule(1, tagStatus="untagged"), rule(1)]}, "rulePriority: 1 is used by 2 rules"),
    ({"rules": [rule(2), rule(1, tagStatus="untagged"), rule(3, tagStatus="tagged", tagPrefixList=["v"])]},
     "must have the highest priority among the standard rules, but 3 is higher than 2"),
    ({"rules": [rule(1, tagStatus="untagged"), rule(2, tagStatus="untagged")]},
     "rule priority 2 selection.tagStatus: only one rule per storage class (standard) may select untagged"),
    ({"rules": [rule(1, tagStatus="tagged", tagPrefixList=["v"]),
                rule(2, tagStatus="tagged", tagPrefixList=["x", "v"])]},
     "rule priority 2 selection.tagPrefixList: prefix 'v' is already used by rule priority 1"),
    ({"rules": [rule(countType="sinceImagePulled", countUnit="days")]},
     "'sinceImagePulled' is only allowed with action 'transition'"),
    ({"rules": [rule(countType="sinceImageTransitioned", countUnit="days")]},
     "'sinceImageTransitioned' needs storageClass 'archive' and action 'expire'"),
    ({"rules": [rule(storageClass="archive")]},
     "selection.storageClass: 'archive' is only allowed with countType 'sinceImageTransitioned'"),
    ({"rules": [rule(storageClass="archive", countType="sinceImageTransitioned", countUnit="days",
                     action={"type": "transition", "targetStorageClass": "archive"})]},
     "'sinceImageTransitioned' needs storageClass 'archive' and action 'expire'"),
    ({"rules": [rule(i, tagStatus="tagged", tagPrefixList=[f"p{i}"]) for i in range(1, 52)]},
     "has 51 rules; ECR allows at most 50"),
    ({"rules": [rule(1, tagStatus="tagged", tagPrefixList=["p" * 40_000])]}, "ECR accepts 100 to 30720"),
])
def test_each_documented_constraint_is_reported(data: Any, expected: str) -> None:
    assert any(expected in problem for problem in problems_of(data)), problems_of(data)


def test_the_archive_pair_from_the_user_guide_is_valid() -> None:
    data = {"rules": [
        rule(1, countType="sinceImagePulled", countUnit="days", countNumber=90,
             action={"type": "transition", "targetStorageClass": "archive"}),
        rule(2, storageClass="archive", countType="sinceImageTransitioned", countUnit="days",
             countNumber=365),
    ]}
    assert lifecycle.parse(data).to_aws() == data


def test_each_storage_class_has_its_own_any_and_untagged_rule() -> None:
    data = {"rules": [
        rule(1, tagStatus="untagged", countType="sinceImagePulled", countUnit="days",
             action={"type": "transition", "targetStorageClass": "archive"}),
        rule(2, tagStatus="untagged", storageClass="archive", countType="sinceImageTransitioned",
             countUnit="days", countNumber=90),
        rule(3, tagStatus="tagged", tagPrefixList=["v"], storageClass="archive",
             countType="sinceImageTransitioned", countUnit="days", countNumber=180),
    ]}
    assert len(lifecycle.parse(data).rules) == 3


def test_not_json_is_one_clear_problem() -> None:
    with pytest.raises(lifecycle.PolicyError, match="not valid JSON"):
        lifecycle.parse_text("{rules: ")


def test_every_problem_is_listed_not_just_the_first() -> None:
    problems = problems_of({"rules": [rule(tagStatus="bogus", countNumber=0)]})
    assert len(problems) == 2


def test_meaning_ignores_layout_and_list_order() -> None:
    a = lifecycle.parse({"rules": [rule(1, tagStatus="tagged", tagPrefixList=["a", "b"]), rule(2)]})
    b = lifecycle.parse_text(json.dumps({"rules": [rule(2), rule(1, tagStatus="tagged",
                                                                  tagPrefixList=["b", "a"])]}))
    assert a.key() == b.key()
    changed = copy.deepcopy(a.to_aws())
    changed["rules"][1]["selection"]["countNumber"] = 6
    assert lifecycle.parse(changed).key() != a.key()


@given(lifecycle_rules().filter(bool))
def test_valid_config_rules_render_to_text_that_parses_back_the_same(specs: list[dict[str, Any]]) -> None:
    rules = [LifecycleRule.model_validate(spec).to_rule(i) for i, spec in enumerate(specs, start=1)]
    # `any` rules last, as the config's priority assignment does.
    rules = [r for r in rules if r.tag_status != "any"] + [r for r in rules if r.tag_status == "any"]
    rules = [lifecycle.Rule(**{**r.__dict__, "priority": i}) for i, r in enumerate(rules, start=1)]
    policy = lifecycle.Policy(tuple(rules))
    problems = [p.message for p in lifecycle.validate(policy)]
    if len(policy.to_text(indent=None)) < lifecycle.constraints.MIN_TEXT:  # too short: only the length fails
        assert len(problems) == 1 and "ECR accepts 100 to 30720" in problems[0]
        return
    assert problems == []
    assert lifecycle.parse_text(policy.to_text()) == policy
    assert lifecycle.parse_text(policy.to_text(indent=None)).key() == policy.key()


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                    lambda children: st.lists(children, max_size=3)
                    | st.dictionaries(st.sampled_from(["rules", "rulePriority", "selection", "action",
                                                       "tagStatus", "countType", "countNumber", "type"]),
                                      children, max_size=4),
                    max_leaves=20))
def test_any_json_value_either_parses_or_raises_policy_error(data: Any) -> None:
    try:
        lifecycle.parse(data)
    except lifecycle.PolicyError as exc:
        assert exc.problems
