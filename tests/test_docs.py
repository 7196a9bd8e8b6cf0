"""The documentation is tested: every command README.md and docs/*.md show runs, exactly as written.

Each ```sh block (also ```bash / ```shell) of README.md and docs/*.md is split into command
lines (`\\` continuations joined, trailing `# comments` dropped). Every command must have an
entry in EXPECTED (its exit code and a fragment of what it prints) or in SKIPPED (with the
reason), so a newly documented command fails here until someone has run it; an entry whose
command no document shows any more fails too. ALSO holds further checks of a command's output
(`make demo` tells its whole story here, the one place it runs).

Each document runs in its own sandbox, in the order it shows its commands: a copy of the
repository in tmp_path whose `.venv` is this test run's virtualenv (so `make template` uses it
and installs nothing), `ecrgen`, `cfn-lint`, `aws` and `pre-commit` on PATH, and AWS played by
the moto server of the `aws` fixture (AWS_ENDPOINT_URL). What a document assumes already exists
(a deployed stack, images in a repository) is made by its entry in SETUP. Output goes to a
pipe, as in a CI log, so it must hold no terminal escape codes. An `ecrgen` line whose words bash
would only split and glob, perhaps ending in `> FILE`, runs through ecrgen's entry point in the
test's own process (the argv bash would give, checked against bash itself, the same directory
and environment): that spares a Python start-up per line. Every other line goes through bash.
"""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.conftest import run_ecrgen
from tests.fault_proxy import FaultProxy
from tests.implicit_fake import ImplicitFake, deploy_account_wide

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = ["README.md", *sorted(f"docs/{path.name}" for path in (ROOT / "docs").glob("*.md"))]
SHELL_FENCES = {"sh", "bash", "shell"}
NOT_COPIED = (".git", ".venv", "tests", "__pycache__", ".pytest_cache", ".ruff_cache", ".hypothesis",
              "build", "dist", "*.egg-info", ".bench")
COMMAND_TIMEOUT = 600

# Commands that cannot run inside the test suite.
SKIPPED = {
    "make test": "runs this very test suite",
    "make bench": "minutes of timing on a quiet machine; tests/test_bench_exit.py covers its exit code",
}

