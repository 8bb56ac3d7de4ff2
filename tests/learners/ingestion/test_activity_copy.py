"""The set-based activity import (PostgreSQL) gives what the Python path gives, row for row.

Each test imports a file through ``activity_import`` and compares it with the Python path
(``events_import`` over ``csv_rows``) run on the same database state: the same report (counts,
refused lines and reasons) and the same stored events. On SQLite both are the Python path.
"""

import io
from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import connection
from django.db.models import Max
from django.test.utils import CaptureQueriesContext

from learners.ingestion import activity_copy
from learners.ingestion.activity_copy import activity_import
from learners.ingestion.csv import CsvRefused, csv_import, text_rows
from learners.models import ActivityEvent, Learner
from learners.services import IngestReport, events_import
from tests.factories import LearnerFactory

pytestmark = pytest.mark.django_db

HEADER = "learner_external_id,source,kind,occurred_at,duration_seconds,score,source_event_id\n"
LONG = "x" * 129
# Rows the SQL vouches for and rows it leaves to parse_event, each with its reason.
ROWS = [
    "a1,lms,login,2026-03-03T10:00:00Z,,,e1",
    "a1,lms,assessment_submitted,2026-03-04T10:00:00.123456+02:00,600,0.75,e2",
    "a2,lms,lesson_completed,2026-03-05 10:00,60,,e3",  # no offset: UTC
    "a2,lms,content_view,2026-03-05T10:00:00.1234567Z,,,e4",  # 7 digits: Python truncates
    "a2,lms,login,2026-03-06,,,e5",  # a date alone: midnight
    "a2,lms,login,2026-03-06t10:00:00z,,,e6",  # lower-case t and z
    "a2,lms,login,2026-03-06T24:00:00Z,,,e7",  # hour 24: refused
    "a2,lms,login,2026-03-06T10:00:60Z,,,e8",  # second 60: refused
    "a2,lms,login,1969-12-31T23:00:00Z,,,e9",  # out of range
    "a2,lms,login,2099-03-06T10:00:00Z,,,e10",  # in the future
    "ghost,lms,login,2026-03-06T10:00:00Z,,,e11",  # unknown learner
    "a2,lms,dancing,2026-03-06T10:00:00Z,,,e12",  # unknown kind
    "a2,lms,assessment_passed,2026-03-06T10:00:00Z,,1.5,e13",  # score out of range
    "a2,lms,assessment_passed,2026-03-06T10:00:00Z,,1e-1,e14",  # Python reads 0.1
    "a2,lms,video_watched,2026-03-06T10:00:00Z,60.0,,e15",  # Python reads 60
    "a2,lms,video_watched,2026-03-06T10:00:00Z,-5,,e16",  # negative
    "a2,lms,video_watched,2026-03-06T10:00:00Z,2147483648,,e17",  # too large
    "a2,lms,video_watched,2026-03-06T10:00:00Z,abc,,e18",
    "a2, lms,login,2026-03-06T10:00:00Z,,,e19",  # Python strips the source
    f"a2,lms,login,2026-03-06T10:00:00Z,,,{LONG}",  # id too long
    "a2,lms,login,2026-03-06T10:00:00Z,,,",  # no id
    "a1,lms,login,2026-03-07T10:00:00Z,,,e1",  # repeated in the file
    "é3,lms,login,2026-03-07T10:00:00Z,,,e20",  # non-ASCII identifier
]


@pytest.fixture
def learners() -> None:
    LearnerFactory(external_id="a1")
    LearnerFactory(external_id="a2")
    LearnerFactory(external_id="é3")


def _python(text: str, chunk_size: int) -> IngestReport:
    total = IngestReport()
    rows = text_rows(io.BytesIO(text.encode()), required=["kind"])
    for report in events_import(rows=rows, via="test", chunk_size=chunk_size):
        total.merge(report)
    return total


def _set_based(text: str, chunk_size: int) -> IngestReport:
    total = IngestReport()
    for report in activity_import(
        handle=io.BytesIO(text.encode()), via="test", chunk_size=chunk_size
    ):
        total.merge(report)
    return total


