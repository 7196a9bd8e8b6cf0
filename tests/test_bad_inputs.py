"""The bad-input corpus: every case in tests/bad_inputs/ through the real command line.

A case is a folder with its input files and a `case.yaml`: `args` (the ecrgen arguments, run
inside a copy of the folder), `exit` (2 unless the contract says otherwise), `stderr` (fragments
that must all appear on stderr: the file, the field, what is allowed) and `aws: true` when the
command needs the local AWS; `stdout` likewise for findings, which `ecrgen lint` prints there. Every case must also print no traceback, and leave the folder as
it was: an existing `--out` file byte-identical, nothing half-written, no temporary files.
"""

from __future__ import annotations

import contextlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator.base.errors import InputError
from generator.model import config, lifecycle
from generator.model.lifecycle.reading import read_file
from generator.render import template
from tests.conftest import load_yaml, run_ecrgen

CORPUS = Path(__file__).parent / "bad_inputs"
CASES = sorted(path.name for path in CORPUS.iterdir() if (path / "case.yaml").is_file())
KNOWN_OUTPUT = b"# a template from an earlier run, which bad input must not touch\n"


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every path under `root` with its bytes (None for directories)."""
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None) for p in root.rglob("*")}


def test_the_corpus_is_big_enough() -> None:
    assert len(CASES) >= 30


@pytest.mark.parametrize("name", CASES)
def test_bad_input_is_reported_cleanly(name: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    spec = load_yaml((CORPUS / name / "case.yaml").read_text())
    if spec.get("aws"):
        request.getfixturevalue("aws")
    work = tmp_path / name
    shutil.copytree(CORPUS / name, work, ignore=shutil.ignore_patterns("case.yaml"))
    args: list[str] = spec["args"]
    if "--out" in args:
        out = work / args[args.index("--out") + 1]
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(KNOWN_OUTPUT)
    before = snapshot(work)

    result = run_ecrgen(*args, cwd=work)

    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    assert result.returncode == spec["exit"], result.stderr
    for stream in ("stderr", "stdout"):
        text = getattr(result, stream)
        missing = [fragment for fragment in spec.get(stream, []) if fragment not in text]
        assert not missing, f"{stream} lacks {missing}:\n{text}"
    assert snapshot(work) == before


# --- damaged inputs, generated: the loaders answer InputError or a result, never anything else ---

ROOT = CORPUS.parent.parent
IMAGES = json.dumps({"imageDetails": [{
    "imageDigest": "sha256:" + "a" * 64, "imageTags": ["v1", "latest"], "imagePushedAt": "2026-01-01T00:00:00Z",
    "imageSizeInBytes": 5, "lastRecordedPullTime": "2026-02-01T00:00:00Z", "imageStatus": "ACTIVE"}]})
POLICY = json.dumps({"rules": [
    {"rulePriority": 1, "description": "v", "selection": {
        "tagStatus": "tagged", "tagPrefixList": ["v"], "countType": "sinceImagePushed", "countUnit": "days",
        "countNumber": 5}, "action": {"type": "expire"}},
    {"rulePriority": 2, "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 9},
     "action": {"type": "expire"}}]}, indent=2)
TOKENS = [*" \n\t:-,[]{}'\"!&*#|>%@`~.0é\x00", "null", "true", "[]", "{}", "- ", ": ", "&a ", "*a", "!!str "]
EDITS = st.lists(st.tuples(st.floats(0, 1), st.booleans(), st.sampled_from(TOKENS)), min_size=1, max_size=5)


def damage(text: str, edits: list[tuple[float, bool, str]]) -> str:
    """Insert a token at, or delete the character at, each relative position."""
    for where, insert, token in edits:
        at = int(where * len(text))
        text = text[:at] + token + text[at:] if insert else text[:at] + text[at + 1:]
    return text


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=EDITS)
def test_a_damaged_config_loads_and_renders_or_is_bad_input(tmp_path: Path, edits: list[Any]) -> None:
    path = tmp_path / "ecr.yaml"
    path.write_text(damage((ROOT / "ecr.yaml").read_text(), edits))
    try:
        cfg = config.load(path)
    except InputError:
        return
    template.render(template.build(cfg))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=EDITS)
def test_a_damaged_policy_file_is_valid_invalid_or_bad_input(tmp_path: Path, edits: list[Any]) -> None:
    path = tmp_path / "policy.json"
    path.write_text(damage(POLICY, edits))
    with contextlib.suppress(InputError):
        policy, problems = read_file(path)
        assert (policy is None) == bool(problems)


@settings(max_examples=150, deadline=None)
@given(edits=EDITS)
def test_a_damaged_image_list_is_read_or_is_bad_input(edits: list[Any]) -> None:
    with contextlib.suppress(InputError):
        lifecycle.load_images(damage(IMAGES, edits), "images.json")
