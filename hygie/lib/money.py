"""Amounts in euros as written in France: « 1 890,00 € » (no-break spaces, so that an amount
never breaks across two lines), and as a spreadsheet reads them: « 1890,00 »."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

NBSP = "\u00a0"
# The thousands separator of French typography: the narrow no-break space.
THIN_NBSP = "\u202f"


def _quantized(amount: Decimal | int | str) -> Decimal:
    return Decimal(amount).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def euros(amount: Decimal | int | str | None) -> str:
    """« 1 890,00 € »; empty for None."""
    if amount is None:
        return ""
    value = _quantized(amount)
    sign = "-" if value < 0 else ""
    whole, cents = f"{abs(value):.2f}".split(".")
    groups: list[str] = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    return f"{sign}{THIN_NBSP.join(groups)},{cents}{NBSP}€"


def plain(amount: Decimal | int | str) -> str:
    """« 1890,00 »: a decimal comma and no separator, what a French spreadsheet reads as a number."""
    return f"{_quantized(amount):.2f}".replace(".", ",")
