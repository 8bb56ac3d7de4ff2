"""The demo population: reproducible, internally consistent, and carrying a real risk signal."""

from datetime import UTC, date, datetime, timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import F, Max, Q

from engagement.crypto import keyed_hash
from engagement.errors import Conflict, ValidationFailed
from learners.demo.generator import ARCHETYPES, DemoLearner, demo_population_generate
from learners.demo.writer import demo_population_seed
from learners.models import (
    ActivityEvent,
    Cohort,
    EventKind,
    Learner,
    LearnerStatus,
    RiskAssessment,
)
from learners.risk.services import learners_rescore
from tests.factories import LearnerFactory

TODAY = date(2026, 3, 1)
CUTOFF = datetime(2026, 3, 1, tzinfo=UTC)
SIZE = {"cohorts": 4, "learners": 120, "days": 200, "today": TODAY}
LEARNER_COLUMNS = (
    "id",
    "external_id",
    "name",
    "email",
    "status",
    "enrolled_at",
    "last_active_at",
)
ASSESSMENT_RESULTS = {
    EventKind.ASSESSMENT_SUBMITTED,
    EventKind.ASSESSMENT_PASSED,
    EventKind.ASSESSMENT_FAILED,
}


def _generated(seed: int, **size: Any) -> tuple[list[Any], list[DemoLearner]]:
    population = demo_population_generate(seed=seed, **{**SIZE, **size})
    cohorts = [
        (cohort.id, cohort.name, cohort.starts_on, cohort.ends_on) for cohort in population.cohorts
    ]
    return cohorts, list(population.learners)


def _stored() -> dict[str, list[Any]]:
    return {
        "cohorts": list(Cohort.objects.order_by("id").values_list("id", "name", "starts_on")),
        "learners": list(Learner.objects.order_by("id").values_list(*LEARNER_COLUMNS)),
        "events": list(
            ActivityEvent.objects.order_by("id").values_list(
                "id", "learner_id", "kind", "occurred_at", "score", "source_event_id"
            )
        ),
    }


def _clear() -> None:
    ActivityEvent.objects.all().delete()
    Learner.objects.all().delete()
    Cohort.objects.all().delete()


def _active_days_in_first_28(learner: DemoLearner, starts_on: date) -> int:
    limit = starts_on + timedelta(days=28)
    return len(
        {event.occurred_at.date() for event in learner.events if event.occurred_at.date() < limit}
    )


# Generation (no database) ----------------------------------------------------------------------


def test_same_seed_and_today_give_identical_rows() -> None:
    first_cohorts, first = _generated(seed=7)
    second_cohorts, second = _generated(seed=7)

    assert first_cohorts == second_cohorts
    assert first == second
    assert len(first) == 120
    assert [learner.row.external_id for learner in first][:2] == ["D000001", "D000002"]


def test_different_seeds_give_different_populations() -> None:
    first_cohorts, first = _generated(seed=7)
    second_cohorts, second = _generated(seed=8)

    assert [cohort[0] for cohort in first_cohorts] != [cohort[0] for cohort in second_cohorts]
    assert [learner.row.name for learner in first] != [learner.row.name for learner in second]
    assert sum(len(learner.events) for learner in first) != sum(
        len(learner.events) for learner in second
    )


def test_population_mixes_archetypes_cohort_kinds_and_event_kinds() -> None:
    cohorts, learners = _generated(seed=3, cohorts=5, learners=400, days=300)

    assert {learner.archetype for learner in learners} == {a.name for a in ARCHETYPES}
    ends = [ends_on for _, _, _, ends_on in cohorts]
    assert None in ends
    assert any(ends_on and ends_on < TODAY for ends_on in ends)
    assert any(ends_on and ends_on >= TODAY for ends_on in ends)
    kinds = {event.kind for learner in learners for event in learner.events}
    # Every kind the risk features interpret; `other` (uninterpreted activity) is not simulated.
    assert kinds == set(EventKind.values) - {EventKind.OTHER}
    assert 25 <= sum(len(learner.events) for learner in learners) / len(learners) <= 90


def test_withdrawn_learners_are_clearly_less_active_in_their_first_four_weeks() -> None:
    population = demo_population_generate(cohorts=6, learners=600, days=400, seed=11, today=TODAY)
    paced = {cohort.id: cohort.starts_on for cohort in population.cohorts if cohort.ends_on}
    active_days: dict[str, list[int]] = {"completed": [], "withdrawn": []}
    for learner in population.learners:
        if learner.row.cohort_id in paced and learner.row.status in active_days:
            starts_on = paced[learner.row.cohort_id]
            active_days[learner.row.status].append(_active_days_in_first_28(learner, starts_on))
    completed, withdrawn = active_days["completed"], active_days["withdrawn"]
    wins = sum((w < c) + 0.5 * (w == c) for w in withdrawn for c in completed)

    assert len(completed) > 100 and len(withdrawn) > 100
    assert sum(withdrawn) / len(withdrawn) < 0.7 * sum(completed) / len(completed)
    assert wins / (len(withdrawn) * len(completed)) > 0.7  # ROC AUC of this one feature


