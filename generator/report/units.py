"""Money as people read it in the report (sizes are `base.wording.binary_size`)."""

from __future__ import annotations


def usd(value: float) -> str:
    """`12.34 USD`; amounts under a cent but above zero as `< 0.01 USD`, not a misleading 0.00."""
    return "< 0.01 USD" if 0 < value < 0.005 else f"{value:,.2f} USD"
