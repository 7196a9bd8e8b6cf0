"""`ecrgen import`: write the ecr.yaml (and policy files) that reproduce a live registry."""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer

from generator.base.errors import InputError, Problem
from generator.base.wording import plural
from generator.cli import aws_options

COMMAND = "import"
CHANGE_SET = "ecrgen-import"


def import_(
    filters: list[str] = typer.Option([], "--filter", show_default=False, metavar="GLOB",
                                      help="Import only repositories whose name matches (repeatable)."),
    system_name: str = typer.Option(None, "--system-name", metavar="NAME",
                                    help="The SystemName (default: the prefix most names share)."),
    name_pattern: str = typer.Option(None, "--name-pattern", metavar="PATTERN",
                                     help="How names are made, e.g. '${SystemName}-ecr-{name}'."),
    out: Path = typer.Option(Path("ecr.yaml"), "--out", "-o", metavar="FILE", help="The ecr.yaml to write."),
    policies_dir: Path = typer.Option(None, "--policies-dir", metavar="DIR",
                                      show_default="policies/ beside --out",
                                      help="Where policies that ecr.yaml cannot express go."),
    force: bool = typer.Option(False, "--force", help="Overwrite existing files."),
    cfn_import: bool = typer.Option(False, "--cfn-import", help="Also write the template and "
                                    "resources-to-import.json for a CloudFormation IMPORT change set."),
    execute: bool = typer.Option(False, "--execute", help="With --cfn-import: also create and execute "
                                 "the IMPORT change set, instead of printing the commands."),
    stack_name: str = typer.Option(None, "--stack-name", metavar="NAME",
                                   help="With --cfn-import: the stack in the printed commands "
                                        "(default: SYSTEM-ecr)."),
    s3_bucket: str = typer.Option(None, "--s3-bucket", metavar="BUCKET",
                                  help="With --cfn-import: take the import template from this S3 bucket "
                                       "(--template-url), as a template over 51,200 bytes must be; "
                                       "with --execute, upload it there."),
    region: str = aws_options.REGION,
    profile: str = aws_options.PROFILE,
    endpoint_url: str = aws_options.ENDPOINT_URL,
    concurrency: int = typer.Option(8, "--concurrency", min=1, max=64, metavar="N",
                                    help="Parallel API calls (1-64)."),
) -> None:
    """Read the live repositories and write the ecr.yaml that reproduces them.

    Settings most repositories share go into `defaults`; each repository lists only where it
    differs. Policies that `lifecycle:` or `access:` cannot express exactly go to files in
    --policies-dir; anything not carried over is listed on stderr with the reason. The
    pull-through cache rules and creation templates whose prefix matches --filter are written
    too (templates with `enforce_existing: false`: an import changes nothing).

    With --cfn-import, a template over 51,200 bytes (CloudFormation's limit for a template in
    the call itself) needs --s3-bucket; everything is checked before any file is written.

    Exit codes: 0 written, 1 written but a repository (or the rules or templates) could not be
    read (listed) or the --execute import failed, 2 bad input (flags, an existing file without
    --force, a filter that selects nothing, credentials, a template too large for the flags given).
    """
    from generator.adopt import implicit, importer
    from generator.aws import importer as aws_importer
    from generator.aws.client import make_client, user_errors
    from generator.aws.ecr import CallCounter
    from generator.model.repository import DEFAULT_NAME_PATTERN, SYSTEM_NAME_PATTERN

    pattern = name_pattern or DEFAULT_NAME_PATTERN
    _check_flags(pattern, system_name, SYSTEM_NAME_PATTERN)
    _check_cfn_flags(cfn_import, {"--execute": execute, "--stack-name": stack_name, "--s3-bucket": s3_bucket})
    base = out.parent
    if out.exists() and not force:
        raise InputError(str(out), "exists; pass --force to overwrite it")
    ecr = make_client("ecr", region=region, profile=profile, endpoint_url=endpoint_url,
                      pool_size=concurrency)
    counter = CallCounter()
    counter.attach(ecr)
    with user_errors("reading the registry"):
        described = aws_importer.list_repositories(ecr, filters)
        if not described:
            selected = f"matches --filter {' '.join(filters)}" if filters else "exists in the registry"
            raise InputError(COMMAND, Problem(f"no repository {selected}", field="--filter"))
        live, errors = aws_importer.read(ecr, described, concurrency)
        rules, templates, implicit_errors = aws_importer.read_implicit(ecr, filters)
    if not live:
        raise InputError(COMMAND, [Problem(f"{name}: {error}") for name, error in sorted(errors.items())])
    policies_dir = base / "policies" if policies_dir is None else policies_dir
    policies_ref = Path(os.path.relpath(policies_dir, base)).as_posix()
    if policies_ref.startswith(".."):
        raise InputError(COMMAND, Problem(f"{policies_dir} must be inside {base.resolve()}, where "
                                          f"{out.name} refers to it from", field="--policies-dir"))
    header = _header(live[0].arn, ecr.meta.region_name, endpoint_url or os.environ.get("AWS_ENDPOINT_URL"))
    result = importer.build(live, header, system_name, pattern, policies_ref,
                            implicit.sections(rules, templates, pattern, live[0].arn))
    errors.update(implicit_errors)
    files = {out: result.text, **{base / ref: text for ref, text in result.policy_files.items()}}
    cfg = _validated(out.name, result)
    stack = stack_name or f"{result.system_name}-ecr"
    aws = {"region": region, "profile": profile, "endpoint_url": endpoint_url}
    change_set = _change_set(cfg, base / "templates", out.stem, stack, s3_bucket, aws) if cfn_import else None
    if change_set:
        files.update(change_set.files())
    existing = [path for path, text in files.items() if path != out and path.exists() and not force
                and path.read_text(encoding="utf-8") != text]
    if existing:
        raise InputError(COMMAND, [Problem(f"{path} exists; pass --force to overwrite it")
                                   for path in existing])
    if change_set and execute:
        change_set.check_bucket()
    _write(files, out)
    _report(result, errors, counter, out, len(live))
    if change_set and execute:
        failed = change_set.execute()
        errors = errors or failed
    elif change_set:
        change_set.print_commands()
    if errors:
        raise typer.Exit(1)


