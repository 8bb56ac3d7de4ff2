"""Historical outcomes for simulations: who withdrew and when, cohort schedules, and learners'
features at a cutoff with their outcome (the data a backtest or a threshold tuning judges a model
on). Reads only, in a fixed number of set-based queries; answers are frozen dataclasses holding
read-only numpy arrays, times as POSIX seconds (UTC) so the maths stays plain numpy.
"""

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import numpy as np
from django.db.models import Count, Q

from learners.models import (
    FINISHED_STATUSES,
    STUDYING_STATUSES,
    Cohort,
    Learner,
    LearnerStatus,
)
from learners.risk.bands import BandPolicy, band_choice
from learners.risk.dataset import FEATURE_CHUNK_SIZE, OUTCOMES, cohort_chunks, cutoff_days_check
from learners.risk.features import FEATURE_NAMES, PerLearner
from learners.risk.raw_columns import features_as_of


def _read_only(values: np.ndarray) -> np.ndarray:
    values.flags.writeable = False
    return values


def _seconds(moment: datetime | None) -> float:
    return np.nan if moment is None else moment.timestamp()


@dataclass(frozen=True, slots=True)
class CohortRun:
    """A cohort's schedule: ``ends_on`` is ``None`` for a self-paced cohort."""

    cohort_id: uuid.UUID
    starts_on: date
    ends_on: date | None

    @property
    def starts_at(self) -> datetime:
        """The start of its first day, UTC (simulations step in UTC weeks)."""
        return datetime.combine(self.starts_on, time.min, tzinfo=UTC)

    @property
    def ends_at(self) -> datetime | None:
        """The end of its last day (the next midnight), UTC; ``None`` when self-paced."""
        if self.ends_on is None:
            return None
        return datetime.combine(self.ends_on + timedelta(days=1), time.min, tzinfo=UTC)


def cohort_runs(cohort_ids: Iterable[uuid.UUID]) -> tuple[CohortRun, ...]:
    """The schedules of those cohorts that exist, earliest start first (one query)."""
    rows = (
        Cohort.objects.filter(id__in=set(cohort_ids))
        .order_by("starts_on", "id")
        .values_list("id", "starts_on", "ends_on")
    )
    return tuple(CohortRun(cohort_id=row[0], starts_on=row[1], ends_on=row[2]) for row in rows)


def finished_cohort_ids(
    *, cohort_ids: Iterable[uuid.UUID] | None, now: datetime
) -> tuple[uuid.UUID, ...]:
    """Cohorts (of ``cohort_ids``; ``None``: all) whose run is over at ``now``: their last day
    has passed, or, self-paced, they have learners and none is still studying (one query)."""
    cohorts = (
        Cohort.objects.all()
        if cohort_ids is None
        else Cohort.objects.filter(id__in=set(cohort_ids))
    )
    over = cohorts.annotate(
        learner_count=Count("learners"),
        studying_count=Count("learners", filter=Q(learners__status__in=STUDYING_STATUSES)),
    ).filter(
        Q(ends_on__lt=now.astimezone(UTC).date())
        | Q(ends_on__isnull=True, learner_count__gt=0, studying_count=0)
    )
    return tuple(over.order_by("starts_on", "id").values_list("id", flat=True))


@dataclass(frozen=True)
class LearnerOutcomes:
    """Every learner of some cohorts (ordered by id), one array item each: ``enrolled_at`` and
    ``finished_at`` in POSIX seconds (``finished_at`` NaN while still studying) and ``withdrawn``
    (finished by withdrawing; every other learner counts as not withdrawn)."""

    learner_ids: tuple[uuid.UUID, ...]
    cohort_ids: tuple[uuid.UUID, ...]
    enrolled_at: np.ndarray
    finished_at: np.ndarray
    withdrawn: np.ndarray


