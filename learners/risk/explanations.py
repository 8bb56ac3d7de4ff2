"""Plain-language factor explanations, worded when an assessment is read.

Stored factors hold numbers; the facts behind them (the learner's and the cohort's typical
values) are stored beside them in the assessment's ``features["raw"]``. Wording them on read
keeps a batch rescore from formatting text for every factor of every learner, and lets the
wording improve without rewriting history.
"""

from collections.abc import Iterable, Mapping
from typing import Any


def _pct(value: Any) -> str:
    return "n/a" if value is None else f"{float(value):.0%}"


EXPLANATIONS: dict[str, Any] = {
    "days_inactive": lambda raw: (
        f"No activity for {raw['days_inactive']:.0f} days — typical for this cohort is "
        f"{raw['typical_days_inactive']:.0f}"
    ),
    "active_days_ratio": lambda raw: (
        f"Active on {raw['active_days_14']} of the last 14 days — typical for this cohort is "
        f"{raw['typical_active_days_14']:.0f}"
    ),
    "activity_trend": lambda raw: (
        f"{raw['events_7']} actions in the last 7 days against {raw['events_prev_21']} in the 21 before"
    ),
    "assessment_mean": lambda raw: (
        f"Average assessment score {_pct(raw['assessment_mean_30'])} over 30 days — cohort average "
        f"{_pct(raw['typical_assessment'])}"
    ),
    "assessment_count": lambda raw: f"{raw['assessment_count_30']} assessments in the last 30 days",
    "time_trend": lambda raw: "Time spent learning this week compared with the three weeks before",
    "social": lambda raw: f"{raw['forum_posts_30']} forum posts in the last 30 days",
    "progress_gap": lambda raw: (
        f"Progress {_pct(raw['actual_progress'])} where {_pct(raw['expected_progress'])} is expected by now"
    ),
    "new_learner": lambda raw: (
        f"Enrolled {raw['tenure_days']:.0f} days ago: little data yet, so this score is tentative"
    ),
}


def explain(name: str, raw: Mapping[str, Any]) -> str:
    """Plain language a coach can act on, with the cohort's typical value for comparison."""
    return str(EXPLANATIONS[name](raw))


def explained_factors(
    factors: Iterable[Mapping[str, Any]], raw: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """Stored factors (largest push towards risk first) with their plain-language explanation."""
    return [{**factor, "explanation": explain(factor["factor"], raw)} for factor in factors]
