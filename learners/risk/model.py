"""Scoring: a pure function from features to a probability, a band and factor contributions.

Every kind is logistic in form, ``logit = intercept + sum(contribution)``, so every score is
explained exactly by its factors:

- ``rules``: documented default weights on centred features (``contribution = weight * (value -
  centre)``); works from the first day, with no training data.
- ``logistic``: trained coefficients on standardised features (``contribution = coefficient *
  (value - mean) / std``), each held to its feature's declared direction.

Band thresholds belong to the model version (``parameters["thresholds"]``). Factors carry
numbers only: ``learners.risk.explanations`` words them when they are read. Fitting a
trained version's parameters (pure: data and band policy in, parameters out; no settings read)
is at the bottom.
"""

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from engagement.errors import ValidationFailed
from learners.risk.bands import DEFAULT_POLICY, BandPolicy, band_choice
from learners.risk.boosted import (
    boosted_contributions,
    boosted_features,
    boosted_parameters,
    boosted_probabilities,
    fit_boosted,
)
from learners.risk.dataset import TrainingSet
from learners.risk.directions import MONOTONE_DIRECTIONS
from learners.risk.features import FEATURE_NAMES, LearnerFeatures

if TYPE_CHECKING:
    from learners.risk.logistic import LogisticFit

RULES_PARAMETERS: dict[str, Any] = {
    # Engagement since enrolment first, as on real course data (docs/risk.md, "Why these rules
    # weights"). Centres are a typical learner who completes, 28 days in; weights are log-odds
    # per unit away from it. Only the features named here are factors of a rules score.
    "intercept": -0.4,
    "centres": {
        "events_vs_peers": 0.5,
        "active_share": 0.25,
        "days_inactive": 2.0,
        "progress_gap": 0.0,
        "assessment_mean": 0.7,
        "new_learner": 0.0,
    },
    "weights": {
        "events_vs_peers": -0.6,  # each halving of the events against the cohort's median: +0.4
        "active_share": -1.0,  # active on 1 day in 4 (centre) against 1 in 20: +0.2
        "days_inactive": 0.08,  # each idle day past two: +0.08 (a week idle: +0.4); capped at 60
        "progress_gap": 2.5,  # behind the expected progress: a quarter of the course is +0.6
        "assessment_mean": -2.0,  # weak assessment scores: 0.5 against 0.7 is +0.4
        "new_learner": -0.4,  # little data yet: hold back from flagging
    },
    # A learner at the centres scores 0.40 (low). High covers about half of an open course's
    # learners (where three in four drop out) and about an eighth of a degree cohort's: fixed, as
    # rules have no outcomes; the coach-capacity settings choose trained versions' bands only
    # (docs/risk.md, "Bands of the shipped rules").
    "thresholds": {"medium": 0.5, "high": 0.75},
}


class Factor(NamedTuple):
    """One factor's push on the logit (a tuple: a rescore builds nine per learner)."""

    factor: str
    value: float
    contribution: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "factor": self.factor,
            "value": round(self.value, 4) + 0.0,
            "contribution": round(self.contribution, 4) + 0.0,  # no "-0.0"
        }


@dataclass(frozen=True)
class Score:
    score: float
    logit: float
    intercept: float
    band: str
    factors: tuple[Factor, ...]


def sigmoid(logit: float) -> float:
    if logit >= 0:
        return 1.0 / (1.0 + math.exp(-logit))
    exp = math.exp(logit)
    return exp / (1.0 + exp)


def band_for(score: float, thresholds: Mapping[str, float]) -> str:
    if score >= thresholds["high"]:
        return "high"
    return "medium" if score >= thresholds["medium"] else "low"


def model_features(kind: str, parameters: Mapping[str, Any]) -> tuple[str, ...]:
    """The features a version scores on: those its parameters name (of a ``boosted`` one, those
    its trees split on). A version stored before a feature was added keeps scoring exactly as it
    did; a newly trained one names them all."""
    if kind == "rules":
        return tuple(parameters["weights"])
    if kind == "boosted":
        return boosted_features(parameters)
    return tuple(parameters.get("feature_names") or parameters["coefficients"])


