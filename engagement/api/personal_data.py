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
from typing import Any

from rest_framework.fields import Field
from rest_framework.serializers import BaseSerializer, ListSerializer, Serializer

from engagement.roles import sees_personal_data


def personal_fields(shape: Field | None) -> frozenset[str]:
    """The fields of ``shape`` that only callers who see personal data may receive."""
    return frozenset(getattr(getattr(shape, "Meta", None), "personal_fields", ()))


def without_personal_data(data: Any, shape: Field | None) -> Any:
    """``data`` (shaped by ``shape``, one object or a list) without personal fields at any depth.

    Keys the serializer does not declare pass through unchanged: only named fields are dropped.
    """
    if isinstance(shape, ListSerializer):
        shape = shape.child
    if isinstance(data, list):
        return [without_personal_data(item, shape) for item in data]
    if not isinstance(shape, Serializer) or not isinstance(data, Mapping):
        return data
    hidden = personal_fields(shape)
    fields = shape.fields
    return {
        name: without_personal_data(value, fields[name]) if name in fields else value
        for name, value in data.items()
        if name not in hidden
    }


def shown_to(actor: Any, data: Any, shape: type[BaseSerializer]) -> Any:
    """``data`` as ``actor`` may see it: whole, or without personal data when pseudonymised."""
    return data if sees_personal_data(actor) else without_personal_data(data, shape())
