"""Factor explanations: worded on read from the stored facts and the factor's own value."""

from typing import Any

import pytest

from learners.risk.explanations import EXPLANATIONS, explain, explained_factors
from learners.risk.features import FEATURE_NAMES
from tests.learners.risk.test_model import RAW

FULL_RAW = {**RAW, "hours_7": 0.5, "hours_prev_21": 6.25}


def test_every_model_input_has_an_explanation() -> None:
    assert set(EXPLANATIONS) == set(FEATURE_NAMES)
    for name in FEATURE_NAMES:
        assert explain(name, FULL_RAW, 0.0)


@pytest.mark.parametrize(
    ("name", "raw", "value", "expected"),
    [
        (
            "days_inactive",
            FULL_RAW,
            12.0,
            "No activity for 12 days — typical for this cohort is 2",
        ),
        (
            "time_trend",
            FULL_RAW,
            -1.0,
            "0.5 h of learning in the last 7 days against 6.2 h in the 21 before",
        ),
        # Assessments stored before hours were kept still read sensibly.
        (
            "time_trend",
            RAW,
            -1.0,
            "Time spent learning this week compared with the three weeks before",
        ),
        (
            "assessment_mean",
            {**FULL_RAW, "assessment_mean_30": None},
            0.75,
            "No assessment in the last 30 days: counted at the cohort average 75%",
        ),
        (
            "assessment_mean",
            FULL_RAW,
            0.5,
            "Average assessment score 50% over 30 days — cohort average 75%",
        ),
        (
            "new_learner",
            {**FULL_RAW, "tenure_days": 3},
            1.0,
            "Enrolled 3 days ago, under a week: too early for a firm score, so it is held back",
        ),
        # Whole days, rounded down as the "under 7 days" rule counts them.
        ("new_learner", {**FULL_RAW, "tenure_days": 6.6}, 1.0, "Enrolled 6 days ago, under a"),
        ("new_learner", {**FULL_RAW, "tenure_days": 7.0}, 1.0, "Enrolled 6 days ago, under a"),
        ("new_learner", {**FULL_RAW, "tenure_days": 7.6}, 0.0, "Enrolled 8 days ago: long"),
        ("new_learner", FULL_RAW, 0.0, "Enrolled 40 days ago: long enough for a firm score"),
        # Stored when few events after weeks held the score back too.
        (
            "new_learner",
            {**FULL_RAW, "tenure_days": 95, "events_total": 0},
            1.0,
            "Enrolled 95 days ago with fewer than 3 actions: held back as tentative (a rule since",
        ),
        # One of a thing is singular, whatever the factor.
        ("days_inactive", {**FULL_RAW, "days_inactive": 1.2}, 1.2, "No activity for 1 day — "),
        ("new_learner", {**FULL_RAW, "tenure_days": 1}, 0.0, "Enrolled 1 day ago: "),
        ("assessment_count", {**FULL_RAW, "assessment_count_30": 1}, 1.0, "1 assessment in "),
        ("assessment_count", {**FULL_RAW, "assessment_count_30": 0}, 0.0, "0 assessments in "),
        ("social", {**FULL_RAW, "forum_posts_30": 1}, 1.0, "1 forum post in the last 30 days"),
        ("activity_trend", {**FULL_RAW, "events_7": 1}, 0.0, "1 action in the last 7 days "),
        # Engagement since enrolment, from the stored plain numbers.
        ("events_log", FULL_RAW, 3.4, "30 actions in the 40 days since enrolment"),
        ("events_vs_peers", FULL_RAW, -0.3, "30 actions since enrolment — peers typically 40"),
        ("active_days_log", FULL_RAW, 2.3, "Active on 9 of the 40 days since enrolment"),
        (
            "active_days_vs_peers",
            FULL_RAW,
            -0.4,
            "Active on 9 days since enrolment — peers typically 14",
        ),
        ("active_share", FULL_RAW, 0.225, "Active on 22% of the 40 days since enrolment"),
        ("first_week_events_log", FULL_RAW, 1.9, "6 actions in the first week after enrolment"),
        (
            "first_week_events_log",
            {**FULL_RAW, "elapsed_days": 3, "first_week_events": 1},
            0.7,
            "1 action in the 3 days since enrolment (the first week is not over)",
        ),
        (
            "activity_span_share",
            FULL_RAW,
            0.65,
            "First and last action 26 days apart, over the 40 days since enrolment; the last was "
            "12 days ago",
        ),
        (
            "activity_span_share",
            {**FULL_RAW, "events_total": 1},
            0.0,
            "Fewer than two actions in the 40 days since enrolment: no span of activity yet",
        ),
        ("logins_log", FULL_RAW, 2.3, "9 logins since enrolment"),
        ("videos_log", {**FULL_RAW, "videos_total": 1}, 0.7, "1 video watched since enrolment"),
        ("lessons_log", FULL_RAW, 1.6, "4 lessons completed since enrolment"),
        ("assessments_log", FULL_RAW, 0.7, "1 assessment since enrolment"),
        ("forum_log", FULL_RAW, 0.0, "0 forum posts since enrolment"),
        ("content_log", FULL_RAW, 2.6, "12 content views since enrolment"),
    ],
)
def test_wording(name: str, raw: dict[str, Any], value: float, expected: str) -> None:
    assert explain(name, raw, value).startswith(expected)


def test_explained_factors_keep_the_stored_numbers_and_order() -> None:
    stored = [
        {"factor": "days_inactive", "value": 12.0, "contribution": 1.2},
        {"factor": "new_learner", "value": 0.0, "contribution": 0.0},
    ]
    explained = explained_factors(stored, FULL_RAW)
    assert [{k: v for k, v in f.items() if k != "explanation"} for f in explained] == stored
    assert explained[1]["explanation"].endswith("long enough for a firm score")