def _contributions(
    kind: str, parameters: Mapping[str, Any], values: Mapping[str, float]
) -> dict[str, float]:
    if kind == "boosted":
        return boosted_contributions(parameters, values)
    names = model_features(kind, parameters)
    if kind == "rules":
        centres, weights = parameters["centres"], parameters["weights"]
        return {name: weights[name] * (values[name] - centres[name]) for name in names}
    means, stds, coefficients = parameters["means"], parameters["stds"], parameters["coefficients"]
    return {name: coefficients[name] * (values[name] - means[name]) / stds[name] for name in names}


def score_values(*, kind: str, parameters: Mapping[str, Any], values: Mapping[str, float]) -> Score:
    """The score, band and factors (largest push towards risk first) for one feature vector."""
    contributions = _contributions(kind, parameters, values)
    intercept = float(parameters["intercept"])
    logit = intercept + sum(contributions.values())
    probability = sigmoid(logit)
    factors = tuple(
        Factor(name, values[name], contribution)
        for name, contribution in sorted(contributions.items(), key=lambda item: -item[1])
    )
    return Score(
        probability, logit, intercept, band_for(probability, parameters["thresholds"]), factors
    )


def score(features: LearnerFeatures, *, kind: str, parameters: Mapping[str, Any]) -> Score:
    return score_values(kind=kind, parameters=parameters, values=features.values)


@dataclass(frozen=True)
class Scores:
    """``score_values`` for many learners at once (row ``i`` is learner ``i``), as arrays.

    Equal to the per-learner function to the last bit (a test holds them to it): the same
    operations in the same order per element, contributions summed column by column in the
    model's feature order, and the sigmoid through ``math``, whose ``exp`` NumPy's differs from
    by an ulp now and then.
    """

    names: tuple[str, ...]  # the model's features (``model_features``), the columns below
    values: np.ndarray  # (learners, features)
    contributions: np.ndarray  # (learners, features)
    order: np.ndarray  # per row, column indices with the largest push towards risk first
    logits: np.ndarray
    scores: np.ndarray
    bands: np.ndarray  # "low", "medium" or "high"
    intercept: float

    def score(self, row: int) -> Score:
        """One row as ``score_values`` gives it."""
        factors = tuple(
            Factor(self.names[column], float(self.values[row, column]), float(contribution))
            for column, contribution in zip(
                self.order[row].tolist(),
                self.contributions[row, self.order[row]].tolist(),
                strict=True,
            )
        )
        return Score(
            float(self.scores[row]),
            float(self.logits[row]),
            self.intercept,
            str(self.bands[row]),
            factors,
        )


def rounded(values: np.ndarray, digits: int) -> np.ndarray:
    """``round(value, digits) + 0.0`` of each value (no ``-0.0``), to the last bit.

    NumPy rounds ``value * 10**digits``, and that product can land on the other side of a half
    from the exact one: the few values that close to a half, and any too large for the product
    to hold its fraction, are rounded by Python.
    """
    scale = 10.0**digits
    scaled = values * scale
    result = np.round(scaled) / scale
    near = np.abs(np.abs(scaled - np.floor(scaled)) - 0.5) <= 1e-9 * np.maximum(np.abs(scaled), 1.0)
    near |= np.abs(scaled) >= 2.0**52
    result[near] = [round(value, digits) for value in values[near].tolist()]
    return result + 0.0


def factors_json(scored: Scores) -> list[str]:
    """Each row's factors as stored (``Factor.as_dict``, largest push first), as the JSON text
    ``json.dumps`` writes for them: built column by column, not as dicts per learner."""
    values, contributions = rounded(scored.values, 4), rounded(scored.contributions, 4)
    texts = np.empty(values.shape, dtype=object)
    for column, name in enumerate(scored.names):
        texts[:, column] = [
            f'{{"factor": "{name}", "value": {value!r}, "contribution": {contribution!r}}}'
            for value, contribution in zip(
                values[:, column].tolist(), contributions[:, column].tolist(), strict=True
            )
        ]
    ordered = np.take_along_axis(texts, scored.order, axis=1)
    return ["[" + ", ".join(row) + "]" for row in ordered.tolist()]