def _stored() -> list[tuple[Any, ...]]:
    return sorted(
        ActivityEvent.objects.values_list(
            "learner__external_id",
            "kind",
            "occurred_at",
            "duration_seconds",
            "score",
            "source",
            "source_event_id",
            "metadata",
        )
    )


def _learner_state() -> list[tuple[Any, ...]]:
    return sorted(Learner.objects.values_list("external_id", "last_active_at", "risk_stale"))


def _forget() -> None:
    ActivityEvent.objects.all().delete()
    Learner.objects.update(last_active_at=None, risk_stale=False)


def _compare(text: str, chunk_size: int) -> IngestReport:
    """Import ``text`` both ways from the same state; the reports and the rows must match."""
    _forget()
    expected = _python(text, chunk_size)
    stored, state = _stored(), _learner_state()
    _forget()
    got = _set_based(text, chunk_size)
    assert (got.accepted, got.duplicates) == (expected.accepted, expected.duplicates)
    assert sorted(got.rejected, key=lambda row: row["index"]) == expected.rejected
    assert _stored() == stored
    assert _learner_state() == state
    return got


@pytest.mark.usefixtures("learners")
@pytest.mark.parametrize("chunk_size", [5000, 4])
def test_the_set_based_import_reports_and_stores_what_the_python_path_does(
    chunk_size: int,
) -> None:
    report = _compare(HEADER + "\n".join(ROWS) + "\n", chunk_size)
    assert (report.accepted, report.duplicates) == (10, 1)
    assert [row["index"] for row in report.rejected] == [
        8,
        9,
        10,
        11,
        12,
        13,
        14,
        17,
        18,
        19,
        21,
        22,
    ]


@pytest.mark.usefixtures("learners")
def test_a_slice_postgresql_cannot_read_goes_through_python_whole() -> None:
    unreadable = [
        "a2,lms,login,2026-03-01T10:00:00Z,,,e\x0025",  # a NUL: PostgreSQL refuses the COPY
        "a2,lms,login,2026-02-30T10:00:00Z,,,e21",  # no such day
        "a2,lms,login,2026-13-01T10:00:00Z,,,e22",  # no such month
        "a2,lms,login,2026-03-01T10:00:00+16:00,,,e23",  # Python takes offsets below 24 hours
        "a2,lms,login,2026-03-01T10:00:00+01:75,,,e24",  # offset minutes beyond 59
        "a2,lms,assessment_passed,2026-03-01T10:00:00Z,,1.2.3,e26",  # not a number
    ]
    text = HEADER + "\n".join([*ROWS[:3], *unreadable, *ROWS[3:6]])
    report = _compare(text + "\n", 2)
    assert [row["index"] for row in report.rejected] == [5, 6, 7, 9, 10]


@pytest.mark.usefixtures("learners")
def test_quoted_cells_blank_lines_and_crlf_keep_their_line_numbers() -> None:
    text = (
        HEADER.replace("\n", "\r\n")
        + "a1,lms,login,2026-03-03T10:00:00Z,,,q1\r\n"
        + '"a1","lms","login","2026-03-03T11:00:00Z",,,"q,2"\r\n'
        + "\r\n"
        + 'a1,lms,dancing,2026-03-03T12:00:00Z,,,"q\r\n3"\r\n'
        + "a2,lms,tango,2026-03-03T12:00:00Z,,,q4\r\n"
        + "a2,lms,login,2026-03-03T12:00:00Z,,\r\n"
    )
    report = _compare(text, 2)
    assert [row["index"] for row in report.rejected] == [6, 7, 8]


