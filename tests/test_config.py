"""ecr.yaml: what it resolves to, and how each mistake is reported (file, line, field, exit 2)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from generator.base.errors import InputError
from generator.model import config

ROOT = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, text: str, name: str = "ecr.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_shipped_config_reproduces_the_article() -> None:
    cfg = config.load(ROOT / "ecr.yaml")
    php = next(r for r in cfg.repositories if r.name == "php-app")
    assert php.physical_name(cfg.system_name) == "myapp-ecr-php-app"
    assert php.logical_id == "EcrPhpApp"
    assert php.image_tag_mutability == "IMMUTABLE"
    assert php.scan_on_push is True
    assert php.policy is not None
    assert php.policy.to_aws() == {"rules": [{
        "rulePriority": 1, "description": "Delete more than 20 images",
        "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 20},
        "action": {"type": "expire"}}]}
    latest = [r for r in cfg.repositories if r.image_tag_mutability == "IMMUTABLE_WITH_EXCLUSION"]
    assert [r.mutability_exclusions for r in latest] == [("latest",)]


def test_repository_settings_override_defaults(tmp_path: Path) -> None:
    path = write(tmp_path, """\
        system_name: shop
        name_pattern: "${SystemName}/{name}"
        defaults:
          scan_on_push: false
          tags: {Owner: platform, Team: a}
          lifecycle: [{tag_status: any, keep_last: 5}]
        repositories:
          - name: web
          - name: api
            scan_on_push: true
            tags: {Team: b}
            lifecycle: []
            deletion_policy: Delete
        """)
    web, api = config.load(path).repositories
    assert web.physical_name("shop") == "shop/web"
    assert (web.scan_on_push, api.scan_on_push) == (False, True)
    assert api.tags == {"Owner": "platform", "Team": "b"}
    assert web.policy is not None and web.policy.rules[0].count_number == 5
    assert api.policy is None  # an explicit empty list means: no lifecycle policy
    assert (web.deletion_policy, api.deletion_policy) == ("Retain", "Delete")


def test_priorities_are_assigned_in_order_with_any_last(tmp_path: Path) -> None:
    path = write(tmp_path, """\
        system_name: shop
        repositories:
          - name: web
            lifecycle:
              - {tag_status: any, keep_last: 50}
              - {tag_status: untagged, since_pushed_days: 1}
              - {tag_status: tagged, tag_prefixes: [release], keep_last: 10}
        """)
    policy = config.load(path).repositories[0].policy
    assert policy is not None
    assert [(r.tag_status, r.priority) for r in policy.rules] == [("any", 3), ("untagged", 1),
                                                                  ("tagged", 2)]


def test_archive_rules_map_onto_aws_fields(tmp_path: Path) -> None:
    path = write(tmp_path, """\
        system_name: shop
        repositories:
          - name: web
            lifecycle:
              - {tag_status: any, since_pulled_days: 90, action: archive}
              - {tag_status: any, storage_class: archive, since_archived_days: 365}
        """)
    policy = config.load(path).repositories[0].policy
    assert policy is not None
    assert policy.to_aws()["rules"] == [
        {"rulePriority": 1, "selection": {"tagStatus": "any", "countType": "sinceImagePulled",
                                          "countUnit": "days", "countNumber": 90},
         "action": {"type": "transition", "targetStorageClass": "archive"}},
        {"rulePriority": 2, "selection": {"tagStatus": "any", "storageClass": "archive",
                                          "countType": "sinceImageTransitioned", "countUnit": "days",
                                          "countNumber": 365},
         "action": {"type": "expire"}}]


def test_policy_file_is_read_relative_to_the_config(tmp_path: Path) -> None:
    (tmp_path / "policies").mkdir()
    policy = {"rules": [{"rulePriority": 1, "description": "keep 3",
                         "selection": {"tagStatus": "any", "countType": "imageCountMoreThan",
                                       "countNumber": 3}, "action": {"type": "expire"}}]}
    (tmp_path / "policies" / "p.json").write_text(json.dumps(policy))
    path = write(tmp_path, """\
        system_name: shop
        repositories:
          - {name: a, lifecycle_policy_file: policies/p.json}
          - {name: b, lifecycle_policy_file: policies/p.json}
        """)
    a, b = config.load(path).repositories
    assert a.policy is not None and a.policy.to_aws() == policy
    assert a.policy is b.policy  # read and validated once


# Each case: the config body, then fragments the one error line must contain.
BAD_CONFIGS = {
    "wrong enum": ("""\
        system_name: shop
        repositories:
          - name: web
            image_tag_mutability: immutable
        """, ["ecr.yaml:4:", "repositories[0].image_tag_mutability", "'IMMUTABLE'", "got 'immutable'"]),
    "typo key": ("""\
        system_name: shop
        defaults:
          scan_onpush: true
        repositories: [{name: web}]
        """, ["ecr.yaml:3:", "defaults.scan_onpush", "did you mean 'scan_on_push'"]),
    "unknown top-level key": ("""\
        system_name: shop
        repos: []
        repositories: [{name: web}]
        """, ["ecr.yaml:2:", "repos", "did you mean 'repositories'"]),
    "wrong type": ("""\
        system_name: shop
        repositories:
          - {name: web, scan_on_push: "yes"}
        """, ["ecr.yaml:3:", "repositories[0].scan_on_push", "must be true or false, got 'yes'"]),
    "missing system_name": ("""\
        repositories: [{name: web}]
        """, ["system_name", "is required"]),
    "no repositories": ("""\
        system_name: shop
        repositories: []
        """, ["ecr.yaml:2:", "repositories", "at least 1"]),
    "duplicate names": ("""\
        system_name: shop
        repositories:
          - name: web
          - name: api
          - name: web
        """, ["ecr.yaml:5:", "repositories[2].name", "duplicates repositories[0]"]),
    "duplicate key": ("""\
        system_name: shop
        system_name: other
        repositories: [{name: web}]
        """, ["ecr.yaml:2:", "duplicate key 'system_name'"]),
    "invalid repository name": ("""\
        system_name: shop
        repositories:
          - name: Web_App
        """, ["ecr.yaml:3:", "repositories[0].name", "'shop-ecr-Web_App'", "lowercase"]),
    "invalid system name": ("""\
        system_name: My App
        repositories: [{name: web}]
        """, ["ecr.yaml:1:", "system_name", "'My App'"]),
    "name pattern without name": ("""\
        system_name: shop
        name_pattern: "${SystemName}-ecr"
        repositories: [{name: web}]
        """, ["ecr.yaml:2:", "name_pattern", "{name}"]),
    "clashing logical ids": ("""\
        system_name: shop
        repositories:
          - name: web-app
          - name: web.app
        """, ["ecr.yaml:4:", "repositories[1].name", "EcrWebApp"]),
    "exclusions without exclusion mode": ("""\
        system_name: shop
        repositories:
          - {name: web, image_tag_mutability: IMMUTABLE, mutability_exclusions: [latest]}
        """, ["ecr.yaml:3:", "mutability_exclusions", "IMMUTABLE_WITH_EXCLUSION"]),
    "exclusion mode without filters": ("""\
        system_name: shop
        repositories:
          - {name: web, image_tag_mutability: MUTABLE_WITH_EXCLUSION}
        """, ["repositories[0].image_tag_mutability", "needs 1 to 5"]),
    "too many exclusions": ("""\
        system_name: shop
        repositories:
          - name: web
            image_tag_mutability: IMMUTABLE_WITH_EXCLUSION
            mutability_exclusions: [a, b, c, d, e, f]
        """, ["mutability_exclusions", "at most 5"]),
    "bad exclusion filter": ("""\
        system_name: shop
        repositories:
          - name: web
            image_tag_mutability: IMMUTABLE_WITH_EXCLUSION
            mutability_exclusions: [latest tag]
        """, ["mutability_exclusions", "'latest tag'"]),
    "kms key with AES256": ("""\
        system_name: shop
        repositories:
          - {name: web, encryption: {type: AES256, kms_key: alias/x}}
        """, ["repositories[0].encryption", "kms_key"]),
    "policy and policy file": ("""\
        system_name: shop
        repositories:
          - name: web
            lifecycle: [{tag_status: any, keep_last: 1}]
            lifecycle_policy_file: p.json
        """, ["repositories[0]", "either lifecycle or lifecycle_policy_file"]),
    "missing policy file": ("""\
        system_name: shop
        repositories:
          - {name: web, lifecycle_policy_file: missing.json}
        """, ["ecr.yaml:3:", "lifecycle_policy_file", "missing.json", "not found"]),
    "not a mapping": ("""\
        - just
        - a list
        """, ["ecr.yaml:1:", "must be a mapping"]),
    "yaml tag on a list": ("""\
        system_name: shop
        repositories: !Ref [web]
        """, ["ecr.yaml:2:", "repositories", "unsupported YAML tag '!Ref'"]),
    "yaml syntax": ("""\
        system_name: shop
        repositories: [{name: web}
        """, ["ecr.yaml:", "YAML syntax error"]),
}

# Lifecycle constraints: (rules as YAML flow list, fragments).
BAD_RULES = {
    "no count": ("[{tag_status: any}]", ["lifecycle[0]", "exactly one of keep_last"]),
    "two counts": ("[{tag_status: any, keep_last: 2, since_pushed_days: 3}]",
                   ["lifecycle[0]", "got keep_last, since_pushed_days"]),
    "count below one": ("[{tag_status: any, keep_last: 0}]", ["lifecycle[0].keep_last", "greater than 0"]),
    "bad tag status": ("[{tag_status: tagd, keep_last: 2}]", ["lifecycle[0].tag_status", "got 'tagd'"]),
    "tagged without list": ("[{tag_status: tagged, keep_last: 2}]",
                            ["lifecycle[0].tag_prefixes", "exactly one of tagPrefixList or tagPatternList"]),
    "tagged with both lists": ("[{tag_status: tagged, tag_prefixes: [a], tag_patterns: [b], keep_last: 2}]",
                               ["lifecycle[0].tag_prefixes", "exactly one"]),
    "untagged with prefixes": ("[{tag_status: untagged, tag_prefixes: [a], keep_last: 2}]",
                               ["lifecycle[0].tag_prefixes", "only allowed with tagStatus 'tagged'"]),
    "too many wildcards": ("[{tag_status: tagged, tag_patterns: ['*a*b*c*d*'], keep_last: 2}]",
                           ["lifecycle[0].tag_patterns", "5 wildcards"]),
    "duplicate priority": ("[{priority: 1, tag_status: untagged, keep_last: 2},"
                           " {priority: 1, tag_status: any, keep_last: 3}]",
                           ["lifecycle[0].priority", "unique"]),
    "any not last": ("[{priority: 5, tag_status: any, keep_last: 2},"
                     " {priority: 6, tag_status: untagged, keep_last: 3}]",
                     ["lifecycle[0].priority", "highest priority"]),
    "two any rules": ("[{tag_status: any, keep_last: 2}, {tag_status: any, since_pushed_days: 3}]",
                      ["tag_status", "only one rule per storage class (standard) may use tagStatus 'any'"]),
    "two untagged rules": ("[{tag_status: untagged, keep_last: 2}, {tag_status: untagged, since_pushed_days: 3}]",
                           ["lifecycle[1].tag_status", "may select untagged images"]),
    "shared prefix": ("[{tag_status: tagged, tag_prefixes: [prod], keep_last: 2},"
                      " {tag_status: tagged, tag_prefixes: [prod, v], keep_last: 3}]",
                      ["lifecycle[1].tag_prefixes", "'prod' is already used"]),
    "pulled without archive": ("[{tag_status: any, since_pulled_days: 30}]",
                               ["lifecycle[0].since_pulled_days", "only allowed with action 'transition'"]),
    "archived days on standard": ("[{tag_status: any, since_archived_days: 30}]",
                                  ["lifecycle[0].since_archived_days", "needs storageClass 'archive'"]),
    "archive class with age": ("[{tag_status: any, storage_class: archive, since_pushed_days: 30}]",
                               ["lifecycle[0].storage_class", "only allowed with countType 'sinceImageTransitioned'"]),
    "bad action": ("[{tag_status: any, keep_last: 2, action: delete}]", ["lifecycle[0].action", "got 'delete'"]),
    "too many rules": ("[" + ", ".join(f"{{tag_status: tagged, tag_prefixes: [p{i}], keep_last: 1}}"
                                        for i in range(51)) + "]", ["lifecycle", "at most 50"]),
    "policy text too long": ("[" + ", ".join(f"{{tag_status: tagged, tag_prefixes: [p{i}{'x' * 600}],"
                                              f" keep_last: 1}}" for i in range(50)) + "]",
                             ["lifecycle", "30720"]),
}


def _bad_rule_config(rules: str) -> str:
    return f"system_name: shop\nrepositories:\n  - name: web\n    lifecycle: {rules}\n"


CASES = {**BAD_CONFIGS, **{f"lifecycle: {k}": (_bad_rule_config(v[0]), v[1]) for k, v in BAD_RULES.items()}}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_config_names_file_line_and_field(tmp_path: Path, case: str) -> None:
    text, fragments = CASES[case]
    path = write(tmp_path, text)
    with pytest.raises(InputError) as caught:
        config.load(path)
    message = caught.value.render()
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"


@pytest.mark.parametrize("case", ["wrong enum", "typo key", "duplicate names", "invalid repository name"])
def test_bad_config_through_the_cli_exits_2_and_writes_nothing(tmp_path: Path, ecrgen, case: str) -> None:
    text, fragments = BAD_CONFIGS[case]
    write(tmp_path, text)
    result = ecrgen("template", "--config", "ecr.yaml", "--out", "out/ecr.yaml", cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stdout == ""
    for fragment in fragments:
        assert fragment in result.stderr
    assert not (tmp_path / "out").exists()


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = write(tmp_path, """\
        system_name: shop
        repositories:
          - {name: web, image_tag_mutability: IMMUTABLE, mutability_exclusions: [latest]}
          - name: web
          - {name: api, lifecycle: [{tag_status: tagged, keep_last: 1}]}
        """)
    with pytest.raises(InputError) as caught:
        config.load(path)
    lines = [p.line for p in caught.value.problems]
    assert lines == [3, 4, 5]
