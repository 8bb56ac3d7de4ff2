"""Time-ordered UUIDv7 identifiers, generated in Python so bulk inserts know their keys, and
the one way to look a row up by an id that came from outside (a URL, a command argument)."""

import uuid
from typing import Any, TypeVar

import uuid6
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Model, QuerySet

from engagement.errors import NotFound

RowT = TypeVar("RowT", bound=Model)


def uuid7() -> uuid.UUID:
    """A new UUIDv7 as a plain :class:`uuid.UUID` (index-friendly: ordered by creation time)."""
    return uuid.UUID(int=uuid6.uuid7().int)


def uuid7_from(timestamp_ms: int, random_bits: int) -> uuid.UUID:
    """A UUIDv7 for a given millisecond timestamp and 74 random bits, for reproducible data."""
    value = (timestamp_ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= ((random_bits >> 62) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= random_bits & ((1 << 62) - 1)
    return uuid.UUID(int=value)


def row_by_id(queryset: QuerySet[RowT], object_id: Any, *, missing: str) -> RowT:
    """The row of ``queryset`` with this id, or ``NotFound(missing)`` when the id is malformed or
    names no such row. Nothing else is caught: a row that exists but cannot be read (personal
    data the configured keys cannot decrypt) is a server error, not a missing object."""
    try:
        pk = object_id if isinstance(object_id, uuid.UUID) else uuid.UUID(str(object_id))
    except ValueError as exc:
        raise NotFound(missing) from exc
    try:
        return queryset.get(pk=pk)
    except ObjectDoesNotExist as exc:
        raise NotFound(missing) from exc
