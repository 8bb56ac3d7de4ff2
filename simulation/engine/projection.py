"""Monte Carlo projection of risk on arrays (no Django here).

Each learner keeps their own recent rates: the events of a week are a Poisson draw with the
learner's mean weekly count of their last 28 days, shared among the kinds of event (logins,
lessons, scored assessments, ...) in the learner's own recent proportions (the expected counts
per kind given the week's total: one draw a week, not one per kind); time on task and
assessment scores stay at the learner's recent means. Week by week the raw facts roll forward
(the 7-day and previous 21-day windows, 14 days of active days, 30-day windows kept as the last
four weeks, totals since enrolment, days inactive, tenure and expected progress) and every run
is rescored at once. Within a week, events are spread evenly: a week with ``n`` events has the
days ``7 * (1 - (6/7)**n)`` active and the last one ``7 / (n + 1)`` days before its end, their
expected values. Windows before the start are taken as evenly spread over their weeks. A learner
with no recent activity stays with none: their days inactive grow by 7 a week.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from simulation.engine.what_if import HISTOGRAM_BINS, histogram

WEEK = 7.0
PERCENTILES = (5, 25, 50, 75, 95)
#: Rows (learner x run) rolled and scored at once: small enough for the arrays to stay in cache.
CHUNK_ROWS = 50_000
PROGRESS_STEP = 0.01

#: Draw groups: the event kinds drawn together, and the per-kind total (column of
#: ``kind_totals``, in ``features.KIND_TOTALS`` order) they add to (``None``: none).
GROUPS: Mapping[str, int | None] = {
    "login": 0,
    "content": 1,
    "video": 2,
    "lesson": 3,
    "assessment_scored": 4,
    "assessment_other": 4,
    "forum": 5,
    "other": None,
}
TOTAL_COLUMNS = 6
LOG_IDLE_DAY = float(np.log(6.0 / 7.0))  # a day without any of a week's events, per event


@dataclass(frozen=True)
class Start:
    """Where each learner starts (arrays of one row per learner): ``facts`` holds the numeric
    ``RawFacts`` columns (``kind_totals`` as a (learners, 6) array, NaN for a missing mean);
    ``weekly`` the mean events a week per group of ``GROUPS``; ``seconds_per_event`` the mean
    time on task of an event that is not ``other``; ``score_mean`` the recent mean assessment
    score (NaN: none); ``progress_per_week`` the expected progress a week adds."""

    facts: Mapping[str, np.ndarray]
    weekly: Mapping[str, np.ndarray]
    seconds_per_event: np.ndarray
    score_mean: np.ndarray
    progress_per_week: np.ndarray

    def __len__(self) -> int:
        return len(self.seconds_per_event)


#: ``score(facts, learners)``: the scores of rows of facts, row ``r`` of learner ``learners[r]``.
Scorer = Callable[[Mapping[str, np.ndarray], np.ndarray], np.ndarray]


def _rows(values: np.ndarray, runs: int) -> np.ndarray:
    """Each learner's value once per run (a learner's runs next to each other)."""
    return np.repeat(np.asarray(values, dtype=float), runs, axis=0)


def _total(weeks: list[np.ndarray]) -> np.ndarray:
    """A window's count: the sum of its weeks."""
    total = weeks[0] + weeks[1]
    for week in weeks[2:]:
        total += week
    return total


