"""Point-in-time risk features, computed set-based in SQL from events strictly before ``as_of``.

One code path serves live scoring (``as_of`` = now), training without leakage (``as_of`` = a
fixed number of days after each learner's enrolment), backtests and simulation. Learners come
as a queryset (a scope), so a whole rescore is two statements however many learners it covers:
one aggregate over their events (a parallel scan on PostgreSQL) and one read of their enrolment
and cohort schedule. Cohort peer norms come from one more statement per run.
"""

import math
import statistics
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple, cast

import numpy as np
from django.conf import settings
from django.db import connection
from django.db.models import (
    Aggregate,
    Count,
    DateTimeField,
    DecimalField,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    IntegerField,
    Max,
    Min,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import Cast
from django.db.models.sql.compiler import SQLCompiler

from engagement.large_queries import large_aggregate
from learners.models import ActivityEvent, Cohort, EventKind, Learner

ASSESSMENT_KINDS = (
    EventKind.ASSESSMENT_SUBMITTED,
    EventKind.ASSESSMENT_PASSED,
    EventKind.ASSESSMENT_FAILED,
)
INACTIVITY_CAP_DAYS = 60.0
# Under a week of tenure is too early to judge: the score holds back (``new_learner``). Few
# events after weeks is no reason to: that learner is the one most at risk (issue 10).
NEW_LEARNER_DAYS = 7.0
FIRST_WEEK_DAYS = 7
DAY = 86_400.0

# Totals since enrolment of one kind of activity (log1p of the count), by feature name.
KIND_TOTALS: dict[str, tuple[str, ...]] = {
    "logins_log": (EventKind.LOGIN,),
    "content_log": (EventKind.CONTENT_VIEW,),
    "videos_log": (EventKind.VIDEO_WATCHED,),
    "lessons_log": (EventKind.LESSON_COMPLETED,),
    "assessments_log": (EventKind.ASSESSMENT_STARTED, *ASSESSMENT_KINDS),
    "forum_log": (EventKind.FORUM_POST,),
}

# The model inputs, in a fixed order (docs/risk.md says what each means). New ones are appended:
# a model version names the features it scores on, so one stored earlier keeps scoring as it did.
FEATURE_NAMES = (
    "days_inactive",
    "active_days_ratio",
    "activity_trend",
    "assessment_mean",
    "assessment_count",
    "time_trend",
    "social",
    "progress_gap",
    "new_learner",
    "events_log",
    "events_vs_peers",
    "active_days_log",
    "active_days_vs_peers",
    "active_share",
    "first_week_events_log",
    "activity_span_share",
    *KIND_TOTALS,
)


def kind_total_fact(feature: str) -> str:
    """The raw fact behind a per-kind total: ``logins_log`` is the log of ``logins_total``."""
    return feature.removesuffix("_log") + "_total"


@dataclass(frozen=True)
class CohortNorms:
    """What is typical in a cohort at ``as_of``: the yardstick for peer-relative features."""

    median_days_inactive: float
    median_active_days_14: float
    mean_assessment: float | None
    course_lessons: int
    # Medians of log1p(events) and log1p(active days) since enrolment.
    median_events_log: float
    median_active_days_log: float


@dataclass(frozen=True)
class LearnerFeatures:
    """Model inputs (``values``, keyed by ``FEATURE_NAMES``) plus the raw facts behind them."""

    learner_id: uuid.UUID
    cohort_id: uuid.UUID
    as_of: datetime
    values: Mapping[str, float]
    raw: Mapping[str, Any]
    little_data: bool


class RawFacts(NamedTuple):
    """One learner's raw facts (a tuple: a rescore builds one per learner)."""

    cohort_id: uuid.UUID
    as_of: datetime
    days_inactive: float
    active_days_14: int
    events_7: int
    events_prev_21: int
    seconds_7: int
    seconds_prev_21: int
    assessment_mean_30: float | None
    assessment_count_30: int
    forum_posts_30: int
    lessons: int
    events_total: int
    tenure_days: float
    expected_progress: float
    # Since enrolment (events before it, imported say, are left out).
    enrolled_events: int
    enrolled_active_days: int
    first_week_events: int
    span_days: float  # from the first to the last event; 0 with fewer than two
    days_since_last_event: float | None  # None without any event
    kind_totals: tuple[int, ...]  # in ``KIND_TOTALS`` order


def _log_ratio(recent: float, earlier: float) -> float:
    """Smoothed log of the recent daily rate against the earlier one (0 = unchanged)."""
    return math.log((recent / 7 + 0.1) / (earlier / 21 + 0.1))


def _expected_progress(
    *, as_of: datetime, enrolled_at: datetime, starts_on: Any, ends_on: Any
) -> float:
    """Share of the course that should be done by ``as_of``: by the cohort schedule when it has
    one, otherwise (self-paced) by time since enrolment against ``RISK_SELF_PACED_DAYS``."""
    if ends_on is not None:
        length = (ends_on - starts_on).days + 1
        elapsed = (as_of.date() - max(starts_on, enrolled_at.date())).days
    else:
        length = settings.RISK_SELF_PACED_DAYS
        elapsed = (as_of - enrolled_at).total_seconds() / DAY
    return min(max(elapsed / max(length, 1), 0.0), 1.0)


Anchor = datetime | Any  # a fixed time, or an SQL expression per learner (enrolment + cutoff)


def _since(anchor: Anchor, days: int) -> Any:
    if isinstance(anchor, datetime):
        return anchor - timedelta(days=days)
    return ExpressionWrapper(anchor - Value(timedelta(days=days)), output_field=DateTimeField())


class _OverPeriods(Aggregate):
    """An aggregate over the 24-hour periods before ``anchor`` in which a learner's events fall.

    Periods are counted back from ``anchor`` (period 0 is the 24 hours before it), so "active
    days" do not depend on a timezone. Subclasses say what to make of the periods.
    """

    output_field = IntegerField()

    def __init__(self, anchor: Anchor, window: Q) -> None:
        if isinstance(anchor, datetime):
            anchor = Value(anchor, output_field=DateTimeField())
        super().__init__(anchor, F("occurred_at"), filter=window)

    def over(self, period: str, vendor: str) -> str:
        """The aggregate over ``period``, an integer SQL expression."""
        raise NotImplementedError

    def as_sql(self, compiler: SQLCompiler, connection: Any, **extra: Any) -> Any:  # type: ignore[override]
        anchor, occurred = (
            compiler.compile(source) for source in self.get_source_expressions()[:2]
        )
        if connection.vendor == "postgresql":
            # date_part is double precision: EXTRACT's numeric costs several times more per event.
            period = f"FLOOR(date_part('epoch', ({anchor[0]}) - ({occurred[0]})) / 86400)::int"
        else:
            period = f"((strftime('%%s', {anchor[0]}) - strftime('%%s', {occurred[0]})) / 86400)"
        condition, condition_params = compiler.compile(self.filter)
        params = (*anchor[1], *occurred[1], *condition_params)
        return f"{self.over(period, connection.vendor)} FILTER (WHERE {condition})", params


class ActiveDaysMask(_OverPeriods):
    """Bit ``n`` set when the learner was active in the ``n``-th 24-hour period before ``anchor``,
    within the last ``days`` (an event exactly ``days`` days before falls outside).

    The same integer on both databases: PostgreSQL ORs the bits (a plain aggregate, so the scan
    stays parallel, unlike ``COUNT(DISTINCT day)``); SQLite sums the distinct powers of two.
    """

    def __init__(self, anchor: Anchor, days: int) -> None:
        # A literal bound for a fixed anchor.
        super().__init__(anchor, Q(occurred_at__gt=_since(anchor, days)))

    def over(self, period: str, vendor: str) -> str:
        if vendor == "postgresql":
            return f"BIT_OR(1::bigint << {period})"
        return f"SUM(DISTINCT 1 << {period})"


class ActiveDaysCount(_OverPeriods):
    """How many distinct 24-hour periods before ``anchor`` hold an event matching ``window``, over
    any span up to ``periods`` (where a 64-bit mask holds 64 at most).

    PostgreSQL ORs a bit string of ``periods`` bits, one set per event (a plain aggregate: the
    scan stays parallel, and it costs about half of ``COUNT(DISTINCT period)``, which sorts every
    learner's events); Python counts the bits. A period beyond the last (a learner enrolled
    earlier since ``periods`` was taken) counts in the last. SQLite counts distinct periods.
    """

    def __init__(self, anchor: Anchor, window: Q, periods: int) -> None:
        super().__init__(anchor, window)
        self.periods = max(periods, 1)

    def over(self, period: str, vendor: str) -> str:
        if vendor == "postgresql":
            zeros = f"repeat('0', {self.periods})::bit({self.periods})"
            return f"BIT_OR(set_bit({zeros}, LEAST({period}, {self.periods - 1}), 1))"
        return f"COUNT(DISTINCT {period})"

    @property
    def convert_value(self) -> Any:
        return _days_counted


def _days_counted(value: int | str | None, expression: Any, connection: Any) -> int | None:
    """The count of active days: SQLite's number, or the bits PostgreSQL's bit string holds."""
    if isinstance(value, str):
        return value.count("1")
    return value


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Microseconds(Func):
    """A time read as microseconds since 1970 on PostgreSQL, and turned back into the same aware
    datetime here: psycopg parses integers in C, while Django's loader for ``timestamptz`` is
    Python (about 5 µs a value, and a full rescore reads 300,000). Other databases read the time
    as it is."""

    arity = 1
    output_field = DateTimeField()

    def as_sql(self, compiler: SQLCompiler, connection: Any, **extra: Any) -> Any:  # type: ignore[override]
        return compiler.compile(self.get_source_expressions()[0])

    def as_postgresql(self, compiler: SQLCompiler, connection: Any, **extra: Any) -> Any:
        sql, params = compiler.compile(self.get_source_expressions()[0])
        return f"(EXTRACT(EPOCH FROM {sql}) * 1000000)::bigint", params

    @property
    def convert_value(self) -> Any:
        return _from_microseconds


def _from_microseconds(value: Any, expression: Any, connection: Any) -> datetime | None:
    """The datetime of PostgreSQL's microseconds; another database's datetime as it is."""
    if isinstance(value, int):
        return EPOCH + timedelta(microseconds=value)
    return cast(datetime | None, value)


#: An event's score (0 to 1) as a decimal, for sums that do not depend on the order of rows.
EXACT_SCORE: "DecimalField[Any, Any]" = DecimalField(max_digits=20, decimal_places=15)


#: The prefix of the facts counted back from a second, later anchor in the same pass.
LATER = "later__"


def _windows(anchor: Anchor) -> dict[str, Any]:
    """The event facts whose windows are counted back from ``anchor`` (the rest do not move
    with it: totals, lessons, the first week, active days since enrolment)."""
    assessed = Q(
        kind__in=ASSESSMENT_KINDS, score__isnull=False, occurred_at__gte=_since(anchor, 30)
    )
    last_week = Q(occurred_at__gte=_since(anchor, 7))
    three_weeks_before = Q(occurred_at__gte=_since(anchor, 28), occurred_at__lt=_since(anchor, 7))
    # Time on task leaves out `other` events: what an unknown verb's duration covers (a whole
    # session already counted piece by piece, say) is unknown.
    on_task = ~Q(kind=EventKind.OTHER)
    return {
        "events_7": Count("id", filter=last_week),
        "events_prev_21": Count("id", filter=three_weeks_before),
        "active_days_14": ActiveDaysMask(anchor, 14),
        "seconds_7": Sum("duration_seconds", filter=last_week & on_task),
        "seconds_prev_21": Sum("duration_seconds", filter=three_weeks_before & on_task),
        # Summed as exact decimals: a sum of floats depends on the order the rows arrive in,
        # which differs between query plans, and a what-if must give a live score back exactly.
        "assessment_sum_30": Cast(Sum(Cast("score", EXACT_SCORE), filter=assessed), FloatField()),
        "assessment_count_30": Count("id", filter=assessed),
        "forum_posts_30": Count(
            "id", filter=Q(kind=EventKind.FORUM_POST, occurred_at__gte=_since(anchor, 30))
        ),
    }


def _event_aggregates(
    learners: QuerySet[Learner], anchor: Anchor, periods: int, later: Anchor | None = None
) -> dict[uuid.UUID, dict[str, Any]]:
    """One GROUP BY over the scope's events before each learner's ``anchor`` (the time windows
    are counted back from); ``periods`` is the most 24-hour periods since a learner's enrolment.
    With ``later``, the windowed facts counted back from it too (``LATER`` + name), of the same
    events: one pass over them instead of two."""
    enrolled = Q(occurred_at__gte=F("learner__enrolled_at"))
    first_week = enrolled & Q(
        occurred_at__lt=ExpressionWrapper(
            F("learner__enrolled_at") + Value(timedelta(days=FIRST_WEEK_DAYS)),
            output_field=DateTimeField(),
        )
    )
    kind_totals = {
        f"kind_{name}": Count("id", filter=enrolled & Q(kind__in=kinds))
        for name, kinds in KIND_TOTALS.items()
    }
    later_windows = (
        {} if later is None else {LATER + name: value for name, value in _windows(later).items()}
    )
    events = ActivityEvent.objects.filter(
        learner_id__in=learners.order_by().values("id"), occurred_at__lt=anchor
    ).order_by()
    rows = events.values("learner_id").annotate(
        last_at=Microseconds(Max("occurred_at")),
        events_total=Count("id"),
        **_windows(anchor),
        lessons=Count("id", filter=Q(kind=EventKind.LESSON_COMPLETED)),
        enrolled_events=Count("id", filter=enrolled),
        # A count of distinct days: the same from any anchor whole days away.
        enrolled_active_days=ActiveDaysCount(anchor, enrolled, periods),
        first_week_events=Count("id", filter=first_week),
        first_enrolled_at=Microseconds(Min("occurred_at", filter=enrolled)),
        **kind_totals,
        **later_windows,
    )
    with large_aggregate(work_mem=settings.RISK_AGGREGATE_WORK_MEM):
        return {row.pop("learner_id"): row for row in rows}


def _later_events(events: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """An aggregate row's facts as counted back from its later anchor."""
    if events is None:
        return None
    return {
        **events,
        **{name[len(LATER) :]: value for name, value in events.items() if name.startswith(LATER)},
    }


def _learner_facts(learners: QuerySet[Learner]) -> dict[uuid.UUID, dict[str, Any]]:
    rows = learners.order_by().values_list(
        "id",
        "cohort_id",
        "cohort__starts_on",
        "cohort__ends_on",
        Microseconds("enrolled_at"),
        Microseconds("finished_at"),
        Microseconds("risk_scored_at"),
    )
    names = (
        "id",
        "cohort_id",
        "cohort__starts_on",
        "cohort__ends_on",
        "enrolled_at",
        "finished_at",
        "risk_scored_at",  # a what-if takes the live facts as of it
    )
    return {row[0]: dict(zip(names, row, strict=True)) for row in rows}


def _raw(facts: Mapping[str, Any], events: Mapping[str, Any] | None, as_of: datetime) -> RawFacts:
    events = events or {}
    last_event = events.get("last_at")
    last_at = last_event or facts["enrolled_at"]
    count = events.get("assessment_count_30") or 0
    enrolled_events = events.get("enrolled_events") or 0
    first_enrolled = events.get("first_enrolled_at")
    return RawFacts(
        cohort_id=facts["cohort_id"],
        as_of=as_of,
        days_inactive=max((as_of - last_at).total_seconds() / DAY, 0.0),
        active_days_14=(events.get("active_days_14") or 0).bit_count(),
        events_7=events.get("events_7") or 0,
        events_prev_21=events.get("events_prev_21") or 0,
        seconds_7=events.get("seconds_7") or 0,
        seconds_prev_21=events.get("seconds_prev_21") or 0,
        assessment_mean_30=(events["assessment_sum_30"] / count) if count else None,
        assessment_count_30=count,
        forum_posts_30=events.get("forum_posts_30") or 0,
        lessons=events.get("lessons") or 0,
        events_total=events.get("events_total") or 0,
        tenure_days=max((as_of - facts["enrolled_at"]).total_seconds() / DAY, 0.0),
        expected_progress=_expected_progress(
            as_of=as_of,
            enrolled_at=facts["enrolled_at"],
            starts_on=facts["cohort__starts_on"],
            ends_on=facts["cohort__ends_on"],
        ),
        enrolled_events=enrolled_events,
        enrolled_active_days=events.get("enrolled_active_days") or 0,
        first_week_events=events.get("first_week_events") or 0,
        # The last event since enrolment is the last event: the first one is on or after it.
        span_days=(last_at - first_enrolled).total_seconds() / DAY
        if enrolled_events >= 2 and first_enrolled is not None
        else 0.0,
        days_since_last_event=None
        if last_event is None
        else max((as_of - last_event).total_seconds() / DAY, 0.0),
        kind_totals=tuple(events.get(f"kind_{name}") or 0 for name in KIND_TOTALS),
    )


def cohort_norms(
    raws: Iterable[RawFacts], course_lessons: Mapping[uuid.UUID, int]
) -> dict[uuid.UUID, CohortNorms]:
    """Peer yardsticks per cohort from the learners scored together (medians resist outliers)."""
    by_cohort: dict[uuid.UUID, list[RawFacts]] = {}
    for raw in raws:
        by_cohort.setdefault(raw.cohort_id, []).append(raw)
    norms = {}
    for cohort_id, members in by_cohort.items():
        scores = [m.assessment_mean_30 for m in members if m.assessment_mean_30 is not None]
        norms[cohort_id] = CohortNorms(
            median_days_inactive=statistics.median(
                min(m.days_inactive, INACTIVITY_CAP_DAYS) for m in members
            ),
            median_active_days_14=statistics.median(m.active_days_14 for m in members),
            mean_assessment=statistics.fmean(scores) if scores else None,
            course_lessons=course_lessons.get(cohort_id, 0),
            median_events_log=statistics.median(math.log1p(m.enrolled_events) for m in members),
            median_active_days_log=statistics.median(
                math.log1p(m.enrolled_active_days) for m in members
            ),
        )
    return norms


@dataclass(frozen=True)
class PerLearner:
    """Features taken at a time of each learner's own: ``field`` plus ``days``."""

    field: str
    days: int = 0

    def of(self, fact: Mapping[str, Any]) -> datetime:
        return fact[self.field] + timedelta(days=self.days)

    def expression(self) -> Any:
        """The same time for each event's learner, in SQL."""
        return ExpressionWrapper(
            F(f"learner__{self.field}") + Value(timedelta(days=self.days)),
            output_field=DateTimeField(),
        )


# A finished learner's final assessment: as of the moment they completed or withdrew.
AT_FINISH = PerLearner("finished_at")
When = datetime | PerLearner


def _when(as_of: datetime | None, cutoff_days: int | None) -> When:
    if as_of is not None:
        return as_of
    if cutoff_days is None:
        raise ValueError("Give as_of or cutoff_days.")
    return PerLearner("enrolled_at", cutoff_days)


def _anchor(when: When) -> Anchor:
    return when if isinstance(when, datetime) else when.expression()


def course_lessons(cohort_ids: Iterable[uuid.UUID], when: When) -> dict[uuid.UUID, int]:
    """Lessons in each cohort's course as known at ``when``: the most any of its learners had
    completed by then (the same yardstick in training, on finished cohorts, and live)."""
    per_learner = (
        ActivityEvent.objects.filter(
            learner__cohort_id__in=set(cohort_ids),
            kind=EventKind.LESSON_COMPLETED,
            occurred_at__lt=_anchor(when),
        )
        .order_by()
        .values("learner_id", cohort=F("learner__cohort_id"))
        .annotate(lessons=Count("id"))
    )
    # The most per cohort in SQL: one row per cohort back, not one per learner. Only the
    # compiled queryset and fixed names are interpolated.
    inner, params = per_learner.query.sql_with_params()
    sql = f"SELECT cohort, MAX(lessons) FROM ({inner}) AS per_learner GROUP BY cohort"  # noqa: S608  # nosec B608
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return {Cohort._meta.pk.to_python(cohort): lessons for cohort, lessons in rows}


def _later(when: When, days: int) -> When:
    if isinstance(when, datetime):
        return when + timedelta(days=days)
    return PerLearner(when.field, when.days + days)


def _raw_features(
    learners: QuerySet[Learner], when: When, idle_days: int = 0
) -> tuple[dict[uuid.UUID, RawFacts], dict[uuid.UUID, RawFacts]]:
    """Raw facts as of ``when`` and, with ``idle_days``, that many days later from the same
    events (otherwise no later facts)."""
    facts = _learner_facts(learners)
    as_of = {
        lid: when if isinstance(when, datetime) else when.of(fact) for lid, fact in facts.items()
    }
    periods = max(
        (
            math.floor((as_of[lid] - fact["enrolled_at"]).total_seconds() / DAY) + 1
            for lid, fact in facts.items()
        ),
        default=1,
    )
    later = _anchor(_later(when, idle_days)) if idle_days else None
    events = _event_aggregates(learners, _anchor(when), periods, later)
    raws = {lid: _raw(fact, events.get(lid), as_of[lid]) for lid, fact in facts.items()}
    if later is None:
        return raws, {}
    idle = timedelta(days=idle_days)
    return raws, {
        lid: _raw(fact, _later_events(events.get(lid)), as_of[lid] + idle)
        for lid, fact in facts.items()
    }


def raw_features(*, learners: QuerySet[Learner], when: When) -> dict[uuid.UUID, RawFacts]:
    """Raw facts for a scope, as of one time or a time of each learner's own."""
    return _raw_features(learners, when)[0]


def raw_features_and_idle(
    *, learners: QuerySet[Learner], when: When, idle_days: int
) -> tuple[dict[uuid.UUID, RawFacts], dict[uuid.UUID, RawFacts]]:
    """``raw_features`` as of ``when``, and as of ``idle_days`` later had the learners done
    nothing meanwhile (the events before ``when`` only), from one pass over the events: a
    what-if of days without activity."""
    if idle_days < 1:
        raise ValueError("idle_days must be at least 1.")
    return _raw_features(learners, when, idle_days)


def model_inputs(raw: RawFacts, norms: CohortNorms, learner_id: uuid.UUID) -> LearnerFeatures:
    """Turn raw facts into the model's inputs, peer-normalised where raw counts differ by course."""
    actual_progress = min(raw.lessons / norms.course_lessons, 1.0) if norms.course_lessons else 0.0
    little_data = raw.tenure_days < NEW_LEARNER_DAYS
    assessment = (
        raw.assessment_mean_30 if raw.assessment_mean_30 is not None else norms.mean_assessment
    )
    elapsed = max(raw.tenure_days, 1.0)
    events_log = math.log1p(raw.enrolled_events)
    active_days_log = math.log1p(raw.enrolled_active_days)
    values = {
        "days_inactive": min(raw.days_inactive, INACTIVITY_CAP_DAYS),
        "active_days_ratio": min(raw.active_days_14 / max(norms.median_active_days_14, 1.0), 3.0),
        "activity_trend": max(min(_log_ratio(raw.events_7, raw.events_prev_21), 3.0), -3.0),
        "assessment_mean": assessment if assessment is not None else 0.7,
        "assessment_count": float(min(raw.assessment_count_30, 10)),
        "time_trend": max(
            min(_log_ratio(raw.seconds_7 / 3600, raw.seconds_prev_21 / 3600), 3.0), -3.0
        ),
        "social": math.log1p(raw.forum_posts_30),
        "progress_gap": raw.expected_progress - actual_progress,
        "new_learner": 1.0 if little_data else 0.0,
        "events_log": events_log,
        "events_vs_peers": events_log - norms.median_events_log,
        "active_days_log": active_days_log,
        "active_days_vs_peers": active_days_log - norms.median_active_days_log,
        "active_share": min(raw.enrolled_active_days / elapsed, 1.0),
        "first_week_events_log": math.log1p(raw.first_week_events),
        "activity_span_share": min(raw.span_days / elapsed, 1.0),
        **{
            name: math.log1p(total)
            for name, total in zip(KIND_TOTALS, raw.kind_totals, strict=True)
        },
    }
    facts = {
        "days_inactive": round(raw.days_inactive, 1),
        "typical_days_inactive": round(norms.median_days_inactive, 1),
        "active_days_14": raw.active_days_14,
        "typical_active_days_14": norms.median_active_days_14,
        "events_7": raw.events_7,
        "events_prev_21": raw.events_prev_21,
        "assessment_mean_30": None
        if raw.assessment_mean_30 is None
        else round(raw.assessment_mean_30, 3),
        "typical_assessment": None
        if norms.mean_assessment is None
        else round(norms.mean_assessment, 3),
        "assessment_count_30": raw.assessment_count_30,
        "hours_7": round(raw.seconds_7 / 3600, 2),
        "hours_prev_21": round(raw.seconds_prev_21 / 3600, 2),
        "forum_posts_30": raw.forum_posts_30,
        "expected_progress": round(raw.expected_progress, 3),
        "actual_progress": round(actual_progress, 3),
        "tenure_days": round(raw.tenure_days, 1),
        "events_total": raw.enrolled_events,
        "typical_events_total": round(math.expm1(norms.median_events_log), 1),
        "active_days_total": raw.enrolled_active_days,
        "typical_active_days_total": round(math.expm1(norms.median_active_days_log), 1),
        "elapsed_days": round(raw.tenure_days, 1),
        "days_since_last_event": None
        if raw.days_since_last_event is None
        else round(raw.days_since_last_event, 1),
        "first_week_events": raw.first_week_events,
        "activity_span_days": round(raw.span_days, 1),
        **{
            kind_total_fact(name): total
            for name, total in zip(KIND_TOTALS, raw.kind_totals, strict=True)
        },
    }
    return LearnerFeatures(
        learner_id=learner_id,
        cohort_id=raw.cohort_id,
        as_of=raw.as_of,
        values=values,
        raw=facts,
        little_data=little_data,
    )


def _log1p_counts(counts: Sequence[int]) -> np.ndarray:
    """``math.log1p`` of each count, looked up: NumPy's ``log1p`` differs by an ulp now and then."""
    table = np.array([math.log1p(count) for count in range(max(counts, default=0) + 1)])
    return table[np.asarray(counts, dtype=np.int64)]


def _log_ratios(recent: np.ndarray, earlier: np.ndarray) -> np.ndarray:
    """``_log_ratio`` of each pair, clipped to ±3: NumPy's arithmetic, ``math.log``."""
    ratios = (recent / 7 + 0.1) / (earlier / 21 + 0.1)
    logs = np.array([math.log(ratio) for ratio in ratios.tolist()], dtype=float)
    return np.maximum(np.minimum(logs, 3.0), -3.0)


def _numpy_log_ratios(recent: np.ndarray, earlier: np.ndarray) -> np.ndarray:
    """``_log_ratios`` through NumPy's ``log``."""
    return np.clip(np.log((recent / 7 + 0.1) / (earlier / 21 + 0.1)), -3.0, 3.0)


def _rounded(values: Iterable[float | None], digits: int) -> list[Any]:
    return [None if value is None else round(value, digits) for value in values]


@dataclass(frozen=True)
class FeatureRows:
    """``model_inputs`` for many learners at once: row ``i`` of each field is learner ``i``.

    The batch rescore's features, equal to ``model_inputs`` to the last bit (a test holds them to
    it): the same operations per element, and ``math``'s functions where NumPy's differ.
    """

    learner_ids: Sequence[uuid.UUID]
    cohort_ids: Sequence[uuid.UUID]
    as_of: Sequence[datetime]
    matrix: np.ndarray  # (learners, FEATURE_NAMES)
    facts: dict[str, list[Any]]  # ``LearnerFeatures.raw``, one list per fact, in its order
    little_data: np.ndarray  # bool

    def __len__(self) -> int:
        return len(self.learner_ids)

    def features(self, row: int) -> LearnerFeatures:
        """One learner's, as ``model_inputs`` gives them."""
        return LearnerFeatures(
            learner_id=self.learner_ids[row],
            cohort_id=self.cohort_ids[row],
            as_of=self.as_of[row],
            values=dict(zip(FEATURE_NAMES, self.matrix[row].tolist(), strict=True)),
            raw={name: column[row] for name, column in self.facts.items()},
            little_data=bool(self.little_data[row]),
        )


def _json_numbers(values: Iterable[Any]) -> list[str]:
    """Each number as ``json.dumps`` writes it (``repr``), None as ``null``."""
    return ["null" if value is None else repr(value) for value in values]


def features_json(rows: FeatureRows) -> list[str]:
    """Each row's stored features (``values``, ``raw``, ``little_data``) as the JSON text
    ``json.dumps`` writes for them: numbers formatted column by column, one template per row."""
    keys = [f'"{name}": %s' for name in FEATURE_NAMES]
    facts = [f'"{name}": %s' for name in rows.facts]
    template = (
        '{"values": {' + ", ".join(keys) + '}, "raw": {' + ", ".join(facts) + "}, "
        '"little_data": %s}'
    )
    columns = [
        *(map(repr, column) for column in rows.matrix.T.tolist()),
        *map(_json_numbers, rows.facts.values()),
        ["true" if little else "false" for little in rows.little_data.tolist()],
    ]
    return [template % row for row in zip(*columns, strict=True)]


def _typical(norms: CohortNorms) -> tuple[Any, ...]:
    """A cohort's facts in ``LearnerFeatures.raw``: typical days inactive, active days in 14,
    assessment, events and active days since enrolment."""
    return (
        round(norms.median_days_inactive, 1),
        norms.median_active_days_14,
        None if norms.mean_assessment is None else round(norms.mean_assessment, 3),
        round(math.expm1(norms.median_events_log), 1),
        round(math.expm1(norms.median_active_days_log), 1),
    )


@dataclass(frozen=True)
class PeerColumns:
    """Each learner's cohort norms as columns (row ``i``: the norms of learner ``i``'s cohort);
    a cohort without assessments has a NaN ``mean_assessment``."""

    course_lessons: np.ndarray
    mean_assessment: np.ndarray
    median_active_days_14: np.ndarray
    median_events_log: np.ndarray
    median_active_days_log: np.ndarray

    @classmethod
    def of(cls, peers: Sequence[CohortNorms]) -> "PeerColumns":
        return cls(
            course_lessons=np.array([norm.course_lessons for norm in peers], dtype=float),
            mean_assessment=np.array(
                [
                    math.nan if norm.mean_assessment is None else norm.mean_assessment
                    for norm in peers
                ],
                dtype=float,
            ),
            median_active_days_14=np.array(
                [norm.median_active_days_14 for norm in peers], dtype=float
            ),
            median_events_log=np.array([norm.median_events_log for norm in peers], dtype=float),
            median_active_days_log=np.array(
                [norm.median_active_days_log for norm in peers], dtype=float
            ),
        )


def actual_progress_of(lessons: Any, course_lessons: np.ndarray) -> np.ndarray:
    """Lessons completed as a share of the course's (0 where the course has none known)."""
    return np.where(
        course_lessons > 0,
        np.minimum(np.asarray(lessons, dtype=float) / np.maximum(course_lessons, 1.0), 1.0),
        0.0,
    )


def model_input_matrix(raw: Any, peers: PeerColumns, *, exact: bool = True) -> np.ndarray:
    """``model_input_columns`` as one (learners, ``FEATURE_NAMES``) matrix."""
    return np.column_stack(model_input_columns(raw, peers, exact=exact)).reshape(
        len(raw.tenure_days), len(FEATURE_NAMES)
    )


def model_input_columns(raw: Any, peers: PeerColumns, *, exact: bool = True) -> list[np.ndarray]:
    """The model inputs (one column each, in ``FEATURE_NAMES`` order) of ``raw``, a ``RawFacts`` of
    columns (one item per learner; ``kind_totals`` one column per ``KIND_TOTALS`` name; NaN for
    a missing assessment mean).

    ``exact`` gives ``model_inputs`` to the last bit (``math``'s logs, counts as integers);
    otherwise NumPy's logs take any numbers, fractional counts too, many times faster: what a
    simulation of many runs uses, where an ulp does not matter.
    """
    log1p = _log1p_counts if exact else np.log1p
    log_ratios = _log_ratios if exact else _numpy_log_ratios
    tenure = np.asarray(raw.tenure_days, dtype=float)
    elapsed = np.maximum(tenure, 1.0)
    events_log = log1p(raw.enrolled_events)
    active_days_log = log1p(raw.enrolled_active_days)
    means = np.asarray(raw.assessment_mean_30, dtype=float)
    means = np.where(np.isnan(means), peers.mean_assessment, means)
    return [
        np.minimum(np.asarray(raw.days_inactive, dtype=float), INACTIVITY_CAP_DAYS),
        np.minimum(
            np.asarray(raw.active_days_14, dtype=float)
            / np.maximum(peers.median_active_days_14, 1.0),
            3.0,
        ),
        log_ratios(
            np.asarray(raw.events_7, dtype=float), np.asarray(raw.events_prev_21, dtype=float)
        ),
        np.where(np.isnan(means), 0.7, means),
        np.minimum(np.asarray(raw.assessment_count_30, dtype=float), 10.0),
        log_ratios(
            np.asarray(raw.seconds_7, dtype=float) / 3600,
            np.asarray(raw.seconds_prev_21, dtype=float) / 3600,
        ),
        log1p(raw.forum_posts_30),
        np.asarray(raw.expected_progress, dtype=float)
        - actual_progress_of(raw.lessons, peers.course_lessons),
        np.where(tenure < NEW_LEARNER_DAYS, 1.0, 0.0),
        events_log,
        events_log - peers.median_events_log,
        active_days_log,
        active_days_log - peers.median_active_days_log,
        np.minimum(np.asarray(raw.enrolled_active_days, dtype=float) / elapsed, 1.0),
        log1p(raw.first_week_events),
        np.minimum(np.asarray(raw.span_days, dtype=float) / elapsed, 1.0),
        *map(log1p, raw.kind_totals),
    ]


def fact_lists(raws: Sequence[RawFacts]) -> Any:
    """``raws`` turned into a ``RawFacts`` of lists: each field a list, one item per learner."""
    return RawFacts._make(
        map(list, zip(*raws, strict=True)) if raws else ([],) * len(RawFacts._fields)
    )


def model_input_rows(
    raws: Sequence[RawFacts],
    norms: Mapping[uuid.UUID, CohortNorms],
    learner_ids: Sequence[uuid.UUID],
) -> FeatureRows:
    """``model_inputs`` for each of ``raws`` (of learner ``learner_ids[i]``), column by column."""
    raw = fact_lists(raws)
    peers = PeerColumns.of([norms[cohort_id] for cohort_id in raw.cohort_id])
    kind_totals = (
        [list(column) for column in zip(*raw.kind_totals, strict=True)]
        if raws
        else [[] for _ in KIND_TOTALS]
    )
    matrix = model_input_matrix(
        raw._replace(
            assessment_mean_30=[
                math.nan if mean is None else mean for mean in raw.assessment_mean_30
            ],
            kind_totals=kind_totals,
        ),
        peers,
    )
    actual_progress = actual_progress_of(raw.lessons, peers.course_lessons)
    little_data = np.array(raw.tenure_days, dtype=float) < NEW_LEARNER_DAYS
    typical = {cohort_id: _typical(norm) for cohort_id, norm in norms.items()}
    (
        typical_days_inactive,
        typical_active_days_14,
        typical_assessment,
        typical_events,
        typical_active_days,
    ) = (
        (list(column) for column in zip(*map(typical.__getitem__, raw.cohort_id), strict=True))
        if raws
        else ([],) * 5
    )
    tenure_days = _rounded(raw.tenure_days, 1)
    facts = {
        "days_inactive": _rounded(raw.days_inactive, 1),
        "typical_days_inactive": typical_days_inactive,
        "active_days_14": raw.active_days_14,
        "typical_active_days_14": typical_active_days_14,
        "events_7": raw.events_7,
        "events_prev_21": raw.events_prev_21,
        "assessment_mean_30": _rounded(raw.assessment_mean_30, 3),
        "typical_assessment": typical_assessment,
        "assessment_count_30": raw.assessment_count_30,
        "hours_7": [round(seconds / 3600, 2) for seconds in raw.seconds_7],
        "hours_prev_21": [round(seconds / 3600, 2) for seconds in raw.seconds_prev_21],
        "forum_posts_30": raw.forum_posts_30,
        "expected_progress": _rounded(raw.expected_progress, 3),
        "actual_progress": _rounded(actual_progress.tolist(), 3),
        "tenure_days": tenure_days,
        "events_total": raw.enrolled_events,
        "typical_events_total": typical_events,
        "active_days_total": raw.enrolled_active_days,
        "typical_active_days_total": typical_active_days,
        "elapsed_days": tenure_days,
        "days_since_last_event": _rounded(raw.days_since_last_event, 1),
        "first_week_events": raw.first_week_events,
        "activity_span_days": _rounded(raw.span_days, 1),
        **{
            kind_total_fact(name): totals
            for name, totals in zip(KIND_TOTALS, kind_totals, strict=True)
        },
    }
    return FeatureRows(
        learner_ids=learner_ids,
        cohort_ids=raw.cohort_id,
        as_of=raw.as_of,
        matrix=matrix,
        facts=facts,
        little_data=little_data,
    )


def features_for(
    *,
    learner_ids: Sequence[uuid.UUID],
    as_of: datetime | None = None,
    cutoff_days: int | None = None,
) -> dict[uuid.UUID, LearnerFeatures]:
    """Model-ready features for a set of learners, normed against the learners scored with them."""
    when = _when(as_of, cutoff_days)
    raws = raw_features(learners=Learner.objects.filter(id__in=learner_ids), when=when)
    lessons = course_lessons({raw.cohort_id for raw in raws.values()}, when)
    norms = cohort_norms(raws.values(), lessons)
    return {lid: model_inputs(raw, norms[raw.cohort_id], lid) for lid, raw in raws.items()}
