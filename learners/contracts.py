"""What other apps may read of ``learners``: plain, frozen data and functions, nothing else.

The one module of this app that ``nudges``, ``analytics`` and ``simulation`` import (an
import-contract test holds them to it). No model instance or queryset leaves through here:
every answer is a frozen dataclass, a tuple or a read-only numpy array, so a consumer cannot
write through it and does not depend on how the rows are stored. Each function is set-based:
its query count does not grow with the number of learners, cohorts or coaches asked about.

Other apps add sections to the learner page with ``learner_panel_add`` (see
``learners.pages.panels``).

Other apps hear of each batch of activity ingestion writes with ``activity_listener_add`` (see
``learners.activity_listeners``): the nudges app marks re-engagement there.

Other apps add actions on learners selected in the caseload table with
``bulk_action_register(BulkAction(...))`` from their ``AppConfig.ready()`` (the nudges app's
"Start a campaign"): the handler receives only ids already checked to be in the caller's scope.

Caching: ``data_version()`` is replaced by every write of this app that changes what the staff
dashboard counts or lists (learners, risk, coach marks, cohorts, assignments); a consumer that
keys its cached answers on it never serves them after such a write (see ``learners.cache``).

Personal data: a risk snapshot carries the learner's first name (to address them) and nothing
else that names them: no full name, email or external id.
"""

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from types import MappingProxyType
from typing import Any

import numpy as np
from django.utils import timezone

from engagement.roles import sees_personal_data
from learners.activity_listeners import Activity, ActivityListener, activity_listener_add
from learners.analytics_selectors import (
    UNSCORED,
    alerts_waiting_count,
    band_change_ids,
    band_change_rows,
    cohort_coach_ids,
    cohort_day_counts,
    needing_attention,
    needing_attention_ids,
)
from learners.bulk_actions import BulkAction, BulkHandler, bulk_action_register
from learners.cache import data_version
from learners.models import EventKind, Learner, RiskAssessment, RiskBand, RiskModel
from learners.nudge_contacts import LearnerContact, learner_contacts, learner_nudge_opt_out
from learners.nudge_demo import (
    InactiveLearner,
    inactive_learners_at,
    learner_activity,
    recent_cohort_ids,
)
from learners.nudge_generation import learner_cohort_in_scope, learner_cohorts_in_scope
from learners.nudge_pages import learner_labels
from learners.nudge_privacy import PrivacyHook, learner_privacy_hook_add
from learners.nudge_selection import (
    CampaignCandidate,
    campaign_candidates,
    known_cohort_ids,
    learner_cohort_ids,
)
from learners.pages.panels import LearnerPanel, learner_panel_add
from learners.risk.dataset import DEFAULT_CUTOFF_DAYS, MAX_CUTOFF_DAYS, MIN_CUTOFF_DAYS
from learners.risk.explanations import explained_factors
from learners.risk.features import FEATURE_NAMES, LearnerFeatures
from learners.risk.live_scores import LiveScores, live_scores, risk_bands_at
from learners.risk.metrics import (
    brier,
    calibration,
    group_metrics,
    metrics,
    pr_auc,
    precision_recall,
    roc_auc,
    top_decile_lift,
)
from learners.risk.model import band_for, bands_for, best_lever, score_matrix
from learners.risk.outcomes import (
    CapacityCut,
    CohortRun,
    CutoffOutcomes,
    LearnerOutcomes,
    capacity_cut,
    cohort_runs,
    cutoff_outcomes,
    finished_cohort_ids,
    learner_outcomes,
)
from learners.risk.raw_columns import (
    CohortInfo,
    LiveColumns,
    ProjectionStart,
    RawColumns,
    RecentActivity,
    approximate_scores,
    features_as_of,
    live_raw_columns,
    projection_start,
)
from learners.risk.selectors import current_assessments
from learners.scopes import ApiKeyScope
from learners.scoping import sees_every_cohort
from learners.selectors import (
    caseload_counts,
    cohort_learner_counts,
    cohort_list,
    learner_label,
)

