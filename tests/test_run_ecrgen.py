"""The suite's in-process `ecrgen` run shows what a process would: every byte written to stdout
and stderr, the exit code, a traceback for an escaping exception, and leaves no trace behind."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import generator.cli
from tests.conftest import run_ecrgen


def test_output_past_sys_stdout_is_captured_too(monkeypatch: pytest.MonkeyPatch) -> None:
    def main() -> None:
        print("through sys.stdout")
        os.write(1, b"straight to descriptor 1\n")
        os.write(2, b"straight to descriptor 2\n")
        raise SystemExit(3)

    monkeypatch.setattr(generator.cli, "main", main)
    result = run_ecrgen("anything")
    assert result.returncode == 3
    assert "through sys.stdout" in result.stdout and "straight to descriptor 1" in result.stdout
    assert result.stderr == "straight to descriptor 2\n"


def test_an_escaping_exception_is_a_traceback_and_exit_1_and_nothing_leaks(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def main() -> None:
        assert os.environ["ECRGEN_TEST_VALUE"] == "set" and Path.cwd() == tmp_path
        raise RuntimeError("boom")

    monkeypatch.setattr(generator.cli, "main", main)
    monkeypatch.delenv("ECRGEN_TEST_VALUE", raising=False)
    before = Path.cwd()
    result = run_ecrgen("anything", cwd=tmp_path, env={"ECRGEN_TEST_VALUE": "set"})
    assert result.returncode == 1
    assert "Traceback" in result.stderr and "RuntimeError: boom" in result.stderr
    assert "ECRGEN_TEST_VALUE" not in os.environ and Path.cwd() == before
