"""Activity CSV files into the database, set-based on PostgreSQL: the path of ``import_activity``
and of uploaded activity files alike (:func:`activity_import`).

The file is read as bytes, a slice of ``chunk_size`` lines at a time. On PostgreSQL a plain slice
(no quotes, no backslashes) is COPYed as it is into a temporary table of text columns, and one
statement joins the learners, checks every value the way ``parse_event`` does (kinds, ISO 8601,
numeric ranges, lengths), inserts what passes with ``ON CONFLICT (source, source_event_id) DO
NOTHING`` and returns what it flagged. The SQL checks are deliberately narrower than Python's:
a row they do not vouch for (an unknown learner, a date without a time, ``1e1`` as a duration)
goes through ``events_ingest``, so refused rows get exactly the API's messages and Python keeps
the last word. Any other slice (quoted cells, a blank line, a short row, values PostgreSQL
refuses to read) goes through the Python path whole, with the same line numbers. SQLite reads
the whole file through the Python path (``events_import``).

Two database sessions take alternate slices, so that both cores work; each slice commits on its
own, as the Python path commits chunk by chunk. Each slice is checked (UTF-8, readable CSV) before it is handed on, so a malformed file stops where it is malformed: the slices before
stay imported and nothing after is (the documented behaviour of every import; re-importing the
corrected file adds nothing twice). Event ids are UUIDv7 built in SQL
(docs/adr/0010-activity-import-ids-in-sql.md).
"""

import codecs
import contextvars
import csv
import io
import queue
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import IO, Any

import psycopg
from django.db import DatabaseError, connections, router, transaction
from django.utils import timezone

from engagement.input_bounds import EARLIEST, FUTURE_TOLERANCE, LATEST, MAX_INTEGER
from learners.activity_listeners import activity_notify
from learners.ingestion.csv import (
    ACTIVITY_COLUMNS,
    missing_columns_message,
    text_rows,
)
from learners.ingestion.events import EVENT_KINDS, MAX_ID_LENGTH, MAX_SOURCE_LENGTH
from learners.models import ActivityEvent
from learners.monitoring import ingestion_count
from learners.services import (
    IMPORT_CHUNK_SIZE,
    IngestReport,
    events_import,
    events_import_record,
    events_ingest,
    learners_touch_activity,
)

#: Database sessions importing slices side by side (PostgreSQL, outside a transaction).
SESSIONS = 2
#: Lines per slice. The slice's Python work (the learners' update, the activity listeners)
#: grows with the distinct learners in it, so larger slices cost less per row: 20,000 took a
#: quarter less Python CPU per row than 5,000 with 20,000 learners. A slice is a few MB.
SLICE_LINES = 20_000
#: Columns ``parse_event`` would read besides the CSV format's: a file naming one goes through
#: the Python path whole.
PYTHON_ONLY_COLUMNS = frozenset({"learner_id", "learner_source", "metadata"})

# What the SQL vouches for; anything else is left to ``parse_event``. A date-time has one of
# these shapes once its digits are written 0: ``T`` or a space, at most six fractional digits
# (Python truncates beyond, PostgreSQL rounds), ``Z`` or ``±hh:mm``; and neither hour 24 nor
# second 60, which PostgreSQL would roll over where Python refuses them. Out-of-range months,
# days, minutes or offsets make PostgreSQL's cast fail, and the slice goes through Python whole;
# the years are bounded after the cast. Without an offset the cast reads UTC: Django's
# connections run with ``TimeZone`` UTC (``USE_TZ``). Shapes and character sets rather than
# regular expressions: the patterns cost PostgreSQL 12 µs a row, a third of the statement.
_TIMESTAMP_SHAPES = sorted(
    f"0000-00-00{separator}00:00{seconds}{offset}"
    for separator in "T "
    for seconds in ("", ":00", *(":00." + "0" * digits for digits in range(1, 7)))
    for offset in ("", "Z", "+00:00", "-00:00")
)
_DIGITS = "0123456789"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _identifier(cell: str, limit: int) -> str:
    """SQL: the cell is an identifier Python's ``strip()`` leaves as it is (its first and last
    characters printable ASCII), of at most ``limit`` characters."""
    return (
        f"ascii({cell}) BETWEEN 33 AND 126 AND ascii(right({cell}, 1)) BETWEEN 33 AND 126 "
        f"AND char_length({cell}) <= {limit}"
    )