__all__ = [
    "BANDS",
    "DEFAULT_CUTOFF_DAYS",
    "EVENT_KINDS",
    "EVENT_KIND_LABELS",
    "FEATURE_NAMES",
    "MAX_CUTOFF_DAYS",
    "MIN_CUTOFF_DAYS",
    "Activity",
    "ActivityListener",
    "ApiKeyScope",
    "AttentionLearner",
    "BandChange",
    "BandChangeIds",
    "BandChanges",
    "BulkAction",
    "BulkHandler",
    "CampaignCandidate",
    "CapacityCut",
    "Caseload",
    "CohortDay",
    "CohortInfo",
    "CohortRun",
    "CohortSummary",
    "CutoffOutcomes",
    "FeatureMatrix",
    "InactiveLearner",
    "LearnerContact",
    "LearnerOutcomes",
    "LearnerPanel",
    "Lever",
    "LiveColumns",
    "LiveScores",
    "ModelSpec",
    "PrivacyHook",
    "ProjectionStart",
    "RawColumns",
    "RecentActivity",
    "RiskFactor",
    "RiskSnapshot",
    "activity_listener_add",
    "alerts_waiting",
    "approximate_scores",
    "attention_learner_ids",
    "band_for",
    "bands_for",
    "brier",
    "bulk_action_register",
    "calibration",
    "campaign_candidates",
    "capacity_cut",
    "caseloads",
    "cohort_coaches",
    "cohort_days",
    "cohort_runs",
    "cohort_summaries",
    "cutoff_outcomes",
    "data_version",
    "feature_matrix",
    "finished_cohort_ids",
    "group_metrics",
    "inactive_learners_at",
    "known_cohort_ids",
    "learner_activity",
    "learner_cohort_ids",
    "learner_cohort_in_scope",
    "learner_cohorts_in_scope",
    "learner_contacts",
    "learner_labels",
    "learner_nudge_opt_out",
    "learner_outcomes",
    "learner_panel_add",
    "learner_privacy_hook_add",
    "learner_risk_snapshot",
    "learner_risk_snapshots",
    "learners_needing_attention",
    "live_raw_columns",
    "live_scores",
    "metrics",
    "pr_auc",
    "precision_recall",
    "projection_start",
    "recent_cohort_ids",
    "risk_band_change_ids",
    "risk_band_changes",
    "risk_bands_at",
    "risk_model_spec",
    "roc_auc",
    "score_matrix",
    "top_decile_lift",
    "visible_cohort_ids",
]

#: Factors a snapshot carries: the ones pushing the score up most, largest first.
TOP_FACTORS = 3


# For nudges: a learner's current risk, explained ---------------------------------------------


@dataclass(frozen=True, slots=True)
class RiskFactor:
    """One factor of a score: its value, its push on the log-odds, and the coach's wording."""

    name: str
    value: float
    contribution: float
    explanation: str


@dataclass(frozen=True, slots=True)
class Lever:
    """The factor whose realistic improvement lowers the score most, and the score it gives."""

    factor: str
    score_after: float
    reduction: float


@dataclass(frozen=True, slots=True)
class RiskSnapshot:
    """What a nudge needs about one scored learner, as of their current assessment.

    ``days_inactive`` and ``progress`` are as of ``scored_at`` (what the factors explain);
    ``studying`` is false for learners who completed or withdrew, ``nudge_opt_out`` true for
    those who asked not to be nudged.
    """

    learner_id: uuid.UUID
    first_name: str
    cohort_name: str
    course_code: str
    locale: str
    timezone: str
    studying: bool
    nudge_opt_out: bool
    days_inactive: float
    progress: float
    score: float
    band: str
    scored_at: datetime
    model_version: int
    top_factors: tuple[RiskFactor, ...]
    best_lever: Lever | None


def learner_risk_snapshots(learner_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, RiskSnapshot]:
    """Snapshots of the scored learners among ``learner_ids`` (unknown or never scored ones are
    absent), in two queries whatever their number."""
    ids = set(learner_ids)
    learners = Learner.objects.filter(id__in=ids, risk_scored_at__isnull=False).select_related(
        "cohort"
    )
    assessments = current_assessments(learner_ids=ids)
    return {
        learner.pk: _snapshot(learner, assessments[learner.pk])
        for learner in learners
        if learner.pk in assessments
    }


def learner_risk_snapshot(learner_id: uuid.UUID) -> RiskSnapshot | None:
    """One learner's snapshot; ``None`` when there is no such learner or it is not scored yet."""
    return learner_risk_snapshots([learner_id]).get(learner_id)


