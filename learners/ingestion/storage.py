"""Set-based SQL behind ``events_store``: insert a batch of events and raise the touched
learners' ``last_active_at``, each in a fixed number of statements whatever the batch size.

PostgreSQL streams the rows with COPY into a temporary staging table and moves them with one
``INSERT … SELECT … ON CONFLICT DO NOTHING RETURNING id``: no 50,000-parameter statement for
Django to build and psycopg to interpolate. SQLite (the embedded default) gets the same rows as
one JSON parameter read with ``json_each``, so it too runs one statement per batch (Django's
``bulk_create`` would split 5,000 rows into dozens under SQLite's 999-parameter limit). Both
give the same rows, the same skipped conflicts and the same learner updates. Each statement
goes where the router sends its model, and the writes mark the unit of work as having written
as an ORM write would (docs/adr/0007-read-replica-and-degraded-cache.md).
"""

import json
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from django.db import connections, router, transaction

from learners.models import ActivityEvent, Learner


class EventRow(NamedTuple):
    """One ``learners_activityevent`` row ready to insert; fields in the table's column order."""

    id: uuid.UUID
    learner_id: uuid.UUID
    kind: str
    occurred_at: datetime
    duration_seconds: int | None
    score: float | None
    source: str
    source_event_id: str
    metadata: dict[str, Any]
    ingested_at: datetime


COLUMNS = ", ".join(EventRow._fields)
STAGING = "learners_activityevent_staging"
# Rows only ever live in the staging table inside one transaction: the INSERT empties it (so a
# caller's enclosing transaction never sees a previous batch again) and commits truncate it.
POSTGRES_STAGING = (
    f"CREATE TEMP TABLE IF NOT EXISTS {STAGING} (LIKE learners_activityevent) ON COMMIT DELETE ROWS"
)
# Sorted by the unique key, so overlapping concurrent batches take its index locks in one order.
POSTGRES_INSERT = (
    f"WITH staged AS (DELETE FROM {STAGING} RETURNING {COLUMNS}) "  # noqa: S608  # nosec B608 - constant names
    f"INSERT INTO learners_activityevent ({COLUMNS}) SELECT {COLUMNS} FROM staged "
    "ORDER BY source, source_event_id ON CONFLICT DO NOTHING RETURNING id"
)
SQLITE_INSERT = (
    f"INSERT OR IGNORE INTO learners_activityevent ({COLUMNS}) SELECT "  # noqa: S608 - constant
    + ", ".join(f"json_extract(value, '$[{n}]')" for n in range(len(EventRow._fields)))
    + " FROM json_each(%s) ORDER BY key RETURNING id"
)
# Only rows that change are locked (in id order, before any is written) and rewritten. Each is
# re-checked once its lock is granted, so a concurrent batch's newer time is never overwritten.
POSTGRES_RAISE = """
WITH latest AS (
    SELECT * FROM unnest(%s::uuid[], %s::timestamptz[]) AS latest (id, at)
), changing AS (
    SELECT learner.id, latest.at
    FROM learners_learner AS learner JOIN latest ON latest.id = learner.id
    WHERE NOT learner.risk_stale OR learner.last_active_at IS NULL
        OR learner.last_active_at < latest.at
    ORDER BY learner.id
    FOR NO KEY UPDATE OF learner
)
UPDATE learners_learner
SET last_active_at = GREATEST(learners_learner.last_active_at, changing.at),
    risk_stale = true, updated_at = %s
FROM changing
WHERE learners_learner.id = changing.id
"""
# SQLite stores date-times as ISO text of one width, so text order is time order.
SQLITE_RAISE = """
UPDATE learners_learner
SET last_active_at = max(coalesce(learners_learner.last_active_at, latest.at), latest.at),
    risk_stale = 1, updated_at = %s
FROM (
    SELECT json_extract(value, '$[0]') AS id, json_extract(value, '$[1]') AS at
    FROM json_each(%s)
) AS latest
WHERE learners_learner.id = latest.id
    AND (NOT learners_learner.risk_stale OR learners_learner.last_active_at IS NULL
        OR learners_learner.last_active_at < latest.at)
"""