def _check_flags(pattern: str, system_name: str | None, system_pattern: str) -> None:
    problems = []
    if "{name}" not in pattern or any(c in pattern.replace("${SystemName}", "").replace("{name}", "")
                                      for c in "${}"):
        problems.append(Problem(f"{pattern!r} must contain {{name}} and may contain ${{SystemName}}; "
                                "no other placeholders", field="--name-pattern"))
    if system_name is not None and not re.match(system_pattern, system_name):
        problems.append(Problem(f"{system_name!r} is not a valid repository name part: lowercase letters, "
                                "digits, '.', '_', '-', '/'", field="--system-name"))
    if problems:
        raise InputError(COMMAND, problems)


BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\Z")  # S3's general purpose bucket names


def _check_cfn_flags(cfn_import: bool, given: dict[str, Any]) -> None:
    """The flags that only mean something with --cfn-import are refused without it, never ignored."""
    problems = [Problem(f"{flag} needs --cfn-import", field=flag)
                for flag, value in given.items() if value and not cfn_import]
    bucket = given["--s3-bucket"]
    if bucket is not None and not BUCKET_NAME.match(bucket):
        problems.append(Problem(f"{bucket!r} is not an S3 bucket name: 3 to 63 lowercase letters, digits, "
                                "'.' and '-', starting and ending with a letter or digit",
                                field="--s3-bucket"))
    if problems:
        raise InputError(COMMAND, problems)


def _header(arn: str, region: str, endpoint: str | None) -> str:
    """When and where: SOURCE_DATE_EPOCH, when set, fixes the time (reproducible output)."""
    account = arn.split(":")[4] if arn.count(":") >= 5 else "unknown"
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(epoch) if epoch else None))
    where = f"account {account}, region {region}" + (f", endpoint {endpoint}" if endpoint else "")
    return (f"# Imported by `ecrgen import` from ECR ({where}) at {when}.\n"
            "# Review it and commit it: from now on this file describes these repositories.\n")


def _validated(name: str, result: Any) -> Any:
    """The written files load as a config (checked in a scratch copy before anything is written)."""
    from generator.model import config as config_module

    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        for ref, text in result.policy_files.items():
            path = root / ref
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        (root / name).write_text(result.text, encoding="utf-8")
        return config_module.load(root / name)


def _write(files: dict[Path, str], out: Path) -> None:
    """Policy files and templates first, ecr.yaml last: it refers to them."""
    from generator.base.fileio import write_atomic

    for path, text in files.items():
        if path != out:
            write_atomic(path, text)
    write_atomic(out, files[out])


def _report(result: Any, errors: dict[str, str], counter: Any, out: Path, count: int) -> None:
    for line in result.not_carried:
        typer.echo(f"not carried over: {line}", err=True)
    for line in result.notes:
        typer.echo(f"note: {line}", err=True)
    for name, error in sorted(errors.items()):
        typer.echo(f"not imported: {name}: {error}", err=True)
    files = f", {plural(len(result.policy_files), 'policy file')}" if result.policy_files else ""
    typer.echo(f"wrote {out} ({plural(count, 'repository')}{files})", err=True)
    calls = ", ".join(f"{op} {n}" for op, n in sorted(counter.counts.items()))
    typer.echo(f"api calls: {calls}", err=True)


