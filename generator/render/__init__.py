"""Model -> CloudFormation: repositories, registry and notification parts, shards. May import: model, base."""
