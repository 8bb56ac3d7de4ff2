"""Batch scoring: features for a scope of learners, scores from the active model, stored results.

Learners still studying (active or paused) are scored as of the run's time. Learners who
completed or withdrew keep one final assessment per model version, taken as of the moment they
finished (``Learner.finished_at``), so every learner carries a current risk and an explanation,
and a finished learner is neither re-flagged nor rescored day after day. (A backfill as of a
time before a learner finished scores them as studying then.) Learners who had not enrolled by
the run's time are not scored.

A learner's current risk (the denormalised ``risk_score``, ``risk_band``, ``risk_scored_at``) is
their assessment with the latest ``as_of``, or their final one once they finished. A backfill (a
run as of a time before a learner's current assessment) adds history only: it leaves the current
risk as it is and raises no alert.

A run reads features in two statements per group (studying, finished), whatever the number of
learners, then scores them a chunk at a time with NumPy (``model_input_rows``, ``score_rows``)
and writes each chunk while the next one is scored (``ChunkWriter``), in one transaction per
chunk: one COPY (or INSERT) of assessments, idempotent per learner, model version and ``as_of``;
one read of the current risk; one UPDATE of the denormalised current risk, where the new
assessment becomes current. Learners still studying who enter the high band
with it are queued for the coaches' daily digest; only learners studying count in the run's
bands (finished learners are a count of their own).

Model versions are written here too: training stores a new version with its honest metrics
(see ``dataset`` and ``metrics``), activation switches the one active version, and a new model
is compared with the active one and the naive baselines (``baselines``) on exactly the same test
rows; activation refuses a version that lost either comparison unless forced.
"""

import json
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, Max, OuterRef, Q, QuerySet
from django.utils import timezone
from psycopg.errors import UniqueViolation

from engagement.audit import Actor, audit_record
from engagement.bulk import copy_rows
from engagement.errors import Conflict
from engagement.ids import row_by_id, uuid7_hex_batch
from engagement.input_bounds import future_problem
from engagement.iterables import chunked
from engagement.metrics import cache_lookup_count
from learners.cache import COHORT_NORMS_USE, learner_detail_forget, learners_data_changed
from learners.models import (
    FINISHED_STATUSES,
    STUDYING_STATUSES,
    Cohort,
    Learner,
    RiskAlert,
    RiskAssessment,
    RiskModel,
    RiskModelKind,
    day_start,
)
from learners.risk.bands import configured_policy
from learners.risk.baselines import baselines_on
from learners.risk.chunk_writer import ChunkWriter
from learners.risk.dataset import DEFAULT_CUTOFF_DAYS, ProgressCallback, time_split, training_set
from learners.risk.features import (
    AT_FINISH,
    CohortNorms,
    RawFacts,
    When,
    cohort_norms,
    course_lessons,
    features_json,
    model_input_rows,
    raw_features,
)
from learners.risk.kind_selection import fit_best_kind
from learners.risk.metrics import evaluate
from learners.risk.model import factors_json, score_rows
from learners.selectors import risk_model_active

CHUNK_SIZE = 2000
NORMS_SECONDS = 36 * 3600
ASSESSMENT_COLUMNS = ("id", "learner_id", "as_of", "score", "band", "factors", "features")


@dataclass
class RescoreSummary:
    model_version: int
    as_of: datetime
    learners: int = 0
    assessments_created: int = 0
    entered_high: int = 0
    # Learners still studying, per band: the caseload. Finished learners are counted apart.
    bands: dict[str, int] = field(default_factory=dict)
    finished: int = 0
    # Scored as of a time before their current assessment: stored as history only.
    history_only: int = 0
    # In scope but not enrolled yet at ``as_of``: not scored.
    not_enrolled: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "model_version": self.model_version,
            "as_of": self.as_of.isoformat(),
            "learners": self.learners,
            "assessments_created": self.assessments_created,
            "entered_high": self.entered_high,
            "bands": self.bands,
            "finished": self.finished,
            "history_only": self.history_only,
            "not_enrolled": self.not_enrolled,
        }


@dataclass(frozen=True)
class _Group:
    """Learners scored together: the same ``when`` and the same kind of peers for the norms."""

    learners: QuerySet[Learner]
    when: When
    whole_cohorts: bool

    @property
    def studying(self) -> bool:
        """Scored as of the run's time; finished learners are scored as of their finish."""
        return isinstance(self.when, datetime)