# command -> (exit code, a fragment of its stdout + stderr). None: it prints nothing worth
# matching (a clean lint), the exit code is the whole answer.
EXPECTED: dict[str, tuple[int, str | None]] = {
    # README.md
    "make template": (0, "wrote templates/ecr.yaml (2 repositories"),
    "make demo": (0, "--check again: clean"),
    "ecrgen template": (0, "wrote templates/ecr.yaml (2 repositories"),
    "ecrgen template --config ecr.yaml --out - --format json --no-lint": (0, '"AWSTemplateFormatVersion"'),
    "aws cloudformation deploy --stack-name myapp-ecr --template-file templates/ecr.yaml "
    "--capabilities CAPABILITY_IAM": (0, "Successfully created/updated stack - myapp-ecr"),
    "ecrgen post-deploy --stack-name myapp-ecr": (0, "2 repositories: 2 changed"),
    "ecrgen post-deploy --stack-name myapp-ecr --check": (0, "2 repositories: 2 in-sync"),
    "ecrgen lifecycle preview --policy examples/policy.json --images examples/images.json":
        (0, "5 images evaluated at"),
    "ecrgen lifecycle preview --config ecr.yaml --repository php-app --live": (0, "against 1 rule"),
    "ecrgen lifecycle validate examples/policy.json": (0, "examples/policy.json: valid (3 rules)"),
    "ecrgen lint templates/*.yaml": (0, None),
    'cfn-lint templates/ecr.yaml --append-rules "$(ecrgen lint --rules-dir)"': (0, None),
    # docs/lifecycle.md
    "aws ecr describe-images --repository-name myapp-ecr-php-app > images.json": (0, None),
    "ecrgen lifecycle preview --policy examples/policy.json --images images.json": (0, "3 images evaluated at"),
    "ecrgen lifecycle preview --config ecr.yaml --repository php-app --images images.json":
        (0, "3 images evaluated at"),
    "ecrgen lifecycle preview --live --repository myapp-ecr-php-app": (0, "against 3 rules"),
    "ecrgen lifecycle preview --live --config ecr.yaml --repository php-app": (0, "against 1 rule"),
    "ecrgen lifecycle preview --policy examples/policy.json --images examples/images.json "
    "--now 2026-01-10T12:00:00Z": (0, "freed: 2.0 GiB (2,147,483,648 bytes), saving 0.20 USD per month"),
    "ecrgen lifecycle preview --live --repository myapp-ecr-php-app --in-use ecs,lambda":
        (0, "in use by ecs:prod/api"),
    "ecrgen lifecycle preview --live --repository myapp-ecr-php-app --in-use ecs --fail-on-in-use":
        (1, "IN USE: the policy expires"),
    # docs/lint.md
    "ecrgen lint templates/ecr.yaml examples/MyStack.template.json":
        (0, "examples/MyStack.template.json:7:6: W9502 repository ApiRepository3F2A1C7E"),
    "ecrgen lint --format json templates/*.yaml": (0, '"findings": []'),
    "ecrgen lint --ignore-checks W9503 --regions us-east-1,eu-west-1 templates/ecr.yaml": (0, None),
    "ecrgen lint --jobs 1 --no-cache templates/*.yaml": (0, None),
    'cfn-lint templates/ecr.yaml --append-rules "$(ecrgen lint --rules-dir)" --include-checks I': (0, None),
    "pre-commit run ecrgen-lint --all-files": (0, "Passed"),
    # docs/post-deploy.md (the stacks exist: SETUP)
    "ecrgen post-deploy --stack-set myapp-ecr": (0, "fleet: 4 targets, 0 failed; 8 repositories: 8 changed"),
    "ecrgen post-deploy --stack-set myapp-ecr --accounts 111122223333 --regions eu-west-1 --check":
        (0, "fleet: 1 target, 0 failed; 2 repositories: 2 in-sync"),
    "ecrgen post-deploy --stack-name myapp-ecr --stack-name otherapp-ecr": (0, "4 repositories: 2 in-sync, 2 changed"),
    "ecrgen post-deploy --config ecr.yaml --system-name myapp": (0, "2 repositories: 2 in-sync"),
    "ecrgen post-deploy --stack-name myapp-ecr --dry-run": (0, "2 repositories: 2 in-sync"),
    "ecrgen post-deploy --stack-name myapp-ecr --output json": (0, '"inSync": 2'),
    "ecrgen post-deploy --stack-name myapp-ecr --in-use ecs,lambda --pulled-within 30": (0, "2 repositories: 2 in-sync"),
    "ecrgen post-deploy --stack-name myapp-ecr --check --in-use ecs,lambda": (0, "2 repositories: 2 in-sync"),
    # docs/post-deploy.md, what ECR creates by itself (the cache deployed, a repository cached: SETUP)
    "ecrgen template --config examples/cache.yaml --out cache/ecr.yaml": (0, "wrote cache/ecr.yaml (1 repository"),
    "ecrgen post-deploy --config examples/cache.yaml --check":
        (1, "creation template myapp-ecr-hub: planned"),
    "ecrgen post-deploy --config examples/cache.yaml": (0, "account setting BASIC_SCAN_TYPE_VERSION: CLAIR -> "
                                                           "AWS_NATIVE: applied"),
    "ecrgen post-deploy --config examples/cache.yaml --check --output json": (0, '"status": "implicit"'),
    # README.md, adopting the repositories that exist by then
    "ecrgen import --out adopted/ecr.yaml --cfn-import --stack-name adopted-ecr":
        (0, "wrote adopted/ecr.yaml (2 repositories"),
    "ecrgen post-deploy --config adopted/ecr.yaml --check": (0, "2 repositories: 2 in-sync"),
    # README.md, before any image is pushed
    "ecrgen findings --stack-name myapp-ecr --fail-on CRITICAL": (0, "NO_IMAGES"),
    "ecrgen findings --stack-name myapp-ecr --output sarif > findings.sarif": (0, None),
    # docs/findings.md (each repository holds a scanned image with a HIGH finding: SETUP)
    "ecrgen findings --stack-name myapp-ecr --fail-on HIGH": (1, "2 repositories; 2 failed --fail-on HIGH"),
    "ecrgen findings --config ecr.yaml --fail-on CRITICAL --wait 300": (0, "0 failed --fail-on CRITICAL"),
    "ecrgen findings --repository myapp-ecr-php-app --fail-on HIGH --ignore docs/findings-ignore.yaml":
        (1, "CVE-9999-9999  HIGH"),
    "ecrgen findings --stack-name myapp-ecr --output json": (0, '"scanStatus": "COMPLETE"'),
    # basic scanning (moto's) says nothing of fixes or exploits: the findings still count, and a warning says so
    "ecrgen findings --stack-name myapp-ecr --fail-on HIGH --ignore-unfixed --exploitable-only":
        (1, "--ignore-unfixed: 2 findings do not say whether a fix exists (basic scanning); they still count"),
    "ecrgen findings --repository myapp-ecr-php-app --fail-on HIGH --vex docs/findings-vex.json --show-suppressed":
        (1, "CVE-9999-9999  HIGH"),
    # README.md and docs/report.md (php-app holds three images and the example policy: SETUP)
    "ecrgen report --config ecr.yaml --out report.html": (0, "wrote report.html (html): 2 repositories"),
    "ecrgen report --stack-name myapp-ecr --output json > report.json": (0, None),
    "ecrgen report --all": (0, "## ECR registry report: every repository in us-east-1"),
    "ecrgen report --repository myapp-ecr-php-app --archive-price-per-gb 0.07 --output json":
        (0, '"archiveUsdPerGbMonth": 0.07'),
    "ecrgen report --repository myapp-ecr-php-app --in-use ecs,lambda --pulled-within 30":
        (0, "| in use (ecs, lambda, pulled within 30 days) | 2 images, 1 at risk"),
}