def _slice_sql(staging: str, column: Mapping[str, str]) -> str:
    """One statement per slice: check, join the learners, insert. It returns the landed events'
    learners and times (part 0; microseconds since the epoch, which cost a fraction of what
    decoding timestamps does), the flagged rows' positions and cells (part 1) and how many rows
    passed (part 2)."""
    cells = ", ".join(f"{column[name]} AS {name}" for name in ACTIVITY_COLUMNS)
    return f"""
WITH checked AS (
    SELECT c.*, l.id AS learner_id,
        {_identifier("c.source", MAX_SOURCE_LENGTH)}
        AND {_identifier("c.source_event_id", MAX_ID_LENGTH)}
        AND {_identifier("c.learner_external_id", MAX_ID_LENGTH)}
        AND c.kind = ANY(%(kinds)s)
        AND translate(c.occurred_at, '{_DIGITS[1:]}', '{"0" * 9}') = ANY(%(shapes)s)
        AND substr(c.occurred_at, 12, 2) <> '24' AND substr(c.occurred_at, 18, 2) <> '60'
        AND (c.duration_seconds IS NULL OR (char_length(c.duration_seconds) <= 10
                                            AND ltrim(c.duration_seconds, '{_DIGITS}') = ''))
        AND (c.score IS NULL OR ltrim(c.score, '{_DIGITS}.') = '') AS plain
    FROM (SELECT n, {cells} FROM {staging}) AS c
    LEFT JOIN learners_learner l ON l.source = c.source AND l.external_id = c.learner_external_id
), typed AS (
    SELECT checked.*,
        CASE WHEN plain THEN occurred_at::timestamptz END AS stamp,
        CASE WHEN plain THEN duration_seconds::bigint END AS seconds,
        CASE WHEN plain THEN score::float8 END AS fraction
    FROM checked
), good AS (
    SELECT * FROM typed
    WHERE plain AND learner_id IS NOT NULL
        AND stamp >= %(earliest)s AND stamp < %(latest)s AND stamp <= %(newest)s
        AND (seconds IS NULL OR seconds <= {MAX_INTEGER}) AND (fraction IS NULL OR fraction <= 1)
), landed AS (
    INSERT INTO learners_activityevent (id, learner_id, kind, occurred_at, duration_seconds, score,
                                        source, source_event_id, metadata, ingested_at)
    SELECT encode(set_byte(b, 6, (get_byte(b, 6) & 15) | 112), 'hex')::uuid,
           learner_id, kind, stamp, seconds, fraction, source, source_event_id, '{{}}'::jsonb,
           %(now)s
    FROM (
        SELECT good.*, overlay(uuid_send(gen_random_uuid()) PLACING %(millis)s FROM 1 FOR 6) AS b
        FROM good ORDER BY source COLLATE "C", source_event_id COLLATE "C", n
    ) AS ordered
    ON CONFLICT (source, source_event_id) DO NOTHING
    RETURNING learner_id, occurred_at
), cleared AS (
    DELETE FROM {staging}
)
SELECT 0 AS part, NULL::bigint AS number, learner_id,
       array_agg((extract(epoch FROM occurred_at) * 1000000)::bigint ORDER BY occurred_at) AS times,
       NULL::text[] AS cells
    FROM landed GROUP BY learner_id
UNION ALL
SELECT 1, n - (SELECT min(n) FROM typed), NULL::uuid, NULL::bigint[],
       ARRAY[{", ".join(ACTIVITY_COLUMNS)}]
    FROM typed WHERE NOT EXISTS (SELECT 1 FROM good WHERE good.n = typed.n)
UNION ALL
SELECT 2, count(*), NULL::uuid, NULL::bigint[], NULL::text[] FROM good
"""  # noqa: S608  # nosec B608 - table and column names of ours; every value is a parameter


class _Slice:
    """Consecutive lines of the file: their bytes, the number of the first, and (when the slice
    cannot be COPYed as it is) its rows as the Python path reads them."""

    __slots__ = ("data", "first_line", "rows")

    def __init__(self, data: bytes, first_line: int) -> None:
        self.data = data
        self.first_line = first_line
        self.rows: list[tuple[int, Mapping[str, str]]] | None = None


def _plain(data: bytes) -> bool:
    """Whether PostgreSQL's CSV reader and Python's read these bytes alike, line for line: no
    quotes, no backslashes, carriage returns only before a line feed."""
    return b'"' not in data and b"\\" not in data and data.count(b"\r") == data.count(b"\r\n")


def _text(data: bytes) -> str:
    """The slice as text; raises what the Python path raises on bytes that are not UTF-8. (A NUL
    is read as text, as Python's reader does since 3.11; PostgreSQL refuses to COPY it, so its
    slice goes through Python, which refuses the row.)"""
    return data.decode("utf-8")


