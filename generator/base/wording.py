"""Counted nouns for messages people read: `1 rule`, `2 rules`, `1 repository`."""

from __future__ import annotations

IRREGULAR = {"repository": "repositories", "policy": "policies"}


def plural(count: int, noun: str, thousands: bool = False) -> str:
    """`count noun`, with the noun in the plural unless the count is one."""
    number = f"{count:,}" if thousands else str(count)
    return f"{number} {noun if count == 1 else IRREGULAR.get(noun, noun + 's')}"