def demo_tells_its_story(output: str) -> None:
    """`make demo`: the drift is found (exit 1), fixed, clean again with reads only, and the
    moto server it started is stopped."""
    started, _, check, fix, clean = output.split("\n== ")[1:6]
    assert check.startswith("drift detection: --check writes nothing and exits 1 on drift")
    assert "planned" in check and "exit code: 1" in check
    assert "myapp-ecr-php-app     imageTagMutability  MUTABLE  IMMUTABLE" in fix and "2 changed" in fix
    assert '"inSync": 2' in clean and "Put" not in clean
    url = urlsplit(re.search(r"moto server on (\S+);", started).group(1))
    with pytest.raises(ConnectionRefusedError), socket.create_connection((url.hostname, url.port), timeout=5):
        pass


# command -> more to check in what it prints than a fragment
ALSO: dict[str, Callable[[str], None]] = {"make demo": demo_tells_its_story}


@dataclass(frozen=True)
class Command:
    document: str
    line: int
    text: str


def strip_comment(line: str) -> str:
    """The line without a trailing `# comment`: a `#` that starts a word outside quotes."""
    quote = None
    for index, char in enumerate(line):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (index == 0 or line[index - 1].isspace()):
            return line[:index].rstrip()
    return line.rstrip()


def shell_commands(document: str) -> list[Command]:
    """Every command line of the document's shell blocks, in order."""
    commands: list[Command] = []
    in_block = False
    pending, start = "", 0
    for number, line in enumerate((ROOT / document).read_text().splitlines(), 1):
        fence = re.match(r"\s*```\s*(\S*)", line)
        if fence:
            in_block = not in_block and fence.group(1) in SHELL_FENCES
            continue
        if not in_block:
            continue
        if not pending:
            start = number
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        text = " ".join(strip_comment(pending + line).split())
        pending = ""
        if text:
            commands.append(Command(document, start, text))
    return commands


def all_commands() -> list[Command]:
    return [command for document in DOCUMENTS for command in shell_commands(document)]


def test_the_extractor_reads_shell_blocks_as_a_shell_would(tmp_path: Path, monkeypatch) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text("text\n```sh\n# a note\nfoo --a 'x # y' \\\n    --b \"#z\"  # why\n\nbar#baz\n```\n"
                   "```yaml\nkey: value  # not a command\n```\n```bash\nqux\n```\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert [(c.line, c.text) for c in shell_commands("doc.md")] == [
        (4, "foo --a 'x # y' --b \"#z\""), (7, "bar#baz"), (13, "qux")]


