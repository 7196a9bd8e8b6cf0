"""ecrgen cfn-lint rules (see generator/cfn_rules/__init__.py)."""