def _studying_at(as_of: datetime) -> Q:
    """Learners studying at ``as_of``: still studying, or finished only later."""
    return Q(status__in=STUDYING_STATUSES) | Q(finished_at__gt=as_of)


def _scope(
    *, cohort_id: Any, learner_ids: Iterable[Any] | None, stale_only: bool
) -> QuerySet[Learner]:
    scope = Learner.objects.all()
    if learner_ids is not None:
        scope = scope.filter(id__in=list(learner_ids))
    elif cohort_id is not None:
        scope = scope.filter(cohort_id=cohort_id)
    if stale_only:
        scope = scope.filter(risk_stale=True)
    return scope


def _groups(
    model: RiskModel, as_of: datetime, scope: QuerySet[Learner], whole: bool
) -> list[_Group]:
    scope = scope.filter(enrolled_at__lte=as_of)
    studying = scope.filter(_studying_at(as_of))
    finished = scope.filter(status__in=FINISHED_STATUSES, finished_at__lte=as_of)
    if whole:  # a final assessment by this model is taken once
        final = RiskAssessment.objects.filter(
            learner=OuterRef("pk"), model=model, as_of=OuterRef("finished_at")
        )
        finished = finished.exclude(Exists(final))
    return [_Group(studying, as_of, whole_cohorts=whole), _Group(finished, AT_FINISH, False)]


def _norms_key(cohort_id: uuid.UUID, group: _Group) -> str:
    if isinstance(group.when, datetime):
        return f"risk:norms:v4:studying:{cohort_id}:{group.when.date().isoformat()}"
    return f"risk:norms:v4:finished:{cohort_id}:{timezone.now().date().isoformat()}"


def _norms(raws: dict[uuid.UUID, Any], group: _Group) -> dict[uuid.UUID, CohortNorms]:
    """Cohort yardsticks for the day: from this run when it covers whole cohorts (and cached for
    the day), otherwise from the cache or computed over the cohorts' peers (learners studying,
    or, for final assessments, those who finished)."""
    cohort_ids = {raw.cohort_id for raw in raws.values()}
    if group.whole_cohorts:
        norms = cohort_norms(raws.values(), course_lessons(cohort_ids, group.when))
    else:
        keys = {cohort_id: _norms_key(cohort_id, group) for cohort_id in cohort_ids}
        cached = cache.get_many(list(keys.values()))
        norms = {cohort_id: cached[key] for cohort_id, key in keys.items() if key in cached}
        missing = cohort_ids - norms.keys()
        cache_lookup_count(COHORT_NORMS_USE, hits=len(norms), misses=len(missing))
        if missing:
            peers = Learner.objects.filter(
                _studying_at(group.when)
                if isinstance(group.when, datetime)
                else Q(status__in=FINISHED_STATUSES),
                cohort_id__in=missing,
            )
            everyone = {**raw_features(learners=peers, when=group.when), **raws}
            norms.update(cohort_norms(everyone.values(), course_lessons(missing, group.when)))
    cache.set_many(
        {_norms_key(cohort_id, group): norm for cohort_id, norm in norms.items()},
        timeout=NORMS_SECONDS,
    )
    return norms


@dataclass(frozen=True)
class _Scored:
    """A chunk of learners scored, ready to write (row ``i`` of each is learner ``i``): built on
    the scoring thread, so that the writing thread mostly waits for the database."""

    learner_ids: list[uuid.UUID]
    as_of: Sequence[datetime]
    scores: list[float]
    bands: list[str]
    progress: list[float]  # ``actual_progress`` as the features store it
    assessments: list[tuple[Any, ...]]  # the values of ``ASSESSMENT_COLUMNS`` (ids as hex)