def _parse(
    data: bytes, header: Sequence[str], first_line: int
) -> tuple[list[tuple[int, Mapping[str, str]]], int]:
    """The slice's rows as the Python path reads them, with the file's line numbers, and the
    lines it spans."""
    reader = csv.DictReader(io.StringIO(_text(data), newline=""), fieldnames=list(header))
    rows: list[tuple[int, Mapping[str, str]]] = [
        (first_line - 1 + reader.line_num, row) for row in reader
    ]
    return rows, reader.line_num


def _slices(handle: IO[bytes], header: Sequence[str], chunk_size: int) -> Iterator[_Slice]:
    """Cut the file after its header into slices of ``chunk_size`` lines, each checked before it
    is handed on. A slice holding an odd number of quotes grows until it ends outside a quoted
    cell, or until the open cell is past the CSV field limit (Python's reader then refuses it,
    as it would reading the file whole): memory stays bounded."""
    next_line = 2
    while lines := list(islice(handle, chunk_size)):
        data = b"".join(lines)
        limit = len(data) + csv.field_size_limit() * 4  # UTF-8: up to 4 bytes a character
        while (
            data.count(b'"') % 2
            and len(data) <= limit
            and (more := list(islice(handle, chunk_size)))
        ):
            data += b"".join(more)
        piece = _Slice(data, next_line)
        if _plain(data):
            _text(data)
            next_line += data.count(b"\n") + (not data.endswith(b"\n"))
        else:
            piece.rows, spanned = _parse(data, header, next_line)
            next_line += spanned
        yield piece


class _SliceImporter:
    """Imports slices on the calling thread's connection (one database session each)."""

    def __init__(self, header: Sequence[str], *, alias: str, via: str, now: datetime) -> None:
        self.header = list(header)
        self.alias = alias
        self.via = via
        self.now = now
        names = [f"c{index}" for index in range(len(header))]
        staging = f"activity_staging_{len(header)}"
        self.create = (
            f"CREATE TEMP TABLE IF NOT EXISTS {staging} "
            f"(n bigint GENERATED ALWAYS AS IDENTITY, {', '.join(f'{name} text' for name in names)})"
        )
        self.copy = f"COPY {staging} ({', '.join(names)}) FROM STDIN (FORMAT csv)"
        self.sql = _slice_sql(staging, dict(zip(header, names, strict=True)))

    def run(self, piece: _Slice) -> IngestReport:
        """Import one slice and leave its audit event; rejected rows carry their line number."""
        if piece.rows is None:
            report = self._set_based(piece)
            if report is not None:
                return report
            piece.rows, _ = _parse(piece.data, self.header, piece.first_line)
        reports = events_import(
            rows=piece.rows, via=self.via, chunk_size=max(len(piece.rows), 1), now=self.now
        )
        return next(reports, IngestReport())

    def _set_based(self, piece: _Slice) -> IngestReport | None:
        """COPY, check and insert the slice in one transaction; ``None`` (nothing written) when
        PostgreSQL cannot read it as the Python path would: a blank line, a short or long row,
        a date that does not exist."""
        millis = int(time.time() * 1000).to_bytes(8, "big")[2:]
        try:
            with transaction.atomic(using=self.alias), connections[self.alias].cursor() as cursor:
                cursor.execute(self.create)
                with cursor.cursor.copy(self.copy) as copy:
                    copy.write(piece.data)
                cursor.execute(
                    self.sql,
                    {
                        "kinds": sorted(EVENT_KINDS),
                        "shapes": _TIMESTAMP_SHAPES,
                        "earliest": EARLIEST,
                        "latest": LATEST,
                        "newest": self.now + FUTURE_TOLERANCE,
                        "now": self.now,
                        "millis": millis,
                    },
                )
                results = cursor.fetchall()
        except (DatabaseError, psycopg.DataError):
            return None
        return self._account(piece, results)

    def _account(self, piece: _Slice, results: Sequence[tuple[Any, ...]]) -> IngestReport:
        """Count what the statement did, tell the learners and listeners of the new events, and
        send the rows it flagged through the Python path."""
        landed: dict[Any, list[datetime]] = {}
        flagged: list[tuple[int, dict[str, str]]] = []
        passed = 0
        for part, number, learner_id, times, cells in results:
            if part == 0:
                landed[learner_id] = [_EPOCH + timedelta(microseconds=stamp) for stamp in times]
            elif part == 1:
                row = dict(zip(ACTIVITY_COLUMNS, (cell or "" for cell in cells), strict=True))
                flagged.append((piece.first_line + number, row))
            else:
                passed = number
        report = IngestReport(accepted=sum(len(times) for times in landed.values()))
        report.duplicates = passed - report.accepted
        if landed:
            learners_touch_activity(
                latest={learner: times[-1] for learner, times in landed.items()}
            )
            activity_notify(
                (learner_id, stamp) for learner_id, times in landed.items() for stamp in times
            )
        ingestion_count("csv", accepted=report.accepted, duplicates=report.duplicates)
        if flagged:
            flagged.sort(key=lambda line_row: line_row[0])
            items = [{**row, "learner_source": row["source"]} for _, row in flagged]
            checked = events_ingest(items=items, door="csv", now=self.now)
            for rejected in checked.rejected:
                rejected["index"] = flagged[rejected["index"]][0]
            report.merge(checked)
        events_import_record(report, via=self.via)
        return report