def _snapshot(learner: Learner, assessment: RiskAssessment) -> RiskSnapshot:
    stored = assessment.features
    raw = stored["raw"]
    model = assessment.model
    factors = explained_factors(
        (factor for factor in assessment.factors if factor["contribution"] > 0), raw
    )[:TOP_FACTORS]
    features = LearnerFeatures(
        learner_id=learner.pk,
        cohort_id=learner.cohort_id,
        as_of=assessment.as_of,
        values=stored["values"],
        raw=raw,
        little_data=stored["little_data"],
    )
    lever = best_lever(kind=model.kind, parameters=model.parameters, features=features)
    return RiskSnapshot(
        learner_id=learner.pk,
        first_name=(learner.name.split() or [""])[0],
        cohort_name=learner.cohort.name,
        course_code=learner.cohort.course_code,
        locale=learner.locale,
        timezone=learner.timezone,
        studying=learner.finished_at is None,
        nudge_opt_out=learner.nudge_opt_out,
        days_inactive=float(raw["days_inactive"]),
        progress=float(raw["actual_progress"]),
        score=assessment.score,
        band=assessment.band,
        scored_at=assessment.as_of,
        model_version=model.version,
        top_factors=tuple(
            RiskFactor(
                name=factor["factor"],
                value=factor["value"],
                contribution=factor["contribution"],
                explanation=factor["explanation"],
            )
            for factor in factors
        ),
        best_lever=None if lever is None else Lever(**lever),
    )


# For simulation: features as of any time, the model function and the metrics ----------------


@dataclass(frozen=True)
class FeatureMatrix:
    """Model inputs for a set of learners as of one time: one row per learner (in
    ``learner_ids`` order), one column per feature (in ``feature_names`` order); read-only."""

    as_of: datetime
    learner_ids: tuple[uuid.UUID, ...]
    feature_names: tuple[str, ...]
    values: np.ndarray


def feature_matrix(
    *,
    as_of: datetime,
    learner_ids: Sequence[uuid.UUID] | None = None,
    cohort_ids: Iterable[uuid.UUID] | None = None,
) -> FeatureMatrix:
    """Point-in-time features (events strictly before ``as_of``) of the given learners, or of
    every learner of the given cohorts enrolled by then; the same code live scoring uses, in a
    constant number of queries. Learners are normed against the others in the matrix."""
    if (learner_ids is None) == (cohort_ids is None):
        raise ValueError("Give learner_ids or cohort_ids.")
    if learner_ids is None:
        learner_ids = list(
            Learner.objects.filter(cohort_id__in=set(cohort_ids or ()), enrolled_at__lte=as_of)
            .order_by("id")
            .values_list("id", flat=True)
        )
    ids, values = features_as_of(learner_ids, as_of)
    values.flags.writeable = False
    return FeatureMatrix(as_of=as_of, learner_ids=ids, feature_names=FEATURE_NAMES, values=values)


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """A stored risk model as the pure model function takes it: ``score_matrix(matrix,
    kind=spec.kind, parameters=spec.parameters)`` scores exactly as live scoring with it does."""

    version: int
    kind: str
    parameters: Mapping[str, Any]
    is_active: bool

    @property
    def thresholds(self) -> Mapping[str, float]:
        """The band thresholds (``medium``, ``high``) the model bands its scores with."""
        return MappingProxyType(dict(self.parameters["thresholds"]))


def risk_model_spec(*, version: int | None = None) -> ModelSpec | None:
    """The risk model of that version, or the active one when ``version`` is ``None``; ``None``
    when there is no such model (one query)."""
    models = (
        RiskModel.objects.filter(version=version)
        if version
        else RiskModel.objects.filter(is_active=True)
    )
    model = models.only("version", "kind", "parameters", "is_active").first()
    if model is None:
        return None
    return ModelSpec(
        version=model.version,
        kind=model.kind,
        parameters=MappingProxyType(dict(model.parameters)),
        is_active=model.is_active,
    )


# For analytics: cohorts and caseloads, counted in the database -------------------------------


@dataclass(frozen=True, slots=True)
class CohortSummary:
    """A cohort with its learners counted: by status, and those still studying by risk band
    (``unscored``: not scored yet)."""

    cohort_id: uuid.UUID
    name: str
    course_code: str
    starts_on: date
    ends_on: date | None
    timezone: str
    learners: int
    studying: int
    completed: int
    withdrawn: int
    high_risk: int
    medium_risk: int
    low_risk: int
    unscored: int


def cohort_summaries(*, actor: Any) -> tuple[CohortSummary, ...]:
    """The cohorts the caller may see (newest start first), counted in one query."""
    return tuple(
        CohortSummary(
            cohort_id=row["id"],
            name=row["name"],
            course_code=row["course_code"],
            starts_on=row["starts_on"],
            ends_on=row["ends_on"],
            timezone=row["timezone"],
            learners=row["learner_count"],
            studying=row["studying_count"],
            completed=row["completed_count"],
            withdrawn=row["withdrawn_count"],
            high_risk=row["high_risk_count"],
            medium_risk=row["medium_risk_count"],
            low_risk=row["low_risk_count"],
            unscored=row["unscored_count"],
        )
        for row in cohort_learner_counts(actor=actor)
    )


