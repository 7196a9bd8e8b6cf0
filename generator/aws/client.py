"""AWS clients configured the AWS way, and AWS errors turned into user messages.

Standard conventions: the default credential chain, `--profile` / `AWS_PROFILE`,
`--region` / `AWS_REGION`, `--endpoint-url` / `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_<SERVICE>`.
Retries come from botocore's own retry modes, never from hand-written loops.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

from generator.base.errors import InputError

# Enough attempts to ride out sustained throttling (the first try and 10 retries); botocore backs
# off exponentially with jitter. The SDKs' own AWS_MAX_ATTEMPTS (all tries) overrides it.
MAX_ATTEMPTS = 11


def make_client(service: str, *, region: str | None = None, profile: str | None = None,
                endpoint_url: str | None = None, pool_size: int = 10, session: Any = None,
                credentials: Mapping[str, str] | None = None) -> Any:
    """One client, safe to share across threads; credentials, region and endpoint are checked
    before any call, so that a typo is one clear message rather than a failure of every call.

    `session` (from `make_session`) is shared by many clients: a new session loads every model
    again, which costs about a second. `credentials` (access key, secret and session token, as
    botocore takes them) are an assumed role's, instead of the session's own.
    """
    from botocore.config import Config
    from botocore.exceptions import InvalidRegionError, NoRegionError

    session = session or make_session(profile)
    config = Config(retries={"mode": "standard", "total_max_attempts": _max_attempts()},
                    max_pool_connections=pool_size, user_agent_extra="ecrgen")
    endpoint_from = _origin("--endpoint-url", endpoint_url,
                            f"AWS_ENDPOINT_URL_{service.upper().replace('-', '_')}", "AWS_ENDPOINT_URL")
    region_from = _origin("--region", region, "AWS_REGION", "AWS_DEFAULT_REGION")
    try:
        # botocore itself reads only AWS_DEFAULT_REGION; the SDKs' AWS_REGION is honoured here.
        region = region or os.environ.get("AWS_REGION") or None
        client = session.create_client(service, region_name=region, endpoint_url=endpoint_url,
                                       config=config, **(credentials or {}))
    except NoRegionError:
        raise InputError("aws", "no AWS region: pass --region or set AWS_REGION") from None
    except InvalidRegionError as exc:
        raise InputError(region_from, f"{exc.kwargs.get('region_name')!r} is not a region name; "
                         "expected one such as us-east-1") from None
    except ValueError as exc:  # botocore's "Invalid endpoint: <url>"
        raise InputError(endpoint_from, _not_a_url(str(exc).removeprefix("Invalid endpoint: "))) from None
    url = urlsplit(client.meta.endpoint_url)
    if url.scheme not in ("http", "https") or not url.hostname:
        raise InputError(endpoint_from, _not_a_url(client.meta.endpoint_url))
    client.meta.events.register("before-parse.*.*", _refuse_web_page)
    return client


def _max_attempts() -> int:
    """AWS_MAX_ATTEMPTS when set (a whole number of at least 1), else MAX_ATTEMPTS."""
    value = os.environ.get("AWS_MAX_ATTEMPTS", "").strip()
    if not value:
        return MAX_ATTEMPTS
    if not value.isdigit() or int(value) < 1:
        raise InputError("AWS_MAX_ATTEMPTS", f"must be a whole number of at least 1, got {value!r}")
    return int(value)


def make_session(profile: str | None = None) -> Any:
    """A botocore session with the default chain's (or the profile's) credentials, checked present.

    botocore's own session, not boto3's wrapper: ecrgen makes only clients, and boto3's import and
    resource set-up would add to every command's start-up."""
    from botocore.exceptions import ProfileNotFound
    from botocore.session import Session

    session = Session(profile=profile)
    try:
        credentials = session.get_credentials()
    except ProfileNotFound:
        raise InputError("aws", f"profile {profile!r} not found in the AWS config files") from None
    if credentials is None:
        raise InputError("aws", "no AWS credentials found: set AWS_PROFILE or --profile, or AWS_ACCESS_KEY_ID"
                                " and AWS_SECRET_ACCESS_KEY, or run where a role is available")
    return session


