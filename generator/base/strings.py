"""Every string in a JSON-like value, changed: placeholders filled in, `${` escaped for Metadata."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any


def map_strings(value: Any, fn: Callable[[str], Any]) -> Any:
    """`value` with `fn` applied to every string in it, at any depth (keys aside)."""
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, list):
        return [map_strings(item, fn) for item in value]
    if isinstance(value, Mapping):
        return {key: map_strings(item, fn) for key, item in value.items()}
    return value
