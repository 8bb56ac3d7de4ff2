"""Training and honest evaluation of risk models, and switching the active model version.

Honest means: features are taken as of a fixed day after each learner's enrolment (no look at
what happened later), the model is trained on earlier cohorts and judged on later ones (as it
will be used), and a new model is compared with the active one on exactly the same test rows.
The metric functions are pure functions over arrays; the services at the bottom do the I/O.
"""

import math
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, roc_auc_score

from engagement.audit import Actor, audit_record
from engagement.errors import Conflict, NotFound, ValidationFailed
from learners.models import Learner, LearnerStatus, RiskFeedback, RiskModel, RiskModelKind
from learners.risk.features import FEATURE_NAMES, LearnerFeatures, features_for
from learners.risk.model import score
from learners.selectors import risk_model_active

DEFAULT_CUTOFF_DAYS = 28
#: Half a year in: later than that, a warning comes too late to matter (and days must stay finite).
MAX_CUTOFF_DAYS = 180
FEATURE_CHUNK_SIZE = 2000
TEST_SHARE = 0.3
# Default bands on the training scores: the top 20% are "high", the next 30% "medium".
HIGH_QUANTILE = 0.8
MEDIUM_QUANTILE = 0.5
CALIBRATION_BINS = 10
OUTCOMES = {LearnerStatus.WITHDRAWN: 1, LearnerStatus.COMPLETED: 0}
NOT_ENOUGH_HISTORY = "not enough history: need learners with known outcomes in at least two cohorts"

ProgressCallback = Callable[[float], None]


@dataclass(frozen=True)
class TrainingRow:
    """One learner with a known outcome (1 = withdrawn), its features at the cutoff, and the
    facts the split and the fairness view group by."""

    learner_id: uuid.UUID
    cohort_id: uuid.UUID
    cohort_starts_on: date
    enrolled_at: datetime
    locale: str
    outcome: int
    features: LearnerFeatures


@dataclass(frozen=True)
class TrainingSet:
    """Rows in time order (cohort start, then enrolment), all taken ``cutoff_days`` in."""

    cutoff_days: int
    rows: tuple[TrainingRow, ...]

    def __len__(self) -> int:
        return len(self.rows)

    def matrix(self) -> np.ndarray:
        """Feature values, one row per learner, columns in ``FEATURE_NAMES`` order."""
        return np.array(
            [[row.features.values[name] for name in FEATURE_NAMES] for row in self.rows],
            dtype=float,
        ).reshape(len(self.rows), len(FEATURE_NAMES))

    def outcomes(self) -> np.ndarray:
        return np.array([row.outcome for row in self.rows], dtype=int)

    def cohort_ids(self) -> list[str]:
        """Cohorts from the earliest start to the latest (ties by id, so the order is stable)."""
        starts = {str(row.cohort_id): row.cohort_starts_on for row in self.rows}
        return sorted(starts, key=lambda cohort: (starts[cohort], cohort))


# Building the data set -------------------------------------------------------------------------


def cutoff_days_check(cutoff_days: int) -> None:
    """Refuse a cutoff outside 1..``MAX_CUTOFF_DAYS`` with ``ValidationFailed``."""
    if not 1 <= cutoff_days <= MAX_CUTOFF_DAYS:
        reason = f"Must be between 1 and {MAX_CUTOFF_DAYS} days."
        raise ValidationFailed(f"Invalid cutoff_days: {reason}", detail={"cutoff_days": [reason]})


def training_set(
    *, cutoff_days: int = DEFAULT_CUTOFF_DAYS, on_progress: ProgressCallback | None = None
) -> TrainingSet:
    """Every learner with a known outcome whose cutoff has passed, with point-in-time features.

    Features come from ``features_for`` a chunk at a time; whole cohorts go into one chunk
    where they fit, so each learner is normed against all its cohort peers.
    """
    cutoff_days_check(cutoff_days)
    latest_enrolment = timezone.now() - timedelta(days=cutoff_days)
    learners = list(
        Learner.objects.filter(status__in=OUTCOMES, enrolled_at__lte=latest_enrolment)
        .order_by("cohort__starts_on", "cohort_id", "enrolled_at", "id")
        .values_list("id", "cohort_id", "cohort__starts_on", "enrolled_at", "locale", "status")
    )
    rows: list[TrainingRow] = []
    for chunk in _cohort_chunks(learners, FEATURE_CHUNK_SIZE):
        features = features_for(
            learner_ids=[learner[0] for learner in chunk], cutoff_days=cutoff_days
        )
        rows.extend(
            TrainingRow(
                learner_id=learner_id,
                cohort_id=cohort_id,
                cohort_starts_on=starts_on,
                enrolled_at=enrolled_at,
                locale=locale,
                outcome=OUTCOMES[LearnerStatus(status)],
                features=features[learner_id],
            )
            for learner_id, cohort_id, starts_on, enrolled_at, locale, status in chunk
        )
        if on_progress is not None:
            on_progress(len(rows) / len(learners))
    return TrainingSet(cutoff_days=cutoff_days, rows=tuple(rows))


