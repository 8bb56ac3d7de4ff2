"""Every project command ends an expected failure in one ``CommandError`` line, non-zero exit."""

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command, get_commands, load_command_class
from django.db import OperationalError

from engagement.commands import ApplicationCommand, application_error_line
from engagement.errors import ValidationFailed
from engagement.models import Job
from learners.management.commands import rescore
from learners.tasks import learners_rescore_task
from tests.factories import CohortFactory, LearnerFactory

ROOT = Path(__file__).resolve().parents[2]
PROJECT_APPS = ("engagement", "learners")


@pytest.mark.parametrize(
    "name", sorted(name for name, app in get_commands().items() if app in PROJECT_APPS)
)
def test_every_project_command_turns_expected_failures_into_one_line(name: str) -> None:
    assert isinstance(load_command_class(get_commands()[name], name), ApplicationCommand)


@pytest.mark.django_db
@pytest.mark.parametrize("cohort", ["nope", "0190f0d8-0000-7000-8000-000000000000"])
def test_rescore_of_an_unknown_cohort_is_an_error_not_zero_learners(
    rules_model: Any, cohort: str
) -> None:
    LearnerFactory()
    out = StringIO()
    with pytest.raises(CommandError, match=r"^No cohort with this id\.$"):
        call_command("rescore", "--cohort", cohort, stdout=out)
    assert out.getvalue() == ""


@pytest.mark.django_db
def test_rescore_of_a_known_cohort_scores_its_learners(rules_model: Any) -> None:
    cohort = CohortFactory()
    LearnerFactory(cohort=cohort)
    LearnerFactory()
    out = StringIO()
    call_command("rescore", "--cohort", str(cohort.id), stdout=out)
    assert out.getvalue().startswith("Scored 1 learner with model")


@pytest.mark.django_db
def test_a_rescore_from_the_command_line_is_recorded_as_a_job(rules_model: Any) -> None:
    LearnerFactory()
    out = StringIO()
    call_command("rescore", stdout=out)

    job = Job.objects.get()
    assert (job.kind, job.status, job.requested_by) == ("learners.rescore", "succeeded", None)
    assert job.result is not None and job.result["learners"] == 1
    assert out.getvalue() == rescore.summary_line(job.result) + "\n"


@pytest.mark.django_db
def test_with_queue_the_command_only_queues_the_job_and_prints_its_id(
    rules_model: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[str] = []
    monkeypatch.setattr(learners_rescore_task, "delay", sent.append)
    out = StringIO()
    call_command("rescore", "--stale-only", "--queue", stdout=out)

    job = Job.objects.get()
    assert out.getvalue() == f"Queued job {job.pk}.\n"
    assert (job.status, job.params["stale_only"]) == ("queued", True)
    assert sent == []  # sent to the workers once the transaction commits, not before


@pytest.mark.django_db
def test_a_job_the_command_ran_that_failed_is_one_line(rules_model: Any) -> None:
    rules_model.is_active = False
    rules_model.save()
    with pytest.raises(CommandError, match=r"^No risk model is active; activate one first\.$"):
        call_command("rescore")
    assert Job.objects.get().status == "failed"


@pytest.mark.django_db
def test_export_to_a_missing_directory_names_the_file() -> None:
    with pytest.raises(
        CommandError, match=r"^/nonexistent/dir/x\.csv: No such file or directory\.$"
    ):
        call_command("export_training_data", "/nonexistent/dir/x.csv")


@pytest.mark.django_db
def test_import_over_data_the_keys_cannot_decrypt_names_the_setting(
    tmp_path: Path, settings: Any
) -> None:
    LearnerFactory(external_id="u1", source="moodle", name="Ada Lovelace")
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    path = tmp_path / "learners.csv"
    path.write_text(
        "external_id,source,cohort,name,email,enrolled_at,status\n"
        "u1,moodle,Spring 2026,Ada Lovelace,ada@example.org,2026-03-02T09:00:00Z,active\n",
        encoding="utf-8",
    )
    with pytest.raises(CommandError, match=r"cannot be decrypted.*FIELD_ENCRYPTION_KEYS") as error:
        call_command("import_learners", str(path), stdout=StringIO(), stderr=StringIO())
    assert "Ada" not in str(error.value)


@pytest.mark.django_db
def test_key_rotation_without_the_old_key_names_the_setting(settings: Any) -> None:
    LearnerFactory()
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(CommandError, match=r"cannot be decrypted.*FIELD_ENCRYPTION_KEYS"):
        call_command("rotate_encryption_keys", stdout=StringIO())


def test_a_validation_failure_names_each_field_on_one_line() -> None:
    error = ValidationFailed(detail={"as_of": ["Too far."], "cohort": ["Unknown.", "Again."]})
    assert (
        application_error_line(error) == "Invalid input. as_of: Too far.; cohort: Unknown. Again."
    )


def test_manage_py_prints_the_failure_in_one_line_and_exits_non_zero(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "export_training_data", "/nonexistent/dir/x.csv"],
        cwd=ROOT,
        env={
            "PATH": os.environ.get("PATH", ""),
            "DEBUG": "true",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "CommandError: /nonexistent/dir/x.csv: No such file or directory."
    ]


@pytest.mark.django_db
def test_a_database_that_fails_is_one_line_naming_the_first_line_of_the_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def unreachable(**kwargs: Any) -> None:
        raise OperationalError("couldn't get a connection after 10.00 sec\nDETAIL: pool exhausted")

    monkeypatch.setattr(rescore, "learners_rescore_request", unreachable)
    with pytest.raises(
        CommandError, match=r"^The database failed: couldn't get a connection after 10\.00 sec$"
    ):
        call_command("rescore")


def test_a_reason_already_in_the_message_is_not_repeated() -> None:
    reason = "Must be between 1 and 180 days."
    error = ValidationFailed(
        f"Invalid cutoff_days: {reason}", detail={"cutoff_days": [reason], "other": ["Why."]}
    )
    assert application_error_line(error) == f"Invalid cutoff_days: {reason} other: Why."