def test_every_documented_command_is_run_or_skipped_with_a_reason() -> None:
    documented = {command.text for command in all_commands()}
    unknown = sorted(f"{c.document}:{c.line}: {c.text}" for c in all_commands()
                     if c.text not in EXPECTED and c.text not in SKIPPED)
    assert not unknown, ("documented commands with no expectation: run each and add it to EXPECTED "
                         "(exit code, output fragment) or, if it cannot run here, to SKIPPED:\n"
                         + "\n".join(unknown))
    stale = sorted((set(EXPECTED) | set(SKIPPED)) - documented)
    assert not stale, f"no document shows these any more; remove them: {stale}"


# --- sandbox and prior state ----------------------------------------------------------------

def sandbox(tmp_path: Path) -> Path:
    """A copy of the repository whose `.venv` is this run's virtualenv, already 'installed'."""
    assert sys.prefix != sys.base_prefix, "the tests run inside the project's virtualenv"
    repo = tmp_path / "repo"
    shutil.copytree(ROOT, repo, ignore=shutil.ignore_patterns(*NOT_COPIED))
    venv = repo / ".venv"
    venv.mkdir()
    for entry in Path(sys.prefix).iterdir():
        if entry.name != ".installed":
            (venv / entry.name).symlink_to(entry)
    (venv / ".installed").touch()  # newer than pyproject.toml: make installs nothing
    return repo


def environment(tmp_path: Path, repo: Path) -> dict[str, str]:
    """The user's shell: the venv's tools first, the sandbox's code, AWS at the moto server."""
    aws_data = tmp_path / "aws-data"
    _fast_cloudformation_waiters(aws_data)
    return {**os.environ, "PATH": f"{repo / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}",
            "PYTHONPATH": str(repo), "AWS_DATA_PATH": str(aws_data),
            "PRE_COMMIT_HOME": str(tmp_path / "pre-commit")}


def _fast_cloudformation_waiters(folder: Path) -> None:
    """botocore's CloudFormation waiters polling every 0.1 s (AWS_DATA_PATH), not every 30 s:
    the AWS CLI's `cloudformation deploy` against moto then takes a second, not minutes."""
    import botocore

    relative = Path("cloudformation") / "2010-05-15" / "waiters-2.json"
    waiters = json.loads((Path(botocore.__file__).parent / "data" / relative).read_text())
    for waiter in waiters["waiters"].values():
        waiter["delay"] = 0.1
    (folder / relative).parent.mkdir(parents=True)
    (folder / relative).write_text(json.dumps(waiters))


def _deploy(repo: Path, stack: str, system_name: str = "myapp") -> None:
    """The stack as `aws cloudformation deploy` leaves it (moto, like CloudFormation back then,
    leaves scan on push off and sets no lifecycle policy)."""
    import boto3

    cfn = boto3.client("cloudformation")
    cfn.create_stack(StackName=stack, TemplateBody=(repo / "templates" / "ecr.yaml").read_text(),
                     Parameters=[{"ParameterKey": "SystemName", "ParameterValue": system_name}],
                     Capabilities=["CAPABILITY_IAM"])
    cfn.get_waiter("stack_create_complete").wait(StackName=stack, WaiterConfig={"Delay": 1})


def _stacks_deployed(repo: Path) -> None:
    """myapp-ecr and otherapp-ecr; the StackSet myapp-ecr in this account and 111122223333, in
    us-east-1 and eu-west-1, its repositories named fleet-ecr-... (moto leaves their settings out)."""
    import boto3

    _deploy(repo, "myapp-ecr")
    _deploy(repo, "otherapp-ecr", "otherapp")
    cfn = boto3.client("cloudformation")
    cfn.create_stack_set(StackSetName="myapp-ecr", TemplateBody=(repo / "templates" / "ecr.yaml").read_text(),
                         Parameters=[{"ParameterKey": "SystemName", "ParameterValue": "fleet"}])
    cfn.create_stack_instances(StackSetName="myapp-ecr", Accounts=["123456789012", "111122223333"],
                               Regions=["us-east-1", "eu-west-1"])


def _push(ecr: Any, repository: str, tag: str) -> None:
    """A small image, as `docker push` leaves it."""
    layer = {"digest": f"sha256:{tag.encode().hex():0>64}", "size": 10**6,
             "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip"}
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                "config": layer, "layers": [layer]}
    ecr.put_image(repositoryName=repository, imageManifest=json.dumps(manifest), imageTag=tag)