def learner_outcomes(cohort_ids: Iterable[uuid.UUID]) -> LearnerOutcomes:
    """The learners of those cohorts with their enrolment and outcome (one query)."""
    rows = list(
        Learner.objects.filter(cohort_id__in=set(cohort_ids))
        .order_by("id")
        .values_list("id", "cohort_id", "enrolled_at", "finished_at", "status")
    )
    return LearnerOutcomes(
        learner_ids=tuple(row[0] for row in rows),
        cohort_ids=tuple(row[1] for row in rows),
        enrolled_at=_read_only(np.array([row[2].timestamp() for row in rows], dtype=float)),
        finished_at=_read_only(
            np.array(
                [_seconds(row[3] if row[4] in FINISHED_STATUSES else None) for row in rows],
                dtype=float,
            )
        ),
        withdrawn=_read_only(
            np.array([row[4] == LearnerStatus.WITHDRAWN for row in rows], dtype=bool)
        ),
    )


@dataclass(frozen=True)
class CutoffOutcomes:
    """Learners with a known outcome, each with its features ``cutoff_days`` after enrolment (as
    training takes them): ``values`` one row per learner, columns in ``FEATURE_NAMES`` order;
    ``outcomes`` 1 = withdrew, 0 = completed."""

    cutoff_days: int
    learner_ids: tuple[uuid.UUID, ...]
    values: np.ndarray
    outcomes: np.ndarray


def cutoff_outcomes(
    *,
    cohort_ids: Iterable[uuid.UUID],
    cutoff_days: int,
    now: datetime,
    on_progress: Callable[[float], None] | None = None,
) -> CutoffOutcomes:
    """The learners of those cohorts who completed or withdrew and enrolled at least
    ``cutoff_days`` before ``now``, with point-in-time features at their cutoff: the rows
    ``learners.risk.dataset.training_set`` builds, for chosen cohorts. One query, then three
    per chunk of ``FEATURE_CHUNK_SIZE`` learners (whole cohorts where they fit, so each learner
    is normed against its cohort peers); ``on_progress`` hears after each chunk."""
    cutoff_days_check(cutoff_days)
    learners = list(
        Learner.objects.filter(
            cohort_id__in=set(cohort_ids),
            status__in=OUTCOMES,
            enrolled_at__lte=now - timedelta(days=cutoff_days),
        )
        .order_by("cohort__starts_on", "cohort_id", "enrolled_at", "id")
        .values_list("id", "cohort_id", "status")
    )
    at_cutoff = PerLearner("enrolled_at", cutoff_days)
    blocks: list[np.ndarray] = [np.zeros((0, len(FEATURE_NAMES)))]
    done = 0
    for chunk in cohort_chunks(learners, FEATURE_CHUNK_SIZE):
        blocks.append(features_as_of([learner[0] for learner in chunk], at_cutoff)[1])
        done += len(chunk)
        if on_progress is not None:
            on_progress(done / len(learners))
    return CutoffOutcomes(
        cutoff_days=cutoff_days,
        learner_ids=tuple(learner[0] for learner in learners),
        values=_read_only(np.vstack(blocks)),
        outcomes=_read_only(
            np.array([OUTCOMES[LearnerStatus(learner[2])] for learner in learners], dtype=int)
        ),
    )


@dataclass(frozen=True, slots=True)
class CapacityCut:
    """The lowest threshold flagging at most a capacity of learners, and what it flags
    (``fits`` is false when the learners tied at the top score alone exceed the capacity)."""

    threshold: float
    flagged: int
    precision: float | None
    recall: float | None
    fits: bool


def capacity_cut(outcomes: np.ndarray, scores: np.ndarray, capacity: int) -> CapacityCut:
    """The band maths of trained models (``learners.risk.bands.band_choice``) with no precision
    target: the high band that catches the most withdrawers within ``capacity`` learners.
    Needs at least one score."""
    policy = BandPolicy(
        high_capacity=capacity / len(scores), high_min_precision=0.0, medium_capacity=1.0
    )
    choice = band_choice(outcomes, scores, policy)
    flagged = int(np.count_nonzero(scores >= choice.high))
    return CapacityCut(
        threshold=choice.high,
        flagged=flagged,
        precision=choice.precision,
        recall=choice.recall,
        fits=flagged <= capacity,
    )
