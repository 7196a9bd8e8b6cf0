"""Shared fixtures: a real moto server on 127.0.0.1 and a way to run `ecrgen` as users do."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import subprocess
import sys
import tempfile
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import settings

# Property tests say what holds, never how fast, and must fail only where the code does: no
# per-example deadline (a loaded machine misses hypothesis's 200 ms and fails a correct test),
# and the same examples on every run (derandomize), so CI never turns red by the draw.
settings.register_profile("ecrgen", deadline=None, derandomize=True)
settings.load_profile("ecrgen")

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


def load_yaml(text: str) -> Any:
    """YAML data through libyaml, many times faster than PyYAML's pure-Python reader on a big
    template (ecrgen reads its own inputs the same way, generator/source.py)."""
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """One moto server process for the whole run; its endpoint URL."""
    proc, url = moto_local.start()
    yield url
    moto_local.stop(proc)


@pytest.fixture(scope="session", autouse=True)
def models_read_once() -> Iterator[None]:
    """botocore reads its JSON models (endpoints, each service's API) into each new session, and
    every in-process `ecrgen` run makes new sessions; here they share the worker's reading. The
    models are data that never change, so nothing else is shared: not credentials, region or
    endpoint."""
    import botocore.session

    original = botocore.session.create_loader
    loaders: dict[str | None, Any] = {}

    def create_loader(search_path_string: str | None = None) -> Any:
        if search_path_string not in loaders:
            loader = original(search_path_string)
            loader._search_paths = _PathsOnce(loader.search_paths)  # boto3 adds its own, per session
            loaders[search_path_string] = loader
        return loaders[search_path_string]

    patch = pytest.MonkeyPatch()
    patch.setattr(botocore.session, "create_loader", create_loader)
    yield
    patch.undo()


class _PathsOnce(list):  # type: ignore[type-arg]
    """A loader's search paths, each at most once."""

    def append(self, path: str) -> None:
        if path not in self:
            super().append(path)


@pytest.fixture(autouse=True)
def short_throttling_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore backs off from a throttling error starting at 1 s (doubling, with jitter); here
    at 50 ms, as it does from other errors. The same retries, by the same code, for less waiting:
    the fault tests throttle on purpose, many times."""
    from botocore.retries.standard import ExponentialBackoff

    monkeypatch.setitem(ExponentialBackoff._DEFAULT_BACKOFF_CONFIG, "throttling_base_scale", 0.05)


@pytest.fixture(autouse=True)
def lint_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test's lint cache in a folder of its own (ECRGEN_CACHE_DIR, which `ecrgen` children
    inherit): the suite never writes to the user's home, and no test sees another's entries."""
    folder = tmp_path_factory.mktemp("ecrgen-cache")
    monkeypatch.setenv("ECRGEN_CACHE_DIR", str(folder))
    return folder


@pytest.fixture()
def stubbed_ecr() -> Iterator[tuple[Any, Any]]:
    """An ECR client whose every call a test answers with botocore's Stubber (for what moto cannot
    do); the test fails when a stubbed answer was never asked for."""
    import boto3
    from botocore.stub import Stubber

    ecr = boto3.client("ecr", region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s")
    with Stubber(ecr) as stub:
        yield ecr, stub
        stub.assert_no_pending_responses()


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
               env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run `ecrgen ARGS` as a process would, in this one, and return its exit code and output.

    The same entry point (`generator.cli.main`) with its own argv, working directory,
    environment variables and stdin; its output is everything written to stdout and stderr, down
    to file descriptors 1 and 2; an escaping exception is printed as a traceback with exit 1, as
    the interpreter would. That spares the suite a Python start-up per call. The tests that are
    about the process itself (a pipeline hook, a kill, the demo) start one.
    """
    from generator.cli import main

    env = env or {}
    out, err = io.StringIO(), io.StringIO()
    saved_env = {key: os.environ.get(key) for key in env}
    saved = (sys.argv, sys.stdin, os.getcwd())
    code = 0
    try:
        os.environ.update(env)
        sys.argv, sys.stdin = ["ecrgen", *args], io.StringIO(input or "")
        if cwd is not None:
            os.chdir(cwd)
        with _file_descriptors_captured() as raw, contextlib.redirect_stdout(out), \
                contextlib.redirect_stderr(err):
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
    return subprocess.CompletedProcess(["ecrgen", *args], code, out.getvalue() + raw["stdout"],
                                       err.getvalue() + raw["stderr"])


def post_deploy_json(*args: str, code: int, cwd: Path | str | None = None) -> dict[str, Any]:
    """`ecrgen post-deploy ARGS --output json`: its exit code must be `code`; its report."""
    result = run_ecrgen("post-deploy", *args, "--output", "json", cwd=cwd)
    assert result.returncode == code, result.stdout + result.stderr
    return json.loads(result.stdout)  # nothing but JSON on stdout


@contextlib.contextmanager
def _file_descriptors_captured() -> Iterator[dict[str, str]]:
    """What reaches file descriptors 1 and 2 without passing through sys.stdout / sys.stderr (a
    C library, a stream bound before the run): a process's output would hold it, so this does."""
    raw = {"stdout": "", "stderr": ""}
    with tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
        saved = {1: os.dup(1), 2: os.dup(2)}
        _flush_standard_streams()
        os.dup2(stdout.fileno(), 1)
        os.dup2(stderr.fileno(), 2)
        try:
            yield raw
        finally:
            _flush_standard_streams()
            for fd, copy in saved.items():
                os.dup2(copy, fd)
                os.close(copy)
            for name, file in (("stdout", stdout), ("stderr", stderr)):
                file.seek(0)
                raw[name] = file.read().decode(errors="replace")


def _flush_standard_streams() -> None:
    for stream in (sys.__stdout__, sys.__stderr__):
        if stream is not None:
            stream.flush()


@pytest.fixture()
def ecrgen():
    return run_ecrgen
