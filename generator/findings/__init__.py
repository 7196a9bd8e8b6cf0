"""The scan findings gate, its ignore file and SARIF. May import: model, base."""
