"""Plain-language factor explanations, worded when an assessment is read.

Stored factors hold numbers; the facts behind them (the learner's and the cohort's typical
values) are stored beside them in the assessment's ``features["raw"]``. Wording them on read
keeps a batch rescore from formatting text for every factor of every learner, and lets the
wording improve without rewriting history.
"""

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django.utils.translation import gettext_lazy as _

from engagement.wording import counted
from learners.risk.features import FIRST_WEEK_DAYS, NEW_LEARNER_DAYS, kind_total_fact


def _pct(value: Any) -> str:
    return "n/a" if value is None else f"{float(value):.0%}"


def _assessments(raw: Mapping[str, Any], value: float) -> str:
    if raw["assessment_mean_30"] is None:
        return f"No assessment in the last 30 days: counted at the cohort average {_pct(value)}"
    return (
        f"Average assessment score {_pct(raw['assessment_mean_30'])} over 30 days — cohort "
        f"average {_pct(raw['typical_assessment'])}"
    )


def _time_on_task(raw: Mapping[str, Any], value: float) -> str:
    if "hours_7" not in raw:  # assessments stored before the hours were kept
        return "Time spent learning this week compared with the three weeks before"
    return (
        f"{raw['hours_7']:.1f} h of learning in the last 7 days against "
        f"{raw['hours_prev_21']:.1f} h in the 21 before"
    )


def _tenure(raw: Mapping[str, Any], value: float) -> str:
    """Days enrolled: rounded as the other factors show them, but down while the "under 7 days"
    rule holds the score back."""
    if not value:
        return f"Enrolled {counted(raw['tenure_days'], 'day')} ago: long enough for a firm score"
    days = math.floor(raw["tenure_days"])
    if days < NEW_LEARNER_DAYS or raw.get("events_total", 0) >= 3:
        # Tenure is stored to 0.1 day, so 6.96 days reads 7.0: the flag says under a week.
        days = min(days, int(NEW_LEARNER_DAYS) - 1)
        return (
            f"Enrolled {counted(days, 'day')} ago, under a week: too early for a firm score, "
            "so it is held back"
        )
    # Stored before new_learner meant short tenure only, when it also held back few events.
    return (
        f"Enrolled {counted(days, 'day')} ago with fewer than 3 actions: held back as tentative "
        "(a rule since retired)"
    )


def _since_enrolment(raw: Mapping[str, Any]) -> str:
    return f"the {counted(raw['elapsed_days'], 'day')} since enrolment"


def _first_week(raw: Mapping[str, Any], value: float) -> str:
    actions = counted(raw["first_week_events"], "action")
    if raw["elapsed_days"] < FIRST_WEEK_DAYS:
        return f"{actions} in {_since_enrolment(raw)} (the first week is not over)"
    return f"{actions} in the first week after enrolment"


def _span(raw: Mapping[str, Any], value: float) -> str:
    if raw["events_total"] < 2:
        return f"Fewer than two actions in {_since_enrolment(raw)}: no span of activity yet"
    return (
        f"First and last action {counted(raw['activity_span_days'], 'day')} apart, over "
        f"{_since_enrolment(raw)}; the last was {counted(raw['days_since_last_event'], 'day')} ago"
    )


def _kind_total(feature: str, singular: str, plural: str = "") -> Callable[..., str]:
    fact = kind_total_fact(feature)
    return lambda raw, value: f"{counted(raw[fact], singular, plural)} since enrolment"


# Each takes the stored facts and the factor's model input.
EXPLANATIONS: dict[str, Callable[[Mapping[str, Any], float], str]] = {
    "days_inactive": lambda raw, value: (
        f"No activity for {counted(raw['days_inactive'], 'day')} — typical for this cohort is "
        f"{raw['typical_days_inactive']:.0f}"
    ),
    "active_days_ratio": lambda raw, value: (
        f"Active on {raw['active_days_14']} of the last 14 days — typical for this cohort is "
        f"{raw['typical_active_days_14']:.0f}"
    ),
    "activity_trend": lambda raw, value: (
        f"{counted(raw['events_7'], 'action')} in the last 7 days against {raw['events_prev_21']} in the 21 before"
    ),
    "assessment_mean": _assessments,
    "assessment_count": lambda raw, value: (
        f"{counted(raw['assessment_count_30'], 'assessment')} in the last 30 days"
    ),
    "time_trend": _time_on_task,
    "social": lambda raw, value: (
        f"{counted(raw['forum_posts_30'], 'forum post')} in the last 30 days"
    ),
    "progress_gap": lambda raw, value: (
        f"Progress {_pct(raw['actual_progress'])} where {_pct(raw['expected_progress'])} is expected by now"
    ),
    "new_learner": _tenure,
    "events_log": lambda raw, value: (
        f"{counted(raw['events_total'], 'action')} in {_since_enrolment(raw)}"
    ),
    "events_vs_peers": lambda raw, value: (
        f"{counted(raw['events_total'], 'action')} since enrolment — peers typically "
        f"{raw['typical_events_total']:.0f}"
    ),
    "active_days_log": lambda raw, value: (
        f"Active on {raw['active_days_total']} of {_since_enrolment(raw)}"
    ),
    "active_days_vs_peers": lambda raw, value: (
        f"Active on {counted(raw['active_days_total'], 'day')} since enrolment — peers typically "
        f"{raw['typical_active_days_total']:.0f}"
    ),
    "active_share": lambda raw, value: f"Active on {_pct(value)} of {_since_enrolment(raw)}",
    "first_week_events_log": _first_week,
    "activity_span_share": _span,
    "logins_log": _kind_total("logins_log", "login"),
    "content_log": _kind_total("content_log", "content view"),
    "videos_log": _kind_total("videos_log", "video watched", "videos watched"),
    "lessons_log": _kind_total("lessons_log", "lesson completed", "lessons completed"),
    "assessments_log": _kind_total("assessments_log", "assessment"),
    "forum_log": _kind_total("forum_log", "forum post"),
}


