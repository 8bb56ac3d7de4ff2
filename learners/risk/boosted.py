"""The ``boosted`` kind: gradient-boosted trees that each split on one feature, flattened into
one step function per feature, so a score is still ``sigmoid(intercept + sum(contribution))``.

scikit-learn's ``HistGradientBoostingClassifier`` fits with ``interaction_cst="no_interactions"``
(every tree uses a single feature) and monotone constraints where the direction is known. The
sum of all trees on one feature is a step function of that feature alone, stored as sorted
``edges`` and one value per interval; a value ``x`` falls in interval ``bisect_left(edges, x)``,
which is exactly the trees' ``x <= threshold`` goes left. Each value is stored minus the term's
mean over the training rows, so a contribution reads as "push away from a typical learner", and
the intercept (the trees' baseline plus those means) absorbs the difference.

Flattening reads the fitted trees through the estimator's private ``_predictors`` and
``_baseline_prediction``; the test that scores equal ``predict_proba`` to 1e-9 guards that
against a scikit-learn upgrade.
"""

from bisect import bisect_left
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
from threadpoolctl import threadpool_limits

from learners.risk.dataset import TrainingSet
from learners.risk.directions import MONOTONE_DIRECTIONS
from learners.risk.features import FEATURE_NAMES

if TYPE_CHECKING:
    from sklearn.ensemble import HistGradientBoostingClassifier

BOOSTING_OPTIONS: dict[str, Any] = {
    "learning_rate": 0.1,
    "max_iter": 200,
    "max_leaf_nodes": 8,
    "min_samples_leaf": 40,
    "l2_regularization": 1.0,
    # Deterministic, and no random validation split inside: choosing between kinds is done on
    # whole later cohorts (``learners.risk.kind_selection``).
    "early_stopping": False,
    "random_state": 0,
}


def fit_boosted(train: TrainingSet) -> "HistGradientBoostingClassifier":
    """The fitted estimator: one feature per tree, monotone where ``MONOTONE_DIRECTIONS`` says.
    scikit-learn is imported here, when a model is trained, not by every process that scores."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    estimator = HistGradientBoostingClassifier(
        interaction_cst="no_interactions",
        monotonic_cst=[MONOTONE_DIRECTIONS[name] for name in FEATURE_NAMES],
        **BOOSTING_OPTIONS,
    )
    with _one_thread():
        return estimator.fit(train.matrix(), train.outcomes())


def boosted_probabilities(
    estimator: "HistGradientBoostingClassifier", matrix: np.ndarray
) -> np.ndarray:
    """The estimator's own withdrawal probabilities (the yardstick the step functions match)."""
    with _one_thread():
        return estimator.predict_proba(matrix)[:, 1]


def _one_thread() -> threadpool_limits:
    """One OpenMP thread: on a worker sharing its cores, spinning threads made a fit of 300 rows
    take 10 s instead of 0.2 s, and one thread fits 100,000 learners in seconds."""
    return threadpool_limits(limits=1, user_api="openmp")


def _leaf_value(nodes: np.ndarray, value: float) -> float:
    """The leaf a tree of one feature sends ``value`` to (the features have no missing values)."""
    node = nodes[0]
    while not node["is_leaf"]:
        node = nodes[node["left"] if value <= node["num_threshold"] else node["right"]]
    return float(node["value"])


def _step_functions(
    estimator: "HistGradientBoostingClassifier",
) -> tuple[float, dict[str, tuple[list[float], np.ndarray]]]:
    """The trees' baseline (plus any tree that never split) and, per feature, the sorted edges
    with the summed tree values on each of the ``len(edges) + 1`` intervals."""
    baseline = float(estimator._baseline_prediction.ravel()[0])
    trees: dict[int, list[np.ndarray]] = {}
    for (predictor,) in estimator._predictors:
        nodes = predictor.nodes
        if nodes[0]["is_leaf"]:
            baseline += float(nodes[0]["value"])
        else:
            trees.setdefault(int(nodes[0]["feature_idx"]), []).append(nodes)
    steps = {}
    for index, name in enumerate(FEATURE_NAMES):
        feature_trees = trees.get(index, [])
        edges = sorted(
            {
                float(node["num_threshold"])
                for nodes in feature_trees
                for node in nodes[~nodes["is_leaf"].astype(bool)]
            }
        )
        # The right end of each interval lands in it (``<=`` goes left); +inf for the last.
        points = [*edges, float("inf")]
        values = np.array(
            [sum(_leaf_value(nodes, point) for nodes in feature_trees) for point in points]
        )
        steps[name] = (edges, values)
    return baseline, steps


def boosted_parameters(
    estimator: "HistGradientBoostingClassifier", train: TrainingSet
) -> dict[str, Any]:
    """``intercept`` and ``steps`` (per feature ``edges`` and centred ``contributions``)."""
    baseline, steps = _step_functions(estimator)
    matrix = train.matrix()
    intercept = baseline
    stored = {}
    for index, name in enumerate(FEATURE_NAMES):
        edges, values = steps[name]
        mean = float(values[np.searchsorted(edges, matrix[:, index], side="left")].mean())
        intercept += mean
        stored[name] = {"edges": edges, "contributions": [float(v) - mean for v in values]}
    return {"intercept": intercept, "steps": stored}


def boosted_features(parameters: Mapping[str, Any]) -> tuple[str, ...]:
    """The features the trees split on. One they never split on adds exactly 0 to every logit
    (no tree, no value): listing it would show a coach a factor that explains nothing."""
    return tuple(name for name, step in parameters["steps"].items() if step["edges"])


def boosted_contributions(
    parameters: Mapping[str, Any], values: Mapping[str, float]
) -> dict[str, float]:
    """Each feature the trees split on: its centred step value at the learner's value."""
    steps = parameters["steps"]
    return {
        name: steps[name]["contributions"][bisect_left(steps[name]["edges"], values[name])]
        for name in boosted_features(parameters)
    }
