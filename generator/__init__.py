"""ecrgen: Amazon ECR repositories from one declarative file."""

__version__ = "0.1.0"

# Where a template records each repository's desired settings (`Metadata.ecrgen`): written by
# `template`, read back by `post-deploy --stack-name` and by the lint rules.
METADATA_KEY = "ecrgen"