def _repository_with_images(repo: Path) -> None:
    """myapp-ecr deployed; php-app holds three images and the example policy, and the ECS
    service prod/api runs both alpha images (the policy keeps one of them)."""
    import boto3

    _deploy(repo, "myapp-ecr")
    ecr = boto3.client("ecr")
    for tag in ("alpha-1", "alpha-2", "v1"):
        _push(ecr, "myapp-ecr-php-app", tag)
    ecr.put_lifecycle_policy(repositoryName="myapp-ecr-php-app",
                             lifecyclePolicyText=(repo / "examples" / "policy.json").read_text())
    uri = ecr.describe_repositories(repositoryNames=["myapp-ecr-php-app"])["repositories"][0]["repositoryUri"]
    ecs = boto3.client("ecs")
    ecs.create_cluster(clusterName="prod")
    definition = ecs.register_task_definition(family="api", containerDefinitions=[
        {"name": tag, "image": f"{uri}:{tag}", "memory": 128} for tag in ("alpha-1", "alpha-2")])
    ecs.create_service(cluster="prod", serviceName="api", desiredCount=1,
                       taskDefinition=definition["taskDefinition"]["taskDefinitionArn"])


def _scanned_images(repo: Path) -> None:
    """myapp-ecr deployed; each repository holds one scanned image (moto finds one HIGH finding)."""
    import boto3

    _deploy(repo, "myapp-ecr")
    ecr = boto3.client("ecr")
    for repository in ("myapp-ecr-php-app", "myapp-ecr-base-image"):
        _push(ecr, repository, "v1")
        ecr.start_image_scan(repositoryName=repository, imageId={"imageTag": "v1"})


def _pre_commit_repository(repo: Path) -> None:
    """The sandbox as a user's git repository with the `repo: local` hook docs/lint.md shows."""
    (repo / ".pre-commit-config.yaml").write_text(documented_local_hook())
    for args in (["init", "-q"], ["add", "-A"]):
        subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def documented_local_hook() -> str:
    """docs/lint.md's `.pre-commit-config.yaml` that needs no `rev`."""
    blocks = re.findall(r"```yaml\n(.*?)```", (ROOT / "docs" / "lint.md").read_text(), re.DOTALL)
    return next(block for block in blocks if "repo: local" in block)


