"""The pure, validated description: ecr.yaml and everything it names. May import: base."""
