"""The `notifications:` section of ecr.yaml: be told when a pushed image has serious findings.

```yaml
notifications:
  min_severity: HIGH          # CRITICAL | HIGH | MEDIUM | LOW | INFORMATIONAL
  topic: create               # an SNS topic in the stack, or an existing topic's ARN
  email: [team@example.com]   # subscriptions, only on a topic ecrgen creates
  scan_types: [BASIC]         # BASIC (ECR Image Scan events) and/or ENHANCED (Inspector2 Finding)
```

Pure: the model, its checks, and the EventBridge event patterns and input transformers as
plain CloudFormation data. `generator.render.notifications` turns them into resources.
Patterns follow the EventBridge syntax: numeric matching on the severity counts of basic scans,
joined with `$or`, and a `prefix` match on the repository namespace where a list of names would
not fit EventBridge's pattern size (2,048 characters by default).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field

from generator.base.errors import Problem
from generator.base.source import Document
from generator.model.schema import Strict
from generator.model.severity import SEVERITIES, Severity

CREATE = "create"
TOPIC_ARN = re.compile(r"arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}\Z")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+\Z")
# EventBridge's default quota for one rule's event pattern, in characters.
MAX_PATTERN_CHARS = 2048
# The longest values CloudFormation can substitute, for estimating a pattern's deployed size.
LONGEST = {"${AWS::Region}": "ap-southeast-99", "${AWS::AccountId}": "0" * 12,
           "${AWS::Partition}": "aws-iso-b"}
COUNT_ABOVE_ZERO = [{"numeric": [">", 0]}]


class Notifications(Strict):
    min_severity: Severity = "HIGH"
    topic: str = CREATE
    email: list[str] = Field(default_factory=list)
    scan_types: list[Literal["BASIC", "ENHANCED"]] = Field(default_factory=lambda: ["BASIC"], min_length=1)


@dataclass(frozen=True)
class NotificationSettings:
    """Resolved: the severities that notify, where to, and which scan kinds' events."""

    min_severity: str
    topic_arn: str | None  # None: the stack creates the topic
    emails: tuple[str, ...]
    scan_types: tuple[str, ...]

    @property
    def severities(self) -> list[str]:
        """The severities at or above the minimum, worst first."""
        return list(reversed(SEVERITIES[SEVERITIES.index(self.min_severity):]))


def resolve_notifications(doc: Document, raw: Notifications | None,
                          problems: list[Problem]) -> NotificationSettings | None:
    """Cross-field checks; each problem is appended with its line."""
    if raw is None:
        return None
    at = ("notifications",)
    if raw.topic != CREATE and not TOPIC_ARN.match(raw.topic):
        problems.append(doc.problem((*at, "topic"), f"must be 'create' or an SNS topic ARN "
                                    f"(arn:aws:sns:REGION:ACCOUNT:NAME), got {raw.topic!r}"))
    if raw.email and raw.topic != CREATE:
        problems.append(doc.problem((*at, "email"), "subscriptions are only made on a topic ecrgen creates "
                                    "(topic: create); subscribe to an existing topic where it is managed"))
    for index, address in enumerate(raw.email):
        if not EMAIL.match(address):
            problems.append(doc.problem((*at, "email", index), f"{address!r} is not an email address"))
    return NotificationSettings(min_severity=raw.min_severity,
                                topic_arn=None if raw.topic == CREATE else raw.topic,
                                emails=tuple(dict.fromkeys(raw.email)),
                                scan_types=tuple(dict.fromkeys(raw.scan_types)))


# --- EventBridge patterns ------------------------------------------------------------------

def scan_pattern(repositories: Sequence[Any], severities: Sequence[str]) -> dict[str, Any]:
    """Basic scanning's `ECR Image Scan` events of these repositories with a count at or above.

    `repositories` are EventBridge value matchers: names, or `{"prefix": namespace}`.
    """
    counts = [{"finding-severity-counts": {severity: COUNT_ABOVE_ZERO}} for severity in severities]
    detail: dict[str, Any] = {"scan-status": ["COMPLETE"], "repository-name": list(repositories)}
    if len(counts) == 1:
        detail.update(counts[0])
    else:
        detail["$or"] = counts
    return {"source": ["aws.ecr"], "detail-type": ["ECR Image Scan"], "detail": detail}


def inspector_pattern(image_arn_prefixes: Sequence[Any], severities: Sequence[str]) -> dict[str, Any]:
    """Enhanced scanning's active `Inspector2 Finding` events on images of these repositories.

    Each event's `resources` holds the image ARN, `arn:...:repository/NAME/sha256:...`, so a
    prefix match per repository (or one on the namespace) selects the repositories.
    """
    return {"source": ["aws.inspector2"], "detail-type": ["Inspector2 Finding"],
            "resources": [{"prefix": prefix} for prefix in image_arn_prefixes],
            "detail": {"severity": list(severities), "status": ["ACTIVE"]}}


def deployed_size(pattern: Any, parameters: dict[str, str]) -> int:
    """The pattern's length once CloudFormation has substituted `${...}` (worst case)."""
    text = json.dumps(pattern)
    for name, value in {**LONGEST, **{f"${{{k}}}": v for k, v in parameters.items()}}.items():
        text = text.replace(name, value)
    return len(text)


# --- readable messages ---------------------------------------------------------------------

CONSOLE = ("https://<region>.console.aws.amazon.com/ecr/repositories/private/<account>/<repository>"
           "/_/image/<digest>/details?region=<region>")


def scan_transformer(min_severity: str) -> dict[str, Any]:
    """The SNS message for an `ECR Image Scan` event: repository, tags, digest, counts, console link."""
    paths = {"repository": "$.detail.repository-name", "digest": "$.detail.image-digest",
             "tags": "$.detail.image-tags", "counts": "$.detail.finding-severity-counts",
             "time": "$.time", "region": "$.region", "account": "$.account"}
    template = {"message": f"Amazon ECR image scan: <repository> has findings at or above {min_severity}",
                "repository": "<repository>", "imageTags": "@tags@", "imageDigest": "<digest>",
                "severityCounts": "@counts@", "scannedAt": "<time>", "console": CONSOLE}
    return {"InputPathsMap": paths, "InputTemplate": _template(template)}


def inspector_transformer() -> dict[str, Any]:
    """The SNS message for an `Inspector2 Finding` event on an ECR image."""
    image = "$.detail.resources[0].details.awsEcrContainerImage"
    paths = {"repository": f"{image}.repositoryName", "digest": f"{image}.imageHash",
             "tags": f"{image}.imageTags", "severity": "$.detail.severity", "title": "$.detail.title",
             "fix": "$.detail.fixAvailable", "finding": "$.detail.findingArn",
             "region": "$.region", "account": "$.account"}
    template = {"message": "Amazon Inspector: <severity> finding <title> in <repository>",
                "repository": "<repository>", "imageTags": "@tags@", "imageDigest": "<digest>",
                "severity": "<severity>", "fixAvailable": "<fix>", "findingArn": "<finding>",
                "console": CONSOLE}
    return {"InputPathsMap": paths, "InputTemplate": _template(template)}


def _template(fields: dict[str, str]) -> str:
    """A JSON input template; `"@name@"` marks a value inserted as JSON (a list or an object)."""
    return re.sub(r'"@(\w+)@"', r"<\1>", json.dumps(fields))