@pytest.mark.usefixtures("learners")
def test_a_file_that_turns_out_not_utf8_keeps_the_slices_before_and_nothing_after() -> None:
    good = "".join(
        f"a1,lms,login,2026-03-03T10:{minute:02d}:00Z,,,u{minute}\n" for minute in range(9)
    )
    data = (
        (HEADER + good).encode()
        + b"a1,lms,login,2026-03-03T11:00:00Z,,,\xff\n"
        + good.replace(",u", ",w").encode()
    )
    with pytest.raises(CsvRefused, match=r"not UTF-8 text \(invalid start byte\)") as refused:
        csv_import(
            io.BytesIO(data),
            importer=lambda handle: activity_import(handle=handle, via="test", chunk_size=3),
            on_report=lambda report: None,
        )
    stored = ActivityEvent.objects.count()
    assert str(refused.value).endswith(f"stopped after {stored} rows.")
    assert not ActivityEvent.objects.filter(source_event_id__startswith="w").exists()
    if connection.vendor == "postgresql":  # the Python path's decoder reads ahead by 8 KiB
        assert stored == 9


@pytest.mark.usefixtures("learners")
def test_last_active_at_and_risk_stale_match_a_full_recomputation() -> None:
    Learner.objects.update(risk_stale=False)
    text = HEADER + "\n".join(ROWS[:6]) + "\n"
    _set_based(text, 2)
    newest = dict(
        ActivityEvent.objects.values("learner_id")
        .annotate(newest=Max("occurred_at"))
        .values_list("learner_id", "newest")
    )
    for learner in Learner.objects.all():
        assert learner.last_active_at == newest.get(learner.id)
        assert learner.risk_stale == (learner.id in newest)


def _queries(rows: int) -> int:
    text = HEADER + "".join(
        f"a1,lms,login,2026-03-03T10:00:00Z,,,{rows}-{number}\n" for number in range(rows)
    )
    with CaptureQueriesContext(connection) as queries:
        _set_based(text, 5000)
    return len(queries)


@pytest.mark.usefixtures("learners")
def test_a_slice_makes_the_same_few_queries_whatever_its_size() -> None:
    assert _queries(3) == _queries(40)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_sessions_on_alternate_slices_import_each_row_once_in_file_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    learners = LearnerFactory.create_batch(5)
    lines = [
        f"{learners[number % 5].external_id},lms,"
        f"{'login' if number % 7 else 'dancing'},2026-03-03T10:{number % 60:02d}:00Z,,,s{number % 90}"
        for number in range(120)
    ]
    text = HEADER + "\n".join(lines) + "\n"
    monkeypatch.setattr(activity_copy, "SESSIONS", 2)
    reports = list(activity_import(handle=io.BytesIO(text.encode()), via="test", chunk_size=7))
    rejected = [row["index"] for report in reports for row in report.rejected]
    assert rejected == [number + 2 for number in range(120) if number % 7 == 0]
    valid = {f"s{number % 90}" for number in range(120) if number % 7}
    assert sum(report.accepted for report in reports) == ActivityEvent.objects.count() == len(valid)
    assert sum(report.duplicates for report in reports) == 120 - len(valid) - len(rejected)
    again = _set_based(text, 7)
    assert (again.accepted, again.duplicates) == (0, 120 - len(rejected))
    newest = datetime(2026, 3, 3, 10, 59, tzinfo=UTC)
    assert Learner.objects.aggregate(newest=Max("last_active_at"))["newest"] == newest


@pytest.mark.usefixtures("learners")
def test_a_quote_that_never_closes_ends_the_import_as_the_python_path_does() -> None:
    text = HEADER + "\n".join([*ROWS[:3], 'a1,lms,login,"2026-03-03T10:00:00Z,,,o1', *ROWS[3:6]])

    def outcome(importer: Any) -> tuple[str, int]:
        _forget()
        try:
            total = csv_import(io.BytesIO(text.encode()), importer=importer, on_report=print)
        except CsvRefused as exc:
            return str(exc), ActivityEvent.objects.count()
        return repr(
            (total.accepted, total.duplicates, total.rejected)
        ), ActivityEvent.objects.count()

    python = outcome(lambda handle: events_import(rows=text_rows(handle, required=[]), via="t"))
    assert outcome(lambda handle: activity_import(handle=handle, via="t")) == python