def explain(name: str, raw: Mapping[str, Any], value: float) -> str:
    """Plain language a coach can act on, with the cohort's typical value for comparison."""
    return EXPLANATIONS[name](raw, value)


def explained_factors(
    factors: Iterable[Mapping[str, Any]], raw: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """Stored factors (largest push towards risk first) with their plain-language explanation."""
    return [
        {**factor, "explanation": explain(factor["factor"], raw, factor["value"])}
        for factor in factors
    ]


def assessment_factors(assessment: Any) -> list[dict[str, Any]]:
    """A stored assessment's factors, each with its explanation (see ``explained_factors``)."""
    return explained_factors(assessment.factors, assessment.features["raw"])


# Words for pages: what each factor is about, and what its lever asks of the learner. ---------

#: Each model input named for a coach (``FEATURE_NAMES``; a test checks none is missing).
FACTOR_LABELS: dict[str, Any] = {
    "days_inactive": _("Days without activity"),
    "active_days_ratio": _("Active days in the last two weeks"),
    "activity_trend": _("Activity this week against the weeks before"),
    "assessment_mean": _("Assessment scores"),
    "assessment_count": _("Assessments in the last 30 days"),
    "time_trend": _("Time spent learning this week"),
    "social": _("Forum participation"),
    "progress_gap": _("Progress against the schedule"),
    "new_learner": _("Time since enrolment"),
    "events_log": _("Actions since enrolment"),
    "events_vs_peers": _("Actions compared with peers"),
    "active_days_log": _("Active days since enrolment"),
    "active_days_vs_peers": _("Active days compared with peers"),
    "active_share": _("Share of days active"),
    "first_week_events_log": _("Actions in the first week"),
    "activity_span_share": _("Span of activity"),
    "logins_log": _("Logins"),
    "content_log": _("Content viewed"),
    "videos_log": _("Videos watched"),
    "lessons_log": _("Lessons completed"),
    "assessments_log": _("Assessments since enrolment"),
    "forum_log": _("Forum posts"),
}

#: What each lever of ``learners.risk.model.LEVERS`` asks for, in words (same keys; tested).
LEVER_ADVICE: dict[str, Any] = {
    "days_inactive": _("Get back to the course today"),
    "active_days_ratio": _("Study on as many days as is typical for the cohort"),
    "activity_trend": _("Keep this week as busy as the weeks before"),
    "assessment_mean": _("Raise assessment scores by about 15 points"),
    "assessment_count": _("Take one more assessment"),
    "social": _("Post in the forum at least twice this month"),
    "progress_gap": _("Catch up 15 points of progress on the schedule"),
    "events_log": _("About one learning action a day for two weeks"),
    "active_days_log": _("Two study days a week for two weeks"),
    "logins_log": _("Four more logins"),
    "content_log": _("Ten more content views"),
    "videos_log": _("Four more videos watched"),
    "lessons_log": _("Three more lessons completed"),
    "assessments_log": _("Two more assessments"),
    "forum_log": _("Two more forum posts"),
}


def factor_label(name: str) -> str:
    """A factor's name for people; an unknown one (from a newer model) as its key, readable."""
    return str(FACTOR_LABELS.get(name, name.replace("_", " ").capitalize()))


def top_factor_explanation(assessment: Any) -> str:
    """The wording of the factor pushing hardest towards risk (largest positive contribution),
    or ``""`` when no factor raises it: the one line a caseload table has room for."""
    raising = [factor for factor in assessment.factors if factor["contribution"] > 0]
    if not raising:
        return ""
    top = max(raising, key=lambda factor: factor["contribution"])
    return explain(top["factor"], assessment.features["raw"], top["value"])
