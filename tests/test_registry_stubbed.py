"""The registry write loop on paths moto cannot produce, with botocore's Stubber: a refused write,
a writer that keeps replacing the document, an unreadable policy."""

from __future__ import annotations

import json
from typing import Any

from botocore.stub import Stubber

from generator.aws import registry as aws_registry
from generator.model.registry import Part
from generator.reconcile.registry_merge import POLICY, SCANNING

ACCOUNT = "123456789012"
PART = Part("myapp-ecr-", "ecrgen-myapp-", None, ("myapp-ecr-*",), (), (), ())
THEIRS = {"scanType": "BASIC", "rules": [{"scanFrequency": "SCAN_ON_PUSH",
                                          "repositoryFilters": [{"filter": "team-b-*", "filterType": "WILDCARD"}]}]}
MERGED = {"scanType": "BASIC", "rules": [{"scanFrequency": "SCAN_ON_PUSH", "repositoryFilters": [
    {"filter": "team-b-*", "filterType": "WILDCARD"}, {"filter": "myapp-ecr-*", "filterType": "WILDCARD"}]}]}


def scanning_read(stub: Stubber, document: dict[str, Any]) -> None:
    stub.add_response("get_registry_scanning_configuration",
                      {"registryId": ACCOUNT, "scanningConfiguration": document}, {})


def test_a_refused_write_is_reported_not_raised(stubbed_ecr: tuple[Any, Stubber]) -> None:
    ecr, stub = stubbed_ecr
    scanning_read(stub, THEIRS)
    stub.add_client_error("put_registry_scanning_configuration", "AccessDeniedException", "not allowed",
                          expected_params={"scanType": "BASIC", "rules": MERGED["rules"]})
    outcome = aws_registry.reconcile(ecr, SCANNING, [PART], ACCOUNT)
    assert outcome.document is None and outcome.error == "AccessDeniedException: not allowed"


def test_a_writer_that_keeps_replacing_the_document_is_given_up_on(stubbed_ecr: tuple[Any, Stubber]) -> None:
    ecr, stub = stubbed_ecr
    for _ in range(aws_registry.MAX_ATTEMPTS):
        scanning_read(stub, THEIRS)  # before the write, and (after the first) the read-back
        stub.add_response("put_registry_scanning_configuration", {}, {"scanType": "BASIC", "rules": MERGED["rules"]})
    scanning_read(stub, THEIRS)  # the last read-back: still without this config's filter
    outcome = aws_registry.reconcile(ecr, SCANNING, [PART], ACCOUNT)
    assert outcome.error is not None and "gave up after 3 attempts" in outcome.error


def test_a_document_already_merged_by_someone_else_is_not_written(stubbed_ecr: tuple[Any, Stubber]) -> None:
    ecr, stub = stubbed_ecr
    scanning_read(stub, MERGED)  # the plan's document was old: the pre-write read finds it done
    outcome = aws_registry.reconcile(ecr, SCANNING, [PART], ACCOUNT)
    assert outcome == aws_registry.Outcome(MERGED, writes=0)


def test_a_policy_that_is_not_json_fails_that_document_only(stubbed_ecr: tuple[Any, Stubber]) -> None:
    ecr, stub = stubbed_ecr
    stub.add_response("get_registry_policy", {"registryId": ACCOUNT, "policyText": "{not json"}, {})
    outcome = aws_registry.reconcile(ecr, POLICY, [PART], ACCOUNT)
    assert outcome.error == "the live registry policy is not JSON; fix it by hand first"
    stub.add_response("get_registry_policy", {"registryId": ACCOUNT, "policyText": json.dumps(
        {"Version": "2012-10-17", "Statement": []})}, {})
    assert aws_registry.reconcile(ecr, POLICY, [PART], ACCOUNT).error is None  # nothing owned, nothing to do