class _Chunk:
    """The facts of a chunk of learners in every run, rolled a week at a time."""

    def __init__(self, start: Start, learners: np.ndarray, runs: int) -> None:
        facts = {name: _rows(column[learners], runs) for name, column in start.facts.items()}
        self.facts = facts
        self.learners = np.repeat(learners, runs)
        rates = {name: rate[learners] for name, rate in start.weekly.items()}
        total = sum(rates.values(), np.zeros(len(learners)))
        self.rate = _rows(total, runs)
        self.drawn = np.flatnonzero(self.rate > 0)

        def share(*names: str) -> np.ndarray:
            part = sum((rates[name] for name in names), np.zeros(len(learners)))
            return _rows(np.divide(part, total, out=np.zeros(len(learners)), where=total > 0), runs)

        self.lessons = share("lesson")
        self.forum_share = share("forum")
        self.scored = share("assessment_scored")
        self.on_task = share(*(name for name in GROUPS if name != "other"))
        self.totals = np.column_stack(
            [
                share(*(name for name, at in GROUPS.items() if at == column))
                for column in range(TOTAL_COLUMNS)
            ]
        )
        self.seconds_per_event = _rows(start.seconds_per_event[learners], runs) * self.on_task
        self.score_mean = np.nan_to_num(_rows(start.score_mean[learners], runs))
        self.last_seen = np.nan_to_num(facts["days_since_last_event"])
        self.progress_per_week = _rows(start.progress_per_week[learners], runs)
        thirds = facts["events_prev_21"] / 3
        self.events = [facts["events_7"], thirds, thirds, thirds]  # this week first
        seconds = facts["seconds_prev_21"] / 3
        self.seconds = [facts["seconds_7"], seconds, seconds, seconds]
        self.active = [facts["active_days_14"] / 2] * 2
        count = facts["assessment_count_30"]
        score_sum = np.nan_to_num(facts["assessment_mean_30"] * count)
        self.assessed = [count / 4] * 4
        self.score_sums = [score_sum / 4] * 4
        self.forum = [facts["forum_posts_30"] / 4] * 4

    def week(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Draw one week and roll the facts forward; returns them."""
        size = len(self.learners)
        events = np.zeros(size)
        events[self.drawn] = rng.poisson(self.rate[self.drawn])
        facts = self.facts
        active = WEEK * (1.0 - np.exp(events * LOG_IDLE_DAY))
        some = events > 0
        gap = WEEK / (events + 1.0)
        # Without an earlier event, span and days since it are 0: the span is the week's.
        facts["span_days"] = np.where(
            some & (facts["enrolled_events"] + events >= 2),
            facts["span_days"] + self.last_seen + WEEK - gap,
            facts["span_days"],
        )
        self.last_seen = np.where(some, gap, self.last_seen + WEEK)
        facts["days_since_last_event"] = self.last_seen
        facts["days_inactive"] = np.where(some, gap, facts["days_inactive"] + WEEK)
        facts["tenure_days"] = facts["tenure_days"] + WEEK
        facts["expected_progress"] = np.minimum(
            facts["expected_progress"] + self.progress_per_week, 1.0
        )
        facts["lessons"] = facts["lessons"] + events * self.lessons
        facts["events_total"] = facts["events_total"] + events
        facts["enrolled_events"] = facts["enrolled_events"] + events
        facts["enrolled_active_days"] = facts["enrolled_active_days"] + active
        facts["kind_totals"] = facts["kind_totals"] + events[:, None] * self.totals
        self.events = [events, *self.events[:3]]
        self.seconds = [events * self.seconds_per_event, *self.seconds[:3]]
        self.active = [active, self.active[0]]
        scored = events * self.scored
        self.assessed = [scored, *self.assessed[:3]]
        self.score_sums = [scored * self.score_mean, *self.score_sums[:3]]
        self.forum = [events * self.forum_share, *self.forum[:3]]
        count, score_sum = _total(self.assessed), _total(self.score_sums)
        facts["events_7"] = events
        facts["events_prev_21"] = self.events[1] + self.events[2] + self.events[3]
        facts["seconds_7"] = self.seconds[0]
        facts["seconds_prev_21"] = self.seconds[1] + self.seconds[2] + self.seconds[3]
        facts["active_days_14"] = self.active[0] + self.active[1]
        facts["assessment_count_30"] = count
        facts["assessment_mean_30"] = np.divide(
            score_sum, count, out=np.full(size, np.nan), where=count > 0
        )
        facts["forum_posts_30"] = _total(self.forum)
        return facts


def _stats(counts: np.ndarray) -> dict[str, float]:
    """Mean and percentiles of a count over the runs."""
    percentiles = np.percentile(counts, PERCENTILES)
    return {
        "mean": round(float(counts.mean()), 4),
        **{f"p{p}": round(float(v), 2) for p, v in zip(PERCENTILES, percentiles, strict=True)},
    }


def project(
    start: Start,
    *,
    weeks: int,
    runs: int,
    rng: np.random.Generator,
    score: Scorer,
    thresholds: Mapping[str, float],
    progress: Callable[[float], None],
) -> dict[str, Any]:
    """Per week, the high and medium counts over ``runs`` runs (mean and percentiles), and the
    final week's mean distribution of scores."""
    high = np.zeros((runs, weeks), dtype=np.int64)
    medium = np.zeros((runs, weeks), dtype=np.int64)
    final = np.zeros(HISTOGRAM_BINS)
    per_chunk = max(CHUNK_ROWS // runs, 1)
    reported = 0.0
    chunks = range(0, len(start), per_chunk)
    for done, first in enumerate(chunks):
        chunk = _Chunk(start, np.arange(first, min(first + per_chunk, len(start))), runs)
        for week in range(weeks):
            scores = score(chunk.week(rng), chunk.learners).reshape(-1, runs)
            high[:, week] += (scores >= thresholds["high"]).sum(axis=0)
            medium[:, week] += (
                (scores >= thresholds["medium"]) & (scores < thresholds["high"])
            ).sum(axis=0)
            fraction = (done * weeks + week + 1) / (len(chunks) * weeks)
            if fraction - reported >= PROGRESS_STEP or fraction == 1.0:
                progress(fraction)  # a hundred reports at most: each may write the job
                reported = fraction
        final += histogram(scores.ravel())
    return {
        "per_week": [
            {"week": week + 1, "high": _stats(high[:, week]), "medium": _stats(medium[:, week])}
            for week in range(weeks)
        ],
        "final_distribution": [round(count / runs, 4) for count in final.tolist()],
    }
