"""Reads that may go to the read replica, and the router that keeps everything else on the primary.

A replica lags the primary. So nothing goes there by default: a selector opts a read in by
evaluating its queryset on :func:`replica_read_alias` (``queryset.using(replica_read_alias())``),
which names the replica only when one is configured (``DATABASE_REPLICA_URL``), the primary is
not inside a transaction, and nothing has been written on the primary during the current unit of
work (a request or a task): a caller never reads older data than it has just written. Lists and
analytics opt in; every write, and every read through the router (lookups by id, reads inside
services), stays on the primary. See docs/adr/0007-read-replica-and-degraded-cache.md.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model
from django.http import HttpRequest, HttpResponse

REPLICA_DB_ALIAS = "replica"
_wrote_primary: ContextVar[bool] = ContextVar("wrote_primary", default=False)


def replica_configured() -> bool:
    return REPLICA_DB_ALIAS in connections.settings


def replica_read_alias() -> str:
    """Where a read that tolerates replication lag should go right now."""
    if (
        not replica_configured()
        or connections[DEFAULT_DB_ALIAS].in_atomic_block
        or _wrote_primary.get()
    ):
        return DEFAULT_DB_ALIAS
    return REPLICA_DB_ALIAS


@contextmanager
def unit_of_work() -> Iterator[None]:
    """A request or task: reads may use the replica again until it writes."""
    token = _wrote_primary.set(False)
    try:
        yield
    finally:
        _wrote_primary.reset(token)


class PrimaryReplicaRouter:
    """Writes (and so the reads after them) go to the primary; the replica is never migrated."""

    def db_for_read(self, model: type[Model], **hints: Any) -> str | None:
        """No opinion: the primary, or the database an instance was itself read from."""
        return None

    def db_for_write(self, model: type[Model], **hints: Any) -> str:
        _wrote_primary.set(True)
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Model, obj2: Model, **hints: Any) -> bool:
        """The replica holds the primary's rows: objects from either may be related."""
        return {obj1._state.db, obj2._state.db} <= {DEFAULT_DB_ALIAS, REPLICA_DB_ALIAS, None}

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db != REPLICA_DB_ALIAS


class UnitOfWorkMiddleware:
    """Each request starts with no write behind it (see :func:`unit_of_work`)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with unit_of_work():
            return self.get_response(request)
