"""Session settings for the few statements that aggregate a whole table (batch risk features).

PostgreSQL's defaults suit short OLTP statements. For a parallel aggregate over millions of
events they cost seconds: JIT compilation of the many filtered aggregates takes longer than the
scan it is meant to speed up, and the default ``work_mem`` spills the hash aggregate to disk.
``SET LOCAL`` keeps both changes inside one transaction.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, transaction


@contextmanager
def large_aggregate(*, work_mem: str) -> Iterator[None]:
    """Run the enclosed statements without JIT and with ``work_mem`` (e.g. ``64MB``) of memory."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL jit = off")
                cursor.execute("SELECT set_config('work_mem', %s, true)", [work_mem])
        yield
