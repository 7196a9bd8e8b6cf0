"""Shared fixtures: a real moto server on 127.0.0.1 and a way to run `ecrgen` as users do."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import subprocess
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("moto_local", ROOT / "scripts" / "moto_local.py")
moto_local = importlib.util.module_from_spec(_spec)  # type: ignore[arg-type]
_spec.loader.exec_module(moto_local)  # type: ignore[union-attr]

FAKE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """One moto server process for the whole run; its endpoint URL."""
    proc, url = moto_local.start()
    yield url
    moto_local.stop(proc)


@pytest.fixture()
def aws(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """An empty local AWS account; boto3 in this process and in `ecrgen` children talks to it."""
    moto_local.reset(moto_server)
    for key in [k for k in os.environ if k.startswith("AWS_")]:
        monkeypatch.delenv(key)
    for key, value in FAKE_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    return moto_server


def run_ecrgen(*args: str, cwd: Path | str | None = None, input: str | None = None,
               env: dict[str, str] | None = None, process: bool = False) -> subprocess.CompletedProcess[str]:
    """Run `ecrgen ARGS` and return its exit code, stdout and stderr.

    In this process by default: the same entry point (`generator.cli.main`) with its own argv,
    working directory, environment, stdin and output streams, and an escaping exception printed
    as a traceback with exit 1, as the interpreter would. That spares the suite a Python start-up
    per call. `process=True` runs `python -m generator` as a separate process, the way a pipeline
    runs it, for the tests that are about the process itself.
    """
    if process:
        return subprocess.run([sys.executable, "-m", "generator", *args], cwd=cwd, input=input,
                              env={**os.environ, **(env or {})}, capture_output=True, text=True,
                              timeout=300)
    return _run_in_process(list(args), cwd, input, env or {})


def _run_in_process(args: list[str], cwd: Path | str | None, stdin: str | None,
                    env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    from generator.cli import main

    out, err = io.StringIO(), io.StringIO()
    saved_env = {key: os.environ.get(key) for key in env}
    saved = (sys.argv, sys.stdin, os.getcwd())
    code = 0
    try:
        os.environ.update(env)
        sys.argv, sys.stdin = ["ecrgen", *args], io.StringIO(stdin or "")
        if cwd is not None:
            os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main()
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            except Exception:
                err.write(traceback.format_exc())
                code = 1
    finally:
        sys.argv, sys.stdin = saved[0], saved[1]
        os.chdir(saved[2])
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return subprocess.CompletedProcess(["ecrgen", *args], code, out.getvalue(), err.getvalue())


@pytest.fixture()
def ecrgen():
    return run_ecrgen