def _scored(
    learner_ids: list[uuid.UUID],
    raws: dict[uuid.UUID, RawFacts],
    norms: dict[uuid.UUID, CohortNorms],
    model: RiskModel,
) -> _Scored:
    """Features, scores and the stored JSON of a chunk, column by column (NumPy). Factors carry
    numbers, worded on read."""
    rows = model_input_rows([raws[learner_id] for learner_id in learner_ids], norms, learner_ids)
    scored = score_rows(rows.matrix, kind=model.kind, parameters=model.parameters)
    scores, bands = scored.scores.tolist(), scored.bands.tolist()
    assessments = list(
        zip(
            uuid7_hex_batch(len(learner_ids)),
            learner_ids,
            rows.as_of,
            scores,
            bands,
            factors_json(scored),
            features_json(rows),
            strict=True,
        )
    )
    return _Scored(
        learner_ids, rows.as_of, scores, bands, rows.facts["actual_progress"], assessments
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
                    rows,
                    ASSESSMENT_COLUMNS,
                    {"model_id": model.pk, "computed_at": now},
                )
            return len(rows)
        except (IntegrityError, UniqueViolation):
            pass
    RiskAssessment.objects.bulk_create(
        [
            RiskAssessment(
                id=uuid.UUID(pk),
                learner_id=learner_id,
                as_of=as_of,
                score=score,
                band=band,
                factors=json.loads(factors),
                features=json.loads(features),
                model=model,
                computed_at=now,
            )
            for pk, learner_id, as_of, score, band, factors, features in rows
        ],
        ignore_conflicts=True,
        batch_size=1000,
    )
    return RiskAssessment.objects.filter(id__in=[uuid.UUID(row[0]) for row in rows]).count()


def _becomes_current(
    as_of: datetime, scored_at: datetime | None, finished_at: datetime | None
) -> bool:
    """Whether an assessment as of ``as_of`` replaces the current risk (scored as of
    ``scored_at``): it is not older, or it is the learner's final one. The UPDATE applies the
    same rule in SQL."""
    return scored_at is None or scored_at <= as_of or finished_at == as_of


