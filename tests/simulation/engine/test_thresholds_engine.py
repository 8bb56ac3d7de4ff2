"""The threshold tuning maths on hand-made arrays."""

import numpy as np

from simulation.engine import thresholds as engine


def test_the_grid_is_every_five_hundredths() -> None:
    assert engine.GRID.tolist()[:3] == [0.05, 0.1, 0.15]
    assert (len(engine.GRID), engine.GRID[-1]) == (19, 0.95)


def test_figures_flag_scores_at_or_above_each_threshold() -> None:
    scores = np.array([0.9, 0.7, 0.5, 0.2])
    outcomes = np.array([1, 0, 1, 0])

    rows = engine.figures(scores, outcomes, np.array([0.5, 0.8, 0.95]), capacity=2)

    assert rows == [
        {
            "threshold": 0.5,
            "flagged": 3,
            "precision": 0.666667,
            "recall": 1.0,
            "within_capacity": False,
        },
        {"threshold": 0.8, "flagged": 1, "precision": 1.0, "recall": 0.5, "within_capacity": True},
        {
            "threshold": 0.95,
            "flagged": 0,
            "precision": None,
            "recall": 0.0,
            "within_capacity": True,
        },
    ]


def test_figures_without_capacity_or_withdrawals() -> None:
    (row,) = engine.figures(np.array([0.9]), np.array([0]), np.array([0.5]), capacity=None)
    assert (row["precision"], row["recall"], row["within_capacity"]) == (0.0, None, None)
