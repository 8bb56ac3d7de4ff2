"""Writes one chunk of a batch in the background while the caller computes the next one.

The write runs on a thread of its own but on the caller's database connection (as Django's live
server thread shares a test's): the same transaction and savepoints, the same test database,
the same queries captured. Only one of the two threads uses the connection at a time: the
caller computes without the database while a write runs, and waits for it before anything else
touches the connection (the next write, progress reports, the end of the run). A database
driver releases the GIL while it waits for the server, so PostgreSQL writes one chunk on one
core while Python scores the next on the other.

A write that fails raises in the caller at its next ``submit`` or at ``wait``, and nothing is
written after it; each write is its own transaction, so what failed is rolled back whole.
"""

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType
from typing import Self

from django.db import DEFAULT_DB_ALIAS, connections


class ChunkWriter:
    """Runs ``submit``-ted writes one at a time, each after the previous one has finished;
    ``on_written(size)`` is called on the caller's thread once a write of ``size`` items is done.
    """

    def __init__(self, on_written: Callable[[int], None], using: str = DEFAULT_DB_ALIAS) -> None:
        self._on_written = on_written
        self._using = using
        self._connection = connections[using]
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chunk-writer")
        self._pending: tuple[Future[None], int] | None = None

    def __enter__(self) -> Self:
        self._connection.inc_thread_sharing()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            if exc_type is None:
                self.wait()
        finally:  # a write still running finishes before the caller may use the connection
            self._pool.shutdown(wait=True)
            self._connection.dec_thread_sharing()

    def submit(self, write: Callable[[], None], size: int) -> None:
        """Start ``write`` once the previous write has finished (raising if it failed)."""
        self.wait()
        self._pending = (self._pool.submit(self._run, write), size)

    def wait(self) -> None:
        """Wait for the write under way, if any; raise what it raised."""
        if self._pending is None:
            return
        (future, size), self._pending = self._pending, None
        future.result()
        self._on_written(size)

    def _run(self, write: Callable[[], None]) -> None:
        connections[self._using] = self._connection
        write()
