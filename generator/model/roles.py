"""The role name a self-managed StackSet runs as in each target account, AWS's documented default.

A module of its own so that the command line can show it in `--help` without building the
config models (`generator.model.targets`), which costs `ecrgen` a quarter of a second at every start.
"""

DEFAULT_EXECUTION_ROLE = "AWSCloudFormationStackSetExecutionRole"
