"""`ecrgen post-deploy` on stacks ecrgen did not write: hand-written templates deployed to moto's
CloudFormation (intrinsic functions, conditions, NoEcho, dynamic references, YAML flow style),
and the AWS failures around the stack read (bad region or endpoint, an HTML page for a reply).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest

from generator.model import lifecycle
from tests.conftest import post_deploy_json
from tests.fault_proxy import FaultProxy, fault_proxy

__all__ = ["fault_proxy"]  # the fixture, imported for pytest

POLICY = ('{"rules":[{"rulePriority":1,"description":"%s","selection":{"tagStatus":"any",'
          '"countType":"imageCountMoreThan","countNumber":5},"action":{"type":"expire"}}]}')
HAND_WRITTEN = """\
Parameters:
  Env: {Type: String, Default: prod}
  Token: {Type: String, NoEcho: true, Default: IMMUTABLE}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
Resources:
  Resolved:
    Type: AWS::ECR::Repository
    Properties:
      RepositoryName: !Sub ${AWS::StackName}-resolved
      ImageTagMutability: !If [IsProd, IMMUTABLE, MUTABLE]
      ImageScanningConfiguration: {ScanOnPush: !If [IsProd, true, false]}
      LifecyclePolicy:
        LifecyclePolicyText: !Sub 'SUB_POLICY'
  Dynamic:
    Type: AWS::ECR::Repository
    Properties:
      RepositoryName: !Sub ${AWS::StackName}-dynamic
      ImageScanningConfiguration: {ScanOnPush: true}
      LifecyclePolicy:
        LifecyclePolicyText: '{{resolve:ssm:/ecr/policy}}'
  Secret:
    Type: AWS::ECR::Repository
    Properties:
      RepositoryName: !Sub ${AWS::StackName}-secret
      ImageTagMutability: !Ref Token
  Literal:
    Type: AWS::ECR::Repository
    Properties:
      RepositoryName: hand-literal
      ImageTagMutability: IMMUTABLE
      LifecyclePolicy: {LifecyclePolicyText: 'LITERAL_POLICY'}
