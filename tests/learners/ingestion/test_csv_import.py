from datetime import UTC, datetime
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from engagement.models import AuditEvent
from learners.ingestion.csv import csv_rows
from learners.models import ActivityEvent, Cohort, Learner
from learners.services import events_import, learners_import

pytestmark = pytest.mark.django_db

LEARNERS_CSV = """external_id,source,cohort,name,email,enrolled_at,status
u1,moodle,Spring 2026,Ada Lovelace,ADA@example.org,2026-03-02T09:00:00Z,active
u2,moodle,Spring 2026,Alan Turing,alan@example.org,2026-03-01,completed
u3,moodle,,No Cohort,n@example.org,2026-03-01T09:00:00Z,active
u4,moodle,Spring 2026,Bad Status,b@example.org,2026-03-01T09:00:00Z,sleeping
u5,moodle,Autumn 2026,Grace Hopper,not-an-email,2026-09-01T09:00:00Z,
"""

ACTIVITY_CSV = """learner_external_id,source,kind,occurred_at,duration_seconds,score,source_event_id
u1,moodle,login,2026-03-03T10:00:00Z,,,a1
u1,moodle,assessment_submitted,2026-03-04T10:00:00Z,600,0.75,a2
u2,moodle,dancing,2026-03-04T10:00:00Z,,,a3
ghost,moodle,login,2026-03-04T10:00:00Z,,,a4
u2,moodle,lesson_completed,2026-03-05T10:00:00Z,abc,,a5
u2,moodle,lesson_completed,2026-03-06T10:00:00Z,60,,a6
"""


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def run(command: str, path: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(command, path, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_import_learners_reports_bad_lines_and_creates_cohorts(tmp_path: Path) -> None:
    out, err = run("import_learners", write(tmp_path, "learners.csv", LEARNERS_CSV))
    assert "2 written" in out
    assert "3 rejected" in out
    assert "line 4: cohort" in err
    assert "line 5: status" in err
    assert "line 6: email" in err
    ada = Learner.objects.get(external_id="u1")
    assert ada.email == "ada@example.org"
    assert ada.cohort.name == "Spring 2026"
    assert Cohort.objects.get(name="Spring 2026").starts_on.isoformat() == "2026-03-01"
    assert Learner.objects.get(external_id="u2").status == "completed"


def test_an_optional_finished_at_column_dates_finished_learners(tmp_path: Path) -> None:
    text = (
        "external_id,source,cohort,name,email,enrolled_at,status,finished_at\n"
        "f1,moodle,Spring 2026,,,2026-03-01,withdrawn,2026-04-10T12:00:00Z\n"
        "f2,moodle,Spring 2026,,,2026-03-01,completed,\n"
        "f3,moodle,Spring 2026,,,2026-03-01,active,\n"
        "f4,moodle,Spring 2026,,,2026-03-01,withdrawn,last tuesday\n"
    )
    before = timezone.now()
    out, err = run("import_learners", write(tmp_path, "finished.csv", text))
    assert "3 written" in out and "line 5: finished_at" in err
    stored = dict(Learner.objects.values_list("external_id", "finished_at"))
    assert stored["f1"] == datetime(2026, 4, 10, 12, tzinfo=UTC)
    assert stored["f2"] is not None and stored["f2"] >= before  # self-paced cohort: now
    assert stored["f3"] is None


def test_reimport_updates_instead_of_duplicating(tmp_path: Path) -> None:
    run("import_learners", write(tmp_path, "a.csv", LEARNERS_CSV))
    changed = LEARNERS_CSV.replace("Ada Lovelace", "Ada King").replace(
        "Spring 2026,Ada", "Summer 2026,Ada"
    )
    run("import_learners", write(tmp_path, "b.csv", changed))
    assert Learner.objects.count() == 2
    ada = Learner.objects.get(external_id="u1")
    assert ada.name == "Ada King"
    assert ada.cohort.name == "Summer 2026"


def test_import_activity_is_idempotent(tmp_path: Path) -> None:
    run("import_learners", write(tmp_path, "learners.csv", LEARNERS_CSV))
    path = write(tmp_path, "activity.csv", ACTIVITY_CSV)
    out, err = run("import_activity", path)
    assert "3 new" in out
    assert "3 rejected" in out
    assert "line 4: kind" in err
    assert "line 5: learner_external_id" in err
    assert "line 6: duration_seconds" in err
    again, _ = run("import_activity", path)
    assert "0 new, 3 already stored" in again
    assert ActivityEvent.objects.count() == 3
    assert (
        Learner.objects.get(external_id="u1").last_active_at.isoformat()
        == "2026-03-04T10:00:00+00:00"
    )


def test_import_activity_accepts_other_activity(tmp_path: Path) -> None:
    run("import_learners", write(tmp_path, "learners.csv", LEARNERS_CSV))
    csv_text = ACTIVITY_CSV.splitlines()[0] + "\nu1,moodle,other,2026-03-07T10:00:00Z,,,o1\n"
    out, _ = run("import_activity", write(tmp_path, "activity.csv", csv_text))
    assert "1 new" in out
    assert ActivityEvent.objects.get(source_event_id="o1").kind == "other"


def test_small_chunks_keep_line_numbers(tmp_path: Path) -> None:
    run("import_learners", write(tmp_path, "learners.csv", LEARNERS_CSV))
    with open(write(tmp_path, "activity.csv", ACTIVITY_CSV), newline="") as handle:
        rows = csv_rows(handle, required=["kind"])
        reports = list(events_import(rows=rows, via="test", chunk_size=2))
    assert len(reports) == 3
    assert [[row["index"] for row in report.rejected] for report in reports] == [[], [4, 5], [6]]
    assert sum(report.accepted for report in reports) == 3


def test_missing_columns_and_files_are_command_errors(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="lacks the columns: duration_seconds, kind, "):
        run("import_activity", write(tmp_path, "x.csv", "learner_external_id,source\nu1,lms\n"))
    with pytest.raises(CommandError, match="lacks the column: status"):
        run("import_learners", write(tmp_path, "y.csv", LEARNERS_CSV.replace(",status", ",state")))
    with pytest.raises(CommandError, match="No such file"):
        run("import_learners", str(tmp_path / "missing.csv"))
    with pytest.raises(CommandError, match="Not a regular file"):
        run("import_activity", str(tmp_path))


def test_a_file_with_only_bad_rows_fails(tmp_path: Path) -> None:
    header = LEARNERS_CSV.splitlines()[0]
    with pytest.raises(CommandError, match="No row"):
        run("import_learners", write(tmp_path, "bad.csv", f"{header}\nu9,,,,,,\n"))


# Audit ------------------------------------------------------------------------------------------


def audit_trail() -> list[tuple[str, str, str, dict[str, object]]]:
    return sorted(
        (event.action, event.actor_type, event.target_id, event.changes)
        for event in AuditEvent.objects.all()
    )


def test_import_learners_audits_created_cohorts_and_learners_naming_the_command(
    tmp_path: Path,
) -> None:
    run("import_learners", write(tmp_path, "learners.csv", LEARNERS_CSV))
    spring = Cohort.objects.get(name="Spring 2026")
    ada, alan = (Learner.objects.get(external_id=key) for key in ("u1", "u2"))
    via = "import_learners"
    assert audit_trail() == sorted(
        [
            ("cohort.create", "system", str(spring.pk), {"name": "Spring 2026", "via": via}),
            ("learner.create", "system", str(ada.pk), {"cohort": str(spring.pk), "via": via}),
            ("learner.create", "system", str(alan.pk), {"cohort": str(spring.pk), "via": via}),
        ]
    )


def test_reimport_audits_only_changed_learners_without_personal_values(tmp_path: Path) -> None:
    run("import_learners", write(tmp_path, "a.csv", LEARNERS_CSV))
    before = AuditEvent.objects.count()
    finished_at = Learner.objects.get(external_id="u2").finished_at
    run("import_learners", write(tmp_path, "same.csv", LEARNERS_CSV))
    assert AuditEvent.objects.count() == before  # nothing changed, nothing to audit
    assert Learner.objects.get(external_id="u2").finished_at == finished_at
    changed = LEARNERS_CSV.replace("Ada Lovelace,ADA@example.org", "Ada King,ada@king.example")
    changed = changed.replace("2026-03-02T09:00:00Z,active", "2026-03-02T09:00:00Z,paused")
    run("import_learners", write(tmp_path, "b.csv", changed))
    ada = Learner.objects.get(external_id="u1")
    update = AuditEvent.objects.get(action="learner.update")
    assert (update.actor_type, update.target_id) == ("system", str(ada.pk))
    assert update.changes == {
        "name": "(changed)",
        "email": "(changed)",
        "status": "paused",
        "via": "import_learners",
    }
    assert AuditEvent.objects.count() == before + 1


def learner_rows(count: int, prefix: str) -> list[tuple[int, dict[str, str]]]:
    return [
        (
            line,
            {
                "external_id": f"{prefix}{line}",
                "source": "lms",
                "cohort": f"{prefix} cohort {line % 3}",
                "name": f"Learner {line}",
                "email": f"l{line}@example.org",
                "enrolled_at": "2026-03-01",
                "status": "active",
            },
        )
        for line in range(2, count + 2)
    ]


def import_queries(rows: list[tuple[int, dict[str, str]]]) -> int:
    with CaptureQueriesContext(connection) as queries:
        list(learners_import(rows=rows, via="test"))
    return len(queries)


def test_an_audited_import_makes_the_same_few_queries_whatever_its_size() -> None:
    assert import_queries(learner_rows(3, "small")) == import_queries(learner_rows(30, "large"))
    assert AuditEvent.objects.filter(action="learner.create").count() == 33
    assert AuditEvent.objects.filter(action="cohort.create").count() == 6
    changed = [(line, {**row, "status": "paused"}) for line, row in learner_rows(30, "large")]
    assert import_queries(changed) == import_queries(learner_rows(3, "small")) + 1
    assert AuditEvent.objects.filter(action="learner.update").count() == 30


def test_import_activity_leaves_one_summary_event_per_chunk(tmp_path: Path) -> None:
    run("import_learners", write(tmp_path, "learners.csv", LEARNERS_CSV))
    with open(write(tmp_path, "activity.csv", ACTIVITY_CSV), newline="") as handle:
        list(
            events_import(
                rows=csv_rows(handle, required=["kind"]), via="import_activity", chunk_size=4
            )
        )
    summaries = AuditEvent.objects.filter(action="events.import").order_by("occurred_at", "id")
    assert [(event.actor_type, event.changes) for event in summaries] == [
        ("system", {"via": "import_activity", "accepted": 2, "duplicates": 0, "rejected": 2}),
        ("system", {"via": "import_activity", "accepted": 1, "duplicates": 0, "rejected": 1}),
    ]