def _contribution_columns(
    kind: str, parameters: Mapping[str, Any], names: tuple[str, ...], values: np.ndarray
) -> np.ndarray:
    """``_contributions`` for every row of ``values`` (columns in ``names`` order)."""
    if kind == "boosted":
        contributions = np.zeros(values.shape)
        for column, name in enumerate(names):
            step = parameters["steps"][name]
            # ``searchsorted(side="left")`` is ``bisect_left``, element by element.
            at = np.searchsorted(np.asarray(step["edges"], dtype=float), values[:, column])
            contributions[:, column] = np.asarray(step["contributions"], dtype=float)[at]
        return contributions
    if kind == "rules":
        weights = np.array([parameters["weights"][name] for name in names], dtype=float)
        centres = np.array([parameters["centres"][name] for name in names], dtype=float)
        return weights * (values - centres)
    coefficients = np.array([parameters["coefficients"][name] for name in names], dtype=float)
    means = np.array([parameters["means"][name] for name in names], dtype=float)
    stds = np.array([parameters["stds"][name] for name in names], dtype=float)
    return coefficients * (values - means) / stds


def bands_for(scores: np.ndarray, thresholds: Mapping[str, float]) -> np.ndarray:
    """``band_for`` for each score."""
    return np.where(
        scores >= thresholds["high"],
        "high",
        np.where(scores >= thresholds["medium"], "medium", "low"),
    )


def score_rows(
    matrix: np.ndarray,
    *,
    kind: str,
    parameters: Mapping[str, Any],
    columns: tuple[str, ...] = FEATURE_NAMES,
) -> Scores:
    """``score_values`` for each row of ``matrix``, whose columns are the features ``columns``
    (by default ``FEATURE_NAMES``, in order)."""
    names = model_features(kind, parameters)
    position = {name: index for index, name in enumerate(columns)}
    values = np.asarray(matrix, dtype=float).reshape(-1, len(columns))[
        :, [position[name] for name in names]
    ]
    contributions = _contribution_columns(kind, parameters, names, values)
    total = np.zeros(len(values))
    for column in range(len(names)):  # in order, as ``sum`` adds them
        total += contributions[:, column]
    intercept = float(parameters["intercept"])
    logits = intercept + total
    scores = np.array([sigmoid(logit) for logit in logits.tolist()], dtype=float)
    return Scores(
        names=names,
        values=values,
        contributions=contributions,
        order=np.argsort(-contributions, axis=1, kind="stable"),
        logits=logits,
        scores=scores,
        bands=bands_for(scores, parameters["thresholds"]),
        intercept=intercept,
    )


def _more(count: int) -> Callable[[float], float]:
    """A lever for a ``log1p`` total: ``count`` more of it."""
    return lambda value: math.log1p(math.expm1(value) + count)


# Realistic improvements a coach can aim for within a couple of weeks, per factor. Comparisons
# with peers, shares of the days since enrolment and the first week have none: what two weeks
# change in them depends on facts their value alone does not hold (or lies in the past).
LEVERS: dict[str, Any] = {
    "days_inactive": lambda value: 1.0,
    "active_days_ratio": lambda value: max(value, 1.0),
    "activity_trend": lambda value: max(value, 0.0),
    "assessment_mean": lambda value: max(value, min(value + 0.15, 1.0)),
    "assessment_count": lambda value: value + 1.0,
    "social": lambda value: max(value, math.log1p(2)),
    "progress_gap": lambda value: min(value, max(value - 0.15, 0.0)),
    "events_log": _more(14),  # an action a day
    "active_days_log": _more(4),  # two study days a week
    "logins_log": _more(4),
    "content_log": _more(10),
    "videos_log": _more(4),
    "lessons_log": _more(3),
    "assessments_log": _more(2),
    "forum_log": _more(2),
}


def best_lever(
    *, kind: str, parameters: Mapping[str, Any], features: LearnerFeatures
) -> dict[str, Any] | None:
    """The factor whose realistic improvement lowers the score most, and the score it would give;
    None when none lowers it by a shown amount (a score of about 0 has no lever to offer)."""
    current = score(features, kind=kind, parameters=parameters).score
    best: dict[str, Any] | None = None
    for name in (name for name in model_features(kind, parameters) if name in LEVERS):
        changed = {**features.values, name: LEVERS[name](features.values[name])}
        improved = score_values(kind=kind, parameters=parameters, values=changed).score
        reduction = round(current - improved, 4)
        if reduction > 0 and (best is None or improved < best["score_after"]):
            best = {"factor": name, "score_after": round(improved, 4), "reduction": reduction}
    return best


