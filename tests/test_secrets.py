"""Credentials from the environment never appear in any output, success or error, text or JSON.

Every command runs with a recognisable fake key in the environment (moto accepts any key), and
neither the key id, the secret nor the session token may show up on stdout or stderr.
"""

from __future__ import annotations

import json
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path

import boto3
import pytest

from tests.conftest import run_ecrgen
from tests.fault_proxy import FaultProxy, Faults, RepositoryFault, fault_proxy

__all__ = ["fault_proxy"]  # the fixture, imported for pytest

SECRETS = {
    "AWS_ACCESS_KEY_ID": "AKIAECRGENFAKE0000001",
    "AWS_SECRET_ACCESS_KEY": "ecrgen/Secret/Fake/Key/DoNotPrint0123456789ab",
    "AWS_SESSION_TOKEN": "ecrgen/Session/Fake/Token/DoNotPrint0123456789ab",
}
CONFIG = """\
system_name: myapp
settings_via: post-deploy
defaults:
  lifecycle:
    - {tag_status: untagged, since_pushed_days: 14}
    - {tag_status: any, keep_last: 1}
repositories:
  - name: web
  - name: bad
"""
MANIFEST = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                       "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                                  "size": 2, "digest": "sha256:" + "0" * 64}, "layers": []})

Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture()
def run(tmp_path: Path, aws: str, monkeypatch: pytest.MonkeyPatch) -> Run:
    """`ecrgen ARGS` in a folder holding ecr.yaml, with the fake secrets in its environment;
    fails the test if a secret shows up in the output."""
    for key, value in SECRETS.items():
        monkeypatch.setenv(key, value)
    (tmp_path / "ecr.yaml").write_text(CONFIG)

    def run(*args: str, exit: int = 0) -> subprocess.CompletedProcess[str]:
        result = run_ecrgen(*args, cwd=tmp_path)
        output = result.stdout + result.stderr
        leaked = [key for key, value in SECRETS.items() if value in output]
        assert not leaked, f"`ecrgen {' '.join(args)}` printed {leaked}:\n{output}"
        assert "Traceback" not in output, output
        assert result.returncode == exit, output
        return result

    return run


@pytest.fixture()
def repositories(aws: str) -> None:
    """myapp-ecr-web and myapp-ecr-bad, drifted, web with one image."""
    ecr = boto3.client("ecr", endpoint_url=aws, aws_access_key_id="testing", aws_secret_access_key="testing")
    for name in ("myapp-ecr-web", "myapp-ecr-bad"):
        ecr.create_repository(repositoryName=name)
    ecr.put_image(repositoryName="myapp-ecr-web", imageManifest=MANIFEST, imageTag="v1")


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_offline_commands(run: Run) -> None:
    run("--help")
    run("template", "--config", "ecr.yaml", "--out", "t.yaml")
    run("template", "--config", "ecr.yaml", "--out", "-", "--format", "json")
    run("lint", "t.yaml")
    run("template", "--config", "missing.yaml", exit=2)
    run("lifecycle", "validate", "missing.json", exit=2)


@pytest.mark.usefixtures("repositories")
@pytest.mark.parametrize("output", ["text", "json"])
def test_post_deploy_success_and_error_paths(run: Run, output: str) -> None:
    run("post-deploy", "--config", "ecr.yaml", "--check", "--output", output, exit=1)
    run("post-deploy", "--config", "ecr.yaml", "--output", output)
    run("post-deploy", "--stack-name", "nope", "--output", output, exit=2)


@pytest.mark.usefixtures("repositories")
def test_unreachable_endpoint(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore retries connection errors with backoff before giving up: two tries say as much
    as the default ten, in a fraction of the time."""
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    run("post-deploy", "--config", "ecr.yaml", "--endpoint-url", closed_port_url(), "--output", "json", exit=2)


@pytest.mark.usefixtures("repositories")
@pytest.mark.parametrize("output", ["text", "json"])
def test_access_denied(run: Run, fault_proxy: FaultProxy, output: str) -> None:
    fault_proxy.configure(Faults(repositories=(RepositoryFault("myapp-ecr-bad"),)))
    result = run("post-deploy", "--config", "ecr.yaml", "--output", output, exit=1)
    assert "AccessDeniedException" in result.stdout


@pytest.mark.usefixtures("repositories")
def test_live_preview(run: Run) -> None:
    run("post-deploy", "--config", "ecr.yaml")  # gives myapp-ecr-web its policy
    for output in ("text", "json"):
        run("lifecycle", "preview", "--repository", "myapp-ecr-web", "--live", "--output", output)
        run("lifecycle", "preview", "--config", "ecr.yaml", "--repository", "web", "--live",
            "--output", output)
    run("lifecycle", "preview", "--repository", "myapp-ecr-nope", "--live", exit=2)


@pytest.mark.usefixtures("repositories")
def test_credentials_from_a_profile(run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same secrets from a shared credentials file and --profile / AWS_PROFILE."""
    credentials = tmp_path / "credentials"
    credentials.write_text("[pipeline]\naws_access_key_id = {AWS_ACCESS_KEY_ID}\naws_secret_access_key = "
                           "{AWS_SECRET_ACCESS_KEY}\naws_session_token = {AWS_SESSION_TOKEN}\n".format(**SECRETS))
    for key in SECRETS:
        monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    run("post-deploy", "--config", "ecr.yaml", "--profile", "pipeline", "--output", "json")
    run("post-deploy", "--config", "ecr.yaml", "--profile", "nobody", "--output", "json", exit=2)
    monkeypatch.setenv("AWS_PROFILE", "pipeline")
    run("lifecycle", "preview", "--repository", "myapp-ecr-web", "--live", "--output", "json")
