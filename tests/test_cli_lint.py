"""`ecrgen lint` and plain `cfn-lint --append-rules`, run as users run them."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from generator.lint.rules import RULES_DIR
from tests.conftest import load_yaml, run_ecrgen
from tests.test_lint_rules import FIRES, FIXTURES, ROOT, template_of

CFN_LINT = str(Path(sys.executable).parent / "cfn-lint")
FINDING = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+):(?P<column>\d+): (?P<rule>[EWI]\d{4}) (?P<message>.+)$")


def ecr_findings_of_cfn_lint(*paths: Path) -> set[tuple[str, str, int]]:
    """(file name, rule id, line) of ecrgen's rules as plain cfn-lint reports them."""
    out = subprocess.run([CFN_LINT, "--append-rules", str(RULES_DIR), "--include-checks", "I",
                          "--format", "parseable", "--", *map(str, paths)],
                         capture_output=True, text=True, timeout=300)
    assert "Traceback" not in out.stderr
    found = set()
    for line in out.stdout.splitlines():
        file, line_no, _col, _end_line, _end_col, rule, _message = line.split(":", 6)
        if rule[1:3] == "95":
            found.add((Path(file).name, rule, int(line_no)))
    return found


def test_findings_are_printed_like_cfn_lint_and_errors_exit_1() -> None:
    result = run_ecrgen("lint", str(FIXTURES / "exclusions_invalid.yaml"))
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert lines and all(FINDING.match(line) for line in lines), lines
    assert f"{FIXTURES / 'exclusions_invalid.yaml'}:9:7: E9502 ImageTagMutability" in result.stdout


def test_warnings_and_notes_alone_exit_0() -> None:
    result = run_ecrgen("lint", str(FIXTURES / "settings_weak.yaml"), str(FIXTURES / "deletion_policy.yaml"))
    assert result.returncode == 0, result.stderr
    rules = {FINDING.match(line)["rule"] for line in result.stdout.splitlines()}
    assert rules == {"W9501", "W9502", "W9503", "I9501", "I9502"}


def test_json_format_lists_findings_and_counts_levels() -> None:
    result = run_ecrgen("lint", "--format", "json", str(FIXTURES / "policy_public.yaml"))
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert [(f["ruleId"], f["line"], f["level"]) for f in report["findings"]] == [
        ("E9506", 23, "error"), ("E9506", 39, "error"), ("E9512", 39, "error"), ("W9511", 39, "warning"),
        *[("E9506", line, "error") for line in (53, 67, 73, 79, 85, 91, 97, 116, 122, 128, 134, 140, 159)]]
    assert set(report["findings"][0]) == {"filename", "line", "column", "ruleId", "level", "message"}
    assert report["unreadable"] == []
    assert report["summary"] == {"error": 16, "warning": 1, "informational": 0}


def test_the_shipped_template_is_clean() -> None:
    result = run_ecrgen("lint", str(ROOT / "templates" / "ecr.yaml"))
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


@pytest.mark.parametrize(("name", "content", "says"), [
    ("missing.yaml", None, "file not found"),
    ("ecr.yaml", "system_name: myapp\nrepositories: [{name: app}]\n", "no Resources section"),
    ("broken.yaml", "Resources:\n  R: [\n", "not a template"),
    ("binary.yaml", b"\x00\x01\x02", "binary file"),
])
def test_bad_input_is_one_clear_message_and_exit_2(tmp_path: Path, name: str, content: str | bytes | None,
                                                  says: str) -> None:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    result = run_ecrgen("lint", str(ROOT / "templates" / "ecr.yaml"), str(path))
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith(str(path)), result.stderr
    assert says in result.stderr and "Traceback" not in result.stderr


def test_a_file_that_is_no_template_hides_no_finding_of_the_others(tmp_path: Path) -> None:
    notes = tmp_path / "notes.yaml"
    notes.write_text("system_name: myapp\nrepositories: [{name: app}]\n")
    bad, good = FIXTURES / "exclusions_invalid.yaml", ROOT / "templates" / "ecr.yaml"
    alone = run_ecrgen("lint", str(bad), str(good))
    result = run_ecrgen("lint", str(bad), str(notes), str(good))
    assert result.returncode == 2
    assert result.stdout == alone.stdout and "E9502" in result.stdout
    assert result.stderr == f"{notes}: not a CloudFormation template: it has no Resources section\n"


