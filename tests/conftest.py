"""Shared fixtures: a real moto server on 127.0.0.1 and a way to run `ecrgen` as users do."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
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
               env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run `python -m generator ARGS` as a separate process, the way a pipeline runs it."""
    return subprocess.run([sys.executable, "-m", "generator", *args], cwd=cwd, input=input,
                          env={**os.environ, **(env or {})}, capture_output=True, text=True,
                          timeout=300)


@pytest.fixture()
def ecrgen():
    return run_ecrgen
