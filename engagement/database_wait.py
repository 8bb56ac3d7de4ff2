"""Waiting for the database at start-up: exponential back-off with full jitter, bounded in time.

Containers start in any order; a web or worker process that finds the database not yet up
should wait rather than crash-loop. Jitter keeps a fleet of processes from retrying in step.

Each attempt opens a connection of its own from the alias's settings, never through Django's
connection pool: the pool waits ``DATABASE_POOL_TIMEOUT`` for a connection by itself, which would
swallow both the deadline and the back-off. A PostgreSQL attempt is bounded by ``connect_timeout``
set to the time left (libpq's minimum is 2 s, so a last attempt may end up to 2 s past it).
"""

import copy
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.db import OperationalError, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.utils import load_backend

from engagement.wording import counted

# libpq counts ``connect_timeout`` in whole seconds and treats anything under 2 as 2.
SHORTEST_CONNECT_TIMEOUT = 2


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


def _direct_connection(alias: str, connect_timeout: float) -> BaseDatabaseWrapper:
    """A connection to the alias's database outside the pool, giving up after ``connect_timeout``."""
    settings_dict = copy.deepcopy(connections[alias].settings_dict)
    settings_dict["OPTIONS"].pop("pool", None)
    if connections[alias].vendor == "postgresql":
        settings_dict["OPTIONS"]["connect_timeout"] = max(
            SHORTEST_CONNECT_TIMEOUT, math.ceil(connect_timeout)
        )
    wrapper: BaseDatabaseWrapper = load_backend(settings_dict["ENGINE"]).DatabaseWrapper(
        settings_dict, alias
    )
    return wrapper


def database_answers(alias: str, connect_timeout: float) -> None:
    """Open a connection and run one statement; raises ``OperationalError`` while it cannot."""
    connection = _direct_connection(alias, connect_timeout)
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
            database_answers(alias, connect_timeout=deadline - clock())
        except OperationalError as error:
            remaining = deadline - clock()
            if remaining <= 0:
                raise DatabaseUnavailable(
                    f"the database did not answer within {timeout:g} s "
                    f"({counted(attempt, 'attempt')}): "
                    f"{(str(error).strip().splitlines() or [type(error).__name__])[0]}"
                ) from error
            delay = min(backoff.delay(attempt - 1, rng), remaining)
            if on_retry is not None:
                on_retry(attempt, delay, error)
            sleep(delay)
        else:
            return attempt
