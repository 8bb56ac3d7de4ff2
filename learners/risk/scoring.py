"""Batch scoring: features for a scope of learners, scores from the active model, stored results.

Learners still studying (active or paused) are scored as of the run's time. Learners whose
course is over (completed or withdrawn) keep one final assessment per model version, taken as
of the day their cohort closed (or the run's time for a self-paced course), so every learner
carries a current risk and an explanation, and finished learners are never re-flagged.

A run reads its learners' features in two statements per group of learners sharing an
``as_of``, whatever their number, then writes in chunks: one COPY (or INSERT) of assessments,
idempotent per learner, model version and ``as_of``; one read of the previous bands; one UPDATE
of the denormalised current risk. Learners who enter the high band are queued for the
coaches' daily digest.
"""

import json
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone
from psycopg.errors import UniqueViolation

from engagement.bulk import copy_rows
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
STUDYING = (LearnerStatus.ACTIVE, LearnerStatus.PAUSED)
FINISHED = (LearnerStatus.COMPLETED, LearnerStatus.WITHDRAWN)
ASSESSMENT_COLUMNS = ("id", "learner_id", "as_of", "score", "band", "factors", "features")


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


@dataclass(frozen=True)
class _Group:
    """Learners scored together: one ``as_of`` and one set of peers for the cohort norms."""

    learners: QuerySet[Learner]
    as_of: datetime
    studying: bool
    whole_cohorts: bool


def course_closed_at(ends_on: date | None, as_of: datetime) -> datetime:
    """When a finished learner's final assessment is taken: the end of the cohort's last day,
    or ``as_of`` if that is earlier or the course is self-paced (no end date)."""
    if ends_on is None:
        return as_of
    return min(as_of, datetime.combine(ends_on + timedelta(days=1), time.min, tzinfo=UTC))


def _groups(
    model: RiskModel,
    as_of: datetime,
    *,
    cohort_id: Any,
    learner_ids: Iterable[Any] | None,
    stale_only: bool,
) -> list[_Group]:
    scope = Learner.objects.all()
    if learner_ids is not None:
        scope = scope.filter(id__in=list(learner_ids))
    elif cohort_id is not None:
        scope = scope.filter(cohort_id=cohort_id)
    if stale_only:
        scope = scope.filter(risk_stale=True)
    groups = [
        _Group(
            scope.filter(status__in=STUDYING),
            as_of,
            studying=True,
            whole_cohorts=learner_ids is None and not stale_only,
        )
    ]
    finished = scope.filter(status__in=FINISHED)
    if learner_ids is None:
        finished = finished.exclude(
            Exists(RiskAssessment.objects.filter(learner=OuterRef("pk"), model=model))
        )
    closing_days = finished.order_by().values_list("cohort__ends_on", flat=True).distinct()
    groups += [
        _Group(
            finished.filter(cohort__ends_on=ends_on)
            if ends_on is not None
            else finished.filter(cohort__ends_on__isnull=True),
            course_closed_at(ends_on, as_of),
            studying=False,
            whole_cohorts=False,
        )
        for ends_on in closing_days
    ]
    return groups


def _norms_key(cohort_id: uuid.UUID, group: _Group) -> str:
    peers = "studying" if group.studying else "finished"
    return f"risk:norms:v2:{peers}:{cohort_id}:{group.as_of.date().isoformat()}"


def _norms(raws: dict[uuid.UUID, Any], group: _Group) -> dict[uuid.UUID, CohortNorms]:
    """Cohort yardsticks for the day: from this run when it covers whole cohorts (and cached for
    the day), otherwise from the cache or computed over the cohorts' peers (learners studying,
    or, for final assessments, those who finished)."""
    cohort_ids = {raw.cohort_id for raw in raws.values()}
    if group.whole_cohorts:
        norms = cohort_norms(raws.values(), course_lessons(cohort_ids, group.as_of))
    else:
        keys = {cohort_id: _norms_key(cohort_id, group) for cohort_id in cohort_ids}
        cached = cache.get_many(list(keys.values()))
        norms = {cohort_id: cached[key] for cohort_id, key in keys.items() if key in cached}
        missing = cohort_ids - norms.keys()
        if missing:
            peers = Learner.objects.filter(
                cohort_id__in=missing, status__in=STUDYING if group.studying else FINISHED
            )
            everyone = {**raw_features(learners=peers, as_of=group.as_of), **raws}
            norms.update(cohort_norms(everyone.values(), course_lessons(missing, group.as_of)))
    cache.set_many(
        {_norms_key(cohort_id, group): norm for cohort_id, norm in norms.items()},
        timeout=NORMS_SECONDS,
    )
    return norms


def _assessment_row(
    learner_id: uuid.UUID, features: LearnerFeatures, result: Score, as_of: datetime
) -> tuple[Any, ...]:
    """The values of ``ASSESSMENT_COLUMNS``; factors carry numbers, worded on read."""
    return (
        uuid7(),
        learner_id,
        as_of,
        result.score,
        result.band,
        [factor.as_dict() for factor in result.factors],
        {
            "values": dict(features.values),
            "raw": dict(features.raw),
            "little_data": features.little_data,
        },
    )


def _insert_assessments(rows: list[tuple[Any, ...]], *, model: RiskModel, now: datetime) -> int:
    """Insert, skipping ones already stored (a re-run for the same as_of); returns how many landed.

    On PostgreSQL a first COPY attempt takes the common case (a new ``as_of``) fast; if any row
    exists already, the savepoint is rolled back and a conflict-skipping INSERT does the work.
    """
    if connection.vendor == "postgresql":
        try:
            with transaction.atomic():
                copy_rows(
                    RiskAssessment,
                    (
                        (*head, json.dumps(factors), json.dumps(features))
                        for *head, factors, features in rows
                    ),
                    ASSESSMENT_COLUMNS,
                    {"model_id": model.pk, "computed_at": now},
                )
            return len(rows)
        except (IntegrityError, UniqueViolation):
            pass
    RiskAssessment.objects.bulk_create(
        [
            RiskAssessment(
                **dict(zip(ASSESSMENT_COLUMNS, row, strict=True)), model=model, computed_at=now
            )
            for row in rows
        ],
        ignore_conflicts=True,
        batch_size=1000,
    )
    return RiskAssessment.objects.filter(id__in=[row[0] for row in rows]).count()


def _update_current_risk(rows: Sequence[tuple[uuid.UUID, Score]], *, as_of: datetime) -> None:
    """One UPDATE for the chunk: joined to arrays on PostgreSQL, to ``VALUES`` elsewhere."""
    table = connection.ops.quote_name(Learner._meta.db_table)
    # Only the model's own quoted table name and fixed placeholders are interpolated; every
    # value is a bound parameter.
    assign = (
        f"UPDATE {table} SET risk_score = v.score, risk_band = v.band, "  # noqa: S608  # nosec B608
        "risk_scored_at = %s, risk_stale = %s"
    )
    join = f"WHERE {table}.id = v.id"
    if connection.vendor == "postgresql":
        source = "unnest(%s::uuid[], %s::float8[], %s::varchar[]) AS v(id, score, band)"
        sql = f"{assign} FROM {source} {join}"
        ids, scores, bands = ([row[0] for row in rows], [], [])
        for _, result in rows:
            scores.append(result.score)
            bands.append(result.band)
        params: list[Any] = [as_of, False, ids, scores, bands]
    else:
        values = ", ".join(["(%s, %s, %s)"] * len(rows))
        sql = f"WITH v(id, score, band) AS (VALUES {values}) {assign} FROM v {join}"
        pk = Learner._meta.pk
        params = [
            value
            for learner_id, result in rows
            for value in (pk.get_db_prep_value(learner_id, connection), result.score, result.band)
        ]
        params += [as_of, False]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _write_chunk(
    scored: dict[uuid.UUID, tuple[LearnerFeatures, Score]],
    *,
    model: RiskModel,
    group: _Group,
    summary: RescoreSummary,
) -> None:
    chunk = list(scored)
    rows = [
        _assessment_row(learner_id, features, result, group.as_of)
        for learner_id, (features, result) in scored.items()
    ]
    entered: list[uuid.UUID] = []
    with transaction.atomic():
        created = _insert_assessments(rows, model=model, now=timezone.now())
        if group.studying:
            previous = dict(Learner.objects.filter(id__in=chunk).values_list("id", "risk_band"))
            entered = [
                learner_id
                for learner_id, (_, result) in scored.items()
                if result.band == "high" and previous.get(learner_id) != "high"
            ]
        _update_current_risk(
            [(lid, result) for lid, (_, result) in scored.items()], as_of=group.as_of
        )
        RiskAlert.objects.bulk_create(
            [
                RiskAlert(learner_id=lid, score=scored[lid][1].score, as_of=group.as_of)
                for lid in entered
            ],
            ignore_conflicts=True,
        )
    learner_detail_forget(chunk)
    summary.entered_high += len(entered)
    summary.assessments_created += created
    for _, result in scored.values():
        summary.bands[result.band] = summary.bands.get(result.band, 0) + 1


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
    groups = _groups(
        model, as_of, cohort_id=cohort_id, learner_ids=learner_ids, stale_only=stale_only
    )
    prepared = [(group, *_raws_and_norms(group)) for group in groups]
    total = sum(len(raws) for _, raws, _ in prepared)
    for group, raws, norms in prepared:
        for chunk in chunked(sorted(raws), chunk_size):
            scored = {}
            for learner_id in chunk:
                raw = raws[learner_id]
                features = model_inputs(raw, norms[raw.cohort_id], learner_id)
                result = score(features, kind=model.kind, parameters=model.parameters)
                scored[learner_id] = (features, result)
            _write_chunk(scored, model=model, group=group, summary=summary)
            summary.learners += len(chunk)
            if on_progress is not None:
                on_progress(summary.learners / total)
    return summary


def _raws_and_norms(group: _Group) -> tuple[dict[uuid.UUID, Any], dict[uuid.UUID, CohortNorms]]:
    raws = raw_features(learners=group.learners, as_of=group.as_of)
    return raws, (_norms(raws, group) if raws else {})
