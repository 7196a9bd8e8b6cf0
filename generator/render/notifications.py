"""The template's notification wiring: an EventBridge rule per scan kind, the SNS topic and its policy.

Built from `config.notifications` (see `generator.model.notifications`). The rules match this stack's
repositories by name while the list fits EventBridge's pattern size, else by the namespace
prefix of `name_pattern`; each targets the topic through an input transformer that writes a
readable message. A topic ecrgen creates gets a policy that lets EventBridge publish to it from
these rules only; an existing topic's policy is left to whoever owns it (docs/findings.md has
the statement to add).
"""

from __future__ import annotations

from typing import Any

from troposphere import AWSObject, GetAtt, Ref, Sub, events, sns

from generator.model import notifications
from generator.model.config import Config
from generator.model.notifications import NotificationSettings
from generator.model.repository import SYSTEM_NAME_PLACEHOLDER
from generator.model.stack_limits import TemplateLimitError

TOPIC_ID = "EcrgenFindingsTopic"
TOPIC_POLICY_ID = "EcrgenFindingsTopicPolicy"
RULE_IDS = {"BASIC": "EcrgenScanFindingsRule", "ENHANCED": "EcrgenInspectorFindingsRule"}
TARGET_ID = "findings-topic"
IMAGE_ARN = "arn:${AWS::Partition}:ecr:${AWS::Region}:${AWS::AccountId}:repository/"


def resource_count(config: Config) -> int:
    """How many resources `resources` adds (for CloudFormation's per-stack limit)."""
    settings = config.notifications
    if settings is None:
        return 0
    return len(settings.scan_types) + (2 if settings.topic_arn is None else 0)


def resources(config: Config) -> list[AWSObject]:
    """The rules, and the topic with its policy when ecrgen creates it; [] without notifications."""
    settings = config.notifications
    if settings is None:
        return []
    topic: Any = settings.topic_arn or Ref(TOPIC_ID)
    rules = [_rule(config, settings, kind, topic) for kind in settings.scan_types]
    if settings.topic_arn is not None:
        return rules
    return [_topic(config, settings), _topic_policy(rules), *rules]


def _rule(config: Config, settings: NotificationSettings, kind: str, topic: Any) -> events.Rule:
    severities = settings.severities
    names = [repo.physical_name(config.system_name) for repo in config.repositories]
    namespace = config.name_pattern.split("{name}", 1)[0]
    if kind == "BASIC":
        pattern = notifications.scan_pattern([Ref(r.logical_id) for r in config.repositories], severities)
        estimate = notifications.scan_pattern(names, severities)
        fallback = notifications.scan_pattern([{"prefix": Sub(namespace)}], severities)
        transformer = notifications.scan_transformer(settings.min_severity)
        what = f"Amazon ECR image scans with {settings.min_severity} or worse findings"
    else:
        pattern = notifications.inspector_pattern(
            [Sub(f"${{{repo.logical_id}.Arn}}/") for repo in config.repositories], severities)
        estimate = notifications.inspector_pattern([f"{IMAGE_ARN}{name}/" for name in names], severities)
        fallback = notifications.inspector_pattern([Sub(IMAGE_ARN + namespace)], severities)
        transformer = notifications.inspector_transformer()
        what = f"Amazon Inspector findings of {settings.min_severity} or worse"
    parameters = {"SystemName": config.system_name}
    if notifications.deployed_size(estimate, parameters) > notifications.MAX_PATTERN_CHARS:
        if not namespace.replace(SYSTEM_NAME_PLACEHOLDER, config.system_name):
            raise TemplateLimitError(
                f"notifications: {len(names)} repository names do not fit one EventBridge pattern "
                f"({notifications.MAX_PATTERN_CHARS} characters) and name_pattern has no prefix before "
                "{name} to match them by; give name_pattern a prefix such as '${SystemName}-ecr-{name}'")
        pattern = fallback
    return events.Rule(
        RULE_IDS[kind], Description=f"{what} in this stack's repositories (ecrgen)",
        State="ENABLED", EventPattern=pattern,
        Targets=[events.Target(Id=TARGET_ID, Arn=topic,
                               InputTransformer=events.InputTransformer(**transformer))])


def _topic(config: Config, settings: NotificationSettings) -> sns.Topic:
    subscriptions = [sns.Subscription(Endpoint=address, Protocol="email") for address in settings.emails]
    return sns.Topic(TOPIC_ID, DisplayName=f"ECR scan findings ({config.system_name})"[:100],
                     **({"Subscription": subscriptions} if subscriptions else {}))


def _topic_policy(rules: list[events.Rule]) -> sns.TopicPolicy:
    return sns.TopicPolicy(TOPIC_POLICY_ID, Topics=[Ref(TOPIC_ID)], PolicyDocument={
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "EventBridgePublishesScanFindings", "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"}, "Action": "sns:Publish",
            "Resource": Ref(TOPIC_ID),
            "Condition": {"ArnEquals": {"aws:SourceArn": [GetAtt(rule.title, "Arn") for rule in rules]}},
        }],
    })
