"""The lint runner and the cfn-lint rules, one rule a file under rules/. May import: model, base."""