""".replace("SUB_POLICY", POLICY.replace("%s", "${Env} in ${AWS::Region}")).replace(
    "LITERAL_POLICY", POLICY.replace("%s", "literal"))
FLOW = ('{AWSTemplateFormatVersion: "2010-09-09", Resources: {Repo: {Type: "AWS::ECR::Repository", '
        'Properties: {RepositoryName: flow-repo, ImageTagMutability: IMMUTABLE, '
        'ImageScanningConfiguration: {ScanOnPush: true}}}}}')


def by_name(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["repositoryName"]: r for r in report["repositories"]}


@pytest.fixture()
def hand_written(aws: str) -> str:
    boto3.client("ssm").put_parameter(Name="/ecr/policy", Value=POLICY.replace("%s", "from ssm"), Type="String")
    boto3.client("cloudformation").create_stack(StackName="hand", TemplateBody=HAND_WRITTEN)
    return "hand"


def test_intrinsics_are_resolved_and_enforced_and_the_rest_is_unmanaged(ecrgen: Any, hand_written: str) -> None:
    first = by_name(post_deploy_json("--stack-name", hand_written, code=0))
    assert first["hand-resolved"]["status"] == "changed"
    assert {c["setting"] for c in first["hand-resolved"]["changes"]} == {"scanOnPush", "lifecyclePolicy"}
    # The dynamic reference leaves only the policy unmanaged: the repository's scan on push is enforced.
    assert first["hand-dynamic"]["status"] == "changed"
    assert first["hand-dynamic"]["changes"] == [
        {"setting": "scanOnPush", "from": False, "to": True, "status": "applied", "error": None},
        {"setting": "lifecyclePolicy", "status": "unmanaged",
         "reason": "Resources.Dynamic.Properties.LifecyclePolicy: the dynamic reference {{resolve:ssm:/ecr/policy}} "
                   "is resolved by CloudFormation at deploy time"}]
    assert first["hand-secret"] == {"repositoryName": "hand-secret", "status": "unmanaged", "changes": [
        {"setting": "imageTagMutability", "status": "unmanaged",
         "reason": "Resources.Secret.Properties.ImageTagMutability: parameter Token is NoEcho: "
                   "CloudFormation does not tell its value"}]}
    assert first["hand-literal"]["status"] == "changed"

    ecr = boto3.client("ecr")
    text = ecr.get_lifecycle_policy(repositoryName="hand-resolved")["lifecyclePolicyText"]
    assert lifecycle.parse_text(text).rules[0].description == "prod in us-east-1"
    assert ecr.describe_repositories(repositoryNames=["hand-dynamic"])["repositories"][0][
        "imageScanningConfiguration"] == {"scanOnPush": True}
    for name in ("hand-dynamic", "hand-secret"):  # nothing was written for an unmanaged setting
        with pytest.raises(ecr.exceptions.LifecyclePolicyNotFoundException):
            ecr.get_lifecycle_policy(repositoryName=name)

    check = post_deploy_json("--stack-name", hand_written, "--check", code=0)  # unmanaged is no drift
    assert {name: r["status"] for name, r in by_name(check).items()} == {
        "hand-resolved": "in-sync", "hand-dynamic": "unmanaged", "hand-secret": "unmanaged",
        "hand-literal": "in-sync"}
    summary = check["summary"]
    assert (summary["inSync"], summary["unmanaged"], summary["planned"]) == (2, 2, 0)
    assert summary["apiCalls"]["DescribeStacks"] == 1
    assert not any(call.startswith("Put") for call in summary["apiCalls"])

    table = ecrgen("post-deploy", "--stack-name", hand_written, "--check")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert any(line.startswith("hand-secret") and "imageTagMutability" in line and "unmanaged: " in line
               for line in lines)
    assert lines[-1].startswith("4 repositories: 2 in-sync, 2 unmanaged (")


def test_a_template_in_yaml_flow_style_is_enforced(aws: str) -> None:
    boto3.client("cloudformation").create_stack(StackName="flow", TemplateBody=FLOW)
    report = post_deploy_json("--stack-name", "flow", code=0)
    assert by_name(report)["flow-repo"]["changes"] == [
        {"setting": "scanOnPush", "from": False, "to": True, "status": "applied", "error": None}]
    assert "DescribeStacks" not in report["summary"]["apiCalls"]  # no function: the stack is not described


class _WebPage(BaseHTTPRequestHandler):
    """What a captive portal or a misconfigured proxy answers to every AWS call, with HTTP 200."""

    content_type = "text/html; charset=utf-8"
    body = b"<html><body><h1>Please sign in to the network</h1><p>Unclosed<br></body></html>"

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", self.content_type)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)


@pytest.fixture(params=[  # (Content-Type, what ecrgen says of CloudFormation's reply, of ECR's)
    ("text/html; charset=utf-8", "HTTP 200 with an HTML page instead of an AWS reply",
     "HTTP 200 with an HTML page instead of an AWS reply"),
    ("text/plain", "Unable to parse response", "HTTP 200 with text/plain that is not JSON"),
    ("text/xml", "Unable to parse response", "HTTP 200 with text/xml that is not JSON"),
])
def web_page(request: pytest.FixtureRequest) -> Iterator[tuple[str, str, str]]:
    """An endpoint on 127.0.0.1 that answers every call with a web page; its URL and what ecrgen
    says of the replies."""
    content_type, cfn_says, ecr_says = request.param
    handler = type("Handler", (_WebPage,), {"content_type": content_type})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", cfn_says, ecr_says
    server.shutdown()
    server.server_close()


def one_line_exit_2(result: Any, message: str) -> None:
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert message in result.stderr


def test_a_web_page_for_a_reply_is_one_line_and_exit_2(ecrgen: Any, aws: str,
                                                        web_page: tuple[str, str, str]) -> None:
    url, cfn_says, ecr_says = web_page
    result = ecrgen("post-deploy", "--stack-name", "app", "--endpoint-url", url)
    one_line_exit_2(result, "stack app: cannot read the stack: the reply could not be read: "
                            f"ResponseParserError: {cfn_says}")
    preview = ecrgen("lifecycle", "preview", "--repository", "app", "--live", "--endpoint-url", url)
    one_line_exit_2(preview, f"the reply could not be read: ResponseParserError: {ecr_says}")


@pytest.mark.parametrize(("flags", "env", "message"), [
    (["--region", "not a region"], {}, "--region: 'not a region' is not a region name; expected one such as us-east-1"),
    ([], {"AWS_REGION": "us_east_1"}, "AWS_REGION: 'us_east_1' is not a region name"),
    (["--endpoint-url", "not-a-url"], {}, "--endpoint-url: 'not-a-url' is not an http:// or https:// URL"),
    (["--endpoint-url", "ftp://127.0.0.1:21/"], {}, "--endpoint-url: 'ftp://127.0.0.1:21/' is not an http:// or "
                                                    "https:// URL"),
    ([], {"AWS_ENDPOINT_URL": "ftp://127.0.0.1:21/"}, "AWS_ENDPOINT_URL: 'ftp://127.0.0.1:21/' is not an http://"),
])
@pytest.mark.parametrize("command", [["post-deploy", "--stack-name", "app"],
                                     ["lifecycle", "preview", "--repository", "app", "--live"]])
def test_a_bad_region_or_endpoint_is_one_line_and_exit_2(ecrgen: Any, aws: str, command: list[str],
                                                         flags: list[str], env: dict[str, str], message: str) -> None:
    one_line_exit_2(ecrgen(*command, *flags, env=env), message)


def test_neither_stack_nor_config_asks_for_one(ecrgen: Any, aws: str) -> None:
    result = ecrgen("post-deploy")
    one_line_exit_2(result, "post-deploy: give --stack-name NAME (repeatable) or --config FILE")
    assert "not both" not in result.stderr


# AWS::LanguageExtensions makes the repositories with Fn::ForEach; the stack holds what
# CloudFormation made of it, the Processed stage of its template.
FOR_EACH = {"AWSTemplateFormatVersion": "2010-09-09", "Transform": "AWS::LanguageExtensions",
            "Resources": {"Fn::ForEach::Repos": ["Name", ["web", "api"], {"Repo${Name}": {
                "Type": "AWS::ECR::Repository",
                "Properties": {"RepositoryName": {"Fn::Sub": "each-${Name}"}, "ImageTagMutability": "IMMUTABLE"}}}]}}
PROCESSED = {"AWSTemplateFormatVersion": "2010-09-09", "Resources": {
    f"Repo{name}": {"Type": "AWS::ECR::Repository",
                    "Properties": {"RepositoryName": f"each-{name}", "ImageTagMutability": "IMMUTABLE"}}
    for name in ("web", "api")}}


def test_repositories_a_transform_makes_are_read_from_the_processed_template(fault_proxy: FaultProxy) -> None:
    """moto cannot run the transform: the stack is made from the processed template, and GetTemplate
    answers the original (as CloudFormation's Original stage) unless the Processed stage is asked."""
    import json

    boto3.client("cloudformation").create_stack(StackName="each", TemplateBody=json.dumps(PROCESSED))
    boto3.client("ecr").put_image_tag_mutability(repositoryName="each-web", imageTagMutability="MUTABLE")
    stages = []

    def get_template(params: dict[str, str]) -> dict[str, str] | None:
        stages.append(params.get("TemplateStage", "Original"))
        return None if params.get("TemplateStage") == "Processed" else {"TemplateBody": json.dumps(FOR_EACH)}

    fault_proxy.intercept("GetTemplate", get_template)
    report = post_deploy_json("--stack-name", "each", "--check", code=1)
    assert {r["repositoryName"]: r["status"] for r in report["repositories"]} == {
        "each-web": "planned", "each-api": "in-sync"}
    assert stages == ["Processed"]
