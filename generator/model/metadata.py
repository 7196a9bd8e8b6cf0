"""Where a template records each repository's desired settings: `Metadata.ecrgen`.

Written by `ecrgen template`, read back by `post-deploy --stack-name` and by the lint rules.
CloudFormation resolves nothing in Metadata, so every `${...}` there is written as its literal
form `${!...}` (cfn-lint would otherwise take `${AWS::Region}` for a missing Fn::Sub).
"""

from typing import Any

from generator.base.strings import map_strings

METADATA_KEY = "ecrgen"


def written(value: Any) -> Any:
    """`value` as Metadata records it: every `${` as `${!`."""
    return map_strings(value, lambda text: text.replace("${", "${!"))


def read(value: Any) -> Any:
    """What `written` recorded, as it was."""
    return map_strings(value, lambda text: text.replace("${!", "${"))
