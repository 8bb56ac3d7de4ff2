"""How good a risk model is: pure functions over arrays (outcomes 1 = withdrew, scores, flags).

scikit-learn computes the standard measures; what is written here is only what it has no
function for with the shape the reports need: a calibration table that keeps empty bins, the
top-decile lift, and ``None`` (JSON null) wherever a measure is undefined rather than a number.
"""

import math
from collections.abc import Mapping, Sequence
from types import ModuleType
from typing import Any

import numpy as np

from learners.risk.dataset import TrainingSet
from learners.risk.model import model_scores

CALIBRATION_BINS = 10


def _sklearn_metrics() -> ModuleType:
    """scikit-learn's measures, imported when first used: scikit-learn takes seconds to import,
    which every process start (a command, a worker, the web server) would otherwise pay."""
    from sklearn import metrics as sklearn_metrics

    return sklearn_metrics


def _number(value: float | None) -> float | None:
    """JSON-friendly: a plain float rounded to six places, or None for "undefined"."""
    if value is None or math.isnan(value):
        return None
    return round(float(value), 6)


def roc_auc(outcomes: np.ndarray, scores: np.ndarray) -> float | None:
    """None when only one class is present: the AUC is undefined, not 0.5."""
    if len(np.unique(outcomes)) < 2:
        return None
    return _number(_sklearn_metrics().roc_auc_score(outcomes, scores))


def pr_auc(outcomes: np.ndarray, scores: np.ndarray) -> float | None:
    """Average precision; None without any positive."""
    if not outcomes.any():
        return None
    return _number(_sklearn_metrics().average_precision_score(outcomes, scores))


def brier(outcomes: np.ndarray, scores: np.ndarray) -> float | None:
    """Mean squared distance of the scores from the outcomes; None for no rows."""
    if len(outcomes) == 0:
        return None
    return _number(_sklearn_metrics().brier_score_loss(outcomes, scores))


def calibration(
    outcomes: np.ndarray, scores: np.ndarray, bins: int = CALIBRATION_BINS
) -> list[dict[str, Any]]:
    """Equal-width score bins (the last one includes 1.0); empty bins are kept, with nulls,
    so the table always has the same shape (scikit-learn's ``calibration_curve`` drops them)."""
    index = np.minimum((scores * bins).astype(int), bins - 1)
    table = []
    for position in range(bins):
        members = index == position
        count = int(members.sum())
        table.append(
            {
                "lower": round(position / bins, 6),
                "upper": round((position + 1) / bins, 6),
                "count": count,
                "mean_predicted": _number(scores[members].mean()) if count else None,
                "observed_rate": _number(outcomes[members].mean()) if count else None,
            }
        )
    return table


def precision_recall(outcomes: np.ndarray, flagged: np.ndarray) -> dict[str, float | None]:
    """Of those flagged, how many withdrew; of those who withdrew, how many were flagged
    (None when nobody was flagged, or nobody withdrew); and the share of learners flagged, the
    coaches' workload."""
    if len(outcomes) == 0:
        return {"precision": None, "recall": None, "share_flagged": None}
    return {
        "precision": _number(
            _sklearn_metrics().precision_score(outcomes, flagged, zero_division=np.nan)
        ),
        "recall": _number(_sklearn_metrics().recall_score(outcomes, flagged, zero_division=np.nan)),
        "share_flagged": _number(flagged.mean()),
    }


def top_decile_lift(outcomes: np.ndarray, scores: np.ndarray) -> float | None:
    """Withdrawal rate among the 10% highest scores over the overall rate (1 = no better than
    picking at random). Ties are broken by order, stably."""
    if len(outcomes) == 0 or not outcomes.any():
        return None
    top = np.argsort(-scores, kind="stable")[: math.ceil(len(scores) / 10)]
    return _number(outcomes[top].mean() / outcomes.mean())


def group_metrics(outcomes: np.ndarray, scores: np.ndarray, flagged: np.ndarray) -> dict[str, Any]:
    """The short set reported per cohort and per subgroup (the fairness view)."""
    return {
        "n": len(outcomes),
        "base_rate": _number(outcomes.mean()) if len(outcomes) else None,
        "roc_auc": roc_auc(outcomes, scores),
        "brier": brier(outcomes, scores),
        "high_band": precision_recall(outcomes, flagged),
    }


def metrics(
    outcomes: np.ndarray,
    scores: np.ndarray,
    flagged: np.ndarray,
    groups: Mapping[str, Sequence[str]],
) -> dict[str, Any]:
    """Every metric over the whole set, then ``group_metrics`` for each grouping in ``groups``
    (name → one label per row), under the key ``by_<name>``."""
    result: dict[str, Any] = {
        "n": len(outcomes),
        "base_rate": _number(outcomes.mean()) if len(outcomes) else None,
        "roc_auc": roc_auc(outcomes, scores),
        "pr_auc": pr_auc(outcomes, scores),
        "brier": brier(outcomes, scores),
        "calibration": calibration(outcomes, scores),
        "high_band": precision_recall(outcomes, flagged),
        "top_decile_lift": top_decile_lift(outcomes, scores),
    }
    for name, labels in groups.items():
        label_array = np.array(labels, dtype=object)
        result[f"by_{name}"] = {
            label: group_metrics(
                outcomes[label_array == label],
                scores[label_array == label],
                flagged[label_array == label],
            )
            for label in dict.fromkeys(labels)
        }
    return result


def evaluate(parameters: Mapping[str, Any], kind: str, test: TrainingSet) -> dict[str, Any]:
    """The model's metrics on ``test``, overall, per cohort and per locale."""
    scores = model_scores(parameters, kind, test)
    return metrics(
        test.outcomes(),
        scores,
        scores >= parameters["thresholds"]["high"],
        {
            "cohort": [str(row.cohort_id) for row in test.rows],
            "locale": [row.locale for row in test.rows],
        },
    )