def test_the_documented_local_hook_fails_on_a_broken_template(tmp_path: Path) -> None:
    (tmp_path / "templates").mkdir()
    broken = (ROOT / "tests" / "fixtures" / "lint" / "lifecycle_invalid.yaml").read_text()
    (tmp_path / "templates" / "ecr.yaml").write_text(broken)
    _pre_commit_repository(tmp_path)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "PYTHONPATH": str(ROOT), "PRE_COMMIT_HOME": str(tmp_path / ".pre-commit")}
    result = subprocess.run(["pre-commit", "run", "ecrgen-lint", "--all-files"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=COMMAND_TIMEOUT)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Failed" in result.stdout
    assert "templates/ecr.yaml:" in result.stdout and "E9501" in result.stdout


def _stacks_and_a_cache_deployed(repo: Path) -> None:
    """The stacks, and examples/cache.yaml's rules, template and exclusion as its stack creates
    them, whose template was since edited by hand; a repository the cache made on MUTABLE."""
    import boto3

    from generator.model import config
    from generator.render import template

    _stacks_deployed(repo)
    deploy_account_wide(template.render(template.build(config.load(repo / "examples" / "cache.yaml")), "json"))
    ecr = boto3.client("ecr")
    ecr.update_repository_creation_template(prefix="myapp-ecr-hub", imageTagMutability="MUTABLE")
    ecr.create_repository(repositoryName="myapp-ecr-hub/library/nginx", imageTagMutability="MUTABLE")


# What each document takes as already there before its first command.
SETUP: dict[str, Callable[[Path], None]] = {
    "docs/post-deploy.md": _stacks_and_a_cache_deployed,
    "docs/lifecycle.md": _repository_with_images,
    "docs/findings.md": _scanned_images,
    "docs/lint.md": _pre_commit_repository,
    "docs/report.md": _repository_with_images,
}


# Beyond splitting at spaces, a glob (`*`, `?`, `[`) and a final `> FILE`, what bash would do with
# a word: expand, quote, substitute, redirect otherwise, pipe, chain.
SHELL_SYNTAX = frozenset("$`{}~<>|;&()'\"\\!")
GLOB = frozenset("*?[")


@dataclass(frozen=True)
class EcrgenLine:
    """An `ecrgen ...` line as bash would run it: its arguments after glob expansion, and the
    file its stdout goes to (`> FILE`), if any."""

    arguments: list[str]
    stdout_to: str | None


def ecrgen_line(text: str, cwd: Path) -> EcrgenLine | None:
    """The line when it is `ecrgen` with words bash would only split and glob, optionally ending
    in `> FILE`; None for any other line, which bash runs."""
    words = text.split()
    stdout_to = None
    if len(words) > 2 and words[-2] == ">":
        words, stdout_to = words[:-2], words[-1]
    if words[0] != "ecrgen" or any(SHELL_SYNTAX & set(word) for word in [*words, stdout_to or ""]):
        return None
    if stdout_to is not None and GLOB & set(stdout_to):
        return None
    arguments: list[str] = []
    for word in words[1:]:
        # bash: the matches, sorted, hidden files only for a pattern starting with a dot; none: the word
        matches = sorted(glob.glob(word, root_dir=cwd)) if GLOB & set(word) else []
        arguments += matches or [word]
    return EcrgenLine(arguments, stdout_to)


def run(text: str, repo: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The command line as bash runs it; an `ecrgen` line through its entry point in this process
    (the same argv, cwd and environment, a pipe's output), sparing a Python start-up."""
    line = ecrgen_line(text, repo)
    if line is None:
        return subprocess.run(["bash", "-c", text], cwd=repo, env=env, capture_output=True, text=True,
                              timeout=COMMAND_TIMEOUT)
    result = run_ecrgen(*line.arguments, cwd=repo, env=env)
    if line.stdout_to is None:
        return result
    (repo / line.stdout_to).write_text(result.stdout)
    return subprocess.CompletedProcess(result.args, result.returncode, "", result.stderr)


def test_ecrgen_lines_get_the_arguments_bash_would_give(tmp_path: Path) -> None:
    # lower-case names only: bash sorts matches by the locale, Python by code point
    for name in ("b.yaml", "a.yaml", ".hidden.yaml", "c.json", "d1.yaml", "d2.yml", "d10.yaml"):
        (tmp_path / name).write_text("")
    (tmp_path / "t").mkdir()
    lines = ["ecrgen lint *.yaml", "ecrgen lint --format json *.y*ml c.json", "ecrgen lint d?.yaml",
             "ecrgen lint [ab].yaml", "ecrgen lint t/*.yaml", "ecrgen lint .*.yaml", "ecrgen lint none*.yaml",
             "ecrgen post-deploy --stack-name myapp-ecr --check",
             "ecrgen findings --stack-name s --output sarif > findings.sarif"]
    for text in lines:
        line = ecrgen_line(text, tmp_path)
        assert line is not None, text
        shown = subprocess.run(["bash", "-c", f"printf '%s\\n' {text.removeprefix('ecrgen ')}"], cwd=tmp_path,
                               capture_output=True, text=True, check=True).stdout
        if line.stdout_to is not None:  # bash wrote the arguments where ecrgen's stdout goes
            shown = (tmp_path / line.stdout_to).read_text()
        assert line.arguments == shown.splitlines(), text
    assert ecrgen_line("ecrgen findings --output sarif > f.sarif", tmp_path) == EcrgenLine(
        ["findings", "--output", "sarif"], "f.sarif")
    for text in ('cfn-lint t.yaml --append-rules "$(ecrgen lint --rules-dir)"', "make template",
                 "ecrgen lint 'a b.yaml'", "ecrgen post-deploy --stack-name $STACK", "ecrgen x | head",
                 "AWS_REGION=eu-west-1 ecrgen post-deploy", "ecrgen lint ~/t.yaml", "ecrgen x >> log",
                 "ecrgen x 2> err", "ecrgen x > a b", "ecrgen x && ecrgen y", "ecrgen lint {a,b}.yaml"):
        assert ecrgen_line(text, tmp_path) is None, text


@pytest.mark.parametrize("document", [d for d in DOCUMENTS if shell_commands(d)])
def test_documented_commands_run_as_written(document: str, tmp_path: Path, aws: str,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """AWS is moto behind the loopback fake of the operations moto lacks (tests/implicit_fake.py)."""
    with FaultProxy(aws) as proxy:
        ImplicitFake(proxy)
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
        run_document(document, tmp_path)


def run_document(document: str, tmp_path: Path) -> None:
    repo = sandbox(tmp_path)
    env = environment(tmp_path, repo)
    if document in SETUP:
        SETUP[document](repo)
    failures = []
    for command in shell_commands(document):
        if command.text in SKIPPED or command.text not in EXPECTED:  # the test above reports those
            continue
        code, fragment = EXPECTED[command.text]
        result = run(command.text, repo, env)
        output = result.stdout + result.stderr
        if result.returncode != code or (fragment is not None and fragment not in output):
            failures.append(f"{document}:{command.line}: {command.text}\n  exit {result.returncode} "
                            f"(expected {code}), expected to print {fragment!r}; printed:\n{output}")
        if command.text in ALSO and result.returncode == code:
            ALSO[command.text](output)
        assert "Traceback" not in output, f"{command.text}\n{output}"
        assert "\x1b[" not in output, f"{command.text} prints terminal escape codes into a pipe:\n{output!r}"
    assert not failures, "\n".join(failures)


# --- links ----------------------------------------------------------------------------------

def markdown_files() -> list[Path]:
    """Every Markdown file a reader of the repository sees (README.md, docs/, examples/, ...)."""
    return sorted(path for path in ROOT.rglob("*.md")
                  if not any(part in NOT_COPIED or part.endswith(".egg-info")
                             for part in path.relative_to(ROOT).parts[:-1]))


LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def anchors(markdown: str) -> set[str]:
    """The anchors GitHub gives a page's headings: lower case, punctuation but `-` and `_`
    dropped, spaces as `-`, a repeated one numbered; `#` lines inside code blocks are no headings."""
    found: set[str] = set()
    fenced = False
    for line in markdown.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        heading = re.match(r"#{1,6} (.+)", line)
        if heading and not fenced:
            slug = re.sub(r"[^\w\- ]", "", heading.group(1).strip().lower()).replace(" ", "-")
            found.add(next(f"{slug}-{n}" if n else slug for n in range(len(found) + 1)
                           if (f"{slug}-{n}" if n else slug) not in found))
    return found


def test_every_relative_link_resolves_inside_the_repository() -> None:
    broken = []
    for path in markdown_files():
        for target in LINK.findall(path.read_text()):
            if re.match(r"[a-z][a-z0-9+.-]*:", target):
                continue  # https://..., mailto:
            file, _, anchor = target.partition("#")
            resolved = (path.parent / file).resolve() if file else path
            if not resolved.is_relative_to(ROOT) or not resolved.exists():
                broken.append(f"{path.relative_to(ROOT)}: {target}")
            elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved.read_text()):
                broken.append(f"{path.relative_to(ROOT)}: {target} (no such heading)")
    assert not broken, broken


def test_the_link_check_covers_readme_and_docs() -> None:
    assert {str(path.relative_to(ROOT)) for path in markdown_files()} >= set(DOCUMENTS)


def test_the_link_check_finds_a_link_out_of_the_repository(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "README.md").write_text("[a](../shared/seed/030-ECR.md) [b](https://x.org/y) [c](#z)\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    with pytest.raises(AssertionError, match=r"README.md: \.\./shared/seed/030-ECR.md"):
        test_every_relative_link_resolves_inside_the_repository()


def test_the_link_check_finds_a_heading_that_is_not_there(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("# Images in use: `--in-use`, the guard\n## Notes\n## Notes\n"
                                            "```sh\n# not-a-heading\n```\n")
    (tmp_path / "README.md").write_text("[ok](docs/a.md#images-in-use---in-use-the-guard) [ok](docs/a.md#notes-1) "
                                        "[bad](docs/a.md#not-a-heading) [bad](#nowhere)\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    with pytest.raises(AssertionError) as failed:
        test_every_relative_link_resolves_inside_the_repository()
    assert str(failed.value).splitlines()[0] == ("['README.md: docs/a.md#not-a-heading (no such heading)', "
                                                 "'README.md: #nowhere (no such heading)']")
