"""The fault proxy itself, driven with plain boto3 clients against moto."""

from __future__ import annotations

import contextlib

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError

from tests.fault_proxy import FaultProxy, Faults, RepositoryFault, fault_proxy

__all__ = ["fault_proxy"]  # the fixture, imported for pytest


def ecr(url: str, attempts: int = 1):
    """A client that makes `attempts` tries per call (1: every injected fault surfaces)."""
    return boto3.client("ecr", endpoint_url=url, config=Config(
        retries={"mode": "standard", "total_max_attempts": attempts}, connect_timeout=5, read_timeout=30))


def test_forwards_unchanged_and_counts_per_operation(fault_proxy: FaultProxy, aws: str) -> None:
    client = ecr(fault_proxy.url)
    client.create_repository(repositoryName="app-one")
    names = [r["repositoryName"] for r in client.describe_repositories()["repositories"]]
    assert names == ["app-one"]
    assert ecr(aws).describe_repositories()["repositories"][0]["repositoryName"] == "app-one"
    assert fault_proxy.counts() == {"CreateRepository": 1, "DescribeRepositories": 1}
    assert fault_proxy.requests[0].repositories == ("app-one",)


@pytest.mark.parametrize(("faults", "code", "status"), [
    (Faults(throttle=1.0), "ThrottlingException", 400),
    (Faults(server_error=1.0), None, None),
])
def test_injected_errors_look_like_aws(fault_proxy: FaultProxy, faults: Faults, code: str | None,
                                       status: int | None) -> None:
    fault_proxy.configure(faults)
    with pytest.raises(ClientError) as info:
        ecr(fault_proxy.url).describe_repositories()
    error = info.value.response
    if code:
        assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == (code, status)
    else:
        assert error["ResponseMetadata"]["HTTPStatusCode"] in (500, 503)
    assert fault_proxy.counts("forwarded") == {}


def test_botocore_retries_through_throttling_and_server_errors(fault_proxy: FaultProxy) -> None:
    fault_proxy.configure(Faults(throttle=0.3, server_error=0.1, seed=7))
    client = ecr(fault_proxy.url, attempts=10)
    for index in range(15):
        client.create_repository(repositoryName=f"repo-{index}")
    assert len(client.describe_repositories()["repositories"]) == 15
    faulted = len(fault_proxy.requests) - sum(fault_proxy.counts("forwarded").values())
    assert faulted > 0
    assert fault_proxy.counts("forwarded") == {"CreateRepository": 15, "DescribeRepositories": 1}


def test_query_protocol_errors_are_xml(fault_proxy: FaultProxy) -> None:
    fault_proxy.configure(Faults(throttle=1.0))
    cloudformation = boto3.client("cloudformation", endpoint_url=fault_proxy.url,
                                  config=Config(retries={"mode": "standard", "total_max_attempts": 1}))
    with pytest.raises(ClientError) as info:
        cloudformation.describe_stacks()
    assert info.value.response["Error"]["Code"] == "Throttling"
    assert fault_proxy.counts("Throttling") == {"DescribeStacks": 1}


def test_dropped_connections_surface_as_connection_errors(fault_proxy: FaultProxy) -> None:
    fault_proxy.configure(Faults(drop=1.0))
    with pytest.raises(ConnectionClosedError):
        ecr(fault_proxy.url).describe_repositories()
    assert fault_proxy.counts() == {"DescribeRepositories": 1}
    assert fault_proxy.counts("drop") == {"DescribeRepositories": 1}


def test_a_dropped_reply_still_made_the_call(fault_proxy: FaultProxy, aws: str) -> None:
    fault_proxy.configure(Faults(drop_reply=1.0))
    with pytest.raises(ConnectionClosedError):
        ecr(fault_proxy.url).create_repository(repositoryName="made-anyway")
    assert [r["repositoryName"] for r in ecr(aws).describe_repositories()["repositories"]] == ["made-anyway"]
    assert fault_proxy.counts("drop-reply") == {"CreateRepository": 1}


def test_delayed_replies_still_arrive(fault_proxy: FaultProxy) -> None:
    fault_proxy.configure(Faults(delay=1.0, delay_seconds=0.05))
    assert ecr(fault_proxy.url).describe_repositories()["repositories"] == []
    assert fault_proxy.counts("delayed") == {"DescribeRepositories": 1}


def test_repository_fault_hits_only_that_repository_and_operation(fault_proxy: FaultProxy, aws: str) -> None:
    for name in ("good", "bad"):
        ecr(aws).create_repository(repositoryName=name)
    fault_proxy.configure(Faults(repositories=(RepositoryFault("bad"),)))
    client = ecr(fault_proxy.url, attempts=5)
    client.put_image_tag_mutability(repositoryName="good", imageTagMutability="IMMUTABLE")
    with pytest.raises(ClientError) as info:
        client.put_image_tag_mutability(repositoryName="bad", imageTagMutability="IMMUTABLE")
    assert info.value.response["Error"]["Code"] == "AccessDeniedException"
    assert len(client.describe_repositories(repositoryNames=["bad"])["repositories"]) == 1
    assert fault_proxy.counts("AccessDeniedException") == {"PutImageTagMutability": 1}  # not retried


def test_same_seed_same_decisions_whatever_the_order(aws: str) -> None:
    names = [f"repo-{i}" for i in range(20)]

    def outcomes(order: list[str]) -> dict[str, str]:
        with FaultProxy(aws, Faults(throttle=0.5, seed=3)) as proxy:
            client = ecr(proxy.url)
            for name in order:
                with contextlib.suppress(ClientError):
                    client.describe_repositories(repositoryNames=[name])
            return {r.repositories[0]: r.outcome for r in proxy.requests}

    first = outcomes(names)
    assert first == outcomes(names[::-1])
    assert set(first.values()) == {"ThrottlingException", "forwarded"}


def test_refuses_a_non_loopback_upstream() -> None:
    with pytest.raises(ValueError, match="loopback"):
        FaultProxy("http://example.com:80")