def _cohort_chunks(rows: Sequence[tuple[Any, ...]], size: int) -> Iterator[list[tuple[Any, ...]]]:
    """Consecutive chunks of at most ``size`` rows (grouped by cohort, the second column) that
    split a cohort only when it alone is larger than ``size``."""
    chunk: list[tuple[Any, ...]] = []
    for cohort_rows in _runs(rows, key=lambda row: row[1]):
        if chunk and len(chunk) + len(cohort_rows) > size:
            yield chunk
            chunk = []
        for start in range(0, len(cohort_rows), size):
            piece = cohort_rows[start : start + size]
            if len(piece) == size:
                yield piece
            else:
                chunk.extend(piece)
    if chunk:
        yield chunk


def _runs(rows: Iterable[Any], *, key: Callable[[Any], Any]) -> Iterator[list[Any]]:
    """Maximal runs of consecutive rows with the same key."""
    run: list[Any] = []
    for row in rows:
        if run and key(run[-1]) != key(row):
            yield run
            run = []
        run.append(row)
    if run:
        yield run


def time_split(
    data: TrainingSet, test_share: float = TEST_SHARE
) -> tuple[TrainingSet, TrainingSet]:
    """Earlier cohorts train, later cohorts test, as the model will meet them in use.

    Whole cohorts stay on one side; the cut is the one whose test share comes closest to
    ``test_share``, with at least one cohort on each side.
    """
    cohorts = data.cohort_ids()
    if len(cohorts) < 2:
        raise ValidationFailed(NOT_ENOUGH_HISTORY, detail={"detail": NOT_ENOUGH_HISTORY})
    sizes = [0] * len(cohorts)
    position = {cohort: index for index, cohort in enumerate(cohorts)}
    for row in data.rows:
        sizes[position[str(row.cohort_id)]] += 1
    total = len(data)
    in_test = [sum(sizes[cut:]) / total for cut in range(1, len(cohorts))]
    cut = 1 + min(range(len(in_test)), key=lambda index: abs(in_test[index] - test_share))
    test_cohorts = set(cohorts[cut:])
    train_rows = tuple(row for row in data.rows if str(row.cohort_id) not in test_cohorts)
    test_rows = tuple(row for row in data.rows if str(row.cohort_id) in test_cohorts)
    return (
        TrainingSet(cutoff_days=data.cutoff_days, rows=train_rows),
        TrainingSet(cutoff_days=data.cutoff_days, rows=test_rows),
    )


# Fitting ---------------------------------------------------------------------------------------


def fit_logistic(train: TrainingSet) -> tuple[LogisticRegression, np.ndarray, np.ndarray]:
    """The fitted scikit-learn model with the train means and stds it was fitted on."""
    outcomes = train.outcomes()
    if len(set(outcomes.tolist())) < 2:
        message = "The training cohorts need both completed and withdrawn learners."
        raise ValidationFailed(message, detail={"detail": message})
    matrix = train.matrix()
    means = matrix.mean(axis=0)
    stds = matrix.std(axis=0)
    stds[stds == 0] = 1.0
    # L2 is the default penalty (spelled differently across scikit-learn versions).
    regression = LogisticRegression(C=1.0, max_iter=1000, class_weight=None)
    regression.fit((matrix - means) / stds, outcomes)
    return regression, means, stds


def train_logistic(
    train: TrainingSet, *, thresholds: Mapping[str, float] | None = None
) -> dict[str, Any]:
    """Parameters for a ``logistic`` RiskModel; default band thresholds come from the train
    scores, so the bands mean the same share of learners the model was built on."""
    regression, means, stds = fit_logistic(train)
    parameters: dict[str, Any] = {
        "intercept": float(regression.intercept_[0]),
        "coefficients": dict(zip(FEATURE_NAMES, map(float, regression.coef_[0]), strict=True)),
        "means": dict(zip(FEATURE_NAMES, map(float, means), strict=True)),
        "stds": dict(zip(FEATURE_NAMES, map(float, stds), strict=True)),
        "feature_names": list(FEATURE_NAMES),
        "cutoff_days": train.cutoff_days,
    }
    if thresholds is None:
        scores = regression.predict_proba((train.matrix() - means) / stds)[:, 1]
        thresholds = {
            "medium": float(np.quantile(scores, MEDIUM_QUANTILE)),
            "high": float(np.quantile(scores, HIGH_QUANTILE)),
        }
    return parameters | {"thresholds": dict(thresholds)}