@dataclass(frozen=True, slots=True)
class Caseload:
    """One coach's caseload over their cohorts: learners still studying, those at high risk,
    and those at high risk with no coach mark within ``RISK_FEEDBACK_QUIET_DAYS``."""

    coach_id: Any
    cohorts: int
    learners: int
    high_risk: int
    high_risk_without_action: int


def caseloads(*, actor: Any, now: datetime | None = None) -> tuple[Caseload, ...]:
    """Each active coach assigned to a cohort the caller may see, in two queries."""
    counts: Mapping[Any, Mapping[str, int]] = caseload_counts(
        actor=actor, now=now or timezone.now()
    )
    return tuple(Caseload(coach_id=coach_id, **row) for coach_id, row in sorted(counts.items()))


# For analytics: snapshots of a day, learners needing attention, band changes -----------------
#
# Day convention: a day is a UTC calendar day ``[00:00, 24:00)``. Events and active learners
# count within it; learners, statuses, bands and alerts waiting are as of its END (the next
# midnight, UTC), or as of now for today, whose figures are partial until the day is over.


#: Every activity kind, in their declared order: the per-kind event columns of a snapshot.
EVENT_KINDS: tuple[str, ...] = tuple(EventKind.values)
#: Each kind's label, for people.
EVENT_KIND_LABELS: Mapping[str, str] = MappingProxyType(dict(EventKind.choices))
#: Risk bands of a studying learner, worst first, and ``unscored`` for those not scored yet.
BANDS: tuple[str, ...] = (RiskBand.HIGH, RiskBand.MEDIUM, RiskBand.LOW, UNSCORED)


@dataclass(frozen=True, slots=True)
class CohortDay:
    """One cohort's figures for one UTC day (see the day convention above). ``studying`` is
    split by band into ``high``, ``medium``, ``low`` and ``unscored``; ``events`` maps each kind
    of :data:`EVENT_KINDS` to its count."""

    cohort_id: uuid.UUID
    day: date
    as_of: datetime
    learners: int
    studying: int
    completed: int
    withdrawn: int
    high: int
    medium: int
    low: int
    unscored: int
    active_learners: int
    events: Mapping[str, int]
    alerts_waiting: int


def cohort_days(*, day: date, now: datetime | None = None) -> tuple[CohortDay, ...]:
    """Every cohort's figures for ``day`` (UTC), as of its end or ``now`` if earlier, in six
    queries whatever the number of cohorts and learners. The band of a learner is that of their
    latest assessment at or before that instant: as sparse as the scoring history."""
    now = now or timezone.now()
    start = datetime.combine(day, time.min, tzinfo=UTC)
    end = start + timedelta(days=1)
    as_of = min(end, now)
    return tuple(
        CohortDay(
            cohort_id=row["cohort_id"],
            day=day,
            as_of=as_of,
            learners=row["learners"],
            studying=row["studying"],
            completed=row["completed"],
            withdrawn=row["withdrawn"],
            high=row[RiskBand.HIGH],
            medium=row[RiskBand.MEDIUM],
            low=row[RiskBand.LOW],
            unscored=row[UNSCORED],
            active_learners=row["active_learners"],
            events=MappingProxyType({kind: row["events"].get(kind, 0) for kind in EVENT_KINDS}),
            alerts_waiting=row["alerts_waiting"],
        )
        for row in cohort_day_counts(start=start, end=end, as_of=as_of)
    )


def visible_cohort_ids(*, actor: Any) -> frozenset[uuid.UUID] | None:
    """The ids of the caller's cohorts; ``None`` when the caller sees every cohort (no query)."""
    if sees_every_cohort(actor):
        return None
    return frozenset(cohort_list(actor=actor).values_list("id", flat=True))


def alerts_waiting(*, actor: Any) -> int:
    """Risk alerts of the caller's learners not delivered yet (one query)."""
    return alerts_waiting_count(actor=actor)


def cohort_coaches(*, actor: Any) -> Mapping[uuid.UUID, tuple[Any, ...]]:
    """The active coaches' user ids assigned to each of the caller's cohorts (one query)."""
    return MappingProxyType(
        {cohort_id: tuple(ids) for cohort_id, ids in cohort_coach_ids(actor=actor).items()}
    )


