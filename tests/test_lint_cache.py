"""The lint cache never changes a result: any change of the bytes, the rules or the options misses;
a corrupt entry is ignored and rewritten; the least recently used entries go first."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generator.lint import cache
from generator.lint.runner import Options, Template, lint_many
from tests.test_lint_rules import FIXTURES

RULE_IDS = st.from_regex(r"[EWI][0-9]{0,4}", fullmatch=True)
REGIONS = st.sampled_from(["us-east-1", "eu-west-1", "ap-northeast-1", "ALL_REGIONS"])
OPTIONS = st.builds(Options, st.lists(RULE_IDS, max_size=3).map(tuple), st.lists(RULE_IDS, max_size=3).map(tuple),
                    st.lists(REGIONS, max_size=3).map(tuple))


def settings_of(options: Options) -> dict[str, tuple[str, ...]]:
    return {"include_checks": options.include_checks, "ignore_checks": options.ignore_checks,
            "regions": options.regions}


@given(st.binary(), st.binary())
def test_different_bytes_never_share_a_key(one: bytes, other: bytes) -> None:
    assert (cache.entry_key("f", "text", one) == cache.entry_key("f", "text", other)) == (one == other)


@given(st.binary(max_size=64), st.sampled_from(["text", "strict"]), st.sampled_from(["text", "strict"]))
def test_how_the_bytes_are_read_is_part_of_the_key(data: bytes, mode: str, other: str) -> None:
    assert (cache.entry_key("f", mode, data) == cache.entry_key("f", other, data)) == (mode == other)


@settings(max_examples=50, deadline=None)
@given(OPTIONS, OPTIONS)
def test_any_option_change_changes_the_fingerprint(one: Options, other: Options) -> None:
    same = cache.fingerprint(settings_of(one)) == cache.fingerprint(settings_of(other))
    assert same == (one == other)


def test_the_region_variables_cfn_lint_defaults_to_are_part_of_the_fingerprint() -> None:
    prints = {cache.fingerprint({}, environ=environ) for environ in
              ({}, {"AWS_REGION": "eu-west-1"}, {"AWS_DEFAULT_REGION": "eu-west-1"}, {"AWS_REGION": "us-east-1"})}
    assert len(prints) == 4


FILE_NAMES = st.sampled_from(["Rule.py", "_helpers.py", "data.json", "resources/ecr/New.py", "README"])
RULE_FILES = st.dictionaries(FILE_NAMES, st.binary(max_size=40), min_size=1)


def write_tree(root: Path, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)


@settings(max_examples=60, deadline=None)
@given(RULE_FILES, RULE_FILES)
def test_any_change_of_a_rule_file_changes_the_fingerprint(before: dict[str, bytes], after: dict[str, bytes]) -> None:
    """A byte changed, a file added, removed or renamed: every file under the rules folder counts."""
    digests = []
    for files in (before, after):
        with tempfile.TemporaryDirectory() as tmp:
            rules = Path(tmp) / "rules"
            rules.mkdir()
            write_tree(rules, files)
            digests.append(cache.fingerprint({}, code=[rules]))
    assert (digests[0] == digests[1]) == (before == after)


def test_compiled_files_do_not_count(tmp_path: Path) -> None:
    write_tree(tmp_path, {"Rule.py": b"x = 1\n"})
    before = cache.code_digest([tmp_path])
    write_tree(tmp_path, {"__pycache__/Rule.cpython-311.pyc": b"\x00compiled", "Old.pyc": b"\x00"})
    assert cache.code_digest([tmp_path]) == before


def test_the_rules_folder_is_in_the_code_that_counts() -> None:
    from generator.lint.rules import RULES_DIR

    assert any(RULES_DIR.is_relative_to(folder) for folder in cache.CODE)


@pytest.mark.parametrize(("environ", "expected"), [
    ({"ECRGEN_CACHE_DIR": "/c/here", "XDG_CACHE_HOME": "/x"}, "/c/here"),
    ({"XDG_CACHE_HOME": "/x"}, "/x/ecrgen"),
    ({"XDG_CACHE_HOME": "relative/x"}, "~/.cache/ecrgen"),  # the XDG specification ignores it
    ({"ECRGEN_CACHE_DIR": ""}, "~/.cache/ecrgen"),
    ({}, "~/.cache/ecrgen"),
])
def test_where_the_cache_lives(environ: dict[str, str], expected: str) -> None:
    assert cache.default_dir(environ) == Path(expected).expanduser()


def test_the_suite_caches_in_a_temporary_folder(lint_cache: Path) -> None:
    assert cache.default_dir() == lint_cache and not lint_cache.is_relative_to(Path.home() / ".cache")


def entries(folder: Path) -> list[Path]:
    return sorted((folder / "lint").rglob("*.json"))


def fixture_templates(*names: str) -> list[Template]:
    return [Template(str(FIXTURES / name)) for name in names]


def test_the_second_run_lints_nothing_and_reports_the_same(lint_cache: Path) -> None:
    templates = fixture_templates("settings_weak.yaml", "policy_public.yaml")
    first = lint_many(templates)
    second = lint_many(templates)
    assert (first.linted, second.linted) == (2, 0)
    assert second.outcomes == first.outcomes and len(entries(lint_cache)) == 2


def test_no_cache_reads_and_writes_nothing(lint_cache: Path) -> None:
    templates = fixture_templates("settings_weak.yaml")
    lint_many(templates)
    entry = entries(lint_cache)[0]
    entry.write_text(json.dumps({"key": entry.stem, "value": {"findings": [], "problems": []}}))  # a lie
    result = lint_many(templates, cache=False)
    assert result.linted == 1 and result.outcomes[0].findings  # the lie is not read
    assert json.loads(entry.read_text())["value"]["findings"] == []  # nor overwritten


def test_the_same_bytes_twice_in_one_run_are_linted_once(tmp_path: Path) -> None:
    copy = tmp_path / "copy.yaml"
    copy.write_bytes((FIXTURES / "settings_weak.yaml").read_bytes())
    result = lint_many([Template(str(FIXTURES / "settings_weak.yaml")), Template(str(copy))], cache=False)
    assert result.linted == 1
    one, two = result.outcomes
    assert {f.filename for f in two.findings} == {str(copy)}
    assert [(f.line, f.rule_id) for f in one.findings] == [(f.line, f.rule_id) for f in two.findings]


@pytest.mark.parametrize("corrupt", [b"", b"{", b"\x00\xff", b"[]", b'{"key": "other", "value": {}}',
                                     b'{"key": "%s", "value": {"findings": [[1]], "problems": []}}',
                                     b'{"key": "%s", "value": {"findings": [["1", 1, "W", "warning", "m"]], '
                                     b'"problems": []}}',
                                     b'{"key": "%s", "value": {"findings": [], "problems": [[1, "m"]]}}'])
def test_a_corrupt_entry_is_ignored_and_written_again(lint_cache: Path, corrupt: bytes) -> None:
    templates = fixture_templates("settings_weak.yaml")
    good = lint_many(templates)
    entry = entries(lint_cache)[0]
    sound = entry.read_bytes()
    entry.write_bytes(corrupt.replace(b"%s", entry.stem.encode()))
    again = lint_many(templates)
    assert again.linted == 1 and again.outcomes == good.outcomes
    assert entry.read_bytes() == sound


def test_a_cache_that_cannot_be_written_changes_nothing_but_a_warning(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("ECRGEN_CACHE_DIR", str(blocked))
    templates = fixture_templates("settings_weak.yaml")
    result = lint_many(templates)
    assert result.cache_error and str(blocked) in result.cache_error
    assert result.outcomes == lint_many(templates, cache=False).outcomes


def test_least_recently_used_entries_go_first(tmp_path: Path) -> None:
    store = cache.LintCache(tmp_path, max_bytes=10_000)
    value = {"findings": [[1, 1, "W9501", "warning", "x" * 900]], "problems": []}
    keys = [f"{n:02d}{'0' * 62}" for n in range(12)]
    for age, key in enumerate(keys):
        store.put(key, value)
        os.utime(store._path(key), (1_000_000 + age, 1_000_000 + age))
    assert store.get(keys[0]) == value  # used now: the most recent
    store.prune()
    kept = [key for key in keys if store._path(key).exists()]
    assert sum(store._path(key).stat().st_size for key in kept) <= 10_000
    assert keys[0] in kept and keys[-1] in kept and keys[1] not in kept
    dropped = [key for key in keys if key not in kept]
    assert dropped == keys[1:len(dropped) + 1]  # the oldest, in order


def test_entries_are_written_whole_or_not_at_all(lint_cache: Path) -> None:
    lint_many(fixture_templates("settings_weak.yaml", "deletion_policy.yaml"))
    files = sorted(path for path in (lint_cache / "lint").rglob("*") if path.is_file())
    assert files == entries(lint_cache)  # no temporary file left behind
    for path in files:
        assert json.loads(path.read_text())["key"] == path.stem


def test_a_cfnlintrc_naming_other_files_turns_the_cache_off(tmp_path: Path, lint_cache: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".cfnlintrc").write_text("append_rules:\n  - more_rules/\n")
    monkeypatch.chdir(tmp_path)
    lint_many(fixture_templates("settings_weak.yaml"))
    assert entries(lint_cache) == []


def test_a_cfnlintrc_is_part_of_the_fingerprint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    templates = fixture_templates("settings_weak.yaml")
    lint_many(templates)
    (tmp_path / ".cfnlintrc").write_text("ignore_checks:\n  - W9502\n")
    result = lint_many(templates)
    assert result.linted == 1
    assert "W9502" not in {f.rule_id for f in result.outcomes[0].findings}


TEMPLATE = (FIXTURES / "exclusions_invalid.yaml").read_bytes()


@settings(max_examples=15, deadline=None)
@given(st.integers(0, len(TEMPLATE) - 1), st.integers(0, 255))
def test_a_changed_byte_is_linted_again_never_answered_from_the_cache(position: int, byte: int) -> None:
    """The end-to-end form of the key's property: the original's entry is there, the changed bytes
    get the result that linting them without any cache gives."""
    changed = TEMPLATE[:position] + bytes([byte]) + TEMPLATE[position + 1:]
    with tempfile.TemporaryDirectory() as tmp:
        original, mutant = Path(tmp) / "original.yaml", Path(tmp) / "mutant.yaml"
        original.write_bytes(TEMPLATE)
        mutant.write_bytes(changed)
        lint_many([Template(str(original))])
        cached = lint_many([Template(str(mutant))])
        fresh = lint_many([Template(str(mutant))], cache=False)
        assert cached.outcomes == fresh.outcomes
        assert cached.linted == (0 if changed == TEMPLATE else fresh.linted)  # 0 too when it is unreadable
