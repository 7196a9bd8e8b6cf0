"""The calls post-deploy makes for what ECR creates by itself, their exact shapes, with botocore's
Stubber (moto implements none of these operations; botocore checks each call against ECR's API
model): every page read with the largest page size, then one Update or Put per drifted entry."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from botocore.stub import Stubber

from generator.aws import implicit as aws_implicit
from generator.model import lifecycle
from generator.model.creation_templates import CreationTemplate
from generator.model.implicit import Implicit
from generator.model.pull_through_cache import NAMED_SECRET_ARN, PullThroughCacheRule
from generator.model.registry import Part
from generator.model.registry_settings import SigningRule
from generator.model.repository import Encryption

ACCOUNT = "123456789012"
RULE = PullThroughCacheRule("myapp-ecr-hub", "docker-hub", "registry-1.docker.io",
                            NAMED_SECRET_ARN + "ecr-pullthroughcache/hub")
SECRET = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:ecr-pullthroughcache/hub"
TEMPLATE = CreationTemplate("myapp-ecr-hub", ("PULL_THROUGH_CACHE",), "IMMUTABLE", (), Encryption(),
                            lifecycle.parse_text('{"rules": [{"rulePriority": 1, "selection": {"tagStatus": '
                                                 '"any", "countType": "imageCountMoreThan", "countNumber": 5}, '
                                                 '"action": {"type": "expire"}}]}'),
                            None, True, description="cached images", enforce_existing=False)
PART = Part("myapp-ecr-", "ecrgen-myapp-", None, (), (), (), (),
            signing=(SigningRule("arn:aws:signer:us-east-1:123456789012:/signing-profiles/myapp",
                                 ("myapp-ecr-*",)),),
            account_settings=(("BASIC_SCAN_TYPE_VERSION", "AWS_NATIVE"),),
            pull_time_exclusions=("arn:aws:iam::123456789012:role/scanner",))


def reads(stub: Stubber, rule: dict[str, Any], template: dict[str, Any]) -> None:
    """Each read in the order post-deploy makes them with --concurrency 1; two pages of rules and
    of exclusions, the second asked for with the first's nextToken."""
    stub.add_response("describe_pull_through_cache_rules",
                      {"pullThroughCacheRules": [{"ecrRepositoryPrefix": "team-b", "registryId": ACCOUNT,
                                                  "upstreamRegistryUrl": "quay.io"}], "nextToken": "t1"},
                      {"maxResults": 1000})
    stub.add_response("describe_pull_through_cache_rules", {"pullThroughCacheRules": [rule]},
                      {"maxResults": 1000, "nextToken": "t1"})
    stub.add_response("describe_repository_creation_templates",
                      {"registryId": ACCOUNT, "repositoryCreationTemplates": [template]}, {"maxResults": 1000})
    stub.add_client_error("get_signing_configuration", "SigningConfigurationNotFoundException", "none", 400, {})
    stub.add_response("get_account_setting", {"name": "BASIC_SCAN_TYPE_VERSION", "value": "CLAIR"},
                      {"name": "BASIC_SCAN_TYPE_VERSION"})
    stub.add_response("list_pull_time_update_exclusions",
                      {"pullTimeUpdateExclusions": ["arn:aws:iam::123456789012:role/other"], "nextToken": "e1"},
                      {"maxResults": 1000})
    stub.add_response("list_pull_time_update_exclusions",
                      {"pullTimeUpdateExclusions": ["arn:aws:iam::123456789012:role/scanner"]},
                      {"maxResults": 1000, "nextToken": "e1"})


