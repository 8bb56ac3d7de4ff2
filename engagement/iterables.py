"""Iteration helpers shared by the batch paths (imports, scoring, seeding)."""

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import TypeVar

T = TypeVar("T")


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Consecutive lists of at most ``size`` items, without holding more than one in memory."""
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk
