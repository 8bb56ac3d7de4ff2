"""Batch scoring: compute features in chunks, score with the active model, store the results.

Each chunk costs a constant number of statements whatever its size: the feature aggregates,
one INSERT of assessments (idempotent per learner, model version and ``as_of``), one read of
the previous bands and one UPDATE of the denormalised current risk. Learners who enter the
high band are queued for the coaches' daily digest.
"""

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet
from django.utils import timezone
from psycopg.errors import UniqueViolation

from engagement.bulk import copy_objects
from engagement.ids import uuid7
from engagement.iterables import chunked
from learners.cache import learner_detail_forget
from learners.models import Learner, LearnerStatus, RiskAlert, RiskAssessment, RiskModel
from learners.risk.features import (
    CohortNorms,
    LearnerFeatures,
    cohort_norms,
    course_lessons,
    model_inputs,
    raw_features,
)
from learners.risk.model import Score, score
from learners.selectors import risk_model_active

CHUNK_SIZE = 2000
NORMS_SECONDS = 36 * 3600
SCORED_STATUSES = (LearnerStatus.ACTIVE, LearnerStatus.PAUSED)


@dataclass
class RescoreSummary:
    model_version: int
    as_of: datetime
    learners: int = 0
    assessments_created: int = 0
    entered_high: int = 0
    bands: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "model_version": self.model_version,
            "as_of": self.as_of.isoformat(),
            "learners": self.learners,
            "assessments_created": self.assessments_created,
            "entered_high": self.entered_high,
            "bands": self.bands,
        }


def learners_to_score(
    *, cohort_id: Any = None, learner_ids: Iterable[Any] | None = None, stale_only: bool = False
) -> QuerySet[Learner]:
    """Learners still studying (active or paused), optionally one cohort, some ids, or only stale ones."""
    queryset = Learner.objects.order_by("id")
    if learner_ids is not None:
        return queryset.filter(id__in=list(learner_ids))
    queryset = queryset.filter(status__in=SCORED_STATUSES)
    if cohort_id is not None:
        queryset = queryset.filter(cohort_id=cohort_id)
    if stale_only:
        queryset = queryset.filter(risk_stale=True)
    return queryset


def _norms_key(cohort_id: uuid.UUID, as_of: datetime) -> str:
    return f"risk:norms:v1:{cohort_id}:{as_of.date().isoformat()}"


def _raws(ids: Sequence[uuid.UUID], as_of: datetime, size: int) -> dict[uuid.UUID, Any]:
    raws = {}
    for chunk in chunked(ids, size):
        raws.update(raw_features(learner_ids=chunk, as_of=as_of))
    return raws


def _norms(
    raws: dict[uuid.UUID, Any], as_of: datetime, *, whole_cohorts: bool, size: int
) -> dict[uuid.UUID, CohortNorms]:
    """Cohort yardsticks for the day: computed from this run when it covers whole cohorts (and
    cached for the day), otherwise taken from the cache or computed over the cohorts' learners."""
    cohort_ids = {raw.cohort_id for raw in raws.values()}
    if whole_cohorts:
        norms = cohort_norms(raws.values(), course_lessons(cohort_ids, as_of))
    else:
        cached = cache.get_many([_norms_key(cohort_id, as_of) for cohort_id in cohort_ids])
        norms = {
            cohort_id: cached[_norms_key(cohort_id, as_of)]
            for cohort_id in cohort_ids
            if _norms_key(cohort_id, as_of) in cached
        }
        missing = cohort_ids - norms.keys()
        if missing:
            peers = list(
                learners_to_score().filter(cohort_id__in=missing).values_list("id", flat=True)
            )
            peer_raws = _raws(peers, as_of, size) if peers else {}
            norms.update(
                cohort_norms([*peer_raws.values(), *raws.values()], course_lessons(missing, as_of))
            )
    cache.set_many(
        {_norms_key(cohort_id, as_of): norm for cohort_id, norm in norms.items()},
        timeout=NORMS_SECONDS,
    )
    return norms


def _features(
    ids: Sequence[uuid.UUID], as_of: datetime, *, whole_cohorts: bool, size: int
) -> dict[uuid.UUID, LearnerFeatures]:
    raws = _raws(ids, as_of, size)
    norms = _norms(raws, as_of, whole_cohorts=whole_cohorts, size=size)
    return {lid: model_inputs(raw, norms[raw.cohort_id], lid) for lid, raw in raws.items()}


