"""Choosing the kind: on later training cohorts only, never on a cohort the judged fit saw, and
never on the test cohorts."""

import uuid
from datetime import date
from typing import Any

import pytest

from engagement.errors import ValidationFailed
from learners.risk import kind_selection
from learners.risk.bands import BandPolicy
from learners.risk.dataset import TrainingSet, time_split
from learners.risk.features import FEATURE_NAMES
from learners.risk.kind_selection import fit_best_kind, kind_check, validation_split
from tests.learners.risk.training_sets import synthetic_set, training_row

POLICY = BandPolicy(high_capacity=0.2, high_min_precision=0.5, medium_capacity=0.4)


def _cohorts(starts: list[date], per_cohort: int = 40) -> tuple[list[str], TrainingSet]:
    """Cohorts with the given start dates (ids in reverse order of position, so a tie on the
    date is broken against the list order), each with both outcomes."""
    ids = [uuid.UUID(int=len(starts) - index) for index in range(len(starts))]
    rows = [
        training_row(ids[index], starts_on, n % 2, [float(n % 7 + n % 2 * 5)] * len(FEATURE_NAMES))
        for index, starts_on in enumerate(starts)
        for n in range(per_cohort)
    ]
    return [str(cohort) for cohort in ids], TrainingSet(cutoff_days=28, rows=tuple(rows))


@pytest.fixture
def fits(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, list[str]]]:
    """Every fit the selection makes: (kind, cohort ids it was given)."""
    seen: list[tuple[str, list[str]]] = []
    for kind in ("logistic", "boosted"):
        real = getattr(kind_selection, f"train_{kind}")

        def spy(
            data: TrainingSet, *, real: Any = real, kind: str = kind, **bands: Any
        ) -> dict[str, Any]:
            seen.append((kind, data.cohort_ids()))
            return real(data, **bands)

        monkeypatch.setattr(kind_selection, f"train_{kind}", spy)
    return seen


@pytest.mark.parametrize(
    "starts",
    [
        [date(2025, month, 1) for month in range(1, 8)],
        # Equal start dates: ties are cut by cohort id, still whole cohorts on one side.
        [date(2025, 1, 1)] * 3 + [date(2025, 4, 1)] * 4,
        [date(2025, 1, 1)] * 7,
    ],
)
def test_no_fit_sees_the_cohorts_it_is_judged_on_nor_the_test_cohorts(
    starts: list[date], fits: list[tuple[str, list[str]]]
) -> None:
    _, data = _cohorts(starts)
    train, test = time_split(data)
    kind, _, selection = fit_best_kind(train, policy=POLICY)

    fit_cohorts, validation_cohorts = selection["fit_cohorts"], selection["validation_cohorts"]
    assert fit_cohorts and validation_cohorts
    assert not set(fit_cohorts) & set(validation_cohorts)
    assert sorted(fit_cohorts + validation_cohorts) == sorted(train.cohort_ids())
    assert not set(train.cohort_ids()) & set(test.cohort_ids())
    order = data.cohort_ids()
    assert max(map(order.index, fit_cohorts)) < min(map(order.index, validation_cohorts))
    judged = fits[:-1]
    assert {name for name, _ in judged} == {"logistic", "boosted"}
    assert all(cohorts == fit_cohorts for _, cohorts in judged)
    assert fits[-1] == (kind, train.cohort_ids())
    assert set(selection["validation_roc_auc"]) == {"logistic", "boosted"}


def test_the_better_validation_auc_wins_and_is_refitted_on_all_training_cohorts(
    fits: list[tuple[str, list[str]]],
) -> None:
    train = synthetic_set(2, n=600, cohorts=4)
    kind, parameters, selection = fit_best_kind(train, policy=POLICY)
    aucs = selection["validation_roc_auc"]
    assert kind == max(aucs, key=lambda name: (aucs[name], name == "logistic"))
    assert selection["reason"] == "best validation ROC AUC"
    assert fits[-1] == (kind, train.cohort_ids())
    assert ("steps" in parameters) == (kind == "boosted")


def test_a_tie_keeps_logistic(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kind_selection, "roc_auc", lambda outcomes, scores: 0.7)
    kind, _, selection = fit_best_kind(synthetic_set(1, n=400, cohorts=3), policy=POLICY)
    assert (kind, selection["validation_roc_auc"]) == (
        "logistic",
        {"logistic": 0.7, "boosted": 0.7},
    )


def test_a_named_kind_is_fitted_as_asked(fits: list[tuple[str, list[str]]]) -> None:
    train = synthetic_set(3, n=400, cohorts=3)
    kind, parameters, selection = fit_best_kind(train, kind="boosted", policy=POLICY)
    assert (kind, selection["requested"], selection["reason"]) == (
        "boosted",
        "boosted",
        "requested",
    )
    assert set(selection["validation_roc_auc"]) == {"boosted"}
    assert {name for name, _ in fits} == {"boosted"}
    assert "steps" in parameters


def test_one_training_cohort_falls_back_to_logistic(fits: list[tuple[str, list[str]]]) -> None:
    train = synthetic_set(4, n=300, cohorts=1)
    assert validation_split(train) is None
    kind, _, selection = fit_best_kind(train, policy=POLICY)
    assert (kind, selection["validation_roc_auc"]) == ("logistic", {})
    assert selection["reason"] == "too little training history to validate on"
    assert (selection["fit_cohorts"], selection["validation_cohorts"]) == ([], [])
    assert fits == [("logistic", train.cohort_ids())]


def test_a_validation_side_with_one_outcome_cannot_judge() -> None:
    ids, data = _cohorts([date(2025, 1, 1), date(2025, 2, 1), date(2025, 3, 1)])
    one_outcome = TrainingSet(
        cutoff_days=28,
        rows=tuple(row for row in data.rows if row.outcome == 0 or str(row.cohort_id) != ids[2]),
    )
    assert validation_split(one_outcome) is None


def test_unknown_kinds_are_refused() -> None:
    with pytest.raises(ValidationFailed, match="Invalid kind") as refused:
        kind_check("forest")
    assert refused.value.detail == {"kind": ["Must be one of: auto, logistic, boosted."]}
    with pytest.raises(ValidationFailed):
        fit_best_kind(synthetic_set(0), kind="forest", policy=POLICY)


def test_the_bands_follow_the_given_policy_not_the_settings(settings: Any) -> None:
    settings.RISK_HIGH_BAND_CAPACITY = 0.05
    _, parameters, _ = fit_best_kind(synthetic_set(5, n=300, cohorts=1), policy=POLICY)
    choice = parameters["band_choice"]
    assert (choice["high_capacity"], choice["medium_capacity"]) == (0.2, 0.4)