# Learners named in a batch, found with one array (or JSON) parameter rather than thousands of
# placeholders for Django to build and psycopg to split.
POSTGRES_LEARNERS_BY_ID = "SELECT id FROM learners_learner WHERE id = ANY(%s::uuid[])"
SQLITE_LEARNERS_BY_ID = (
    "SELECT id FROM learners_learner WHERE id IN (SELECT value FROM json_each(%s))"
)
POSTGRES_LEARNERS_BY_KEY = """
SELECT learner.id, learner.source, learner.external_id
FROM learners_learner AS learner
JOIN unnest(%s::text[], %s::text[]) AS wanted (source, external_id)
    ON learner.source = wanted.source AND learner.external_id = wanted.external_id
"""
SQLITE_LEARNERS_BY_KEY = """
SELECT learner.id, learner.source, learner.external_id
FROM learners_learner AS learner
JOIN (
    SELECT json_extract(value, '$[0]') AS source, json_extract(value, '$[1]') AS external_id
    FROM json_each(%s)
) AS wanted ON learner.source = wanted.source AND learner.external_id = wanted.external_id
"""


def learners_existing(ids: Collection[uuid.UUID]) -> set[uuid.UUID]:
    """Which of these learner ids exist, in one query."""
    connection = connections[router.db_for_read(Learner)]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(POSTGRES_LEARNERS_BY_ID, [list(ids)])
            return {learner_id for (learner_id,) in cursor.fetchall()}
        cursor.execute(SQLITE_LEARNERS_BY_ID, [json.dumps([learner_id.hex for learner_id in ids])])
        return {uuid.UUID(learner_id) for (learner_id,) in cursor.fetchall()}


def learners_by_key(keys: Collection[tuple[str, str]]) -> dict[tuple[str, str], uuid.UUID]:
    """The ids of the learners with these ``(source, external_id)``, in one query."""
    connection = connections[router.db_for_read(Learner)]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            sources, external_ids = zip(*keys, strict=True)
            cursor.execute(POSTGRES_LEARNERS_BY_KEY, [list(sources), list(external_ids)])
            return {(source, key): learner_id for learner_id, source, key in cursor.fetchall()}
        cursor.execute(SQLITE_LEARNERS_BY_KEY, [json.dumps(list(keys))])
        return {(source, key): uuid.UUID(learner_id) for learner_id, source, key in cursor}


def activity_events_insert(rows: Sequence[EventRow]) -> set[uuid.UUID]:
    """Insert the rows in their order in one transaction, skipping those that conflict (SQLite
    also skips rows that fail a check); returns the ids of the rows that landed."""
    alias = router.db_for_write(ActivityEvent)
    connection = connections[alias]
    with transaction.atomic(using=alias), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(POSTGRES_STAGING)
            with (
                connection.wrap_database_errors,
                cursor.copy(f"COPY {STAGING} ({COLUMNS}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row((*row[:-2], json.dumps(row.metadata), row.ingested_at))
            cursor.execute(POSTGRES_INSERT)
            return {landed for (landed,) in cursor.fetchall()}
        adapt = connection.ops.adapt_datetimefield_value
        cursor.execute(SQLITE_INSERT, [json.dumps([_sqlite_values(row, adapt) for row in rows])])
        return {uuid.UUID(landed) for (landed,) in cursor.fetchall()}


def learners_activity_raise(latest: Mapping[uuid.UUID, datetime], *, now: datetime) -> None:
    """``last_active_at = max(last_active_at, latest[id])`` and ``risk_stale`` on, written only
    where either changes (then ``updated_at = now``), in one statement."""
    connection = connections[router.db_for_write(Learner)]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(POSTGRES_RAISE, [list(latest), list(latest.values()), now])
            return
        adapt = connection.ops.adapt_datetimefield_value
        pairs = [(learner_id.hex, adapt(at)) for learner_id, at in latest.items()]
        cursor.execute(SQLITE_RAISE, [adapt(now), json.dumps(pairs)])


def _sqlite_values(row: EventRow, adapt: Callable[[datetime], Any]) -> tuple[Any, ...]:
    """The row as Django stores it on SQLite: UUIDs as hex, date-times as UTC text (``adapt``),
    and the metadata as JSON text (checked by the column's JSON_VALID constraint, as
    ``bulk_create``'s rows are)."""
    return (
        row.id.hex,
        row.learner_id.hex,
        row.kind,
        adapt(row.occurred_at),
        row.duration_seconds,
        row.score,
        row.source,
        row.source_event_id,
        json.dumps(row.metadata),
        adapt(row.ingested_at),
    )