def model_scores(parameters: Mapping[str, Any], kind: str, data: TrainingSet) -> np.ndarray:
    """Scores through the same function live scoring uses, so we evaluate what is deployed."""
    return np.array(
        [score(row.features, kind=kind, parameters=parameters).score for row in data.rows],
        dtype=float,
    )


# Metrics (pure, over arrays) -------------------------------------------------------------------


def _number(value: float | None) -> float | None:
    """JSON-friendly: a plain float rounded to six places, or None for "undefined"."""
    if value is None or math.isnan(value):
        return None
    return round(float(value), 6)


def roc_auc(outcomes: np.ndarray, scores: np.ndarray) -> float | None:
    """None when only one class is present: the AUC is undefined, not 0.5."""
    if len(np.unique(outcomes)) < 2:
        return None
    return _number(roc_auc_score(outcomes, scores))


def pr_auc(outcomes: np.ndarray, scores: np.ndarray) -> float | None:
    """Average precision; None without any positive."""
    if not outcomes.any():
        return None
    return _number(average_precision_score(outcomes, scores))


def brier(outcomes: np.ndarray, scores: np.ndarray) -> float | None:
    if len(outcomes) == 0:
        return None
    return _number(float(np.mean((scores - outcomes) ** 2)))


def calibration(
    outcomes: np.ndarray, scores: np.ndarray, bins: int = CALIBRATION_BINS
) -> list[dict[str, Any]]:
    """Equal-width score bins (the last one includes 1.0); empty bins are kept, with nulls,
    so the table always has the same shape."""
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
    """Of those flagged, how many withdrew; of those who withdrew, how many were flagged."""
    hits = int((outcomes.astype(bool) & flagged).sum())
    return {
        "precision": _number(hits / flagged.sum()) if flagged.any() else None,
        "recall": _number(hits / outcomes.sum()) if outcomes.any() else None,
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


# Services --------------------------------------------------------------------------------------


def risk_model_get(*, version: int) -> RiskModel:
    try:
        return RiskModel.objects.get(version=version)
    except RiskModel.DoesNotExist as error:
        raise NotFound(f"There is no risk model v{version}.") from error


def _auc_comparison(
    model: RiskModel, active: RiskModel | None
) -> tuple[float | None, float | None] | None:
    """``(this model's, the active model's)`` test ROC AUC when this model was measured
    against the model that is active now, on the same test set; else None (e.g. a rollback)."""
    stored = model.metrics or {}
    against = stored.get("active_on_same_test") or {}
    if active is None or against.get("version") != active.version:
        return None
    return (stored.get("test") or {}).get("roc_auc"), against.get("roc_auc")


def risk_model_activate(*, model: RiskModel, actor: Actor, force: bool = False) -> RiskModel:
    """Make ``model`` the one active version; rollback is activating an older version.

    Refused (``Conflict``) when the model was measured worse than the active model on the same
    test set, unless ``force``. Deactivates first because the database allows one active row.
    """
    with transaction.atomic():
        previous = RiskModel.objects.select_for_update().filter(is_active=True).first()
        if previous is not None and previous.pk == model.pk:
            return model
        comparison = _auc_comparison(model, previous)
        if comparison is not None and not force and not _at_least_as_good(*comparison):
            raise _worse_conflict(model, previous, comparison)
        RiskModel.objects.filter(is_active=True).update(is_active=False, updated_at=timezone.now())
        model.is_active = True
        model.save(update_fields=["is_active", "updated_at"])
        audit_record(
            actor=actor,
            action="risk_model.activate",
            target=model,
            changes={
                "version": model.version,
                "previous": previous.version if previous else None,
                "forced": force,
            },
        )
    return model


def _at_least_as_good(new: float | None, active: float | None) -> bool:
    return new is not None and (active is None or new >= active)


def _worse_conflict(
    model: RiskModel, active: RiskModel | None, comparison: tuple[float | None, float | None]
) -> Conflict:
    new_auc, active_auc = comparison
    active_version = active.version if active else None
    message = (
        f"v{model.version} is not activated: its test ROC AUC {_fmt(new_auc)} does not reach "
        f"the {_fmt(active_auc)} of the active v{active_version} on the same test set. It "
        "stays stored, inactive; force to activate it anyway."
    )
    return Conflict(
        message,
        detail={
            "detail": message,
            "version": model.version,
            "roc_auc": new_auc,
            "active_version": active_version,
            "active_roc_auc": active_auc,
        },
    )


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _next_version() -> int:
    return (RiskModel.objects.aggregate(top=Max("version"))["top"] or 0) + 1


def risk_model_train(
    *,
    cutoff_days: int = DEFAULT_CUTOFF_DAYS,
    activate: bool = False,
    force: bool = False,
    actor: Actor = None,
    on_progress: ProgressCallback | None = None,
) -> RiskModel:
    """Train on earlier cohorts, evaluate it and the active model on the later ones, store it.

    The new version is stored (inactive) even when activation is refused with ``Conflict``.
    ``on_progress`` gets fractions while the features are computed (the slow part).
    """
    data = training_set(cutoff_days=cutoff_days, on_progress=on_progress)
    train, test = time_split(data)
    parameters = train_logistic(train)
    active = risk_model_active()
    measured = {
        "test": evaluate(parameters, RiskModelKind.LOGISTIC, test),
        "active_on_same_test": {
            "version": active.version,
            "kind": active.kind,
            **evaluate(active.parameters, active.kind, test),
        },
        "n_train": len(train),
        "train_cohorts": train.cohort_ids(),
        "test_cohorts": test.cohort_ids(),
        "cutoff_days": cutoff_days,
    }
    model = _store(parameters=parameters, metrics=measured, actor=actor)
    if activate:
        risk_model_activate(model=model, actor=actor, force=force)
    return model


def _store(*, parameters: dict[str, Any], metrics: dict[str, Any], actor: Actor) -> RiskModel:
    """Save as the next version; a concurrent training that took the number is a Conflict."""
    try:
        with transaction.atomic():
            model = RiskModel.objects.create(
                version=_next_version(),
                kind=RiskModelKind.LOGISTIC,
                parameters=parameters,
                metrics=metrics,
                trained_at=timezone.now(),
                notes=f"Logistic regression, features as of day {parameters['cutoff_days']}.",
            )
            audit_record(
                actor=actor,
                action="risk_model.train",
                target=model,
                changes={"version": model.version, "roc_auc": metrics["test"]["roc_auc"]},
            )
    except IntegrityError as error:
        raise Conflict("Another training stored a model at the same time; run again.") from error
    return model


def risk_model_evaluate(*, model: RiskModel) -> dict[str, Any]:
    """Re-evaluate ``model`` (and the active model) on the time-ordered test split of the
    current data: the report ``evaluate_risk_model --json`` prints (see docs/risk.md)."""
    cutoff_days = int(model.parameters.get("cutoff_days", DEFAULT_CUTOFF_DAYS))
    _, test = time_split(training_set(cutoff_days=cutoff_days))
    measured = evaluate(model.parameters, model.kind, test)
    active = risk_model_active()
    active_measured = (
        measured if active.pk == model.pk else evaluate(active.parameters, active.kind, test)
    )
    summary_keys = ("roc_auc", "pr_auc", "brier", "high_band", "top_decile_lift")
    return {
        "version": model.version,
        "kind": model.kind,
        "cutoff_days": cutoff_days,
        "n_test": measured["n"],
        **{key: value for key, value in measured.items() if key != "n"},
        "test_cohorts": test.cohort_ids(),
        "active_model": {
            "version": active.version,
            "kind": active.kind,
            **{key: active_measured[key] for key in summary_keys},
        },
    }


# Exporting the training data -------------------------------------------------------------------

EXPORT_COLUMNS = (
    "learner_id",
    "cohort_id",
    "cohort_starts_on",
    "enrolled_at",
    "locale",
    "outcome",
    *FEATURE_NAMES,
    "feedback_marks",
    "latest_feedback",
    "latest_feedback_at",
)


def training_data_export(*, cutoff_days: int = DEFAULT_CUTOFF_DAYS) -> Iterator[dict[str, Any]]:
    """The training set as flat rows, with each learner's coach feedback marks alongside.

    Pseudonymous by construction: platform ids, no names, emails or notes, so the file can go
    to analysts and into model reviews. One feedback query for the whole set.
    """
    data = training_set(cutoff_days=cutoff_days)
    marks: dict[uuid.UUID, list[tuple[str, datetime]]] = {}
    feedback = RiskFeedback.objects.filter(learner_id__in=[row.learner_id for row in data.rows])
    for learner_id, kind, created_at in feedback.order_by("created_at").values_list(
        "learner_id", "kind", "created_at"
    ):
        marks.setdefault(learner_id, []).append((kind, created_at))
    for row in data.rows:
        learner_marks = marks.get(row.learner_id, [])
        latest = learner_marks[-1] if learner_marks else None
        yield {
            "learner_id": str(row.learner_id),
            "cohort_id": str(row.cohort_id),
            "cohort_starts_on": row.cohort_starts_on.isoformat(),
            "enrolled_at": row.enrolled_at.isoformat(),
            "locale": row.locale,
            "outcome": row.outcome,
            **{name: round(row.features.values[name], 6) for name in FEATURE_NAMES},
            "feedback_marks": len(learner_marks),
            "latest_feedback": latest[0] if latest else "",
            "latest_feedback_at": latest[1].isoformat() if latest else "",
        }
