"""boto3 clients configured the AWS way, and AWS errors turned into user messages.

Standard conventions: the default credential chain, `--profile` / `AWS_PROFILE`,
`--region` / `AWS_REGION`, `--endpoint-url` / `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_<SERVICE>`.
Retries come from botocore's own retry modes, never from hand-written loops.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from typing import Any

from generator.errors import InputError

# Enough attempts to ride out sustained throttling; botocore backs off exponentially with jitter.
RETRY_ATTEMPTS = 10


def make_client(service: str, *, region: str | None = None, profile: str | None = None,
                endpoint_url: str | None = None, pool_size: int = 10, session: Any = None,
                credentials: Mapping[str, str] | None = None) -> Any:
    """One client, safe to share across threads; credentials are checked before any call.

    `session` (from `make_session`) is shared by many clients: a new session loads every model
    again, which costs about a second. `credentials` (access key, secret and session token, as
    boto3 takes them) are an assumed role's, instead of the session's own.
    """
    from botocore.config import Config
    from botocore.exceptions import NoRegionError

    session = session or make_session(profile)
    config = Config(retries={"mode": "standard", "max_attempts": RETRY_ATTEMPTS},
                    max_pool_connections=pool_size, user_agent_extra="ecrgen")
    try:
        # botocore itself reads only AWS_DEFAULT_REGION; the SDKs' AWS_REGION is honoured here.
        region = region or os.environ.get("AWS_REGION") or None
        return session.client(service, region_name=region, endpoint_url=endpoint_url, config=config,
                              **(credentials or {}))
    except NoRegionError:
        raise InputError("aws", "no AWS region: pass --region or set AWS_REGION") from None


def make_session(profile: str | None = None) -> Any:
    """A boto3 session with the default chain's (or the profile's) credentials, checked present."""
    import boto3
    from botocore.exceptions import ProfileNotFound

    try:
        session = boto3.Session(profile_name=profile)
    except ProfileNotFound:
        raise InputError("aws", f"profile {profile!r} not found in the AWS config files") from None
    if session.get_credentials() is None:
        raise InputError("aws", "no AWS credentials found: set AWS_PROFILE or --profile, or AWS_ACCESS_KEY_ID"
                                " and AWS_SECRET_ACCESS_KEY, or run where a role is available")
    return session


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ClientError (e.g. `AccessDeniedException`), else the type."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code") or type(exc).__name__)
    return type(exc).__name__


@contextlib.contextmanager
def user_errors(what: str) -> Iterator[None]:
    """Turn failures that the user must fix (credentials, endpoint) into exit-2 messages."""
    from botocore.exceptions import EndpointConnectionError, NoCredentialsError, PartialCredentialsError

    try:
        yield
    except (NoCredentialsError, PartialCredentialsError):
        raise InputError("aws", f"{what}: no usable AWS credentials") from None
    except EndpointConnectionError as exc:
        endpoint = exc.kwargs.get("endpoint_url", "the endpoint")
        raise InputError("aws", f"{what}: cannot reach {endpoint}") from None


def lifecycle_policy_text(ecr: Any, repository: str) -> str | None:
    """The repository's lifecycle policy JSON text, or None when it has none."""
    try:
        return ecr.get_lifecycle_policy(repositoryName=repository)["lifecyclePolicyText"]
    except ecr.exceptions.LifecyclePolicyNotFoundException:
        return None
