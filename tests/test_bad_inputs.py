"""The bad-input corpus: every case in tests/bad_inputs/ through the real command line.

A case is a folder with its input files and a `case.yaml`: `args` (the ecrgen arguments, run
inside a copy of the folder), `exit` (2 unless the contract says otherwise), `stderr` (fragments
that must all appear on stderr: the file, the field, what is allowed) and `aws: true` when the
command needs the local AWS; `stdout` likewise for findings, which `ecrgen lint` prints there. Every case must also print no traceback, and leave the folder as
it was: an existing `--out` file byte-identical, nothing half-written, no temporary files.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from tests.conftest import run_ecrgen

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
    spec = yaml.safe_load((CORPUS / name / "case.yaml").read_text())
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
