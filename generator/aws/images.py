"""Live reads for the lifecycle preview: a repository's images and its current policy."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from generator.aws.client import error_code, lifecycle_policy_text, user_errors
from generator.base.errors import InputError


def describe_images(ecr: Any, repository: str) -> list[dict[str, Any]]:
    """Every image of the repository, active and archived, through botocore's paginator."""
    pages = ecr.get_paginator("describe_images").paginate(repositoryName=repository,
                                                           filter={"imageStatus": "ANY"})
    with _reading(ecr, repository, "describe images"):
        return [detail for page in pages for detail in page.get("imageDetails", [])]


def current_policy_text(ecr: Any, repository: str) -> str:
    """The repository's lifecycle policy text; a repository without one is the user's to fix."""
    with _reading(ecr, repository, "read the lifecycle policy"):
        text = lifecycle_policy_text(ecr, repository)
    if text is None:
        raise InputError(repository, "has no lifecycle policy: pass --policy FILE or "
                         "--config ecr.yaml --repository NAME to preview one")
    return text


@contextlib.contextmanager
def _reading(ecr: Any, repository: str, what: str) -> Iterator[None]:
    """Credentials, endpoint, a missing repository and refused calls become exit-2 messages."""
    from botocore.exceptions import ClientError

    with user_errors(f"{what} of {repository}"):
        try:
            yield
        except ecr.exceptions.RepositoryNotFoundException:
            raise InputError(repository, "repository not found in this account and region") from None
        except ClientError as exc:  # e.g. AccessDeniedException: the user's to fix, not a crash
            message = exc.response.get("Error", {}).get("Message", "")
            raise InputError(repository, f"cannot {what}: {error_code(exc)}: {message}") from None
