"""Waiting for the database at start-up: exponential back-off with full jitter, bounded in time.

Containers start in any order; a web or worker process that finds the database not yet up
should wait rather than crash-loop. Jitter keeps a fleet of processes from retrying in step.
"""

import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.db import OperationalError, connections


@dataclass(frozen=True)
class Backoff:
    first: float = 0.5
    factor: float = 2.0
    ceiling: float = 10.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Full jitter: a random wait up to the attempt's exponential bound (never above the ceiling)."""
        return rng.uniform(0, min(self.ceiling, self.first * self.factor**attempt))


class DatabaseUnavailable(Exception):
    """The database did not answer within the allowed time."""


def database_answers(alias: str = "default") -> None:
    """Open a connection and run one statement; raises ``OperationalError`` while it cannot."""
    connection = connections[alias]
    try:
        connection.ensure_connection()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    finally:
        connection.close()


def wait_for_database(
    *,
    timeout: float,
    alias: str = "default",
    backoff: Backoff = Backoff(),
    rng: random.Random | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    on_retry: Callable[[int, float, OperationalError], None] | None = None,
) -> int:
    """Attempts it took for the database to answer; :class:`DatabaseUnavailable` past ``timeout``."""
    rng = rng or random.Random()  # noqa: S311 - jitter, not security
    deadline = clock() + timeout
    attempt = 0
    while True:
        attempt += 1
        try:
            database_answers(alias)
        except OperationalError as error:
            remaining = deadline - clock()
            if remaining <= 0:
                raise DatabaseUnavailable(
                    f"the database did not answer within {timeout:g} s ({attempt} attempts): "
                    f"{(str(error).strip().splitlines() or [type(error).__name__])[0]}"
                ) from error
            delay = min(backoff.delay(attempt - 1, rng), remaining)
            if on_retry is not None:
                on_retry(attempt, delay, error)
            sleep(delay)
        else:
            return attempt
