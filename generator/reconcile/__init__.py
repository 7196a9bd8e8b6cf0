"""Desired vs live: desired settings, intrinsics, plan, registry merge, reports. May import: model, base."""