# Fitting ---------------------------------------------------------------------------------------


def both_outcomes_check(train: TrainingSet) -> None:
    """Refuse to fit on learners who all ended the same way (nothing to learn from)."""
    if len(set(train.outcomes().tolist())) < 2:
        message = "The training cohorts need both completed and withdrawn learners."
        raise ValidationFailed(message, detail={"detail": message})


def fit_logistic(train: TrainingSet) -> "LogisticFit":
    """The sign-constrained fit (``learners.risk.logistic``) on the train rows. SciPy is imported
    here, when a model is trained, not by every process that scores (about 0.9 s of a rescore's
    start)."""
    from learners.risk.logistic import fit_signed_logistic

    both_outcomes_check(train)
    directions = [MONOTONE_DIRECTIONS[name] for name in FEATURE_NAMES]
    return fit_signed_logistic(train.matrix(), train.outcomes(), directions)


def train_logistic(
    train: TrainingSet,
    *,
    thresholds: Mapping[str, float] | None = None,
    policy: BandPolicy = DEFAULT_POLICY,
) -> dict[str, Any]:
    """Parameters for a ``logistic`` RiskModel. Without given ``thresholds`` the bands are
    chosen on the training scores under ``policy`` (the caller passes the configured one; see
    ``learners.risk.bands``), and how is stored as ``band_choice``."""
    fit = fit_logistic(train)
    parameters: dict[str, Any] = {
        "intercept": fit.intercept,
        "coefficients": dict(zip(FEATURE_NAMES, map(float, fit.coefficients), strict=True)),
        "means": dict(zip(FEATURE_NAMES, map(float, fit.means), strict=True)),
        "stds": dict(zip(FEATURE_NAMES, map(float, fit.stds), strict=True)),
        "feature_names": list(FEATURE_NAMES),
        "cutoff_days": train.cutoff_days,
    }
    scores = fit.probabilities(train.matrix())
    return parameters | _bands(train, scores, thresholds=thresholds, policy=policy)


def train_boosted(
    train: TrainingSet,
    *,
    thresholds: Mapping[str, float] | None = None,
    policy: BandPolicy = DEFAULT_POLICY,
) -> dict[str, Any]:
    """Parameters for a ``boosted`` RiskModel; bands chosen as for ``train_logistic``."""
    both_outcomes_check(train)
    estimator = fit_boosted(train)
    parameters: dict[str, Any] = {
        **boosted_parameters(estimator, train),
        "feature_names": list(FEATURE_NAMES),
        "cutoff_days": train.cutoff_days,
    }
    scores = boosted_probabilities(estimator, train.matrix())
    return parameters | _bands(train, scores, thresholds=thresholds, policy=policy)


def _bands(
    train: TrainingSet,
    scores: np.ndarray,
    *,
    thresholds: Mapping[str, float] | None,
    policy: BandPolicy,
) -> dict[str, Any]:
    """Given ``thresholds``, or chosen on the training scores under ``policy``, stored with how."""
    if thresholds is not None:
        return {"thresholds": dict(thresholds)}
    choice = band_choice(train.outcomes(), scores, policy)
    return {"thresholds": choice.thresholds(), "band_choice": choice.as_dict(policy)}


def score_matrix(
    matrix: np.ndarray, *, kind: str, parameters: Mapping[str, Any]
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Scores and bands for a feature matrix (columns in ``FEATURE_NAMES`` order), equal to
    ``score_values`` row by row (``score_rows``): what-if and backtests get exactly what live
    scoring gives."""
    scored = score_rows(matrix, kind=kind, parameters=parameters)
    return scored.scores, tuple(scored.bands.tolist())


def model_scores(parameters: Mapping[str, Any], kind: str, data: TrainingSet) -> np.ndarray:
    """Scores through the same function live scoring uses, so we evaluate what is deployed."""
    return score_matrix(data.matrix(), kind=kind, parameters=parameters)[0]