def _shape_figures(shape: str) -> dict[str, dict[str, float]]:
    """Per cohort kind: dropout among finished learners, share active on at most 7 days, and
    the share of all events made by the most active tenth of learners."""
    population = demo_population_generate(
        cohorts=4, learners=1000, days=400, seed=21, today=TODAY, shape=shape
    )
    by_kind: dict[str, list[DemoLearner]] = {}
    for learner in population.learners:
        by_kind.setdefault(learner.cohort_kind, []).append(learner)
    figures = {}
    for kind, learners in by_kind.items():
        finished = [learner.row.status for learner in learners if learner.row.finished_at]
        active_days = [len({event.occurred_at.date() for event in x.events}) for x in learners]
        events = sorted((len(learner.events) for learner in learners), reverse=True)
        figures[kind] = {
            "dropout": finished.count(LearnerStatus.WITHDRAWN) / len(finished),
            "active_7_days_or_fewer": sum(days <= 7 for days in active_days) / len(learners),
            "top_tenth_event_share": sum(events[: len(events) // 10]) / sum(events),
        }
    return figures


def test_open_courses_have_the_shape_of_mooc_logs_and_degrees_stay_steady() -> None:
    mixed = _shape_figures("mixed")

    mooc, degree = mixed["mooc"], mixed["degree"]
    assert mooc["dropout"] > 0.7 and degree["dropout"] < 0.35
    assert mooc["active_7_days_or_fewer"] > 0.6 and degree["active_7_days_or_fewer"] < 0.3
    # Heavy tailed: the most active tenth make about half of an open course's activity.
    assert mooc["top_tenth_event_share"] > 0.45 and degree["top_tenth_event_share"] < 0.3
    assert _shape_figures("mixed") == mixed


def test_mixed_cohorts_alternate_open_courses_say_so_and_one_shape_stays_alone() -> None:
    population = demo_population_generate(
        cohorts=4, learners=20, days=300, seed=2, today=TODAY, shape="mixed"
    )

    assert [kind.name for kind in population.kinds] == ["degree", "mooc", "degree", "mooc"]
    assert ["open course" in cohort.name for cohort in population.cohorts] == [
        False,
        True,
        False,
        True,
    ]
    assert "(open course, self-paced)" in population.cohorts[1].name
    for shape in ("mooc", "degree"):
        single = demo_population_generate(
            cohorts=3, learners=9, days=300, seed=2, today=TODAY, shape=shape
        )
        assert {learner.cohort_kind for learner in single.learners} == {shape}


def test_sizes_below_one_are_refused() -> None:
    with pytest.raises(ValidationFailed) as error:
        demo_population_generate(cohorts=0, learners=0, days=30, seed=1, today=TODAY)

    assert error.value.detail == {
        "cohorts": ["Must be at least 1."],
        "learners": ["Must be at least 1."],
    }


def test_an_unknown_shape_is_refused() -> None:
    with pytest.raises(ValidationFailed) as error:
        demo_population_generate(
            cohorts=1, learners=1, days=30, seed=1, today=TODAY, shape="bootcamp"
        )

    assert error.value.detail == {"shape": ["Must be one of mixed, mooc, degree."]}


# Seeding the database --------------------------------------------------------------------------


@pytest.mark.django_db
def test_seeding_twice_into_a_cleared_database_stores_identical_rows() -> None:
    summary = demo_population_seed(seed=5, chunk_size=50, **SIZE)
    first = _stored()
    _clear()
    demo_population_seed(seed=5, chunk_size=70, **SIZE)

    assert _stored() == first
    assert (summary.cohorts, summary.learners) == (4, 120)
    assert summary.events == len(first["events"]) > 0
    assert sum(summary.statuses.values()) == 120


@pytest.mark.django_db
def test_stored_population_keeps_its_invariants() -> None:
    demo_population_seed(seed=9, chunk_size=50, **SIZE)
    events = ActivityEvent.objects.all()
    learners = Learner.objects.annotate(last_event=Max("events__occurred_at"))
    finished = Learner.objects.filter(cohort__ends_on__lt=TODAY)

    assert not events.filter(occurred_at__gte=CUTOFF).exists()
    assert not events.filter(occurred_at__lt=F("learner__enrolled_at")).exists()
    assert not events.filter(Q(score__lt=0) | Q(score__gt=1)).exists()
    assert not events.filter(kind__in=ASSESSMENT_RESULTS, score__isnull=True).exists()
    assert not events.exclude(kind__in=ASSESSMENT_RESULTS).filter(score__isnull=False).exists()
    assert set(events.values_list("source", flat=True)) == {"demo"}
    assert not events.exclude(metadata={}).exists()
    assert all(learner.last_active_at == learner.last_event for learner in learners)
    assert not Learner.objects.filter(enrolled_at__gte=CUTOFF).exists()
    assert finished.exists()
    assert set(finished.values_list("status", flat=True)) == {
        LearnerStatus.COMPLETED,
        LearnerStatus.WITHDRAWN,
    }
    assert not Learner.objects.exclude(risk_band="").exists()
    assert not Learner.objects.filter(risk_score__isnull=False).exists()


@pytest.mark.django_db
def test_after_make_runs_rescore_progress_is_the_one_the_risk_explains(rules_model: Any) -> None:
    demo_population_seed(seed=9, chunk_size=50, **SIZE)
    learners_rescore()
    explained = {
        assessment.learner_id: assessment.features["raw"]["actual_progress"]
        for assessment in RiskAssessment.objects.all()
    }
    stored = dict(Learner.objects.values_list("pk", "progress"))
    assert stored == explained
    assert set(
        Learner.objects.filter(status=LearnerStatus.COMPLETED).values_list("progress", flat=True)
    ) == {1.0}


@pytest.mark.django_db
def test_personal_data_is_encrypted_at_rest_and_findable_by_keyed_hash() -> None:
    demo_population_seed(seed=3, **{**SIZE, "learners": 5})
    learner = Learner.objects.get(external_id="D000003")
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, email FROM learners_learner WHERE external_id = 'D000003'")
        stored_name, stored_email = cursor.fetchone()

    assert learner.name and learner.name not in stored_name
    assert learner.email.endswith("@example.org") and learner.email not in stored_email
    assert Learner.objects.get(email_hash=keyed_hash(learner.email)) == learner
    assert learner.name_tokens


@pytest.mark.django_db
def test_seeding_over_existing_demo_data_is_a_conflict() -> None:
    demo_population_seed(seed=1, **{**SIZE, "learners": 10})

    with pytest.raises(Conflict):
        demo_population_seed(seed=2, **{**SIZE, "learners": 10})
    assert Learner.objects.count() == 10


@pytest.mark.django_db
def test_command_seeds_then_if_empty_leaves_the_data_alone() -> None:
    out = StringIO()
    args = ["--cohorts", "3", "--learners", "40", "--days", "150", "--seed", "4", "--shape", "mooc"]

    call_command("seed_demo", *args, stdout=out)
    stored = _stored()
    call_command("seed_demo", *args, "--if-empty", stdout=out)

    assert "Seeded 3 cohorts, 40 learners" in out.getvalue()
    assert "nothing seeded (--if-empty)" in out.getvalue()
    assert _stored() == stored
    assert all("(open course" in name for name in Cohort.objects.values_list("name", flat=True))
    assert not ActivityEvent.objects.filter(occurred_at__gt=datetime.now(tz=UTC)).exists()


@pytest.mark.django_db
def test_if_empty_skips_when_any_learner_exists() -> None:
    LearnerFactory()
    out = StringIO()

    call_command("seed_demo", "--learners", "5", "--if-empty", stdout=out)

    assert "nothing seeded" in out.getvalue()
    assert Learner.objects.count() == 1


@pytest.mark.django_db
def test_command_reports_bad_input_and_conflicts_as_command_errors() -> None:
    with pytest.raises(CommandError, match="--cohorts: must be at least 1"):
        call_command("seed_demo", "--cohorts", "0", "--today", "2026-03-01")
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("seed_demo", "--today", "yesterday")
    with pytest.raises(CommandError, match="invalid choice: 'bootcamp'"):
        call_command("seed_demo", "--shape", "bootcamp")

    call_command("seed_demo", "--learners", "5", "--today", "2026-03-01", stdout=StringIO())
    with pytest.raises(CommandError, match="already stored"):
        call_command("seed_demo", "--learners", "5", "--today", "2026-03-01")


@pytest.mark.postgres
@pytest.mark.django_db
def test_copy_on_postgresql_stores_exactly_the_generated_rows() -> None:
    _, generated = _generated(seed=12, learners=60)

    demo_population_seed(seed=12, chunk_size=25, **{**SIZE, "learners": 60})

    stored = {learner.external_id: learner for learner in Learner.objects.all()}
    for learner in generated:
        row = learner.row
        assert stored[row.external_id].id == row.id
        assert stored[row.external_id].status == row.status
    generated_events = sorted(
        (event.id, event.occurred_at, event.kind, event.score, event.duration_seconds)
        for learner in generated
        for event in learner.events
    )
    assert generated_events == list(
        ActivityEvent.objects.order_by("id").values_list(
            "id", "occurred_at", "kind", "score", "duration_seconds"
        )
    )
    assert not ActivityEvent.objects.exclude(metadata={}).exists()
