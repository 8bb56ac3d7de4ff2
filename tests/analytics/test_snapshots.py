"""Snapshot maths on hand-built data: known counts per day, idempotent, constant queries."""

from datetime import date, timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from analytics.models import EVENT_COLUMNS, DailySnapshot
from analytics.schedules import BEAT_SCHEDULE
from analytics.services import snapshots_backfill, snapshots_refresh, snapshots_write
from engagement.registry import registry
from learners import contracts
from learners.models import LearnerStatus, RiskAlert, RiskAlertStatus
from tests.analytics.conftest import NOW, assess
from tests.factories import ActivityEventFactory, LearnerFactory

pytestmark = pytest.mark.django_db

DAY = date(2026, 11, 8)
DAY_START = NOW.replace(day=8, hour=0)


def test_event_columns_are_the_event_kinds() -> None:
    assert tuple(f"events_{kind}" for kind in contracts.EVENT_KINDS) == EVENT_COLUMNS


def _day_world(world: dict[str, Any]) -> dict[str, Any]:
    cohort, model = world["cohort"], world["model"]
    a = LearnerFactory(cohort=cohort, enrolled_at=world["enrolled"])
    b = LearnerFactory(cohort=cohort, enrolled_at=world["enrolled"])
    # Finished on the 9th: studying at the end of the 8th.
    c = LearnerFactory(
        cohort=cohort,
        enrolled_at=world["enrolled"],
        status=LearnerStatus.WITHDRAWN,
        finished_at=DAY_START + timedelta(days=1, hours=5),
    )
    # Completed on the 7th.
    LearnerFactory(
        cohort=cohort,
        enrolled_at=world["enrolled"],
        status=LearnerStatus.COMPLETED,
        finished_at=DAY_START - timedelta(hours=5),
    )
    # Enrolled after the day: not counted.
    LearnerFactory(cohort=cohort, enrolled_at=DAY_START + timedelta(days=1, hours=1))
    LearnerFactory(cohort=world["other"], enrolled_at=world["enrolled"])
    # a: low on the 1st, high at 23:00 on the 8th, low on the 9th (after the day's end).
    assess(a, model, DAY_START - timedelta(days=7), "low", 0.1)
    assess(a, model, DAY_START + timedelta(hours=23), "high", 0.9)
    assess(a, model, DAY_START + timedelta(days=1, hours=2), "low", 0.2, current=True)
    # b: medium on the 5th only (sparse history: still medium at the end of the 8th).
    assess(b, model, DAY_START - timedelta(days=3), "medium", 0.5, current=True)
    # c: never scored.
    for hours, kind, learner in [
        (1, "login", a),
        (2, "login", a),
        (3, "content_view", b),
        (30, "login", b),  # the next day
        (-2, "forum_post", c),  # the day before
    ]:
        ActivityEventFactory(
            learner=learner, kind=kind, occurred_at=DAY_START + timedelta(hours=hours)
        )
    raised = RiskAlert.objects.create(learner=a, score=0.9, as_of=DAY_START + timedelta(hours=23))
    RiskAlert.objects.filter(pk=raised.pk).update(created_at=DAY_START + timedelta(hours=23))
    delivered = RiskAlert.objects.create(
        learner=b,
        score=0.9,
        as_of=DAY_START,
        status=RiskAlertStatus.DELIVERED,
        digested_at=DAY_START + timedelta(days=1, hours=6),
    )
    RiskAlert.objects.filter(pk=delivered.pk).update(created_at=DAY_START + timedelta(hours=1))
    return {"a": a, "b": b, "c": c}


def test_a_day_counts_as_of_its_end(world: dict[str, Any]) -> None:
    _day_world(world)
    assert snapshots_write(DAY, now=NOW) == 2
    row = DailySnapshot.objects.get(cohort=world["cohort"], day=DAY)
    assert (row.learners, row.studying, row.completed, row.withdrawn) == (4, 3, 1, 0)
    assert (row.high, row.medium, row.low, row.unscored) == (1, 1, 0, 1)
    assert row.active_learners == 2
    assert (row.events_total, row.events_login, row.events_content_view) == (3, 2, 1)
    assert row.events_forum_post == 0
    # The alert raised at 23:00 is waiting; the one delivered on the 9th was waiting then too.
    assert row.alerts_waiting == 2
    assert row.as_of == DAY_START + timedelta(days=1)
    other = DailySnapshot.objects.get(cohort=world["other"], day=DAY)
    assert (other.learners, other.studying, other.unscored, other.events_total) == (1, 1, 1, 0)


def test_today_counts_as_of_now(world: dict[str, Any]) -> None:
    _day_world(world)
    snapshots_write(now=NOW)
    row = DailySnapshot.objects.get(cohort=world["cohort"], day=NOW.date())
    assert row.as_of == NOW
    # c withdrew on the 9th; a is low since the 9th; the delivered alert is no longer waiting.
    assert (row.studying, row.completed, row.withdrawn) == (3, 1, 1)
    assert (row.high, row.medium, row.low, row.unscored) == (0, 1, 1, 1)
    assert row.alerts_waiting == 1


