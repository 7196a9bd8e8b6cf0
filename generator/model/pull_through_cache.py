"""`pull_through_cache:` in ecr.yaml: rules that make ECR create a repository on the first pull.

A pull-through cache rule maps an ECR repository prefix (`myapp-ecr-hub`) to an upstream
registry (Docker Hub, GitHub, Quay, ...): `docker pull <registry>/myapp-ecr-hub/library/nginx`
creates `myapp-ecr-hub/library/nginx` and caches the image there. Each rule is checked at load
against the API's own constraints (CreatePullThroughCacheRule): the prefix pattern and length,
the upstream registries and their URLs, and the Secrets Manager credential the authenticated
upstreams need, whose secret name must start `ecr-pullthroughcache/`.

Pure: the model, its resolution, and the API shape a rule is compared in.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from generator.base.source import Path_
from generator.model.access import ROLE_ARN
from generator.model.schema import Strict

# The API's pattern for a repository prefix (ecrRepositoryPrefix, upstreamRepositoryPrefix, and a
# creation template's prefix), and the prefix that stands for "no prefix".
PREFIX = re.compile(r"([a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*/?|ROOT)\Z")
ROOT = "ROOT"
PREFIX_LENGTH = (2, 30)
# The upstreams whose registry URL is fixed, and those whose URL names one registry of the user's.
FIXED_URLS = {"docker-hub": "registry-1.docker.io", "ecr-public": "public.ecr.aws",
              "github-container-registry": "ghcr.io", "gitlab-container-registry": "registry.gitlab.com",
              "k8s": "registry.k8s.io", "quay": "quay.io", "chainguard": "cgr.dev"}
CUSTOM_URLS = {"ecr": re.compile(r"[0-9]{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?\Z"),
               "azure-container-registry": re.compile(r"[a-z0-9]{5,50}\.azurecr\.io\Z")}
CUSTOM_URL_FORMS = {"ecr": "<account>.dkr.ecr.<region>.amazonaws.com",
                    "azure-container-registry": "<name>.azurecr.io"}
UPSTREAMS = tuple(sorted([*FIXED_URLS, *CUSTOM_URLS]))
Upstream = Literal["azure-container-registry", "chainguard", "docker-hub", "ecr", "ecr-public",
                   "github-container-registry", "gitlab-container-registry", "k8s", "quay"]
# The upstreams that ECR refuses without a credential (UnsupportedUpstreamRegistryException).
NEEDS_CREDENTIAL = ("azure-container-registry", "chainguard", "docker-hub", "github-container-registry",
                    "gitlab-container-registry")
SECRET_PREFIX = "ecr-pullthroughcache/"
SECRET_NAME = re.compile(r"ecr-pullthroughcache/[a-zA-Z0-9/_+=.@-]+\Z")
SECRET_ARN = re.compile(r"arn:aws(-[a-z]+)*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:(?P<name>.+)\Z")
CREDENTIAL_ARN_LENGTH = (50, 612)
# A secret ARN ends in '-' and six random characters that the name does not have.
SECRET_SUFFIX = re.compile(r"-[A-Za-z0-9]{6}\Z")
# A credential given by name: its ARN in this account and region, filled in where they are known.
NAMED_SECRET_ARN = "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:"


class PullThroughCacheEntry(Strict):
    """One rule as written in ecr.yaml; `resolve` checks it and fills in ${SystemName}."""

    prefix: str
    upstream: Upstream | None = None
    upstream_url: str | None = None
    credential: str | None = None
    custom_role: str | None = None
    upstream_repository_prefix: str | None = None


@dataclass(frozen=True)
class PullThroughCacheRule:
    """One rule, resolved: the values CreatePullThroughCacheRule takes."""

    prefix: str
    upstream_registry: str
    upstream_url: str
    credential_arn: str | None = None  # from a name: with ${AWS::...} placeholders (NAMED_SECRET_ARN)
    custom_role_arn: str | None = None
    upstream_repository_prefix: str | None = None

    def to_api(self) -> dict[str, str]:
        """As DescribePullThroughCacheRules shows it (the keys that are set)."""
        out = {"ecrRepositoryPrefix": self.prefix, "upstreamRegistry": self.upstream_registry,
               "upstreamRegistryUrl": self.upstream_url}
        for key, value in (("credentialArn", self.credential_arn), ("customRoleArn", self.custom_role_arn),
                           ("upstreamRepositoryPrefix", self.upstream_repository_prefix)):
            if value is not None:
                out[key] = value
        return out

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> PullThroughCacheRule:
        url = data["upstreamRegistryUrl"]
        return cls(prefix=data["ecrRepositoryPrefix"],
                   upstream_registry=data.get("upstreamRegistry") or upstream_of(url) or "",
                   upstream_url=data["upstreamRegistryUrl"], credential_arn=data.get("credentialArn") or None,
                   custom_role_arn=data.get("customRoleArn") or None,
                   upstream_repository_prefix=data.get("upstreamRepositoryPrefix") or None)


def upstream_of(url: str) -> str | None:
    """The upstream registry a URL belongs to, or None when ECR supports no such upstream."""
    for upstream, fixed in FIXED_URLS.items():
        if url == fixed:
            return upstream
    return next((upstream for upstream, pattern in CUSTOM_URLS.items() if pattern.match(url)), None)


def secret_name(arn: str) -> str | None:
    """The secret's name in a Secrets Manager ARN (without the random suffix), or None."""
    match = SECRET_ARN.match(arn)
    return SECRET_SUFFIX.sub("", match["name"]) if match else None