def test_json_lists_unreadable_files_beside_the_findings_of_the_others(tmp_path: Path) -> None:
    notes = tmp_path / "notes.yaml"
    notes.write_text("- just\n- a list\n")
    result = run_ecrgen("lint", "--format", "json", str(notes), str(FIXTURES / "policy_public.yaml"))
    assert result.returncode == 2
    report = json.loads(result.stdout)
    assert {f["ruleId"] for f in report["findings"]} == {"E9506", "E9512", "W9511"}
    assert report["unreadable"] == [{"filename": str(notes), "line": None, "message":
                                     "not a CloudFormation template: it has no Resources section"}]
    assert str(notes) in result.stderr


def test_the_worst_exit_code_wins_whatever_the_order(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    warned = FIXTURES / "settings_weak.yaml"
    errored = FIXTURES / "exclusions_invalid.yaml"
    assert run_ecrgen("lint", str(warned), str(errored)).returncode == 1
    assert run_ecrgen("lint", str(errored), str(warned)).returncode == 1
    assert run_ecrgen("lint", str(missing), str(warned)).returncode == 2


def test_rules_dir_with_a_path_is_bad_input_not_ignored() -> None:
    result = run_ecrgen("lint", "--rules-dir", str(ROOT / "templates" / "ecr.yaml"))
    assert result.returncode == 2 and result.stdout == ""
    assert "--rules-dir: prints the rules folder and takes no PATH" in result.stderr


def test_no_path_is_bad_input() -> None:
    result = run_ecrgen("lint")
    assert result.returncode == 2 and "PATH" in result.stderr


def test_rules_dir_is_printed_for_plain_cfn_lint() -> None:
    result = run_ecrgen("lint", "--rules-dir")
    assert result.returncode == 0
    assert Path(result.stdout.strip()) == RULES_DIR and RULES_DIR.is_dir()


def test_plain_cfn_lint_with_append_rules_reports_what_ecrgen_lint_reports(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_text(template_of(60_000))
    paths = [*sorted({FIXTURES / fixture for fixture, _ in FIRES.values()}), big]
    plain = ecr_findings_of_cfn_lint(*paths)
    ours = json.loads(run_ecrgen("lint", "--format", "json", *map(str, paths)).stdout)["findings"]
    assert plain == {(Path(f["filename"]).name, f["ruleId"], f["line"]) for f in ours
                     if f["ruleId"][1:3] == "95"}
    assert {rule for _, rule, _ in plain} == {*FIRES, "W9504"}


def test_plain_cfn_lint_finds_the_shipped_and_cdk_templates_clean() -> None:
    result = subprocess.run([CFN_LINT, "--append-rules", str(RULES_DIR), "--include-checks", "I", "--",
                             str(ROOT / "templates" / "ecr.yaml"), str(FIXTURES / "cdk.json")],
                            capture_output=True, text=True, timeout=300)
    assert (result.returncode, result.stdout) == (0, "")


def test_ecrgen_template_applies_the_ecr_rules(tmp_path: Path) -> None:
    config = tmp_path / "ecr.yaml"
    config.write_text("system_name: myapp\noutputs: []\ndefaults:\n  image_tag_mutability: MUTABLE\n"
                      "  lifecycle: [{tag_status: any, keep_last: 20}]\nrepositories: [{name: app}]\n")
    result = run_ecrgen("template", "--config", str(config), "--out", str(tmp_path / "t.yaml"))
    assert result.returncode == 0, result.stderr
    assert re.search(r"t\.yaml:\d+:\d+: W9501 repository EcrApp has MUTABLE tags", result.stderr), result.stderr


def test_pre_commit_hook_runs_ecrgen_lint_on_templates() -> None:
    (hook,) = load_yaml((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert (hook["id"], hook["entry"], hook["language"]) == ("ecrgen-lint", "ecrgen lint", "python")
    files = re.compile(hook["files"])
    assert files.search("templates/ecr.yaml") and files.search("templates/ecr.json")
    assert not files.search("ecr.yaml") and not files.search(".pre-commit-config.yaml")
