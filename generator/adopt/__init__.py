"""Live registry -> ecr.yaml (`ecrgen import`). May import: model, render, reconcile, base."""