def same_credential(wanted: str, live: str | None) -> bool:
    """A wanted ARN given without the random suffix (from a secret's name) names the same secret
    as the full ARN ECR may report."""
    return live is not None and (live == wanted or SECRET_SUFFIX.sub("", live) == wanted)


def prefix_problem(value: str, length: tuple[int, int]) -> str | None:
    """Why `value` is not a repository prefix the API accepts, or None."""
    if value == ROOT or (length[0] <= len(value) <= length[1] and PREFIX.match(value)):
        return None
    return (f"{value!r} is not a valid prefix: {length[0]}-{length[1]} lowercase letters, digits, '.', '_', "
            "'-' and '/' (the parts of a repository name), or ROOT")


Problem_ = Callable[[Path_, str], None]


def resolve(entries: Sequence[PullThroughCacheEntry], substitute: Callable[[str], str],
            owns: Callable[[str], bool], namespace: str, problem: Problem_,
            at: Path_ = ("pull_through_cache",)) -> tuple[PullThroughCacheRule, ...]:
    """Each rule resolved; problems go to `problem(path, message)`. `owns(prefix)` says whether
    a prefix lies in this config's part of the registry (its namespace, or all of it with
    `owner: registry`)."""
    rules = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(entries):
        where = (*at, index)
        prefix = substitute(entry.prefix)
        message = claim_problem(prefix, PREFIX_LENGTH, owns, namespace)
        if message:
            problem((*where, "prefix"), message)
        elif prefix in seen:
            problem((*where, "prefix"), f"{prefix!r} duplicates pull_through_cache[{seen[prefix]}]: "
                    "one rule per prefix")
        seen.setdefault(prefix, index)
        upstream, url = _upstream(entry, where, problem)
        credential = _credential(entry.credential, upstream, (*where, "credential"), problem)
        if entry.custom_role is not None and not ROLE_ARN.match(entry.custom_role):
            problem((*where, "custom_role"), f"{entry.custom_role!r} is not an IAM role ARN "
                    "(arn:aws:iam::<account>:role/<name>) in this registry's account")
        upstream_prefix = entry.upstream_repository_prefix
        if upstream_prefix is not None:
            message = prefix_problem(upstream_prefix, PREFIX_LENGTH)
            if message:
                problem((*where, "upstream_repository_prefix"), message)
        rules.append(PullThroughCacheRule(prefix, upstream or "", url or "", credential, entry.custom_role,
                                          upstream_prefix))
    return tuple(rules)


