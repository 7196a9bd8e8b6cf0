"""Sizes and money as people read them in the report: binary units, a unit per chart, USD."""

from __future__ import annotations

UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def unit_for(largest: float) -> tuple[str, int]:
    """The unit that shows `largest` bytes as a number from 1 to 1023, and its size in bytes."""
    step = 0
    while largest >= 1024 ** (step + 1) and step < len(UNITS) - 1:
        step += 1
    return UNITS[step], 1024 ** step


def size(value: float) -> str:
    """`1.5 GiB`, `512 B`."""
    unit, scale = unit_for(value)
    return f"{value:.0f} B" if scale == 1 else f"{value / scale:.1f} {unit}"


def usd(value: float) -> str:
    """`12.34 USD`; amounts under a cent but above zero as `< 0.01 USD`, not a misleading 0.00."""
    return "< 0.01 USD" if 0 < value < 0.005 else f"{value:,.2f} USD"
