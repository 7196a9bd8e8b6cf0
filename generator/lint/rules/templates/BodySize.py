"""W9504: a template body over 51,200 bytes cannot be deployed directly, only through S3."""

from __future__ import annotations

import os

from cfnlint.rules import CloudFormationLintRule, RuleMatch
from cfnlint.template import Template

from generator.model.stack_limits import MAX_DIRECT_BODY_BYTES


class BodySize(CloudFormationLintRule):
    id = "W9504"
    shortdesc = f"Template body over {MAX_DIRECT_BODY_BYTES:,} bytes needs an S3 bucket to deploy"
    description = (
        f"CloudFormation takes a template body of at most {MAX_DIRECT_BODY_BYTES:,} bytes inline; "
        "larger ones (up to 1 MB) must be uploaded to S3, so `aws cloudformation deploy` needs "
        "--s3-bucket. The size is the file's; `ecrgen lint` and `ecrgen template` pass the size "
        "of the text they lint as the rule's body_bytes setting."
    )
    source_url = "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html"
    tags = ("templates", "limits")

    def __init__(self) -> None:
        super().__init__()
        self.config_definition = {"body_bytes": {"default": 0, "type": "integer"}}
        self.configure()

    def match(self, cfn: Template) -> list[RuleMatch]:
        size = self.config["body_bytes"]
        if not size and cfn.filename and os.path.isfile(cfn.filename):
            size = os.path.getsize(cfn.filename)
        if size <= MAX_DIRECT_BODY_BYTES:
            return []
        return [RuleMatch([], f"the template body is {size:,} bytes, over the {MAX_DIRECT_BODY_BYTES:,} "
                          "that CloudFormation takes inline: `aws cloudformation deploy` then needs "
                          "--s3-bucket")]
