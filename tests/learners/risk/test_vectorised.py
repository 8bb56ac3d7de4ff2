"""The batch (NumPy) scoring and features against the per-learner functions they stand beside."""

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from engagement.ids import uuid7, uuid7_hex_batch
from learners.risk.features import (
    FEATURE_NAMES,
    KIND_TOTALS,
    CohortNorms,
    RawFacts,
    features_json,
    model_input_rows,
    model_inputs,
)
from learners.risk.model import (
    RULES_PARAMETERS,
    factors_json,
    rounded,
    score_matrix,
    score_rows,
    score_values,
)
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


def _raws(rng: np.random.Generator, rows: int, cohorts: list[uuid.UUID]) -> list[RawFacts]:
    """Random raw facts, with the edge cases: no events, no assessment, counts of 0."""
    as_of = datetime(2026, 12, 3, 9, 30, tzinfo=UTC)
    raws = []
    for index in range(rows):
        count = int(rng.integers(0, 6))
        events = int(rng.integers(0, 400)) if index % 9 else 0
        raws.append(
            RawFacts(
                cohort_id=cohorts[index % len(cohorts)],
                as_of=as_of - timedelta(days=index % 3),
                days_inactive=float(rng.uniform(0, 90)),
                active_days_14=int(rng.integers(0, 15)),
                events_7=int(rng.integers(0, 60)),
                events_prev_21=int(rng.integers(0, 150)),
                seconds_7=int(rng.integers(0, 40_000)),
                seconds_prev_21=int(rng.integers(0, 90_000)),
                assessment_mean_30=float(rng.uniform(0, 1)) if count else None,
                assessment_count_30=count * 3,
                forum_posts_30=int(rng.integers(0, 8)),
                lessons=int(rng.integers(0, 40)),
                events_total=events + 3,
                tenure_days=float(rng.uniform(0, 120)) if index % 4 else float(rng.uniform(0, 7)),
                expected_progress=float(rng.uniform(0, 1)),
                enrolled_events=events,
                enrolled_active_days=min(events, int(rng.integers(0, 100))),
                first_week_events=int(rng.integers(0, 30)),
                span_days=float(rng.uniform(0, 100)) if events >= 2 else 0.0,
                days_since_last_event=float(rng.uniform(0, 90)) if events else None,
                kind_totals=tuple(int(v) for v in rng.integers(0, 80, size=len(KIND_TOTALS))),
            )
        )
    return raws


def _norms(rng: np.random.Generator, cohorts: list[uuid.UUID]) -> dict[uuid.UUID, CohortNorms]:
    return {
        cohort_id: CohortNorms(
            median_days_inactive=float(rng.uniform(0, 20)),
            median_active_days_14=[3, 4.5, 0, 0.5][index % 4],
            mean_assessment=None if index == 1 else float(rng.uniform(0, 1)),
            course_lessons=[30, 0, 12, 7][index % 4],
            median_events_log=float(rng.uniform(0, 6)),
            median_active_days_log=float(rng.uniform(0, 4)),
        )
        for index, cohort_id in enumerate(cohorts)
    }


def test_model_inputs_at_once_equal_each_learners_own() -> None:
    rng = np.random.default_rng(5)
    cohorts = [uuid.uuid4() for _ in range(4)]
    raws, norms = _raws(rng, 4000, cohorts), _norms(rng, cohorts)
    learner_ids = [uuid.uuid4() for _ in raws]
    rows = model_input_rows(raws, norms, learner_ids)
    assert len(rows) == 4000
    for row, (learner_id, raw) in enumerate(zip(learner_ids, raws, strict=True)):
        one = model_inputs(raw, norms[raw.cohort_id], learner_id)
        batch = rows.features(row)
        assert batch == one  # to the last bit, None where None, ints where ints
        assert [type(value) for value in batch.raw.values()] == [
            type(value) for value in one.raw.values()
        ]
        assert max(abs(batch.values[name] - one.values[name]) for name in FEATURE_NAMES) <= 1e-12
    assert model_input_rows([], norms, []).matrix.shape == (0, len(FEATURE_NAMES))


def test_rounding_at_once_equals_pythons_round() -> None:
    rng = np.random.default_rng(13)
    halves = (
        rng.integers(-(10**6), 10**6, size=20000) + 0.5
    ) / 10**4  # about a half: the hard ones
    values = np.concatenate(
        [
            rng.normal(0, 3, size=20000),
            halves,
            [0.0, -0.0, -0.00004, 0.00005, -0.00005, 2.5e-5, 1e13 + 0.5, -3.3e15, 1e300],
        ]
    )
    assert rounded(values, 4).tolist() == [round(value, 4) + 0.0 for value in values.tolist()]
    assert str(rounded(np.array([-0.00001]), 4)[0]) == "0.0"


@pytest.mark.parametrize("name", MODELS)
def test_stored_json_is_what_json_dumps_writes(name: str) -> None:
    rng = np.random.default_rng(17)
    cohorts = [uuid.uuid4() for _ in range(3)]
    raws, norms = _raws(rng, 600, cohorts), _norms(rng, cohorts)
    rows = model_input_rows(raws, norms, [uuid.uuid4() for _ in raws])
    kind = name.split()[0]
    scored = score_rows(rows.matrix, kind=kind, parameters=MODELS[name])
    features, factors = features_json(rows), factors_json(scored)
    for row in range(len(rows)):
        one = rows.features(row)
        stored = {"values": dict(one.values), "raw": dict(one.raw), "little_data": one.little_data}
        assert features[row] == json.dumps(stored)
        result = score_values(kind=kind, parameters=MODELS[name], values=one.values)
        assert factors[row] == json.dumps([factor.as_dict() for factor in result.factors])


def test_ids_made_at_once_are_distinct_time_ordered_uuid7s() -> None:
    before = uuid.UUID(int=uuid7().int)
    ids = [uuid.UUID(text) for text in uuid7_hex_batch(5000)]
    assert len(set(ids)) == 5000 and {(i.version, i.variant) for i in ids} == {(7, uuid.RFC_4122)}
    assert min(ids).int >> 80 >= before.int >> 80  # the same or a later millisecond
