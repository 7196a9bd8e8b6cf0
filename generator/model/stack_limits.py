"""What CloudFormation accepts in one stack (its documented quotas), and the error for more.

Shared by the template, the shards, the lint rule W9504 and `import --cfn-import`.
"""

MAX_RESOURCES = 500
MAX_OUTPUTS = 200
MAX_BODY_BYTES = 1_000_000  # deploying through S3
MAX_DIRECT_BODY_BYTES = 51_200  # TemplateBody, and `aws cloudformation deploy` without --s3-bucket


class TemplateLimitError(ValueError):
    """The config would make a template that CloudFormation rejects."""