def _not_a_url(value: str) -> str:
    return f"{value!r} is not an http:// or https:// URL (such as https://host:port)"


def _refuse_web_page(response_dict: dict[str, Any], operation_model: Any, **_: Any) -> None:
    """A web page that answers 2xx (a captive portal, a proxy's notice) is no AWS reply, but
    botocore would read it as an empty result (no images, no policy): make it a parse error."""
    from botocore.parsers import ResponseParserError

    status = response_dict.get("status_code", 0)
    if not 200 <= status < 300:
        return  # botocore turns error pages into ClientErrors itself
    content_type = response_dict["headers"].get("content-type", "")
    body = response_dict.get("body") or b""
    protocol = operation_model.metadata.get("protocol")
    # What is labelled text/html but is no web page: a JSON body (moto's Lambda labels some
    # replies so), or the empty reply of a non-JSON API (S3 answers PutObject with nothing).
    stripped = body.strip() if isinstance(body, bytes) else b""
    json_body = stripped[:1] in (b"{", b"[") and protocol in ("json", "rest-json")
    empty_reply = not stripped and protocol != "json"
    if content_type.startswith("text/html") and not (json_body or empty_reply):
        raise ResponseParserError(f"HTTP {status} with an HTML page instead of an AWS reply")
    if protocol == "json" and isinstance(body, bytes) \
            and body.strip() and not body.lstrip().startswith(b"{"):
        raise ResponseParserError(f"HTTP {status} with {content_type or 'a reply'} that is not JSON")


def _origin(flag: str, given: str | None, *variables: str) -> str:
    """Where a value came from, to name it in a message: the flag, the variable set, or the config."""
    if given:
        return flag
    return next((name for name in variables if os.environ.get(name)), "the AWS config file")


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ClientError (e.g. `AccessDeniedException`), else the type."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code") or type(exc).__name__)
    return type(exc).__name__


def exception_text(exc: BaseException) -> str:
    """botocore's message, first line only: for an unreadable reply it goes on with the whole body."""
    return (str(exc).splitlines() or [""])[0].rstrip(": ")


def unreadable_reply(exc: BaseException) -> str:
    """One line for a reply that could not be read (an HTML page from a proxy, a cut connection)."""
    text = exception_text(exc)
    return f"the reply could not be read: {type(exc).__name__}{': ' + text if text else ''}"


@contextlib.contextmanager
def user_errors(what: str) -> Iterator[None]:
    """Turn failures that the user must fix (credentials, endpoint) into exit-2 messages."""
    from botocore import exceptions
    from botocore.parsers import ResponseParserError

    try:
        yield
    except (exceptions.NoCredentialsError, exceptions.PartialCredentialsError):
        raise InputError("aws", f"{what}: no usable AWS credentials") from None
    except exceptions.ConnectionError as exc:  # refused, no route, a connect timeout, a failing proxy
        endpoint = exc.kwargs.get("endpoint_url", "the endpoint")
        raise InputError("aws", f"{what}: cannot reach {endpoint}") from None
    except (ResponseParserError, exceptions.HTTPClientError) as exc:
        raise InputError("aws", f"{what}: {unreadable_reply(exc)}") from None


def lifecycle_policy_text(ecr: Any, repository: str) -> str | None:
    """The repository's lifecycle policy JSON text, or None when it has none."""
    try:
        return ecr.get_lifecycle_policy(repositoryName=repository)["lifecyclePolicyText"]
    except ecr.exceptions.LifecyclePolicyNotFoundException:
        return None


def repository_policy_text(ecr: Any, repository: str) -> str | None:
    """The repository's policy JSON text (who may pull and push), or None when it has none."""
    try:
        return ecr.get_repository_policy(repositoryName=repository)["policyText"]
    except ecr.exceptions.RepositoryPolicyNotFoundException:
        return None
