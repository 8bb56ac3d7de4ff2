"""What a pseudonymised caller may see: the one rule that every route applies to its output.

Pseudonymised callers (analysts, see :func:`engagement.roles.sees_personal_data`) get no free
text written about a learner (names, emails, coaches' notes, free-form metadata) and no
identifier from a source system (sources, external ids, source event ids), on every route.

Each output serializer names such fields in ``Meta.personal_fields``. A route passes what it
answers through :func:`shown_to` with the serializer that documents the answer; for a
pseudonymised caller the named fields are dropped at any depth of nesting. That works on the
output of the serializer itself and on a cached dict the serializer documents alike.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rest_framework.fields import Field
from rest_framework.serializers import BaseSerializer, ListSerializer, Serializer

from engagement.roles import sees_personal_data


def personal_fields(shape: Field | None) -> frozenset[str]:
    """The fields of ``shape`` that only callers who see personal data may receive."""
    return frozenset(getattr(getattr(shape, "Meta", None), "personal_fields", ()))


@dataclass(frozen=True)
class _Plan:
    """What to drop from one object of a shape: its personal fields, and the plans of the
    fields that nest objects (every other value passes through as it is)."""

    hidden: frozenset[str]
    nested: Mapping[str, "_Plan"]


def _plan(shape: Field | None) -> _Plan | None:
    """The plan for ``shape`` (one object or a list of them); ``None`` when it holds no object
    whose fields are declared."""
    if isinstance(shape, ListSerializer):
        shape = shape.child
    if not isinstance(shape, Serializer):
        return None
    nested = {name: plan for name, field in shape.fields.items() if (plan := _plan(field))}
    return _Plan(hidden=personal_fields(shape), nested=nested)


_PLANS: dict[type[BaseSerializer], _Plan | None] = {}


def _plan_of(serializer_class: type[BaseSerializer]) -> _Plan | None:
    """One plan per output serializer, built once per process: building a serializer's fields
    costs more than dropping the fields of a whole page."""
    if serializer_class not in _PLANS:
        _PLANS[serializer_class] = _plan(serializer_class())
    return _PLANS[serializer_class]


def _apply(data: Any, plan: _Plan | None) -> Any:
    if isinstance(data, list):
        return [_apply(item, plan) for item in data]
    if plan is None or not isinstance(data, Mapping):
        return data
    hidden, nested = plan.hidden, plan.nested
    return {
        name: _apply(value, nested[name]) if name in nested else value
        for name, value in data.items()
        if name not in hidden
    }


def without_personal_data(data: Any, shape: Field | None) -> Any:
    """``data`` (shaped by ``shape``, one object or a list) without personal fields at any depth.

    Keys the serializer does not declare pass through unchanged: only named fields are dropped.
    """
    return _apply(data, _plan(shape))


def shown_to(actor: Any, data: Any, shape: type[BaseSerializer]) -> Any:
    """``data`` as ``actor`` may see it: whole, or without personal data when pseudonymised."""
    return data if sees_personal_data(actor) else _apply(data, _plan_of(shape))