def _update_current_risk(
    rows: Sequence[tuple[uuid.UUID, float, str, datetime, float]], *, fresh_since: datetime
) -> None:
    """One UPDATE for the chunk: joined to arrays on PostgreSQL, to ``VALUES`` elsewhere.

    Only where the assessment becomes current (``_becomes_current``): a backfill leaves a later
    current risk in place, also against a run that wrote it meanwhile.

    A learner written since ``fresh_since`` (the run's start, or its ``as_of`` if earlier: new
    events, a change) stays ``risk_stale``: this run may have read them before the write, and
    the rescore that write queued must not find them fresh.

    ``progress`` is set with the risk: the learner's progress is the one the assessment explains
    (``actual_progress``, see docs/risk.md), so the record and the explanation cannot disagree.

    Where the band changes (``risk_band`` is never NULL: blank until first scored), the old band
    becomes ``risk_band_previous`` and the assessment's time ``risk_band_changed_at``, in the
    same statement (the right-hand sides read the row as it was): "since yesterday" and "high
    since" read them instead of the history.
    """
    table = connection.ops.quote_name(Learner._meta.db_table)
    # Only the model's own quoted table name and fixed placeholders are interpolated; every
    # value is a bound parameter.
    changed = f"{table}.risk_band <> v.band"
    assign = (
        f"UPDATE {table} SET risk_score = v.score, risk_band = v.band, "  # noqa: S608  # nosec B608
        f"risk_band_previous = CASE WHEN {changed} THEN {table}.risk_band "
        f"ELSE {table}.risk_band_previous END, "
        f"risk_band_changed_at = CASE WHEN {changed} THEN v.as_of "
        f"ELSE {table}.risk_band_changed_at END, "
        f"risk_scored_at = v.as_of, progress = v.progress, risk_stale = {table}.updated_at > %s"
    )
    join = (
        f"WHERE {table}.id = v.id AND ({table}.risk_scored_at IS NULL "
        f"OR {table}.risk_scored_at <= v.as_of OR {table}.finished_at = v.as_of)"
    )
    columns = "v(id, score, band, as_of, progress)"
    if connection.vendor == "postgresql":
        arrays = "%s::uuid[], %s::float8[], %s::varchar[], %s::timestamptz[], %s::float8[]"
        sql = f"{assign} FROM unnest({arrays}) AS {columns} {join}"
        params: list[Any] = [fresh_since, *map(list, zip(*rows, strict=True))]
    else:
        values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(rows))
        sql = f"WITH {columns} AS (VALUES {values}) {assign} FROM v {join}"
        pk, as_of = Learner._meta.pk, Learner._meta.get_field("risk_scored_at")
        params = [
            prepared
            for learner_id, score, band, when, progress in rows
            for prepared in (
                pk.get_db_prep_value(learner_id, connection),
                score,
                band,
                as_of.get_db_prep_value(when, connection),
                progress,
            )
        ]
        updated_at = Learner._meta.get_field("updated_at")
        params.append(updated_at.get_db_prep_value(fresh_since, connection))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _write_chunk(
    scored: _Scored,
    *,
    model: RiskModel,
    group: _Group,
    summary: RescoreSummary,
    started: datetime,
) -> None:
    """Store a chunk in one transaction: its assessments, the current risk where they become
    current, the alerts of learners who entered the high band; then count it in ``summary``.

    On PostgreSQL a chunk committed on its own does not wait for its WAL to reach the disk
    (``synchronous_commit`` off for that transaction only): a crash may lose the last chunks
    committed, never part of one, and a re-run writes them again (idempotent); the job's result,
    committed afterwards as usual, waits for all of it. A caller's own transaction is left as it
    is.
    """
    chunk, scores, bands, as_of = scored.learner_ids, scored.scores, scored.bands, scored.as_of
    own_transaction = not connection.in_atomic_block
    with transaction.atomic():
        if own_transaction and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit = off")
        created = _insert_assessments(scored.assessments, model=model, now=timezone.now())
        # Per learner: status, band, scored at, finished at.
        state: dict[uuid.UUID, tuple[str, str, datetime | None, datetime | None]] = {
            learner_id: (status, band, scored_at, finished_at)
            for learner_id, status, band, scored_at, finished_at in Learner.objects.filter(
                id__in=chunk
            ).values_list("id", "status", "risk_band", "risk_scored_at", "finished_at")
        }
        current = [
            learner_id in state
            and _becomes_current(when, state[learner_id][2], state[learner_id][3])
            for learner_id, when in zip(chunk, as_of, strict=True)
        ]
        # A backfill scores as studying some who have finished since: no alert, no count.
        studying = [
            group.studying and learner_id in state and state[learner_id][0] in STUDYING_STATUSES
            for learner_id in chunk
        ]
        entered = [
            RiskAlert(learner_id=learner_id, score=score, as_of=when)
            for learner_id, score, band, when, is_studying, is_current in zip(
                chunk, scores, bands, as_of, studying, current, strict=True
            )
            if is_studying and is_current and band == "high" and state[learner_id][1] != "high"
        ]
        fresh_since = min(started, group.when) if isinstance(group.when, datetime) else started
        _update_current_risk(
            list(zip(chunk, scores, bands, as_of, scored.progress, strict=True)),
            fresh_since=fresh_since,
        )
        RiskAlert.objects.bulk_create(entered, ignore_conflicts=True)
    learner_detail_forget(chunk)
    learners_data_changed()
    summary.entered_high += len(entered)
    summary.assessments_created += created
    summary.finished += len(chunk) - sum(studying)
    summary.history_only += len(chunk) - sum(current)
    for band, is_studying in zip(bands, studying, strict=True):
        if is_studying:
            summary.bands[band] = summary.bands.get(band, 0) + 1