@dataclass(frozen=True, slots=True)
class AttentionLearner:
    """A studying learner in the high band whom no coach marked within
    ``RISK_FEEDBACK_QUIET_DAYS``: ``label`` is a pseudonym for pseudonymised callers;
    ``high_since`` is when their current band began (the assessment that made them high)."""

    learner_id: uuid.UUID
    label: str
    cohort_id: uuid.UUID
    cohort_name: str
    score: float | None
    top_factor: str
    high_since: datetime | None


def attention_learner_ids(
    *, actor: Any, now: datetime | None = None, limit: int = 10
) -> tuple[uuid.UUID, ...]:
    """Ids of the caller's high-risk learners nobody has acted on, riskiest first (one query):
    no personal data, so a consumer may cache them and read the rows with
    :func:`learners_needing_attention`."""
    return tuple(needing_attention_ids(actor=actor, now=now or timezone.now(), limit=limit))


def learners_needing_attention(
    *, actor: Any, learner_ids: Sequence[uuid.UUID], now: datetime | None = None
) -> tuple[AttentionLearner, ...]:
    """The learners of ``learner_ids`` (from :func:`attention_learner_ids`) still in the
    caller's scope and still needing attention, in that order (two queries by primary key)."""
    rows = needing_attention(actor=actor, now=now or timezone.now(), learner_ids=list(learner_ids))
    personal = sees_personal_data(actor)
    return tuple(
        AttentionLearner(
            learner_id=row["learner"].pk,
            label=learner_label(row["learner"], personal=personal),
            cohort_id=row["learner"].cohort_id,
            cohort_name=row["learner"].cohort.name,
            score=row["score"],
            top_factor=row["top_factor"],
            high_since=row["high_since"],
        )
        for row in rows
    )


@dataclass(frozen=True, slots=True)
class BandChange:
    """A learner whose band changed in a window: ``band_before`` is their band before the last
    change, ``None`` when that change was their first score."""

    learner_id: uuid.UUID
    label: str
    cohort_name: str
    score: float | None
    band_before: str | None
    band_now: str


@dataclass(frozen=True, slots=True)
class BandChanges:
    """Between ``since`` and ``now``: studying learners who entered the high band and those who
    left it (counts, and the top rows of each), judged by each learner's last change of band."""

    since: datetime
    now: datetime
    became_high: int
    recovered: int
    became_high_rows: tuple[BandChange, ...]
    recovered_rows: tuple[BandChange, ...]


@dataclass(frozen=True, slots=True)
class BandChangeIds:
    """The figures of :class:`BandChanges` and the ids of its top rows: no personal data, so a
    consumer may cache it and read the rows with :func:`risk_band_changes`."""

    since: datetime
    became_high: int
    recovered: int
    became_high_ids: tuple[uuid.UUID, ...]
    recovered_ids: tuple[uuid.UUID, ...]


def risk_band_change_ids(*, actor: Any, since: datetime, limit: int = 10) -> BandChangeIds:
    """Who entered and who left the high band among the caller's studying learners since
    ``since`` (those whose current band began after it, ``risk_band_changed_at``, into or out of
    high), counted, with the ids of the riskiest new ones and the most improved recovered ones:
    three indexed queries."""
    found = band_change_ids(actor=actor, since=since, limit=limit)
    return BandChangeIds(
        since=since,
        became_high=found["became_high"],
        recovered=found["recovered"],
        became_high_ids=tuple(found["became_high_ids"]),
        recovered_ids=tuple(found["recovered_ids"]),
    )


def risk_band_changes(*, actor: Any, picked: BandChangeIds, now: datetime) -> BandChanges:
    """``picked``'s figures and the rows it names that are still in the caller's scope and still
    changed since then, in its order; ``now`` dates the answer. One query by primary key."""
    found = band_change_rows(
        actor=actor,
        since=picked.since,
        picked={"became_high_ids": picked.became_high_ids, "recovered_ids": picked.recovered_ids},
    )
    personal = sees_personal_data(actor)

    def changes(learners: Sequence[Learner]) -> tuple[BandChange, ...]:
        return tuple(
            BandChange(
                learner_id=learner.pk,
                label=learner_label(learner, personal=personal),
                cohort_name=learner.cohort.name,
                score=learner.risk_score,
                band_before=learner.band_before,  # type: ignore[attr-defined]
                band_now=learner.band_now,  # type: ignore[attr-defined]
            )
            for learner in learners
        )

    return BandChanges(
        since=picked.since,
        now=now,
        became_high=picked.became_high,
        recovered=picked.recovered,
        became_high_rows=changes(found["became_high"]),
        recovered_rows=changes(found["recovered"]),
    )