Work = queue.Queue[tuple[_Slice, "Future[IngestReport]"] | None]


def _worker(importer: _SliceImporter, work: Work) -> None:
    """Import the slices put on ``work`` until ``None``, on this thread's own connection."""
    try:
        while (task := work.get()) is not None:
            piece, result = task
            if result.set_running_or_notify_cancel():
                try:
                    result.set_result(importer.run(piece))
                except BaseException as exc:  # handed to the reading thread, which raises it
                    result.set_exception(exc)
    finally:
        connections.close_all()


def _in_sessions(
    pieces: Iterator[_Slice], importer: _SliceImporter, sessions: int
) -> Iterator[IngestReport]:
    """The slices' reports in file order, imported by ``sessions`` threads taking turns. When the
    file turns out malformed, the slices already handed on finish and are reported first."""
    queues: list[Work] = [queue.Queue(maxsize=1) for _ in range(sessions)]
    # Each in a copy of this context: an import's deferred rescore request reaches them.
    threads = [
        threading.Thread(target=contextvars.copy_context().run, args=(_worker, importer, work))
        for work in queues
    ]
    for thread in threads:
        thread.start()
    pending: list[Future[IngestReport]] = []
    try:
        try:
            for number, piece in enumerate(pieces):
                result: Future[IngestReport] = Future()
                queues[number % sessions].put((piece, result))
                pending.append(result)
                while len(pending) > sessions or (pending and pending[0].done()):
                    yield pending.pop(0).result()
        except (UnicodeDecodeError, csv.Error):
            while pending:
                yield pending.pop(0).result()
            raise
        while pending:
            yield pending.pop(0).result()
    finally:
        for result in pending:
            result.cancel()
        for work in queues:
            work.put(None)
        for thread in threads:
            thread.join()


def _header(handle: IO[bytes]) -> list[str]:
    """The header's column names, or none if the first line is not a plain header."""
    first = handle.readline().removeprefix(codecs.BOM_UTF8)
    if b'"' in first:
        return []
    try:
        text = first.decode("utf-8")
    except UnicodeDecodeError:
        return []
    return next(csv.reader([text.rstrip("\r\n")]), [])


def activity_import(
    *, handle: IO[bytes], via: str, chunk_size: int | None = None
) -> Iterator[IngestReport]:
    """Import an activity CSV file (seekable bytes, header first); one report per slice, in
    file order, rejected rows carrying their line number as ``index``.

    Raises what the Python path raises (``CsvRefused`` for a header that lacks a column,
    ``UnicodeDecodeError`` or ``csv.Error`` part-way), after reporting the slices before.
    ``chunk_size`` defaults to ``SLICE_LINES`` set-based and ``IMPORT_CHUNK_SIZE`` in Python.
    """
    start = handle.tell()
    header = _header(handle)
    alias = router.db_for_write(ActivityEvent)  # marks the unit of work as written, as the ORM does
    set_based = (
        connections[alias].vendor == "postgresql"
        and not missing_columns_message(header, ACTIVITY_COLUMNS)
        and len(set(header)) == len(header)
        and not PYTHON_ONLY_COLUMNS & set(header)
    )
    now = timezone.now()
    if not set_based:
        handle.seek(start)
        rows = text_rows(handle, required=ACTIVITY_COLUMNS)
        return events_import(
            rows=rows, via=via, chunk_size=chunk_size or IMPORT_CHUNK_SIZE, now=now
        )
    importer = _SliceImporter(header, alias=alias, via=via, now=now)
    pieces = _slices(handle, header, chunk_size or SLICE_LINES)
    if connections[alias].in_atomic_block or SESSIONS < 2:
        return (importer.run(piece) for piece in pieces)
    return _in_sessions(pieces, importer, SESSIONS)
