"""`ecrgen import` against moto: the imported ecr.yaml reproduces the registry (post-deploy --check
is clean), its template lints clean, the output is deterministic, and bad input writes nothing."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import tempfile
from pathlib import Path

import boto3
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from generator.adopt import importer
from generator.model import access, config, lifecycle, repository_policy
from generator.model.stack_limits import MAX_DIRECT_BODY_BYTES
from tests.conftest import load_yaml, run_ecrgen
from tests.fault_proxy import fault_proxy
from tests.implicit_fake import ImplicitFake, implicit_fake
from tests.strategies import ACCESS, lifecycle_rules

__all__ = ["fault_proxy", "implicit_fake"]  # the fixtures, imported for pytest

ACCOUNT = "123456789012"
OTHER = "111122223333"
KEEP_10 = {"rules": [{"rulePriority": 1, "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed",
                                                       "countUnit": "days", "countNumber": 7},
                      "action": {"type": "expire"}},
                     {"rulePriority": 2, "selection": {"tagStatus": "any", "countType": "imageCountMoreThan",
                                                       "countNumber": 10}, "action": {"type": "expire"}}]}
# Priorities 5 and 9: the rules keep their priorities explicitly.
SPACED = {"rules": [{"rulePriority": 9, "description": "old", "selection": {
    "tagStatus": "tagged", "tagPrefixList": ["v"], "countType": "imageCountMoreThan", "countNumber": 3},
    "action": {"type": "expire"}},
    {"rulePriority": 5, "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed",
                                      "countUnit": "days", "countNumber": 1}, "action": {"type": "expire"}}]}
# `tagged` without a tag list: ECR's documentation says it is invalid, moto takes it.
UNTAGGED_PREFIX = {"rules": [{"rulePriority": 1, "selection": {
    "tagStatus": "tagged", "countType": "imageCountMoreThan", "countNumber": 1}, "action": {"type": "expire"}}]}
PULL = {"Version": "2012-10-17", "Statement": [
    {"Sid": "Pull", "Effect": "Allow", "Principal": {"AWS": OTHER}, "Action": list(access.READ_ACTIONS)}]}
# ecrgen's own `services: [lambda, codebuild]` rendering, as it reads live (placeholders filled in).
SERVICES = json.loads(access.Access.model_validate({"pull": {"accounts": [OTHER], "services": ["lambda", "codebuild"]}})
                      .to_policy().resolve(f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/x").to_text())
# The organization, written `{"AWS": "*"}` (which means the same as `"*"`).
ORGANIZATION = {"Version": "2012-10-17", "Statement": [
    {"Sid": "Org", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": list(access.READ_ACTIONS),
     "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abc123example"}}}]}
# What Lambda adds for a function of this account: Lambda's to keep, not the config's to declare.
LAMBDA_OWN = {"Sid": "LambdaECRImageRetrievalPolicy", "Effect": "Allow",
              "Principal": {"Service": "lambda.amazonaws.com"},
              "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
              "Condition": {"StringLike": {"aws:sourceArn": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:*"}}}
# A Deny statement: no `access:` section renders it, so it goes to a file.
DENY = {"Version": "2012-10-17", "Statement": [
    {"Sid": "NoDelete", "Effect": "Deny", "Principal": "*", "Action": ["ecr:BatchDeleteImage"]}]}


def _registry() -> dict[str, dict]:
    """34 repositories, mostly in the `shop-ecr-{name}` pattern, with varied settings."""
    repos: dict[str, dict] = {}
    for i in range(19):
        repos[f"shop-ecr-svc{i:02d}"] = {"lifecycle": KEEP_10, "tags": {"team": "shop", "n": str(i % 3)}}
    repos["shop-ecr-mutable"] = {"mutability": "MUTABLE", "lifecycle": KEEP_10}
    repos["shop-ecr-mutx"] = {"mutability": "MUTABLE_WITH_EXCLUSION", "filters": ["release-*", "v*"]}
    repos["shop-ecr-immx"] = {"mutability": "IMMUTABLE_WITH_EXCLUSION", "filters": ["latest"]}
    repos["shop-ecr-noscan"] = {"scan": False, "lifecycle": SPACED}
    repos["shop-ecr-kms"] = {"kms": True, "lifecycle": KEEP_10}
    repos["shop-ecr-pulled"] = {"policy": PULL, "lifecycle": KEEP_10}
    repos["shop-ecr-denied"] = {"policy": DENY}
    repos["shop-ecr-functions"] = {"policy": SERVICES, "lifecycle": KEEP_10}
    repos["shop-ecr-org"] = {"policy": ORGANIZATION, "lifecycle": KEEP_10}
    repos["shop-ecr-lambda"] = {"policy": {**PULL, "Statement": [*PULL["Statement"], LAMBDA_OWN]},
                                "lifecycle": KEEP_10}
    repos["shop-ecr-lambdaonly"] = {"policy": {"Version": "2012-10-17", "Statement": [LAMBDA_OWN]},
                                    "lifecycle": KEEP_10}
    repos["legacy/api"] = {"mutability": "MUTABLE", "tags": {"team": "legacy"}}
    repos["legacy/web"] = {"mutability": "MUTABLE", "policy": DENY}
    repos["tools"] = {"scan": False}
    repos["shop-ecr-badlc"] = {"lifecycle": UNTAGGED_PREFIX}
    return repos


def _create(repos: dict[str, dict]) -> None:
    ecr = boto3.client("ecr")
    for name, spec in repos.items():
        args: dict = {"repositoryName": name, "imageTagMutability": spec.get("mutability", "IMMUTABLE"),
                      "imageScanningConfiguration": {"scanOnPush": spec.get("scan", True)}}
        if spec.get("filters"):
            args["imageTagMutabilityExclusionFilters"] = [
                {"filterType": "WILDCARD", "filter": f} for f in spec["filters"]]
        if spec.get("kms"):
            args["encryptionConfiguration"] = {"encryptionType": "KMS"}
        if spec.get("tags"):
            args["tags"] = [{"Key": k, "Value": v} for k, v in spec["tags"].items()]
        ecr.create_repository(**args)
        if "lifecycle" in spec:
            ecr.put_lifecycle_policy(repositoryName=name, lifecyclePolicyText=json.dumps(spec["lifecycle"]))
        if "policy" in spec:
            ecr.set_repository_policy(repositoryName=name, policyText=json.dumps(spec["policy"]))


@pytest.fixture()
def registry(implicit_fake: ImplicitFake, monkeypatch: pytest.MonkeyPatch) -> dict[str, dict]:
    """The repositories; the fake answers the pull-through cache and template reads (none yet)."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    repos = _registry()
    _create(repos)
    return repos


