from __future__ import annotations

from decimal import Decimal

from django import template

from hygie.lib import money

register = template.Library()


@register.filter
def euros(amount: Decimal | None) -> str:
    """« 1 890,00 € » (hygie.lib.money)."""
    return money.euros(amount)
