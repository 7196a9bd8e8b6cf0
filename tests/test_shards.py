"""Several stacks for one ecr.yaml: the assignment never moves a repository, every stack fits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from generator.lint.runner import lint_text
from generator.model import config
from generator.model.stack_limits import MAX_BODY_BYTES
from generator.render import shards, template
from tests.conftest import load_yaml

CAPACITY = shards.Capacity(repositories=7, body_bytes=5_000)
NAMES = st.text("abcdefghij", min_size=1, max_size=4)
# An edit of ecr.yaml: insert a new repository somewhere, or remove one.
EDITS = st.lists(st.tuples(st.booleans(), st.integers(0, 10_000), NAMES), min_size=1, max_size=60)


def check_fits(stacks: dict[str, list[str]], sizes: dict[str, int], capacity: shards.Capacity) -> None:
    for members in stacks.values():
        assert 0 < len(members) <= capacity.repositories
        assert sum(sizes[name] for name in members) <= capacity.body_bytes


@settings(max_examples=200, deadline=None)
@given(edits=EDITS, size=st.integers(1, 2_000), seed=st.integers(0, 10))
def test_insertions_and_removals_never_move_another_repository(edits: list[tuple[bool, int, str]],
                                                               size: int, seed: int) -> None:
    names: list[str] = []
    sizes: dict[str, int] = {}
    previous: dict[str, list[str]] = {}
    for insert, where, name in edits:
        if insert and name not in names:
            names.insert(where % (len(names) + 1), name)
            sizes[name] = (size * (len(name) + seed)) % CAPACITY.body_bytes + 1
        elif names:
            names.pop(where % len(names))
        stacks = shards.assign(names, sizes, previous, CAPACITY, "ecr")
        before = {n: key for key, members in previous.items() for n in members}
        after = {n: key for key, members in stacks.items() for n in members}
        assert sorted(after) == sorted(names)  # every repository in exactly one stack
        assert all(after[n] == before[n] for n in names if n in before)  # nobody moved
        check_fits(stacks, sizes, CAPACITY)
        for members in stacks.values():  # each stack lists its repositories in ecr.yaml order
            assert members == [n for n in names if n in members]
        previous = stacks


def test_a_stack_overfilled_by_an_edit_is_refused_not_split() -> None:
    previous = {"ecr-01": ["a", "b", "c"]}
    with pytest.raises(shards.ShardError, match=r"stack ecr-01 holds 3 repositories.*at most 2"):
        shards.assign(["a", "b", "c"], dict.fromkeys("abc", 1), previous, shards.Capacity(2, 100), "ecr")


def test_new_repositories_fill_the_first_stack_with_room_then_a_new_one() -> None:
    previous = {"ecr-01": ["a"], "ecr-03": ["c", "d"]}
    stacks = shards.assign(["n1", "a", "c", "d", "n2", "n3"], dict.fromkeys(["n1", "a", "c", "d", "n2", "n3"], 1),
                           previous, shards.Capacity(2, 100), "ecr")
    assert stacks == {"ecr-01": ["n1", "a"], "ecr-03": ["c", "d"], "ecr-04": ["n2", "n3"]}


def write(tmp_path: Path, names: list[str], **extra: object) -> Path:
    data = {"system_name": "shop", **extra, "defaults": {"lifecycle": [{"tag_status": "any", "keep_last": 9}]},
            "repositories": [{"name": n} for n in names]}
    path = tmp_path / "ecr.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def resources(path: Path) -> list[str]:
    return [key for key, value in load_yaml(path.read_text().replace("!", ""))["Resources"].items()
            if value["Type"] == "AWS::ECR::Repository"]


def test_two_thousand_repositories_make_valid_lint_clean_stacks(tmp_path: Path) -> None:
    names = [f"service-{i:04d}" for i in range(2000)]
    cfg = config.load(write(tmp_path, names, post_deploy_policy=True))
    rendered, index = shards.render_all(cfg, tmp_path / "templates" / "ecr.yaml", "yaml", "ecr.yaml")
    assert index is not None
    assert [r.path.name for r in rendered] == [f"ecr-{n:02d}.yaml" for n in range(1, 21)]
    for part in rendered:  # 100 each: 200 outputs (uri, arn) is the binding limit, policy included
        data = load_yaml(part.text.replace("!", ""))
        assert len(data["Outputs"]) <= template.MAX_OUTPUTS and len(data["Resources"]) <= template.MAX_RESOURCES
        assert "EcrgenPostDeployPolicy" in data["Resources"]
        assert len(part.text.encode()) <= MAX_BODY_BYTES
    # One stack linted, as a sample: they differ only in names, and cfn-lint takes seconds per stack.
    assert [f for f in lint_text(rendered[-1].text, rendered[-1].path.name) if f.level == "error"] == []
    assert sum(len(v) for v in json.loads(index)["stacks"].values()) == 2000


def test_template_command_splits_keeps_the_single_templates_stack_and_reads_the_index_back(
        tmp_path: Path, ecrgen) -> None:
    write(tmp_path, ["b", "c"])
    assert ecrgen("template", "--no-lint", cwd=tmp_path).returncode == 0
    assert not (tmp_path / "templates" / "ecr.stacks.json").exists()  # everything fits: one template

    write(tmp_path, ["a", "b", "c", "d"], max_per_stack=2)  # a inserted before the deployed ones
    result = ecrgen("template", "--no-lint", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    index = json.loads((tmp_path / "templates" / "ecr.stacks.json").read_text())
    assert index["stacks"] == {"ecr-01": ["b", "c"], "ecr-02": ["a", "d"]}
    assert resources(tmp_path / "templates" / "ecr-01.yaml") == ["EcrB", "EcrC"]

    write(tmp_path, ["a", "c", "d", "e"], max_per_stack=2)  # b removed, e added: fills b's place
    assert ecrgen("template", "--no-lint", cwd=tmp_path).returncode == 0
    index = json.loads((tmp_path / "templates" / "ecr.stacks.json").read_text())
    assert index["stacks"] == {"ecr-01": ["c", "e"], "ecr-02": ["a", "d"]}


def test_an_overfilled_stack_is_bad_input_naming_the_index(tmp_path: Path, ecrgen) -> None:
    write(tmp_path, ["a", "b", "c"], max_per_stack=3)
    assert ecrgen("template", "--no-lint", cwd=tmp_path).returncode == 0
    write(tmp_path, ["a", "b", "c"], max_per_stack=2)
    result = ecrgen("template", "--no-lint", cwd=tmp_path)
    assert result.returncode == 2
    assert "templates/ecr.stacks.json: stack ecr-01 holds 3 repositories" in result.stderr
    assert "Traceback" not in result.stderr


def test_several_stacks_cannot_go_to_stdout(tmp_path: Path, ecrgen) -> None:
    write(tmp_path, ["a", "b"], max_per_stack=1)
    result = ecrgen("template", "--out", "-", cwd=tmp_path)
    assert result.returncode == 2
    assert "several stacks" in result.stderr
