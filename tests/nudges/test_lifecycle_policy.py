"""The contact policy: each rule, quiet hours across time zones and DST, set-based batches."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from learners.models import LearnerStatus
from nudges.models import Category, Channel, ContactOptOut
from nudges.policy import (
    SEND_NOW,
    Decision,
    Rule,
    is_near_duplicate,
    normalised_text,
    policy_decide,
    quiet_hours_end,
)
from tests.factories import LearnerFactory
from tests.nudges.lifecycle_factories import NOON, make_nudge, pin_policy, sent_nudge

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _policy(settings: Any) -> None:
    pin_policy(settings)


def decide(nudge: Any, now: datetime = NOON) -> Decision:
    return policy_decide([nudge], now=now)[nudge.pk]


def test_a_studying_learner_with_no_history_is_sent_to_now() -> None:
    assert decide(make_nudge()) == SEND_NOW


@pytest.mark.parametrize("status", [LearnerStatus.COMPLETED, LearnerStatus.WITHDRAWN])
def test_finished_learners_are_never_nudged(status: str) -> None:
    learner = LearnerFactory(status=status, finished_at=datetime(2026, 10, 1, tzinfo=UTC))
    assert decide(make_nudge(learner=learner)) == Decision(Rule.FINISHED)


def test_a_learner_who_opted_out_of_everything_is_not_nudged() -> None:
    nudge = make_nudge(learner=LearnerFactory(nudge_opt_out=True))
    assert decide(nudge) == Decision(Rule.OPTED_OUT)


def test_an_opt_out_of_one_category_stops_that_category_only() -> None:
    learner = LearnerFactory()
    ContactOptOut.objects.create(learner=learner, category=Category.PROGRESS, source="staff")
    progress = make_nudge(learner=learner, category=Category.PROGRESS)
    reengagement = make_nudge(learner=learner, category=Category.REENGAGEMENT)

    decisions = policy_decide([progress, reengagement], now=NOON)

    assert decisions[progress.pk] == Decision(Rule.CATEGORY_OPT_OUT)
    assert decisions[reengagement.pk] == SEND_NOW


def test_an_email_needs_an_address_but_an_in_app_message_does_not() -> None:
    learner = LearnerFactory(email="")
    assert decide(make_nudge(learner=learner)) == Decision(Rule.NO_ADDRESS)
    assert decide(make_nudge(learner=learner, channel=Channel.IN_APP)) == SEND_NOW


def test_at_most_k_per_rolling_seven_days(settings: Any) -> None:
    settings.NUDGE_MIN_GAP_HOURS = 0
    learner = LearnerFactory()
    sent_nudge(learner, NOON - timedelta(days=6, hours=23))
    sent_nudge(learner, NOON - timedelta(days=2))

    assert decide(make_nudge(learner=learner)) == Decision(Rule.WEEKLY_LIMIT)
    # An hour later the oldest is more than 7 days old: the window rolls.
    assert decide(make_nudge(learner=learner), NOON + timedelta(hours=1)) == SEND_NOW


def test_a_minimum_gap_after_the_last_one() -> None:
    learner = LearnerFactory()
    sent_nudge(learner, NOON - timedelta(hours=47))

    assert decide(make_nudge(learner=learner)) == Decision(Rule.MIN_GAP)
    assert decide(make_nudge(learner=learner), NOON + timedelta(hours=1, minutes=1)) == SEND_NOW


def test_no_near_duplicate_of_a_recent_message(settings: Any) -> None:
    settings.NUDGE_MIN_GAP_HOURS = 0
    learner = LearnerFactory()
    sent_nudge(
        learner,
        NOON - timedelta(days=10),
        subject="Ada, your course misses you",
        body="Ten minutes today on lesson 4 would get you back on track.",
    )
    same_but_punctuated = make_nudge(
        learner=learner,
        subject="ADA - your course misses you!",
        body="Ten minutes today on lesson 4 would get you back on track!!",
    )
    different = make_nudge(
        learner=learner, subject="New quiz", body="A short quiz on chapter 2 opened this morning."
    )

    decisions = policy_decide([same_but_punctuated, different], now=NOON)

    assert decisions[same_but_punctuated.pk] == Decision(Rule.DUPLICATE)
    assert decisions[different.pk] == SEND_NOW
    # Past NUDGE_DUPLICATE_DAYS, the same text may go again.
    assert decide(same_but_punctuated, NOON + timedelta(days=21)) == SEND_NOW


def test_text_is_compared_normalised() -> None:
    assert normalised_text("Hello,  World!", "Line\ntwo.") == "hello world line two"
    long = "ten minutes today on lesson four would get you back on track with the course"
    assert is_near_duplicate(long, long.replace("four", "five"))
    assert not is_near_duplicate("hello world", "a different message entirely")


def test_rules_are_checked_in_order_and_history_of_others_does_not_count() -> None:
    opted = LearnerFactory(nudge_opt_out=True)
    sent_nudge(opted, NOON - timedelta(hours=1))
    other = LearnerFactory()
    sent_nudge(LearnerFactory(), NOON - timedelta(hours=1))

    assert decide(make_nudge(learner=opted)) == Decision(Rule.OPTED_OUT)
    assert decide(make_nudge(learner=other)) == SEND_NOW


def test_a_batch_counts_its_own_nudges_against_each_other() -> None:
    learner = LearnerFactory()
    first, second = make_nudge(learner=learner), make_nudge(learner=learner)

    decisions = policy_decide([first, second], now=NOON)

    assert decisions[first.pk] == SEND_NOW
    assert decisions[second.pk] == Decision(Rule.MIN_GAP)


def test_the_policy_is_set_based(django_assert_num_queries: Any) -> None:
    nudges = [make_nudge() for _ in range(3)]
    with django_assert_num_queries(3):
        policy_decide(nudges, now=NOON)
    many = nudges + [make_nudge() for _ in range(12)]
    for nudge in many:
        sent_nudge(nudge.learner, NOON - timedelta(days=3))
    with django_assert_num_queries(3):
        decisions = policy_decide(many, now=NOON)
    assert {decision.rule for decision in decisions.values()} == {""}


# Quiet hours ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "now", "expected"),
    [
        # 22:30 in Paris (CEST, UTC+2): tomorrow 08:00 Paris = 06:00 UTC.
        (
            "Europe/Paris",
            datetime(2026, 6, 10, 20, 30, tzinfo=UTC),
            datetime(2026, 6, 11, 6, 0, tzinfo=UTC),
        ),
        # 06:00 in Paris: today 08:00 Paris.
        (
            "Europe/Paris",
            datetime(2026, 6, 10, 4, 0, tzinfo=UTC),
            datetime(2026, 6, 10, 6, 0, tzinfo=UTC),
        ),
        # 21:00 sharp in New York (EDT, UTC-4) is quiet; 08:00 EDT = 12:00 UTC the next day.
        (
            "America/New_York",
            datetime(2026, 6, 11, 1, 0, tzinfo=UTC),
            datetime(2026, 6, 11, 12, 0, tzinfo=UTC),
        ),
        # 23:00 in Tokyo (UTC+9, no DST): 08:00 Tokyo = 23:00 UTC.
        (
            "Asia/Tokyo",
            datetime(2026, 6, 10, 14, 0, tzinfo=UTC),
            datetime(2026, 6, 10, 23, 0, tzinfo=UTC),
        ),
        # 20:45 in Kolkata (UTC+5:30) is not quiet yet.
        ("Asia/Kolkata", datetime(2026, 6, 10, 15, 15, tzinfo=UTC), None),
        # 08:00 sharp is allowed again.
        ("UTC", datetime(2026, 6, 10, 8, 0, tzinfo=UTC), None),
    ],
)
def test_quiet_hours_in_the_learners_time_zone(
    zone: str, now: datetime, expected: datetime | None
) -> None:
    assert quiet_hours_end(now=now, zone_name=zone) == expected


def test_quiet_hours_end_on_the_night_clocks_go_forward_in_europe() -> None:
    # 29 March 2026, 02:00 CET -> 03:00 CEST. 23:00 CET on the 28th = 22:00 UTC; the night is an
    # hour short, and 08:00 CEST on the 29th is 06:00 UTC, not 07:00.
    end = quiet_hours_end(now=datetime(2026, 3, 28, 22, 0, tzinfo=UTC), zone_name="Europe/Paris")
    assert end == datetime(2026, 3, 29, 6, 0, tzinfo=UTC)


def test_quiet_hours_end_on_the_night_clocks_go_back_in_the_us() -> None:
    # 1 November 2026, 02:00 EDT -> 01:00 EST. 22:00 EDT on the 31st = 02:00 UTC; 08:00 EST on
    # the 1st is 13:00 UTC, not 12:00.
    end = quiet_hours_end(now=datetime(2026, 11, 1, 2, 0, tzinfo=UTC), zone_name="America/New_York")
    assert end == datetime(2026, 11, 1, 13, 0, tzinfo=UTC)


def test_quiet_hours_ending_inside_a_skipped_hour_end_after_it(settings: Any) -> None:
    # Quiet until 02:00, which does not exist in Paris on 29 March 2026: the clock jumps from
    # 01:59:59 CET (00:59:59 UTC) to 03:00 CEST (01:00 UTC).
    settings.NUDGE_QUIET_HOURS_START, settings.NUDGE_QUIET_HOURS_END = 23, 2
    end = quiet_hours_end(now=datetime(2026, 3, 28, 23, 30, tzinfo=UTC), zone_name="Europe/Paris")
    assert end == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)


def test_quiet_hours_within_one_day_and_none(settings: Any) -> None:
    settings.NUDGE_QUIET_HOURS_START, settings.NUDGE_QUIET_HOURS_END = 12, 14
    assert quiet_hours_end(now=NOON, zone_name="UTC") == NOON + timedelta(hours=2)
    assert quiet_hours_end(now=NOON - timedelta(hours=1), zone_name="UTC") is None
    settings.NUDGE_QUIET_HOURS_START = settings.NUDGE_QUIET_HOURS_END = 0
    assert quiet_hours_end(now=NOON, zone_name="UTC") is None


def test_a_nudge_in_quiet_hours_is_deferred_not_dropped() -> None:
    learner = LearnerFactory(timezone="Asia/Tokyo")  # 12:00 UTC is 21:00 in Tokyo
    decision = decide(make_nudge(learner=learner))
    assert decision == Decision(Rule.QUIET_HOURS, datetime(2026, 10, 14, 23, 0, tzinfo=UTC))
    assert decision.deferred and not decision.suppressed


def test_suppression_rules_win_over_quiet_hours() -> None:
    learner = LearnerFactory(timezone="Asia/Tokyo", nudge_opt_out=True)
    assert decide(make_nudge(learner=learner)) == Decision(Rule.OPTED_OUT)
