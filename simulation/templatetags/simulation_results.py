"""Template filters of the simulation pages' results: single figures are shown together, the
other sections one by one."""

from collections.abc import Iterable
from typing import Any

from django import template

register = template.Library()


@register.filter
def scalars(sections: Iterable[Any]) -> list[Any]:
    """The sections that are one figure each (shown together)."""
    return [section for section in sections if section.scalar]


@register.filter
def structured(sections: Iterable[Any]) -> list[Any]:
    """The sections with tables, lists or a chart (shown one by one)."""
    return [section for section in sections if not section.scalar]
