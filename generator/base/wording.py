"""Words and numbers for messages people read: `1 rule`, `2 rules`, `1 repository`, `1.5 GiB`."""

from __future__ import annotations

IRREGULAR = {"repository": "repositories", "policy": "policies"}
SIZE_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def plural(count: int, noun: str, thousands: bool = False) -> str:
    """`count noun`, with the noun in the plural unless the count is one."""
    number = f"{count:,}" if thousands else str(count)
    return f"{number} {noun if count == 1 else IRREGULAR.get(noun, noun + 's')}"


def size_unit(largest: float) -> tuple[str, int]:
    """The binary unit that shows `largest` bytes as a number from 1 to 1023, and its size in bytes."""
    step = 0
    while largest >= 1024 ** (step + 1) and step < len(SIZE_UNITS) - 1:
        step += 1
    return SIZE_UNITS[step], 1024 ** step


def binary_size(value: float) -> str:
    """`1.5 GiB`, `512 B`: bytes in the largest binary unit that keeps the number above one."""
    unit, scale = size_unit(value)
    return f"{value:.0f} B" if scale == 1 else f"{value / scale:.1f} {unit}"
