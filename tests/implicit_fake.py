"""A small stateful fake of the ECR operations moto lacks, on 127.0.0.1 in front of moto.

moto implements no pull-through cache rule, repository creation template, signing
configuration, account setting or pull-time exclusion. `ImplicitFake` serves exactly those
operations from memory through the loopback `FaultProxy` (tests/fault_proxy.py) and forwards
everything else (repositories, policies, CloudFormation) to moto, so `ecrgen post-deploy` runs
end to end against one endpoint. Every list call pages at most `page_size` items whatever
`maxResults` asks, so "every page" is exercised; `refuse` makes an operation fail as IAM would;
`writes` counts the writes it served. `cache` plays ECR creating a repository from the template
that governs its name, as a pull through the cache (or a push) would.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from tests.fault_proxy import AwsError, FaultProxy

ACCOUNT = "123456789012"  # moto's
READS = ("DescribePullThroughCacheRules", "DescribeRepositoryCreationTemplates", "GetSigningConfiguration",
         "GetAccountSetting", "ListPullTimeUpdateExclusions")
WRITES = ("CreatePullThroughCacheRule", "UpdatePullThroughCacheRule", "DeletePullThroughCacheRule",
          "CreateRepositoryCreationTemplate", "UpdateRepositoryCreationTemplate",
          "DeleteRepositoryCreationTemplate", "PutSigningConfiguration", "DeleteSigningConfiguration",
          "PutAccountSetting", "RegisterPullTimeUpdateExclusion", "DeregisterPullTimeUpdateExclusion")
DEFAULT_SETTINGS = {"BASIC_SCAN_TYPE_VERSION": "CLAIR", "REGISTRY_POLICY_SCOPE": "V1", "BLOB_MOUNTING": "DISABLED"}


class ImplicitFake:
    def __init__(self, proxy: FaultProxy, page_size: int = 2) -> None:
        self.page_size = page_size
        self.rules: dict[str, dict[str, Any]] = {}
        self.templates: dict[str, dict[str, Any]] = {}
        self.signing: dict[str, Any] | None = None
        self.settings = dict(DEFAULT_SETTINGS)
        self.exclusions: list[str] = []
        self.refuse: dict[str, str] = {}  # operation -> error code
        self.writes: Counter[str] = Counter()
        self._lock = threading.Lock()
        for operation in (*READS, *WRITES):
            proxy.intercept(operation, self._handler(operation))

    def _handler(self, operation: str) -> Any:
        method = getattr(self, "_" + "".join("_" + c.lower() if c.isupper() else c for c in operation)[1:])

        def handle(body: dict[str, Any]) -> dict[str, Any]:
            with self._lock:
                if operation in self.refuse:
                    raise AwsError(self.refuse[operation], f"{operation} refused for this test")
                if operation in WRITES:
                    self.writes[operation] += 1
                return method(body)  # type: ignore[no-any-return]
        return handle

    def _page(self, items: list[Any], body: dict[str, Any], key: str) -> dict[str, Any]:
        start = int(body.get("nextToken") or 0)
        size = min(self.page_size, body.get("maxResults") or 100)
        page: dict[str, Any] = {key: items[start:start + size]}
        if start + size < len(items):
            page["nextToken"] = str(start + size)
        return page

    # --- pull-through cache rules -----------------------------------------------------------
    def _describe_pull_through_cache_rules(self, body: dict[str, Any]) -> dict[str, Any]:
        wanted = body.get("ecrRepositoryPrefixes")
        for prefix in wanted or []:
            if prefix not in self.rules:
                raise AwsError("PullThroughCacheRuleNotFoundException", f"no rule {prefix}")
        rules = [r for p, r in sorted(self.rules.items()) if not wanted or p in wanted]
        return self._page(rules, body, "pullThroughCacheRules")

    def _create_pull_through_cache_rule(self, body: dict[str, Any]) -> dict[str, Any]:
        prefix = body["ecrRepositoryPrefix"]
        if prefix in self.rules:
            raise AwsError("PullThroughCacheRuleAlreadyExistsException", f"rule {prefix} exists")
        self.rules[prefix] = {**body, "registryId": ACCOUNT}
        return self.rules[prefix]

    def _update_pull_through_cache_rule(self, body: dict[str, Any]) -> dict[str, Any]:
        prefix = body["ecrRepositoryPrefix"]
        if prefix not in self.rules:
            raise AwsError("PullThroughCacheRuleNotFoundException", f"no rule {prefix}")
        self.rules[prefix].update({k: v for k, v in body.items() if k in ("credentialArn", "customRoleArn")})
        return self.rules[prefix]

    def _delete_pull_through_cache_rule(self, body: dict[str, Any]) -> dict[str, Any]:
        return self.rules.pop(body["ecrRepositoryPrefix"])

    # --- repository creation templates ------------------------------------------------------
    def _describe_repository_creation_templates(self, body: dict[str, Any]) -> dict[str, Any]:
        wanted = [p.rstrip("/") for p in body.get("prefixes") or []]
        templates = [t for p, t in sorted(self.templates.items()) if not wanted or p in wanted]
        return {"registryId": ACCOUNT, **self._page(templates, body, "repositoryCreationTemplates")}

    def _create_repository_creation_template(self, body: dict[str, Any]) -> dict[str, Any]:
        prefix = body["prefix"].rstrip("/")
        if prefix in self.templates:
            raise AwsError("TemplateAlreadyExistsException", f"template {prefix} exists")
        self.templates[prefix] = dict(body)
        return {"registryId": ACCOUNT, "repositoryCreationTemplate": self.templates[prefix]}

    def _update_repository_creation_template(self, body: dict[str, Any]) -> dict[str, Any]:
        prefix = body["prefix"].rstrip("/")
        if prefix not in self.templates:
            raise AwsError("TemplateNotFoundException", f"no template {prefix}")
        self.templates[prefix].update(body)
        return {"registryId": ACCOUNT, "repositoryCreationTemplate": self.templates[prefix]}

    def _delete_repository_creation_template(self, body: dict[str, Any]) -> dict[str, Any]:
        return {"registryId": ACCOUNT, "repositoryCreationTemplate": self.templates.pop(body["prefix"].rstrip("/"))}

    # --- signing, account settings, pull-time exclusions -------------------------------------
    def _get_signing_configuration(self, body: dict[str, Any]) -> dict[str, Any]:
        if self.signing is None:
            raise AwsError("SigningConfigurationNotFoundException", "no signing configuration")
        return {"registryId": ACCOUNT, "signingConfiguration": self.signing}

    def _put_signing_configuration(self, body: dict[str, Any]) -> dict[str, Any]:
        self.signing = body["signingConfiguration"]
        return {"signingConfiguration": self.signing}

    def _delete_signing_configuration(self, body: dict[str, Any]) -> dict[str, Any]:
        signing, self.signing = self.signing, None
        return {"registryId": ACCOUNT, "signingConfiguration": signing}

    def _get_account_setting(self, body: dict[str, Any]) -> dict[str, Any]:
        return {"name": body["name"], "value": self.settings[body["name"]]}

    def _put_account_setting(self, body: dict[str, Any]) -> dict[str, Any]:
        self.settings[body["name"]] = body["value"]
        return body

    def _list_pull_time_update_exclusions(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._page(self.exclusions, body, "pullTimeUpdateExclusions")

    def _register_pull_time_update_exclusion(self, body: dict[str, Any]) -> dict[str, Any]:
        if body["principalArn"] in self.exclusions:
            raise AwsError("ExclusionAlreadyExistsException", "registered already")
        self.exclusions.append(body["principalArn"])
        return {"principalArn": body["principalArn"]}

    def _deregister_pull_time_update_exclusion(self, body: dict[str, Any]) -> dict[str, Any]:
        self.exclusions.remove(body["principalArn"])
        return {"principalArn": body["principalArn"]}

    # --- ECR creating a repository by itself ------------------------------------------------
    def cache(self, ecr: Any, name: str) -> None:
        """Create `name` in moto (`ecr`) as ECR does on a first pull through the cache: with the
        settings of the template with the longest prefix whose `<prefix>/` starts the name."""
        with self._lock:
            matches = [p for p in self.templates if name.startswith(p + "/")]
            template = dict(self.templates[max(matches, key=len)]) if matches else {}
        ecr.create_repository(repositoryName=name,
                              imageTagMutability=template.get("imageTagMutability", "MUTABLE"),
                              **({"imageTagMutabilityExclusionFilters": template["imageTagMutabilityExclusionFilters"]}
                                 if template.get("imageTagMutabilityExclusionFilters") else {}))
        if template.get("lifecyclePolicy"):
            ecr.put_lifecycle_policy(repositoryName=name, lifecyclePolicyText=template["lifecyclePolicy"])
        if template.get("repositoryPolicy"):
            ecr.set_repository_policy(repositoryName=name, policyText=template["repositoryPolicy"])


def deploy_account_wide(template_json: str, system_name: str = "myapp") -> None:
    """CloudFormation's part, played through the fake: create the pull-through cache rules,
    creation templates and pull-time exclusions a rendered template (JSON) declares, with its
    `Fn::Sub`s filled in for `system_name` in moto's account and region."""
    import boto3

    ecr = boto3.client("ecr")  # AWS_ENDPOINT_URL: the proxy, so the fake serves these
    values = {"SystemName": system_name, "AWS::AccountId": ACCOUNT, "AWS::Region": "us-east-1",
              "AWS::Partition": "aws"}
    for resource in json.loads(template_json)["Resources"].values():
        props = _filled(resource.get("Properties", {}), values)
        if resource["Type"] == "AWS::ECR::PullThroughCacheRule":
            ecr.create_pull_through_cache_rule(**{key[0].lower() + key[1:]: value for key, value in props.items()})
        elif resource["Type"] == "AWS::ECR::RepositoryCreationTemplate":
            ecr.create_repository_creation_template(
                prefix=props["Prefix"], appliedFor=props["AppliedFor"], imageTagMutability=props["ImageTagMutability"],
                encryptionConfiguration={"encryptionType": props["EncryptionConfiguration"]["EncryptionType"]},
                lifecyclePolicy=props.get("LifecyclePolicy", ""), repositoryPolicy=props.get("RepositoryPolicy", ""),
                resourceTags=props.get("ResourceTags", []), description=props.get("Description", ""),
                **({"imageTagMutabilityExclusionFilters": [
                    {"filterType": f["ImageTagMutabilityExclusionFilterType"],
                     "filter": f["ImageTagMutabilityExclusionFilterValue"]}
                    for f in props["ImageTagMutabilityExclusionFilters"]]}
                   if props.get("ImageTagMutabilityExclusionFilters") else {}))
        elif resource["Type"] == "AWS::ECR::PullTimeUpdateExclusion":
            ecr.register_pull_time_update_exclusion(principalArn=props["PrincipalArn"])


def _filled(value: Any, values: dict[str, str]) -> Any:
    if isinstance(value, dict) and set(value) == {"Fn::Sub"}:
        text = value["Fn::Sub"]
        for name, filled in values.items():
            text = text.replace("${" + name + "}", filled)
        return text
    if isinstance(value, dict):
        return {key: _filled(item, values) for key, item in value.items()}
    if isinstance(value, list):
        return [_filled(item, values) for item in value]
    return value


@pytest.fixture()
def implicit_fake(fault_proxy: FaultProxy) -> Iterator[ImplicitFake]:
    """The fake on the fault proxy (AWS_ENDPOINT_URL points at it); moto behind it, empty."""
    yield ImplicitFake(fault_proxy)