def test_round_trip(registry: dict[str, dict], tmp_path: Path) -> None:
    result = run_ecrgen("import", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "ecr.yaml").read_text()
    assert text.startswith("# Imported by `ecrgen import` from ECR (account")
    assert "2026-01-01T00:00:00Z" in text
    data = load_yaml(text)
    assert data["system_name"] == "shop"
    by_name = {repo["name"]: repo for repo in data["repositories"]}
    assert len(by_name) == 34
    # Shared settings are factored: the 20 plain services list nothing but their name and tags;
    # a repository without the common lifecycle policy opts out of it.
    assert data["defaults"] == {"lifecycle": [{"tag_status": "untagged", "since_pushed_days": 7},
                                              {"tag_status": "any", "keep_last": 10}]}
    assert by_name["svc01"] == {"name": "svc01", "tags": {"n": "1", "team": "shop"}}
    assert by_name["tools"] == {"name": "tools", "physical_name": "tools", "scan_on_push": False,
                                "lifecycle": []}
    assert by_name["legacy/api"]["physical_name"] == "legacy/api"
    assert by_name["mutx"]["mutability_exclusions"] == ["release-*", "v*"]
    assert by_name["noscan"]["scan_on_push"] is False
    assert [r.get("priority") for r in by_name["noscan"]["lifecycle"]] == [9, 5]
    assert by_name["kms"]["encryption"]["type"] == "KMS"
    assert by_name["pulled"]["access"] == {"pull": {"accounts": [OTHER]}}
    # What ecrgen renders comes back as `access`, never as a file with this account's ARNs in it.
    assert by_name["functions"]["access"] == {"pull": {"accounts": [OTHER], "services": ["lambda", "codebuild"]}}
    assert by_name["org"]["access"] == {"pull": {"organization": "o-abc123example"}}
    # Lambda's own statement stays Lambda's: the rest of the policy is `access`, and a policy of
    # nothing else is left unmanaged (post-deploy keeps the statement either way).
    assert by_name["lambda"]["access"] == {"pull": {"accounts": [OTHER]}}
    assert "access" not in by_name["lambdaonly"] and "repository_policy_file" not in by_name["lambdaonly"]
    assert ("not carried over: shop-ecr-lambdaonly: repository policy statement LambdaECRImageRetrievalPolicy"
            in result.stderr)
    assert by_name["denied"]["repository_policy_file"] == "policies/legacy-web.repository-policy.json"
    assert by_name["legacy/web"]["repository_policy_file"] == by_name["denied"]["repository_policy_file"]
    assert json.loads((tmp_path / by_name["denied"]["repository_policy_file"]).read_text()) == DENY
    # Nothing is dropped silently: what is not carried over is on stderr, with the reason.
    assert by_name["badlc"] == {"name": "badlc", "lifecycle": []}
    assert "not carried over: shop-ecr-badlc: lifecycle policy" in result.stderr
    assert "tagPrefixList" in result.stderr or "tagPatternList" in result.stderr

    check = run_ecrgen("post-deploy", "--config", "ecr.yaml", "--check", cwd=tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr

    built = run_ecrgen("template", "--config", "ecr.yaml", "--out", "out.yaml", "--no-lint", cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    assert "RepositoryName: legacy/api" in (tmp_path / "out.yaml").read_text()
    linted = run_ecrgen("lint", "out.yaml", cwd=tmp_path)
    assert linted.returncode == 0, linted.stdout + linted.stderr
    assert "W2001" not in linted.stdout + linted.stderr

    again = run_ecrgen("import", "--out", "again.yaml", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert (tmp_path / "again.yaml").read_bytes() == (tmp_path / "ecr.yaml").read_bytes()


def test_drift_after_import_is_found(registry: dict[str, dict], tmp_path: Path) -> None:
    """The round trip check can fail: a change made after the import is drift."""
    assert run_ecrgen("import", cwd=tmp_path).returncode == 0
    boto3.client("ecr").put_image_scanning_configuration(
        repositoryName="shop-ecr-svc03", imageScanningConfiguration={"scanOnPush": False})
    check = run_ecrgen("post-deploy", "--config", "ecr.yaml", "--check", cwd=tmp_path)
    assert check.returncode == 1


def test_filter_and_cfn_import(registry: dict[str, dict], tmp_path: Path) -> None:
    result = run_ecrgen("import", "--filter", "legacy/*", "--cfn-import", "--stack-name", "old", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    data = load_yaml((tmp_path / "ecr.yaml").read_text())
    assert sorted(r["name"] for r in data["repositories"]) == ["legacy/api", "legacy/web"]
    resources = json.loads((tmp_path / "templates/ecr.resources-to-import.json").read_text())
    assert resources == [
        {"ResourceType": "AWS::ECR::Repository", "LogicalResourceId": "EcrLegacyApi",
         "ResourceIdentifier": {"RepositoryName": "legacy/api"}},
        {"ResourceType": "AWS::ECR::Repository", "LogicalResourceId": "EcrLegacyWeb",
         "ResourceIdentifier": {"RepositoryName": "legacy/web"}}]
    template = load_yaml((tmp_path / "templates/ecr.import.yaml").read_text().replace("!", ""))
    assert {r["DeletionPolicy"] for r in template["Resources"].values()} == {"Retain"}
    assert "Outputs" not in template
    assert "--change-set-type IMPORT" in result.stdout
    assert "execute-change-set --stack-name old" in result.stdout
    # Every name is a physical_name: nothing uses SystemName, so neither template declares it
    # (cfn-lint's W2001 "Parameter SystemName not used") and no command passes it.
    assert "SystemName" not in result.stdout
    assert "SystemName" not in (tmp_path / "templates/ecr.import.yaml").read_text()
    built = run_ecrgen("template", "--config", "ecr.yaml", "--out", "out.yaml", cwd=tmp_path)
    linted = run_ecrgen("lint", "out.yaml", "templates/ecr.import.yaml", cwd=tmp_path)
    for output in (built.stderr, linted.stdout):
        rules = set(re.findall(r": ([EWI][0-9]{4}) ", output))
        assert rules and all(rule[1:3] == "95" for rule in rules), output  # only ecrgen's own warnings


# --- an import template over 51,200 bytes goes through S3 -----------------------------------

@pytest.fixture()
def big_registry(registry: dict[str, dict]) -> dict[str, dict]:
    """The registry plus enough repositories that the import template passes 51,200 bytes."""
    extra = {f"shop-ecr-more{i:02d}": {"lifecycle": SPACED, "policy": PULL} for i in range(12)}
    _create(extra)
    return {**registry, **extra}


def _import_template_size(tmp_path: Path) -> int:
    return len((tmp_path / "templates/ecr.import.yaml").read_bytes())


def test_a_template_over_the_direct_limit_needs_an_s3_bucket_and_nothing_is_written(
        big_registry: dict[str, dict], tmp_path: Path) -> None:
    for args in (["--cfn-import"], ["--cfn-import", "--execute"]):
        result = run_ecrgen("import", *args, cwd=tmp_path)
        assert result.returncode == 2, result.stdout + result.stderr
        assert "--s3-bucket" in result.stderr and "51,200" in result.stderr
        assert "Traceback" not in result.stderr
        assert list(tmp_path.iterdir()) == []  # checked before any file is written


def test_with_s3_bucket_the_printed_commands_upload_and_use_the_template_url(
        big_registry: dict[str, dict], tmp_path: Path, aws: str) -> None:
    result = run_ecrgen("import", "--cfn-import", "--s3-bucket", "my-templates", "--stack-name", "big",
                        cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert _import_template_size(tmp_path) > MAX_DIRECT_BODY_BYTES
    assert "aws s3 cp templates/ecr.import.yaml s3://my-templates/big/ecr.import.yaml" in result.stdout
    endpoint = os.environ["AWS_ENDPOINT_URL"]  # the fake's proxy in front of moto
    assert f"--template-url {endpoint}/my-templates/big/ecr.import.yaml " in result.stdout
    assert "--template-body" not in result.stdout


def test_execute_uploads_the_template_to_s3_and_imports_from_its_url(
        big_registry: dict[str, dict], tmp_path: Path, aws: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """S3 is moto's (the upload is real); the IMPORT change set is botocore's Stubber (moto has none)."""
    from botocore.stub import ANY, Stubber

    from generator.aws import client as client_module

    boto3.client("s3").create_bucket(Bucket="my-templates")
    url = f"{os.environ['AWS_ENDPOINT_URL']}/my-templates/big/ecr.import.yaml"  # the fake's proxy
    made = client_module.make_client
    stubbers = []

    def make_client(service: str, **kwargs: object) -> object:
        client = made(service, **kwargs)
        if service == "cloudformation":
            stubber = Stubber(client)
            names = {"StackName": "big", "ChangeSetName": "ecrgen-import"}
            stubber.add_response("create_change_set", {"Id": "cs"}, {
                **names, "ChangeSetType": "IMPORT", "TemplateURL": url, "ResourcesToImport": ANY,
                "Parameters": [{"ParameterKey": "SystemName", "ParameterValue": "shop"}]})
            stubber.add_response("describe_change_set", {"Status": "CREATE_COMPLETE"}, names)
            stubber.add_response("execute_change_set", {}, names)
            stubber.add_response("describe_stacks", {"Stacks": [{
                "StackName": "big", "StackStatus": "IMPORT_COMPLETE", "CreationTime": "2026-01-01T00:00:00Z"}]},
                {"StackName": "big"})
            stubber.activate()
            stubbers.append(stubber)
        return client

    monkeypatch.setattr(client_module, "make_client", make_client)
    result = run_ecrgen("import", "--cfn-import", "--execute", "--s3-bucket", "my-templates",
                        "--stack-name", "big", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"imported {len(big_registry)} repositories" in result.stdout
    uploaded = boto3.client("s3").get_object(Bucket="my-templates", Key="big/ecr.import.yaml")["Body"].read()
    assert uploaded == (tmp_path / "templates/ecr.import.yaml").read_bytes()
    assert len(uploaded) > MAX_DIRECT_BODY_BYTES
    stubbers[0].assert_no_pending_responses()


def test_execute_with_a_bucket_that_does_not_exist_writes_nothing(big_registry: dict[str, dict],
                                                                  tmp_path: Path) -> None:
    result = run_ecrgen("import", "--cfn-import", "--execute", "--s3-bucket", "no-such-bucket", cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "--s3-bucket" in result.stderr and "no-such-bucket" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_rules_and_templates_round_trip(registry: dict[str, dict], implicit_fake: ImplicitFake,
                                        tmp_path: Path) -> None:
    """Within --filter, in the config's words; a prefix outside its namespace makes it the
    registry's owner, said on stderr; the template keeps what exists (enforce_existing: false)."""
    ecr = boto3.client("ecr")
    ecr.create_pull_through_cache_rule(
        ecrRepositoryPrefix="shop-ecr-hub", upstreamRegistryUrl="registry-1.docker.io", upstreamRegistry="docker-hub",
        credentialArn=f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:ecr-pullthroughcache/hub-AbCdEf")
    ecr.create_pull_through_cache_rule(ecrRepositoryPrefix="quay", upstreamRegistryUrl="quay.io")
    ecr.create_pull_through_cache_rule(ecrRepositoryPrefix="other-k8s", upstreamRegistryUrl="registry.k8s.io")
    ecr.create_repository_creation_template(
        prefix="shop-ecr-hub", appliedFor=["PULL_THROUGH_CACHE"], imageTagMutability="MUTABLE",
        lifecyclePolicy=json.dumps(KEEP_10), repositoryPolicy=json.dumps(DENY), description="cached",
        resourceTags=[{"Key": "team", "Value": "shop"}])
    result = run_ecrgen("import", "--filter", "shop-*", "--filter", "quay", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "note: owner: registry, since quay lie outside the namespace 'shop-ecr-'" in result.stderr
    data = load_yaml((tmp_path / "ecr.yaml").read_text())
    assert data["owner"] == "registry"
    assert data["pull_through_cache"] == [
        {"prefix": "quay", "upstream_url": "quay.io"},
        {"prefix": "${SystemName}-ecr-hub", "upstream": "docker-hub",
         "credential": f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:ecr-pullthroughcache/hub-AbCdEf"}]
    (template,) = data["creation_templates"]
    assert template == {"prefix": "${SystemName}-ecr-hub", "applied_for": ["PULL_THROUGH_CACHE"],
                        "description": "cached", "image_tag_mutability": "MUTABLE",
                        "repository_policy_file": "policies/shop-ecr-denied.repository-policy.json",  # shared
                        "resource_tags": {"team": "shop"}, "enforce_existing": False}  # lifecycle: the defaults'
    check = run_ecrgen("post-deploy", "--config", "ecr.yaml", "--check", cwd=tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr
    implicit_fake.templates["shop-ecr-hub"]["lifecyclePolicy"] = ""
    assert run_ecrgen("post-deploy", "--config", "ecr.yaml", "--check", cwd=tmp_path).returncode == 1


def test_unreadable_rules_are_reported_and_the_rest_imported(registry: dict[str, dict], implicit_fake: ImplicitFake,
                                                             tmp_path: Path) -> None:
    implicit_fake.refuse["DescribePullThroughCacheRules"] = "AccessDeniedException"
    result = run_ecrgen("import", cwd=tmp_path)
    assert result.returncode == 1
    assert "not imported: pull-through cache rules: AccessDeniedException" in result.stderr
    assert len(load_yaml((tmp_path / "ecr.yaml").read_text())["repositories"]) == len(registry)


@pytest.mark.parametrize("case", ["exists", "nothing", "no-credentials", "policies-outside"])
def test_bad_input_writes_nothing(registry: dict[str, dict], tmp_path: Path, case: str,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    args = ["import"]
    if case == "exists":
        (tmp_path / "ecr.yaml").write_text("mine\n")
    if case == "nothing":
        args += ["--filter", "nope-*"]
    if case == "policies-outside":
        args += ["--policies-dir", str(tmp_path.parent / "elsewhere")]
    if case == "no-credentials":
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
            monkeypatch.delenv(key)
    before = sorted(p.name for p in tmp_path.iterdir())
    result = run_ecrgen(*args, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert {"exists": "--force", "nothing": "--filter", "no-credentials": "credentials",
            "policies-outside": "--policies-dir: "}[case] in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert not (tmp_path.parent / "elsewhere").exists()
    if case == "exists":
        assert (tmp_path / "ecr.yaml").read_text() == "mine\n"


# --- the pure core --------------------------------------------------------------------------

def test_lifecycle_rules_round_trip_keeps_priorities() -> None:
    policy = lifecycle.parse(SPACED)
    rules = importer.lifecycle_rules(policy)
    assert rules is not None and [r["priority"] for r in rules] == [9, 5]
    assert importer.lifecycle_rules(lifecycle.parse(KEEP_10)) == [
        {"tag_status": "untagged", "since_pushed_days": 7}, {"tag_status": "any", "keep_last": 10}]


def test_access_section_only_when_exact() -> None:
    arn = f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/x"
    assert importer.access_section(repository_policy.parse(PULL), arn) == {"pull": {"accounts": [OTHER]}}
    assert importer.access_section(repository_policy.parse(DENY), arn) is None
    # Pull actions plus one more: not what `access` renders.
    wider = json.loads(json.dumps(PULL))
    wider["Statement"][0]["Action"].append("ecr:DescribeImages")
    assert importer.access_section(repository_policy.parse(wider), arn) is None


def test_principal_aws_star_with_an_organization_is_access() -> None:
    arn = f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/x"
    assert importer.access_section(repository_policy.parse(ORGANIZATION), arn) == {
        "pull": {"organization": "o-abc123example"}}


@settings(max_examples=200, deadline=None)
@given(ACCESS, st.sampled_from(["aws", "aws-cn", "aws-us-gov"]), st.sampled_from(["us-east-1", "eu-west-1"]))
def test_every_access_section_ecrgen_renders_imports_back_as_access(data: dict, partition: str,
                                                                     region: str) -> None:
    """Rendered, deployed (placeholders filled in for the repository) and read back: the same
    `access` section, which renders the same policy for any repository."""
    arn = f"arn:{partition}:ecr:{region}:{ACCOUNT}:repository/x"
    live = access.Access.model_validate(data).to_policy().resolve(arn)
    section = importer.access_section(repository_policy.parse_text(live.to_text()), arn)
    assert section is not None, live.to_text()
    for other in (arn, f"arn:aws:ecr:ap-south-1:{OTHER}:repository/y"):
        assert access.Access.model_validate(section).to_policy().resolve(other).key() == \
            access.Access.model_validate(data).to_policy().resolve(other).key()


@settings(max_examples=100, deadline=None)
@given(lifecycle_rules().filter(bool))
def test_every_lifecycle_ecrgen_renders_imports_back_as_rules(rules: list[dict]) -> None:
    """`lifecycle:` rules, rendered and read back live: rules again, that render the same policy."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "ecr.yaml"
        path.write_text(yaml.safe_dump({"system_name": "s", "repositories": [{"name": "a", "lifecycle": rules}]}))
        rendered = config.load(path).repositories[0].policy
    live = lifecycle.parse_text(rendered.to_text())
    back = importer.lifecycle_rules(live)
    assert back is not None, rendered.to_text()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "ecr.yaml"
        path.write_text(yaml.safe_dump({"system_name": "s", "repositories": [{"name": "a", "lifecycle": back}]}))
        assert config.load(path).repositories[0].policy.key() == rendered.key()


def _live(name: str, **changes: object) -> importer.LiveRepository:
    base = importer.LiveRepository(name=name, arn=f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/{name}",
                                   image_tag_mutability="IMMUTABLE", exclusion_filters=(),
                                   scan_on_push=True, encryption_type="AES256", kms_key=None,
                                   lifecycle_text=None, policy_text=None, tags=())
    return dataclasses.replace(base, **changes)


@given(st.permutations([_live("x-ecr-a"), _live("x-ecr-b", scan_on_push=False), _live("x-ecr-a_b"),
                        _live("x-ecr-a-b", image_tag_mutability="MUTABLE"), _live("other/a"),
                        _live("x-ecr-c", policy_text=json.dumps(DENY), tags=(("k", "v"),))]))
def test_same_repositories_in_any_order_give_the_same_bytes(repos: list[importer.LiveRepository]) -> None:
    result = importer.build(repos, "# header\n")
    assert result.text == importer.build(sorted(repos, key=lambda r: r.name), "# header\n").text
    data = load_yaml(result.text)
    # a-b and a_b give one logical id: the later keeps its exact name under a numbered one.
    assert [r["name"] for r in data["repositories"]] == ["a", "a-b", "a_b-2", "b", "c", "other/a"]
    assert data["repositories"][2]["physical_name"] == "x-ecr-a_b"


def test_system_name_inferred_from_most_names() -> None:
    names = ["a-ecr-x", "a-ecr-y", "b-ecr-z", "plain"]
    assert importer.infer_system_name(names, "${SystemName}-ecr-{name}") == "a"
    assert importer.infer_system_name(["plain"], "${SystemName}-ecr-{name}") == "imported"
    # A placeholder used twice must match the same text both times.
    assert importer.infer_system_name(["a/x-a-y", "a/x-a-z", "b/x-c-r"], "${SystemName}/x-${SystemName}-{name}") == "a"


# --- the IMPORT change set (moto has none: botocore's Stubber) -------------------------------

def _stubbed_cfn() -> tuple[object, object]:
    from botocore.stub import Stubber

    cfn = boto3.client("cloudformation", region_name="us-east-1", aws_access_key_id="x",
                       aws_secret_access_key="x", endpoint_url="http://127.0.0.1:9")
    return cfn, Stubber(cfn)


RESOURCES = [{"ResourceType": "AWS::ECR::Repository", "LogicalResourceId": "EcrApi",
              "ResourceIdentifier": {"RepositoryName": "legacy/api"}}]
NAMES = {"StackName": "old", "ChangeSetName": "ecrgen-import"}


def test_import_change_set_is_created_waited_for_and_executed() -> None:
    from generator.aws import cfn_import

    cfn, stubber = _stubbed_cfn()
    stubber.add_response("create_change_set", {"Id": "cs"}, {
        **NAMES, "ChangeSetType": "IMPORT", "TemplateBody": "body", "ResourcesToImport": RESOURCES,
        "Parameters": [{"ParameterKey": "SystemName", "ParameterValue": "shop"}]})
    stubber.add_response("describe_change_set", {"Status": "CREATE_PENDING"}, NAMES)
    stubber.add_response("describe_change_set", {"Status": "CREATE_COMPLETE"}, NAMES)
    stubber.add_response("execute_change_set", {}, NAMES)
    stubber.add_response("describe_stacks", {"Stacks": [{
        "StackName": "old", "StackStatus": "IMPORT_COMPLETE", "CreationTime": "2026-01-01T00:00:00Z"}]},
        {"StackName": "old"})
    with stubber, pytest.MonkeyPatch.context() as patch:
        patch.setattr("time.sleep", lambda _: None)
        cfn_import.import_stack(cfn, "old", {"TemplateBody": "body"}, RESOURCES, {"SystemName": "shop"})
    stubber.assert_no_pending_responses()


def test_a_failed_change_set_is_reported_with_its_reason_and_not_executed() -> None:
    from generator.aws import cfn_import

    cfn, stubber = _stubbed_cfn()
    stubber.add_response("create_change_set", {"Id": "cs"})
    stubber.add_response("describe_change_set", {
        "Status": "FAILED", "StatusReason": "Resources [EcrApi] do not exist"}, NAMES)
    with stubber, pytest.raises(cfn_import.ImportFailed, match=r"wait for the change set: .*do not exist"):
        cfn_import.import_stack(cfn, "old", {"TemplateBody": "body"}, RESOURCES, {})
    stubber.assert_no_pending_responses()  # no execute-change-set after a failed change set


def test_execute_needs_cfn_import(tmp_path: Path) -> None:
    result = run_ecrgen("import", "--execute", cwd=tmp_path)
    assert result.returncode == 2
    assert "--execute needs --cfn-import" in result.stderr
    assert list(tmp_path.iterdir()) == []
