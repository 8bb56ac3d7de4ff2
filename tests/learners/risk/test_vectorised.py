"""The batch (NumPy) scoring and features against the per-learner functions they stand beside."""

from typing import Any

import numpy as np
import pytest

from learners.risk.features import FEATURE_NAMES
from learners.risk.model import RULES_PARAMETERS, score_matrix, score_rows, score_values
from tests.learners.risk.test_model import LOGISTIC, OLD_LOGISTIC, RULES_V1


def _boosted(rng: np.random.Generator) -> dict[str, Any]:
    """Step functions on most features (none on two: they are no factor), as training stores."""
    steps = {}
    for index, name in enumerate(FEATURE_NAMES):
        edges = sorted(rng.uniform(-3, 8, size=int(rng.integers(1, 9))).tolist())
        if index in (3, 7):
            edges = []
        contributions = rng.normal(0, 0.5, size=len(edges) + 1).tolist()
        steps[name] = {"edges": edges, "contributions": contributions}
    return {"intercept": -0.3, "steps": steps, "thresholds": {"medium": 0.4, "high": 0.7}}


def _matrix(rng: np.random.Generator, rows: int) -> np.ndarray:
    matrix = rng.uniform(-3, 8, size=(rows, len(FEATURE_NAMES)))
    matrix[::7, 8] = 1.0  # new_learner is 0 or 1
    matrix[1::7, 8] = 0.0
    matrix[::5] = np.round(matrix[::5], 1)  # ties between contributions, values on step edges
    return matrix


MODELS = {
    "rules": RULES_PARAMETERS,
    "rules v1": RULES_V1,
    "logistic": LOGISTIC,
    "logistic on its own names": OLD_LOGISTIC,
    "boosted": _boosted(np.random.default_rng(3)),
}


@pytest.mark.parametrize("name", MODELS)
def test_scoring_rows_at_once_equals_scoring_each(name: str) -> None:
    kind = name.split()[0]
    parameters = MODELS[name]
    matrix = _matrix(np.random.default_rng(7), 3000)
    if kind == "boosted":  # values exactly on an edge go left, as ``bisect_left`` sends them
        edges = parameters["steps"][FEATURE_NAMES[0]]["edges"]
        matrix[: len(edges), 0] = edges
    scored = score_rows(matrix, kind=kind, parameters=parameters)
    for row, values in enumerate(matrix.tolist()):
        one = score_values(
            kind=kind, parameters=parameters, values=dict(zip(FEATURE_NAMES, values, strict=True))
        )
        batch = scored.score(row)
        assert abs(batch.score - one.score) <= 1e-12 and batch.band == one.band
        assert batch == one  # to the last bit: factors, their order, logit and intercept


def test_score_matrix_keeps_its_contract() -> None:
    matrix = _matrix(np.random.default_rng(11), 50)
    scores, bands = score_matrix(matrix, kind="rules", parameters=RULES_PARAMETERS)
    assert isinstance(bands, tuple) and len(bands) == len(scores) == 50
    assert scores.tolist() == [
        score_values(
            kind="rules",
            parameters=RULES_PARAMETERS,
            values=dict(zip(FEATURE_NAMES, row, strict=True)),
        ).score
        for row in matrix.tolist()
    ]
    empty, none = score_matrix(
        np.zeros((0, len(FEATURE_NAMES))), kind="rules", parameters=RULES_PARAMETERS
    )
    assert empty.shape == (0,) and none == ()