def _write_chunk(
    chunk: Sequence[uuid.UUID],
    scored: dict[uuid.UUID, tuple[LearnerFeatures, Score]],
    *,
    model: RiskModel,
    as_of: datetime,
    summary: RescoreSummary,
) -> None:
    now = timezone.now()
    assessments = [
        RiskAssessment(
            id=uuid7(),
            learner_id=lid,
            model=model,
            as_of=as_of,
            score=result.score,
            band=result.band,
            factors=[factor.as_dict() for factor in result.factors],
            features={
                "values": dict(features.values),
                "raw": dict(features.raw),
                "little_data": features.little_data,
            },
            computed_at=now,
        )
        for lid in chunk
        for features, result in [scored[lid]]
    ]
    with transaction.atomic():
        created = _insert_assessments(assessments)
        previous = dict(Learner.objects.filter(id__in=chunk).values_list("id", "risk_band"))
        _update_current_risk([(lid, scored[lid][1]) for lid in chunk], as_of=as_of)
        entered = [
            lid for lid in chunk if scored[lid][1].band == "high" and previous.get(lid) != "high"
        ]
        RiskAlert.objects.bulk_create(
            [RiskAlert(learner_id=lid, score=scored[lid][1].score, as_of=as_of) for lid in entered],
            ignore_conflicts=True,
        )
    learner_detail_forget(chunk)
    summary.entered_high += len(entered)
    summary.assessments_created += created


def _insert_assessments(assessments: list[RiskAssessment]) -> int:
    """Insert, skipping ones already stored (a re-run for the same as_of); returns how many landed.

    On PostgreSQL a first COPY attempt takes the common case (a new ``as_of``) fast; if any row
    exists already, the savepoint is rolled back and a conflict-skipping INSERT does the work.
    """
    if connection.vendor == "postgresql":
        try:
            with transaction.atomic():
                copy_objects(RiskAssessment, assessments)
            return len(assessments)
        except (IntegrityError, UniqueViolation):
            pass
    RiskAssessment.objects.bulk_create(assessments, ignore_conflicts=True, batch_size=1000)
    return RiskAssessment.objects.filter(id__in=[row.id for row in assessments]).count()


def _update_current_risk(rows: Sequence[tuple[uuid.UUID, Score]], *, as_of: datetime) -> None:
    """One ``UPDATE ... FROM (VALUES ...)`` for the chunk (PostgreSQL and SQLite 3.33+ alike)."""
    table = connection.ops.quote_name(Learner._meta.db_table)
    pk = Learner._meta.pk
    placeholders = ", ".join(["(%s, %s, %s)"] * len(rows))
    params: list[Any] = []
    for learner_id, result in rows:
        params += [pk.get_db_prep_value(learner_id, connection), result.score, result.band]
    cast = "::uuid" if connection.vendor == "postgresql" else ""
    # Only the model's own quoted table name and fixed placeholders are interpolated; every
    # value is a bound parameter.
    sql = (
        f"WITH v(id, score, band) AS (VALUES {placeholders}) "  # noqa: S608  # nosec B608
        f"UPDATE {table} SET risk_score = v.score, risk_band = v.band, risk_scored_at = %s, risk_stale = %s "
        f"FROM v WHERE {table}.id = v.id{cast}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, as_of, False])


def learners_rescore(
    *,
    cohort_id: Any = None,
    learner_ids: Iterable[Any] | None = None,
    stale_only: bool = False,
    as_of: datetime | None = None,
    chunk_size: int = CHUNK_SIZE,
    on_progress: Callable[[float], None] | None = None,
) -> RescoreSummary:
    """Score learners with the active model as of ``as_of`` (default now) and store the results.

    Idempotent for the same ``as_of`` and model version: assessments are unique on
    (learner, model, as_of), so a re-run (or a task retried after a crash) adds nothing twice.
    """
    model = risk_model_active()
    as_of = as_of or timezone.now()
    summary = RescoreSummary(model_version=model.version, as_of=as_of)
    ids = list(
        learners_to_score(
            cohort_id=cohort_id, learner_ids=learner_ids, stale_only=stale_only
        ).values_list("id", flat=True)
    )
    whole_cohorts = learner_ids is None and not stale_only
    features = _features(ids, as_of, whole_cohorts=whole_cohorts, size=chunk_size)
    done = 0
    for chunk in chunked(ids, chunk_size):
        scored = {
            lid: (features[lid], score(features[lid], kind=model.kind, parameters=model.parameters))
            for lid in chunk
        }
        _write_chunk(chunk, scored, model=model, as_of=as_of, summary=summary)
        for _, result in scored.values():
            summary.bands[result.band] = summary.bands.get(result.band, 0) + 1
        done += len(chunk)
        if on_progress is not None:
            on_progress(done / len(ids))
    summary.learners = len(ids)
    return summary