def claim_problem(prefix: str, length: tuple[int, int], owns: Callable[[str], bool],
                  namespace: str) -> str | None:
    """Why this config cannot claim `prefix`: not a prefix the API accepts, or outside its namespace."""
    return prefix_problem(prefix, length) or (None if owns(prefix) else outside_namespace(prefix, namespace))


def outside_namespace(prefix: str, namespace: str) -> str:
    """The message for a prefix this config may not claim."""
    where = f"start with {namespace!r} (the literal prefix of name_pattern)" if namespace else \
        "lie in this config's namespace"
    return (f"{prefix!r} is outside this config's namespace: a prefix must {where}, or it would claim "
            "repositories another team owns; set `owner: registry` if this config owns the whole registry")


def _upstream(entry: PullThroughCacheEntry, where: Path_, problem: Problem_) -> tuple[str | None, str | None]:
    """(upstream registry, its URL), from either or both."""
    upstream, url = entry.upstream, entry.upstream_url
    if upstream is None and url is None:
        problem(where, f"needs upstream (one of {', '.join(UPSTREAMS)}) or upstream_url")
        return None, None
    if url is not None and upstream_of(url) is None:
        problem((*where, "upstream_url"), f"{url!r} is not an upstream ECR caches: one of "
                f"{', '.join(sorted(FIXED_URLS.values()))}, or {' or '.join(CUSTOM_URL_FORMS.values())}")
        return upstream, url
    if upstream is None:
        return upstream_of(url or ""), url
    if upstream in FIXED_URLS:
        if url is not None and url != FIXED_URLS[upstream]:
            problem((*where, "upstream_url"), f"{upstream} is at {FIXED_URLS[upstream]!r}, got {url!r}; "
                    "leave upstream_url out")
        return upstream, FIXED_URLS[upstream]
    if url is None or not CUSTOM_URLS[upstream].match(url):
        problem((*where, "upstream_url"), f"{upstream} needs upstream_url {CUSTOM_URL_FORMS[upstream]}, "
                f"got {url!r}" if url else f"{upstream} needs upstream_url {CUSTOM_URL_FORMS[upstream]}")
    return upstream, url


def _credential(value: str | None, upstream: str | None, where: Path_, problem: Problem_) -> str | None:
    """The credential's ARN: as given, or built from a secret's name (NAMED_SECRET_ARN)."""
    if value is None:
        if upstream in NEEDS_CREDENTIAL:
            problem(where, f"{upstream} needs a credential: the Secrets Manager secret (ARN, or a name "
                    f"starting {SECRET_PREFIX!r}) that holds the upstream user name and token")
        return None
    if value.startswith("arn:"):
        name = secret_name(value)
        if name is None:
            problem(where, f"{value!r} is not a Secrets Manager secret ARN "
                    "(arn:aws:secretsmanager:<region>:<account>:secret:<name>)")
        elif not name.startswith(SECRET_PREFIX):
            problem(where, f"the secret {name!r} must be named {SECRET_PREFIX}<name>: ECR only uses "
                    f"secrets whose name starts {SECRET_PREFIX!r}")
        elif not SECRET_NAME.match(name) or not \
                CREDENTIAL_ARN_LENGTH[0] <= len(value) <= CREDENTIAL_ARN_LENGTH[1]:
            problem(where, f"{value!r} is not a credential ARN ECR accepts: {CREDENTIAL_ARN_LENGTH[0]}-"
                    f"{CREDENTIAL_ARN_LENGTH[1]} characters, the name of letters, digits and /_+=.@-")
        return value
    if not SECRET_NAME.match(value):
        problem(where, f"{value!r} is neither a Secrets Manager ARN nor a secret name starting "
                f"{SECRET_PREFIX!r} (letters, digits and /_+=.@- after it)")
    return NAMED_SECRET_ARN + value
