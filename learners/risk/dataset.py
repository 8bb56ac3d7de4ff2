"""Labelled, point-in-time data sets for training and judging risk models.

Honest means: features are taken as of a fixed day after each learner's enrolment (no look at
what happened later), and the split trains on earlier cohorts and tests on later ones (as the
model will be used). Reads only; the model lifecycle that uses these lives in ``services``.
"""

import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
from django.utils import timezone

from engagement.errors import ValidationFailed
from learners.models import Learner, LearnerStatus, RiskFeedback
from learners.risk.features import FEATURE_NAMES, LearnerFeatures, features_for

DEFAULT_CUTOFF_DAYS = 28
#: Half a year in: later than that, a warning comes too late to matter (and days must stay finite).
MIN_CUTOFF_DAYS = 7
MAX_CUTOFF_DAYS = 180
FEATURE_CHUNK_SIZE = 2000
TEST_SHARE = 0.3
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
    """Refuse a cutoff outside ``MIN_CUTOFF_DAYS``..``MAX_CUTOFF_DAYS`` with ``ValidationFailed``:
    the one rule for the API, the commands and the schedules (a week is the least that says
    anything about engagement)."""
    if not MIN_CUTOFF_DAYS <= cutoff_days <= MAX_CUTOFF_DAYS:
        reason = f"Must be between {MIN_CUTOFF_DAYS} and {MAX_CUTOFF_DAYS} days."
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
    for chunk in cohort_chunks(learners, FEATURE_CHUNK_SIZE):
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


def cohort_chunks(rows: Sequence[tuple[Any, ...]], size: int) -> Iterator[list[tuple[Any, ...]]]:
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
