"""Template filters of the simulation pages' results: a kind's own template shows some result
keys first (``only_keys``) and hands the rest to the generic renderer (``except_keys``)."""

from collections.abc import Iterable
from typing import Any

from django import template

register = template.Library()


@register.filter
def only_keys(sections: Iterable[Any], keys: str) -> list[Any]:
    """The sections named in ``keys`` (space-separated), in that order."""
    by_key = {section.key: section for section in sections}
    return [by_key[key] for key in keys.split() if key in by_key]


@register.filter
def except_keys(sections: Iterable[Any], keys: str) -> list[Any]:
    """The sections whose key is not among ``keys`` (space-separated)."""
    shown = set(keys.split())
    return [section for section in sections if section.key not in shown]


@register.filter
def scalars(sections: Iterable[Any]) -> list[Any]:
    """The sections that are one figure each (shown together)."""
    return [section for section in sections if section.scalar]


@register.filter
def structured(sections: Iterable[Any]) -> list[Any]:
    """The sections with tables, lists or a chart (shown one by one)."""
    return [section for section in sections if not section.scalar]