def test_rewriting_a_day_replaces_it(world: dict[str, Any]) -> None:
    people = _day_world(world)
    snapshots_write(DAY, now=NOW)
    first = DailySnapshot.objects.get(cohort=world["cohort"], day=DAY)
    ActivityEventFactory(learner=people["b"], kind="login", occurred_at=DAY_START)
    snapshots_write(DAY, now=NOW + timedelta(minutes=5))
    assert DailySnapshot.objects.filter(day=DAY).count() == 2
    again = DailySnapshot.objects.get(cohort=world["cohort"], day=DAY)
    assert again.pk == first.pk
    assert (again.events_total, again.events_login) == (4, 3)
    assert again.computed_at == NOW + timedelta(minutes=5)


def test_backfill_takes_each_band_as_of_the_end_of_its_day(world: dict[str, Any]) -> None:
    _day_world(world)
    assert (
        snapshots_backfill(since=DAY - timedelta(days=2), until=DAY + timedelta(days=1), now=NOW)
        == 4
    )
    bands = {
        row.day: (row.high, row.medium, row.low, row.unscored)
        for row in DailySnapshot.objects.filter(cohort=world["cohort"])
    }
    assert bands == {
        # Before the 7th, the learner who completed then was still studying (not scored).
        date(2026, 11, 6): (0, 1, 1, 2),
        date(2026, 11, 7): (0, 1, 1, 1),
        date(2026, 11, 8): (1, 1, 0, 1),
        # c withdrew; the learner enrolled on the 9th is not scored yet.
        date(2026, 11, 9): (0, 1, 1, 1),
    }


def test_backfill_stops_at_today(world: dict[str, Any]) -> None:
    assert snapshots_backfill(since=NOW.date(), until=NOW.date() + timedelta(days=5), now=NOW) == 1


def _grow(world: dict[str, Any], learners: int) -> None:
    for index in range(learners):
        learner = LearnerFactory(cohort=world["cohort"], enrolled_at=world["enrolled"])
        assess(learner, world["model"], DAY_START, ["low", "high"][index % 2], 0.5, current=True)
        ActivityEventFactory(learner=learner, kind="login", occurred_at=DAY_START)


def test_a_day_takes_the_same_queries_whatever_the_data(
    world: dict[str, Any], django_assert_num_queries: Any
) -> None:
    _grow(world, 2)
    with django_assert_num_queries(7):
        snapshots_write(DAY, now=NOW)
    _grow(world, 12)
    from tests.factories import CohortFactory

    CohortFactory.create_batch(3)
    with django_assert_num_queries(7):
        snapshots_write(DAY, now=NOW)


def test_backfill_takes_a_few_queries_per_day(
    world: dict[str, Any], django_assert_num_queries: Any
) -> None:
    _grow(world, 10)
    with django_assert_num_queries(7 * 5):
        snapshots_backfill(since=DAY - timedelta(days=4), until=DAY, now=NOW)


def test_refresh_writes_yesterday_and_today(world: dict[str, Any]) -> None:
    assert snapshots_refresh(days=2, now=NOW) == 2
    assert set(DailySnapshot.objects.values_list("day", flat=True)) == {
        NOW.date(),
        NOW.date() - timedelta(days=1),
    }


def test_the_schedule_is_registered() -> None:
    for name, entry in BEAT_SCHEDULE.items():
        assert registry.beat_schedule[name] is entry
        assert entry["task"] == "analytics.snapshots_refresh"
    assert BEAT_SCHEDULE["analytics-snapshots-nightly"]["kwargs"] == {"days": 2}
    from analytics.tasks import snapshots_refresh_task

    assert snapshots_refresh_task.name == "analytics.snapshots_refresh"


def test_the_task_refreshes_today(world: dict[str, Any]) -> None:
    from analytics.tasks import snapshots_refresh_task

    assert snapshots_refresh_task.delay(days=1).get() == 1
    assert DailySnapshot.objects.count() == 2


def test_backfill_command(world: dict[str, Any], capsys: Any) -> None:
    call_command("backfill_snapshots", "--since", "2026-01-01", "--until", "2026-01-03")
    assert "3 days" in capsys.readouterr().out
    assert DailySnapshot.objects.count() == 6
    call_command("backfill_snapshots", "--days", "2")
    assert DailySnapshot.objects.count() == 10


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "Give --days or --since"),
        (["--days", "0"], "--days"),
        (["--since", "yesterday"], "--since"),
        (["--since", "2026-01-05", "--until", "2026-01-01"], "must not be after"),
        (["--days", "3", "--since", "2026-01-01"], "not both"),
    ],
)
def test_backfill_command_refuses_bad_input(args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        call_command("backfill_snapshots", *args)
