"""Time-ordered UUIDv7 identifiers, generated in Python so bulk inserts know their keys."""

import uuid

import uuid6


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
