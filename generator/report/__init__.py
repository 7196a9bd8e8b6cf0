"""Registry figures, drawn as one HTML page, JSON or Markdown. May import: model, reconcile, base."""
