"""Template helpers for experiment results: ``{% load experiments %}``.

- ``{{ arm.difference|points }}``: a difference of two rates in percentage points ("+12.3 pts"):
  a difference of rates is not itself a rate, so "12.3 %" would read as a relative change.
- ``{{ arm.p_value|p_value }}``: a p-value to three decimals, "< 0.001" below that ("0.000"
  would claim it is zero).
"""

import math
from typing import Any

from django import template
from django.utils import formats
from django.utils.translation import gettext

register = template.Library()

NO_NUMBER = "—"


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


@register.filter
def points(value: Any, digits: int = 1) -> str:
    """A difference of fractions (0.123) in signed percentage points ("+12.3 pts")."""
    number = _number(value)
    if number is None:
        return NO_NUMBER
    places = int(digits)
    shown = round(number * 100, places)
    sign = "+" if shown > 0 else "-" if shown < 0 else ""
    magnitude = formats.number_format(abs(shown), decimal_pos=places)
    return gettext("%(sign)s%(points)s pts") % {"sign": sign, "points": magnitude}


@register.filter
def p_value(value: Any) -> str:
    """A p-value to three decimals, "< 0.001" when smaller."""
    number = _number(value)
    if number is None:
        return NO_NUMBER
    if number < 0.001:
        return f"< {formats.number_format(0.001, decimal_pos=3)}"
    return formats.number_format(number, decimal_pos=3)
