"""Where a template records each repository's desired settings: `Metadata.ecrgen`.

Written by `ecrgen template`, read back by `post-deploy --stack-name` and by the lint rules.
"""

METADATA_KEY = "ecrgen"