def live_template(**changes: Any) -> dict[str, Any]:
    return {**TEMPLATE.to_api(f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/x"), **changes}


def test_every_page_is_read_and_a_converged_registry_gets_no_write(stubbed_ecr: tuple[Any, Stubber]) -> None:
    ecr, stub = stubbed_ecr
    converged = replace(PART, account_settings=(("BASIC_SCAN_TYPE_VERSION", "CLAIR"),), signing=())
    reads(stub, {"ecrRepositoryPrefix": "myapp-ecr-hub", "registryId": ACCOUNT, "upstreamRegistry": "docker-hub",
                 "upstreamRegistryUrl": "registry-1.docker.io", "credentialArn": SECRET + "-AbCdEf"},
          live_template())
    outcome = aws_implicit.reconcile(ecr, Implicit((RULE,), (TEMPLATE,)), [converged], (), 1, write=True)
    section = outcome.section
    assert [r["status"] for r in section["pullThroughCache"]] == ["in-sync"]  # the full ARN of the named secret
    assert [t["status"] for t in section["creationTemplates"]] == ["in-sync"]
    assert section["signing"]["status"] == section["accountSettings"]["status"] == "in-sync"
    assert section["pullTimeExclusions"]["status"] == "in-sync"  # found on the second page


def test_each_drifted_entry_gets_its_one_write(stubbed_ecr: tuple[Any, Stubber]) -> None:
    ecr, stub = stubbed_ecr
    reads(stub, {"ecrRepositoryPrefix": "myapp-ecr-hub", "registryId": ACCOUNT, "upstreamRegistry": "docker-hub",
                 "upstreamRegistryUrl": "registry-1.docker.io",
                 "credentialArn": f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:ecr-pullthroughcache/old"},
          live_template(imageTagMutability="MUTABLE", lifecyclePolicy=""))
    # The writes, in the order they are submitted: rules and templates, account settings, signing.
    stub.add_response("update_pull_through_cache_rule", {},
                      {"ecrRepositoryPrefix": "myapp-ecr-hub", "credentialArn": SECRET})
    stub.add_response("update_repository_creation_template", {},
                      TEMPLATE.to_api(f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/x"))
    stub.add_response("put_account_setting", {}, {"name": "BASIC_SCAN_TYPE_VERSION", "value": "AWS_NATIVE"})
    signing = {"rules": [rule.to_api() for rule in PART.signing or ()]}
    stub.add_client_error("get_signing_configuration", "SigningConfigurationNotFoundException", "none", 400, {})
    stub.add_response("put_signing_configuration", {"signingConfiguration": signing}, {"signingConfiguration": signing})
    stub.add_response("get_signing_configuration", {"registryId": ACCOUNT, "signingConfiguration": signing}, {})
    outcome = aws_implicit.reconcile(ecr, Implicit((RULE,), (TEMPLATE,)), [PART], (), 1, write=True)
    section = outcome.section
    assert [(r["status"], [c["setting"] for c in r["changes"]]) for r in section["pullThroughCache"]] == [
        ("changed", ["credentialArn"])]
    assert [(t["status"], [c["setting"] for c in t["changes"]]) for t in section["creationTemplates"]] == [
        ("changed", ["imageTagMutability", "lifecyclePolicy"])]
    assert section["accountSettings"]["status"] == section["signing"]["status"] == "changed"


def test_a_rule_only_a_replacement_fixes_is_failed_not_written(stubbed_ecr: tuple[Any, Stubber]) -> None:
    ecr, stub = stubbed_ecr
    stub.add_response("describe_pull_through_cache_rules", {"pullThroughCacheRules": [
        {"ecrRepositoryPrefix": "myapp-ecr-hub", "registryId": ACCOUNT, "upstreamRegistry": "quay",
         "upstreamRegistryUrl": "quay.io"}]}, {"maxResults": 1000})
    outcome = aws_implicit.reconcile(ecr, Implicit((RULE,), ()), [], (), 1, write=True)
    (entry,) = outcome.section["pullThroughCache"]
    assert entry["status"] == "failed" and "cannot be changed in place" in entry["error"]
    assert [c["setting"] for c in entry["changes"]] == ["upstreamRegistryUrl", "upstreamRegistry", "credentialArn"]
