"""The projection's Monte Carlo on arrays: its mean matches the Poisson expectation."""

import math
from typing import Any

import numpy as np
import pytest

from simulation.engine import projection
from simulation.engine.projection import GROUPS, TOTAL_COLUMNS, Start, project

THRESHOLDS = {"medium": 0.4, "high": 0.5}
FACT_NAMES = (
    "days_inactive",
    "active_days_14",
    "events_7",
    "events_prev_21",
    "seconds_7",
    "seconds_prev_21",
    "assessment_mean_30",
    "assessment_count_30",
    "forum_posts_30",
    "lessons",
    "events_total",
    "tenure_days",
    "expected_progress",
    "enrolled_events",
    "enrolled_active_days",
    "first_week_events",
    "span_days",
    "days_since_last_event",
)


def start(rates: list[float]) -> Start:
    """Learners last active just now, with these weekly rates, all of logins."""
    size = len(rates)
    facts = {name: np.zeros(size) for name in FACT_NAMES}
    facts["assessment_mean_30"] = np.full(size, np.nan)
    facts["kind_totals"] = np.zeros((size, TOTAL_COLUMNS))
    weekly = {name: np.zeros(size) for name in GROUPS}
    weekly["login"] = np.asarray(rates, dtype=float)
    return Start(
        facts=facts,
        weekly=weekly,
        seconds_per_event=np.full(size, 60.0),
        score_mean=np.full(size, np.nan),
        progress_per_week=np.full(size, 0.01),
    )


def by_days_inactive(facts: Any, learners: np.ndarray) -> np.ndarray:
    """Half at five days inactive: high after a week without events (7 days or more) and never
    after a week with some (the last of them at most 3.5 days before its end); never medium."""
    return 1.0 / (1.0 + np.exp(-(facts["days_inactive"] - 5.0)))


def test_the_mean_high_count_is_the_chance_of_a_week_without_events() -> None:
    rates = [0.0, 0.2, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0]
    seen: list[float] = []
    results = project(
        start(rates),
        weeks=4,
        runs=4000,
        rng=np.random.default_rng(1),
        score=by_days_inactive,
        thresholds=THRESHOLDS,
        progress=seen.append,
    )
    expected = sum(math.exp(-rate) for rate in rates)
    for week in results["per_week"]:
        assert week["high"]["mean"] == pytest.approx(expected, abs=0.1)
        assert week["medium"]["mean"] == 0.0
        assert week["high"]["p5"] <= week["high"]["p50"] <= week["high"]["p95"]
    assert seen == sorted(seen) and seen[-1] == 1.0
    # The learner with no recent activity is high from the first week in every run.
    assert results["per_week"][0]["high"]["p5"] >= 1


def test_a_seed_reproduces_a_projection_and_another_differs() -> None:
    def once(seed: int) -> dict[str, Any]:
        return project(
            start([0.5, 1.0, 2.0] * 30),
            weeks=3,
            runs=50,
            rng=np.random.default_rng(seed),
            score=by_days_inactive,
            thresholds=THRESHOLDS,
            progress=lambda fraction: None,
        )

    assert once(7) == once(7)
    assert once(7) != once(8)


def test_facts_roll_forward_a_week_at_a_time() -> None:
    weekly: list[Any] = []

    def record(facts: Any, learners: np.ndarray) -> np.ndarray:
        weekly.append({name: np.array(column) for name, column in facts.items()})
        return by_days_inactive(facts, learners)

    project(
        start([0.0, 4.0]),
        weeks=2,
        runs=3,
        rng=np.random.default_rng(2),
        score=record,
        thresholds=THRESHOLDS,
        progress=lambda fraction: None,
    )
    first, second = weekly
    idle = slice(0, 3)  # the first learner's three runs
    assert first["days_inactive"][idle].tolist() == [7.0] * 3
    assert second["days_inactive"][idle].tolist() == [14.0] * 3
    assert second["tenure_days"].tolist() == [14.0] * 6
    assert np.allclose(second["expected_progress"], 0.02)
    busy = slice(3, 6)
    assert np.array_equal(
        second["enrolled_events"][busy], first["enrolled_events"][busy] + second["events_7"][busy]
    )
    assert np.array_equal(second["events_prev_21"][busy], first["events_7"][busy])
    assert np.array_equal(second["kind_totals"][busy, 0], second["enrolled_events"][busy])


def test_progress_is_reported_a_hundred_times_at_most(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(projection, "CHUNK_ROWS", 10)  # 2 learners of 5 runs a chunk: 50 chunks
    seen: list[float] = []
    project(
        start([1.0] * 100),
        weeks=4,
        runs=5,
        rng=np.random.default_rng(3),
        score=by_days_inactive,
        thresholds=THRESHOLDS,
        progress=seen.append,
    )
    assert 90 <= len(seen) <= 101 and seen == sorted(seen) and seen[-1] == 1.0