@dataclass
class _ChangeSet:
    """The IMPORT change set's files and how CloudFormation gets the template: in the call
    (`--template-body`), or from S3 (`--template-url`)."""

    template: Path
    body: str
    resources_file: Path
    resources: list[dict[str, Any]]
    stack: str
    parameters: dict[str, str]
    bucket: str | None
    aws: dict[str, str | None]

    def files(self) -> dict[Path, str]:
        return {self.template: self.body, self.resources_file: json.dumps(self.resources, indent=2) + "\n"}

    def _s3(self) -> Any:
        from generator.aws.client import make_client

        return make_client("s3", **self.aws)

    def _key(self) -> str:
        from generator.aws import cfn_import

        return cfn_import.template_key(self.stack, self.template.name)

    def check_bucket(self) -> None:
        """With --execute: the bucket takes the upload, asked before anything is written."""
        from generator.aws import cfn_import
        from generator.aws.client import user_errors

        if self.bucket is None:
            return
        with user_errors(f"checking S3 bucket {self.bucket}"):
            problem = cfn_import.bucket_problem(self._s3(), self.bucket)
        if problem:
            raise InputError(COMMAND, Problem(f"cannot upload the import template to {self.bucket}: "
                                              f"{problem}", field="--s3-bucket"))

    def execute(self) -> dict[str, str]:
        """Upload (with --s3-bucket), then run the change set; {stack: reason} when it failed."""
        from generator.aws import cfn_import
        from generator.aws.client import make_client, user_errors

        try:
            with user_errors("importing into CloudFormation"):
                template = {"TemplateBody": self.body}
                if self.bucket is not None:
                    url = cfn_import.upload_template(self._s3(), self.bucket, self._key(), self.body)
                    template = {"TemplateURL": url}
                cfn_import.import_stack(make_client("cloudformation", **self.aws), self.stack, template,
                                        self.resources, self.parameters)
        except cfn_import.ImportFailed as exc:
            typer.echo(f"stack {self.stack}: import failed at {exc}", err=True)
            return {self.stack: str(exc)}
        typer.echo(f"stack {self.stack}: imported {plural(len(self.resources), 'repository')}")
        return {}

    def print_commands(self) -> None:
        typer.echo(f"wrote {self.template} and {self.resources_file}; to bring the repositories under "
                   "CloudFormation, run:")
        source = f"--template-body file://{self.template}"
        if self.bucket is not None:
            from generator.aws import cfn_import

            key = self._key()
            typer.echo(f"  aws s3 cp {self.template} s3://{self.bucket}/{key}")
            source = f"--template-url {cfn_import.template_url(self._s3(), self.bucket, key)}"
        parameters = " ".join(f"ParameterKey={key},ParameterValue={value}"
                              for key, value in self.parameters.items())
        typer.echo(f"  aws cloudformation create-change-set --stack-name {self.stack} --change-set-name "
                   f"{CHANGE_SET} --change-set-type IMPORT {source} "
                   f"--resources-to-import file://{self.resources_file}"
                   + (f" --parameters {parameters}" if parameters else ""))
        typer.echo(f"  aws cloudformation wait change-set-create-complete --stack-name {self.stack} "
                   f"--change-set-name {CHANGE_SET}")
        typer.echo(f"  aws cloudformation execute-change-set --stack-name {self.stack} "
                   f"--change-set-name {CHANGE_SET}")


def _change_set(cfg: Any, directory: Path, stem: str, stack: str, bucket: str | None,
                aws: dict[str, str | None]) -> _ChangeSet:
    """The template to import with (no outputs: an IMPORT change set adds resources only) and the
    resources-to-import list, checked against CloudFormation's size limits."""
    from dataclasses import replace

    from generator.model.stack_limits import MAX_BODY_BYTES, MAX_DIRECT_BODY_BYTES, TemplateLimitError
    from generator.render import template as template_module

    bare = replace(cfg, outputs=(), post_deploy_policy=False, notifications=None, registry=None)
    try:
        built = template_module.build(bare)
    except TemplateLimitError as exc:
        raise InputError(COMMAND, Problem(str(exc), field="--cfn-import")) from None
    text = template_module.render(built, "yaml", f"{stem}.yaml")
    size = len(text.encode())
    if size > MAX_BODY_BYTES:
        raise InputError(COMMAND, Problem(f"the import template would be {size:,} bytes; CloudFormation "
                                          f"accepts at most {MAX_BODY_BYTES:,}: import fewer repositories at "
                                          "a time (--filter)", field="--cfn-import"))
    if size > MAX_DIRECT_BODY_BYTES and bucket is None:
        raise InputError(COMMAND, Problem(f"the import template would be {size:,} bytes, over the "
                                          f"{MAX_DIRECT_BODY_BYTES:,} CloudFormation takes in the call "
                                          "(--template-body): give --s3-bucket BUCKET to take it from S3 "
                                          "(--template-url)", field="--s3-bucket"))
    resources = [{"ResourceType": "AWS::ECR::Repository", "LogicalResourceId": repo.logical_id,
                  "ResourceIdentifier": {"RepositoryName": repo.physical_name(cfg.system_name)}}
                 for repo in cfg.repositories]
    parameters = {"SystemName": cfg.system_name} if "SystemName" in built.parameters else {}
    return _ChangeSet(directory / f"{stem}.import.yaml", text, directory / f"{stem}.resources-to-import.json",
                      resources, stack, parameters, bucket, aws)