def rescore_as_of_check(
    as_of: datetime, *, cohort_id: Any = None, now: datetime | None = None
) -> datetime:
    """``as_of`` if a rescore may be taken as of then: not in the future, not before the cohort
    started (``cohort_id``; without one, the first cohort).

    Scoring as of a time nobody has reached, or before the course started, invents risk (every
    learner looks inactive for years) and stores it as assessments and alerts.
    """
    problem = future_problem(as_of, now=now or timezone.now())
    if problem:
        raise ValueError(problem)
    cohorts = Cohort.objects.order_by("starts_on")
    which = "the first cohort"
    try:
        if cohort_id is not None:
            which, cohorts = "the cohort", cohorts.filter(pk=cohort_id)
        first = cohorts.first()
    except ValidationError as exc:  # not a cohort id at all
        raise ValueError(f"'{cohort_id}' is not a cohort id.") from exc
    if first is not None and as_of < day_start(first.starts_on, first.timezone):
        raise ValueError(
            f"Must not lie before {first.starts_on.isoformat()}, when {which} started."
        )
    return as_of


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
    An ``as_of`` before a learner's current assessment (a backfill) adds history only. A
    ``cohort_id`` that names no cohort is ``NotFound``, not "0 learners scored".
    """
    started = timezone.now()  # before any feature is read
    model = risk_model_active()
    if cohort_id is not None:
        cohort_id = row_by_id(Cohort.objects.all(), cohort_id, missing="No cohort with this id.").pk
    as_of = as_of or started
    summary = RescoreSummary(model_version=model.version, as_of=as_of)
    scope = _scope(cohort_id=cohort_id, learner_ids=learner_ids, stale_only=stale_only)
    summary.not_enrolled = scope.filter(enrolled_at__gt=as_of).count()
    groups = _groups(model, as_of, scope, whole=learner_ids is None and not stale_only)
    prepared = [(group, *_raws_and_norms(group)) for group in groups]
    total = sum(len(raws) for _, raws, _ in prepared)

    def written(size: int) -> None:
        summary.learners += size
        if on_progress is not None:
            on_progress(summary.learners / total)

    # Each chunk is written while the next one is scored (``ChunkWriter``).
    with ChunkWriter(written) as writer:
        for group, raws, norms in prepared:
            for chunk in chunked(sorted(raws), chunk_size):
                scored = _scored(chunk, raws, norms, model)
                write = partial(
                    _write_chunk, scored, model=model, group=group, summary=summary, started=started
                )
                writer.submit(write, len(chunk))
    return summary


def _raws_and_norms(
    group: _Group,
) -> tuple[dict[uuid.UUID, RawFacts], dict[uuid.UUID, CohortNorms]]:
    raws = raw_features(learners=group.learners, when=group.when)
    return raws, (_norms(raws, group) if raws else {})


# Model versions: train, store, activate -------------------------------------------------------


# Why a version has no test ROC AUC (``metrics.roc_auc``): said so, rather than "n/a" or None.
UNMEASURED = (
    "its test ROC AUC could not be measured: the test cohorts hold one outcome only (all "
    "completed or all withdrew)"
)


class ActivationRefused(Conflict):
    """Activation refused by policy (see ``risk_model_activate``): ``model`` stays stored,
    inactive, and ``detail`` carries the figures. Training that asked to activate still
    succeeded, so its job reports this instead of failing."""

    def __init__(self, model: RiskModel, message: str, *, detail: dict[str, Any]) -> None:
        super().__init__(message, detail=detail)
        self.model = model


def _active_refusal(model: RiskModel, active: RiskModel | None) -> dict[str, Any] | None:
    """The figures refusing ``model`` because it was measured worse than the model active now,
    on the same test set (``active_on_same_test``); None when it was not, or was measured
    against another version (e.g. a rollback)."""
    stored = model.metrics or {}
    against = stored.get("active_on_same_test") or {}
    if active is None or against.get("version") != active.version:
        return None
    new_auc, active_auc = (stored.get("test") or {}).get("roc_auc"), against.get("roc_auc")
    if new_auc is not None and (active_auc is None or new_auc >= active_auc):
        return None
    return {
        "roc_auc": new_auc,
        "active_version": active.version,
        "active_roc_auc": active_auc,
        "reason": f"{UNMEASURED}, so it is not shown to reach the active v{active.version}"
        if new_auc is None
        else f"its test ROC AUC {new_auc:.3f} does not reach the {active_auc:.3f} "
        f"of the active v{active.version} on the same test set",
    }


def _baseline_refusal(model: RiskModel) -> dict[str, Any] | None:
    """The figures refusing ``model`` because its stored evaluation found a naive ranking at
    least as good (``beats_best_baseline`` false, see ``learners.risk.baselines``). A version
    without that record (the shipped ``rules``, versions trained before baselines) is not held
    back by it, so a rollback to them stays possible."""
    stored = model.metrics or {}
    best = stored.get("best_baseline")
    if stored.get("beats_best_baseline") is not False or not best:
        return None
    new_auc = (stored.get("test") or {}).get("roc_auc")
    return {
        "roc_auc": new_auc,
        "best_baseline": best["name"],
        "best_baseline_roc_auc": best["roc_auc"],
        "reason": f"{UNMEASURED}, so it is not shown to beat the naive ranking '{best['name']}'"
        if new_auc is None
        else f"its test ROC AUC {new_auc:.3f} does not beat the {best['roc_auc']:.3f} "
        f"of the naive ranking '{best['name']}' on the same test set",
    }


def risk_model_activate(*, model: RiskModel, actor: Actor, force: bool = False) -> RiskModel:
    """Make ``model`` the one active version; rollback is activating an older version.

    Refused (``ActivationRefused``, a ``Conflict`` with the figures) when the model was measured worse than the active
    model on the same test set, or did not beat the best naive baseline there, unless ``force``;
    a forced activation records the figures it overrode. Deactivates first because the database
    allows one active row.
    """
    with transaction.atomic():
        previous = RiskModel.objects.select_for_update().filter(is_active=True).first()
        if previous is not None and previous.pk == model.pk:
            return model
        refusals = [
            refusal
            for refusal in (_active_refusal(model, previous), _baseline_refusal(model))
            if refusal is not None
        ]
        if refusals and not force:
            raise _refused(model, refusals)
        RiskModel.objects.filter(is_active=True).update(is_active=False, updated_at=timezone.now())
        model.is_active = True
        model.save(update_fields=["is_active", "updated_at"])
        overridden = _figures(refusals)
        audit_record(
            actor=actor,
            action="risk_model.activate",
            target=model,
            changes={
                "version": model.version,
                "previous": previous.version if previous else None,
                "forced": force,
                **({"overridden": overridden} if overridden else {}),
            },
        )
    return model


def _figures(refusals: list[dict[str, Any]]) -> dict[str, Any]:
    """The refusals' figures in one mapping (each names the model's own ROC AUC the same)."""
    return {key: value for refusal in refusals for key, value in refusal.items() if key != "reason"}


def _refused(model: RiskModel, refusals: list[dict[str, Any]]) -> ActivationRefused:
    reasons = "; and ".join(refusal["reason"] for refusal in refusals)
    message = (
        f"v{model.version} is not activated: {reasons}. It stays stored, inactive; force to "
        "activate it anyway."
    )
    return ActivationRefused(
        model, message, detail={"detail": message, "version": model.version, **_figures(refusals)}
    )


def _next_version() -> int:
    return (RiskModel.objects.aggregate(top=Max("version"))["top"] or 0) + 1


def risk_model_train(
    *,
    cutoff_days: int = DEFAULT_CUTOFF_DAYS,
    kind: str = "auto",
    activate: bool = False,
    force: bool = False,
    actor: Actor = None,
    on_progress: ProgressCallback | None = None,
) -> RiskModel:
    """Train on earlier cohorts, evaluate it and the active model on the later ones, store it.

    ``kind`` is ``auto`` (the best on a validation split of the training cohorts, see
    ``fit_best_kind``), ``logistic`` or ``boosted``. The new version is stored (inactive) even
    when activation is refused with ``ActivationRefused``, which carries it.
    ``on_progress`` gets fractions while the features are computed (the slow part).
    """
    data = training_set(cutoff_days=cutoff_days, on_progress=on_progress)
    train, test = time_split(data)
    chosen, parameters, selection = fit_best_kind(train, kind=kind, policy=configured_policy())
    active = risk_model_active()
    tested = evaluate(parameters, chosen, test)
    measured = {
        "test": tested,
        **baselines_on(test, tested["roc_auc"]),
        "active_on_same_test": {
            "version": active.version,
            "kind": active.kind,
            **evaluate(active.parameters, active.kind, test),
        },
        "n_train": len(train),
        "train_cohorts": train.cohort_ids(),
        "test_cohorts": test.cohort_ids(),
        "cutoff_days": cutoff_days,
        "kind_selection": selection,
    }
    model = _store(kind=chosen, parameters=parameters, metrics=measured, actor=actor)
    if activate:
        risk_model_activate(model=model, actor=actor, force=force)
    return model


def _store(
    *, kind: str, parameters: dict[str, Any], metrics: dict[str, Any], actor: Actor
) -> RiskModel:
    """Save as the next version; a concurrent training that took the number is a Conflict."""
    try:
        with transaction.atomic():
            model = RiskModel.objects.create(
                version=_next_version(),
                kind=kind,
                parameters=parameters,
                metrics=metrics,
                trained_at=timezone.now(),
                notes=(
                    f"{RiskModelKind(kind).label}, features as of day {parameters['cutoff_days']}."
                ),
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
