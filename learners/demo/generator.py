"""Demo population: cohorts, learners who follow behaviour archetypes, and their activity.

Generation is pure and deterministic: one ``random.Random(seed)`` is drawn from in a fixed
order, ids included (``uuid7_from``), so a seed and a ``today`` always give the same rows.
Outcomes follow from behaviour (learners who will withdraw are less active early and fade
before they stop), which is what gives the risk model a real, noisy signal to learn.

Cohorts come in two shapes (``COHORT_KINDS``), mixed by default (``shape``):

- **degree**: a programme people signed up to on purpose; most study steadily and finish
  (about a quarter withdraw).
- **mooc**: an open online course with the shape of public MOOC logs (KDD Cup 2015 XuetangX,
  OULAD): most learners come on a few days only and most drop out, while engagement is heavy
  tailed (a few learners are very active). The volume of activity since enrolment separates
  finishers from the rest about as well as recency does here (better on real courses:
  docs/risk.md, "Measured").

Storing it is :mod:`learners.demo.writer`'s job.
"""

# Demo data, not security: a seeded, reproducible pseudo-random generator is the point here.
# ruff: noqa: S311

import functools
import math
import random
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import accumulate, pairwise
from typing import Literal, NamedTuple, get_args
from zoneinfo import ZoneInfo

from engagement.errors import ValidationFailed
from engagement.ids import uuid7_from
from learners.models import (
    FINISHED_STATUSES,
    Cohort,
    EventKind,
    LearnerStatus,
)

DEMO_SOURCE = "demo"

COURSE_DAYS = 84
LESSONS = 12
# Course days (0-based) on which the fortnightly assessments are due.
ASSESSMENT_DUE_DAYS = (13, 27, 41, 55, 69, 83)
ASSESSMENT_OPENS_DAYS_BEFORE = 4
EARLY_ATTEMPT_RATE = 0.45
MAX_ATTEMPTS = 3
PASS_MARK = 0.6
VIDEO_RATE = 0.3
AHEAD_RATE = 0.25
# Monday first: people study less at the end of the week.
WEEKDAY_FACTOR = (1.0, 1.0, 0.95, 0.95, 0.8, 0.6, 0.7)
# Engaged learners also score a little better.
SCORE_PER_ENGAGEMENT = 0.08
# Learners who will withdraw fade out over this many days before they stop.
FADE_DAYS = 14
# Completers finish a few days before the end, so even a late-evening session in a timezone
# behind UTC is over before the course's last UTC day.
LAST_FINAL_DAY = COURSE_DAYS - 2
PAUSED_SHARE_OF_SILENT = 0.35
SILENT_DAYS_BEFORE_PAUSE = 14

LOGIN = EventKind.LOGIN.value
CONTENT_VIEW = EventKind.CONTENT_VIEW.value
VIDEO_WATCHED = EventKind.VIDEO_WATCHED.value
LESSON_COMPLETED = EventKind.LESSON_COMPLETED.value
ASSESSMENT_STARTED = EventKind.ASSESSMENT_STARTED.value
ASSESSMENT_SUBMITTED = EventKind.ASSESSMENT_SUBMITTED.value
ASSESSMENT_PASSED = EventKind.ASSESSMENT_PASSED.value
ASSESSMENT_FAILED = EventKind.ASSESSMENT_FAILED.value
FORUM_POST = EventKind.FORUM_POST.value

COURSES = (
    ("DS101", "Data Science Foundations"),
    ("PY201", "Python for Analysts"),
    ("UX110", "User Research Essentials"),
    ("ML300", "Applied Machine Learning"),
    ("PM150", "Product Management"),
    ("WD120", "Web Development Bootcamp"),
)
TIMEZONES = (
    "Europe/London",
    "America/New_York",
    "Europe/Berlin",
    "Asia/Singapore",
    "America/Sao_Paulo",
    "Australia/Sydney",
)
# Languages spoken in each cohort's region: learners take them in turn, so every locale group
# holds every archetype and the fairness view in evaluation has several groups to compare.
LOCALES = {
    "Europe/London": ("en", "en", "pl"),
    "America/New_York": ("en", "es"),
    "Europe/Berlin": ("de", "de", "en"),
    "Asia/Singapore": ("en", "zh"),
    "America/Sao_Paulo": ("pt", "pt", "es"),
    "Australia/Sydney": ("en",),
}
FIRST_NAMES = (
    "Amara", "Bram", "Chiara", "Dmitri", "Elif", "Farah", "Gustavo", "Hana", "Idris", "Jonas",
    "Kavya", "Lars", "Mei", "Nadia", "Oren", "Priya", "Quentin", "Rosa", "Sanjay", "Tomasz", "Uma",
    "Vikram", "Wren", "Ximena", "Yusuf", "Zofia", "Aiko", "Bilal", "Carmen", "Diego", "Esther",
    "Felix", "Grace", "Hugo", "Ingrid", "Jamal", "Kemal", "Leila", "Mateo", "Noor", "Olga",
    "Pablo", "Rania", "Stefan", "Tariq", "Ursula", "Valentina", "Wei",
)  # fmt: skip
LAST_NAMES = (
    "Okafor", "Lindqvist", "Rossi", "Ivanov", "Yilmaz", "Haddad", "Pereira", "Tanaka", "Mensah",
    "Becker", "Iyer", "Nilsen", "Chen", "Kowalski", "Levi", "Sharma", "Dubois", "Alvarez", "Gupta",
    "Nowak", "Osei", "Reddy", "Walsh", "Castillo", "Demir", "Novak", "Sato", "Khan", "Moreno",
    "Silva", "Friedman", "Schmidt", "Adeyemi", "Laurent", "Berg", "Abdi", "Aydin", "Mansour",
    "Ortega", "Rahman", "Petrova", "Ruiz", "Nasser", "Horvat", "Aziz", "Keller", "Romano", "Zhang",
)  # fmt: skip
# Local hours people tend to study at, with how often each is someone's habit.
STUDY_HOURS = (7, 8, 12, 13, 17, 18, 19, 20, 21, 22)
STUDY_HOUR_WEIGHTS = tuple(accumulate((3, 4, 5, 4, 4, 6, 8, 9, 7, 4)))

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Archetype:
    """A kind of learner: how active over course time, how well they score, whether they finish.

    ``curve`` is piecewise linear: ``(course fraction, daily activity probability)`` knots.
    ``dropout_window`` is the range of course days (from a learner's first day) at which those
    who will not complete stop. ``diligence`` is the chance that a session includes coursework
    (lessons, assessments) rather than only a look around.
    """

    name: str
    curve: tuple[tuple[float, float], ...]
    score_mean: float
    score_sd: float
    completion: float
    dropout_window: tuple[int, int]
    forum_rate: float
    cram_boost: float = 0.0
    diligence: float = 1.0

    @functools.cached_property
    def daily(self) -> tuple[float, ...]:
        """Activity probability for each course day, with the pre-assessment cram added."""
        return tuple(
            _interpolate(self.curve, day / (COURSE_DAYS - 1)) + self._cram(day)
            for day in range(COURSE_DAYS)
        )

    def _cram(self, day: int) -> float:
        due_soon = any(0 <= due - day <= 2 for due in ASSESSMENT_DUE_DAYS)
        return self.cram_boost if due_soon else 0.0


STEADY = Archetype(
    name="steady",
    curve=((0.0, 0.34), (1.0, 0.3)),
    score_mean=0.78,
    score_sd=0.1,
    completion=0.95,
    dropout_window=(28, 65),
    forum_rate=0.12,
)
FADING = Archetype(
    name="fading",
    curve=((0.0, 0.32), (0.3, 0.18), (0.6, 0.1), (1.0, 0.06)),
    score_mean=0.68,
    score_sd=0.12,
    completion=0.22,
    dropout_window=(14, 50),
    forum_rate=0.06,
)
LATE_STARTER = Archetype(
    name="late_starter",
    curve=((0.0, 0.1), (0.2, 0.14), (0.35, 0.32), (1.0, 0.34)),
    score_mean=0.72,
    score_sd=0.11,
    completion=0.7,
    dropout_window=(10, 40),
    forum_rate=0.08,
)
CRAMMER = Archetype(
    name="crammer",
    curve=((0.0, 0.16), (0.6, 0.16), (0.85, 0.36), (1.0, 0.48)),
    score_mean=0.7,
    score_sd=0.13,
    completion=0.7,
    dropout_window=(28, 65),
    forum_rate=0.04,
    cram_boost=0.35,
)
EARLY_DROPOUT = Archetype(
    name="early_dropout",
    curve=((0.0, 0.26), (0.15, 0.13), (0.3, 0.05), (1.0, 0.03)),
    score_mean=0.6,
    score_sd=0.14,
    completion=0.05,
    dropout_window=(4, 24),
    forum_rate=0.03,
)
STRUGGLER = Archetype(
    name="struggler",
    curve=((0.0, 0.34), (1.0, 0.29)),
    score_mean=0.52,
    score_sd=0.12,
    completion=0.7,
    dropout_window=(21, 60),
    forum_rate=0.15,
)
# Open courses only: a look on a day or two around enrolment, then gone (most MOOC learners).
SAMPLER = Archetype(
    name="sampler",
    curve=((0.0, 0.6), (1.0, 0.6)),
    score_mean=0.55,
    score_sd=0.15,
    completion=0.0,
    dropout_window=(2, 10),
    forum_rate=0.01,
    diligence=0.2,
)
# Open courses only: drops in now and then for weeks without keeping up, so recently seen
# but with little done.
BROWSER = Archetype(
    name="browser",
    curve=((0.0, 0.2), (0.1, 0.16), (1.0, 0.16)),
    score_mean=0.6,
    score_sd=0.14,
    completion=0.04,
    dropout_window=(30, 80),
    forum_rate=0.02,
    diligence=0.15,
)
# Open courses only: comes once or twice a week for the new material, and gets through it.
WEEKLY = Archetype(
    name="weekly",
    curve=((0.0, 0.2), (1.0, 0.2)),
    score_mean=0.75,
    score_sd=0.1,
    completion=0.9,
    dropout_window=(28, 65),
    forum_rate=0.1,
)
# Open courses only: works through a lot in the first fortnight, then comes back in bursts
# before the deadlines.
BINGER = Archetype(
    name="binger",
    curve=((0.0, 0.7), (0.18, 0.6), (0.25, 0.06), (1.0, 0.06)),
    score_mean=0.74,
    score_sd=0.1,
    completion=0.85,
    dropout_window=(28, 65),
    forum_rate=0.05,
    cram_boost=0.45,
)
ARCHETYPES = (
    STEADY,
    FADING,
    LATE_STARTER,
    CRAMMER,
    EARLY_DROPOUT,
    STRUGGLER,
    SAMPLER,
    BROWSER,
    WEEKLY,
    BINGER,
)


@dataclass(frozen=True)
class CohortKind:
    """How a kind of course's learners behave: archetype mix, spread of engagement, breaks.

    ``engagement`` is a lognormal multiplier of a learner's daily activity, clipped to
    ``engagement_range``: a wide sigma gives the heavy tail of open courses (a few learners
    very active). Learners who will withdraw fade out first when ``fades``, or just stop. A
    ``break_rate`` share of learners take a break of ``break_days`` (a range). ``completion_per_engagement`` is how strongly its log moves the completion
    probability. ``size`` scales the cohort's share of the learners.
    """

    name: str
    archetypes: tuple[tuple[Archetype, float], ...]
    engagement_sigma: float
    engagement_range: tuple[float, float]
    break_rate: float
    break_days: tuple[int, int]
    size: float
    first_day_active: bool
    fades: bool
    completion_per_engagement: float

    @functools.cached_property
    def cum_weights(self) -> tuple[float, ...]:
        return tuple(accumulate(weight for _, weight in self.archetypes))

    @functools.cached_property
    def choices(self) -> tuple[Archetype, ...]:
        return tuple(archetype for archetype, _ in self.archetypes)


DEGREE = CohortKind(
    name="degree",
    archetypes=(
        (STEADY, 0.55),
        (STRUGGLER, 0.2),
        (CRAMMER, 0.1),
        (LATE_STARTER, 0.07),
        (FADING, 0.05),
        (EARLY_DROPOUT, 0.03),
    ),
    engagement_sigma=0.4,
    engagement_range=(0.4, 1.8),
    break_rate=0.15,
    break_days=(5, 10),
    size=1.0,
    first_day_active=False,
    fades=True,
    completion_per_engagement=0.6,
)
# Every enrolment in a MOOC log has activity on its first day (that is how it shows up).
MOOC = CohortKind(
    name="mooc",
    archetypes=(
        (SAMPLER, 0.42),
        (BROWSER, 0.28),
        (FADING, 0.08),
        (WEEKLY, 0.05),
        (BINGER, 0.05),
        (STEADY, 0.04),
        (CRAMMER, 0.04),
        (LATE_STARTER, 0.04),
    ),
    engagement_sigma=0.8,
    engagement_range=(0.25, 5.0),
    break_rate=0.5,
    break_days=(10, 21),
    size=2.0,
    first_day_active=True,
    fades=False,
    completion_per_engagement=0.15,
)
COHORT_KINDS = {kind.name: kind for kind in (DEGREE, MOOC)}
Shape = Literal["mixed", "mooc", "degree"]
SHAPES: tuple[str, ...] = get_args(Shape)


class LearnerRow(NamedTuple):
    """The generated columns of one learner, named after ``Learner`` attributes."""

    id: uuid.UUID
    cohort_id: uuid.UUID
    external_id: str
    name: str
    email: str
    status: str
    enrolled_at: datetime
    last_active_at: datetime | None
    timezone: str
    locale: str
    finished_at: datetime | None


class EventRow(NamedTuple):
    """The generated columns of one activity event, named after ``ActivityEvent`` attributes."""

    id: uuid.UUID
    learner_id: uuid.UUID
    kind: str
    occurred_at: datetime
    duration_seconds: int | None
    score: float | None
    source_event_id: str


class DemoLearner(NamedTuple):
    """One generated learner with the archetype and cohort kind it was drawn from and its
    events, oldest first."""

    row: LearnerRow
    archetype: str
    cohort_kind: str
    events: list[EventRow]


@dataclass(frozen=True)
class DemoPopulation:
    """Unsaved cohorts (with the kind of each) plus a lazy stream of learners, so memory stays
    bounded by the caller."""

    cohorts: list[Cohort]
    kinds: list[CohortKind]
    learners: Iterator[DemoLearner]


@dataclass(frozen=True)
class _Plan:
    """Everything decided about a learner before their days are played out."""

    index: int
    kind: CohortKind
    archetype: Archetype
    engagement: float
    score_mean: float
    completes: bool
    course_start: date
    timezone: str
    enrolled_ms: int
    first_day: int
    last_day: int
    dropout_day: int | None
    final_day: int | None
    break_days: range
    hour: int


# Generation ------------------------------------------------------------------------------------


def demo_population_generate(
    *, cohorts: int, learners: int, days: int, seed: int, today: date, shape: str = "mixed"
) -> DemoPopulation:
    """Build the population without touching the database; the same arguments give the same rows.

    Cohorts start staggered across the ``days`` before ``today``; no activity is dated on or
    after ``today`` (00:00 UTC), so the history never runs into the future. ``shape`` is
    ``mooc`` or ``degree`` for cohorts of one kind, ``mixed`` for both in turn.
    """
    _validate(cohorts=cohorts, learners=learners, days=days, shape=shape)
    rng = random.Random(seed)
    kinds = cohort_kinds(count=cohorts, shape=shape)
    cohort_list = _cohorts_build(rng, kinds=kinds, days=days, today=today)
    counts = _learner_counts(rng, total=learners, kinds=kinds)
    return DemoPopulation(
        cohorts=cohort_list,
        kinds=kinds,
        learners=_learners_generate(
            rng, cohorts=cohort_list, kinds=kinds, counts=counts, today=today
        ),
    )


def cohort_kinds(*, count: int, shape: str) -> list[CohortKind]:
    """The kind of each cohort in start order: ``mixed`` alternates, degree first, so the
    self-paced second cohort is an open course."""
    if shape != "mixed":
        return [COHORT_KINDS[shape]] * count
    return [(DEGREE, MOOC)[position % 2] for position in range(count)]


def _validate(*, cohorts: int, learners: int, days: int, shape: str) -> None:
    errors = {
        name: ["Must be at least 1."]
        for name, value in (("cohorts", cohorts), ("learners", learners), ("days", days))
        if value < 1
    }
    if shape not in SHAPES:
        errors["shape"] = [f"Must be one of {', '.join(SHAPES)}."]
    if errors:
        raise ValidationFailed("Invalid demo population size.", detail=errors)


def _cohorts_build(
    rng: random.Random, *, kinds: Sequence[CohortKind], days: int, today: date
) -> list[Cohort]:
    """Start dates spread so the oldest cohorts have finished and the newest is a few weeks in.

    With three or more cohorts the second one is self-paced (no end date): its learners enrol
    throughout the window and each runs the course on their own clock. Open courses say so in
    their name.
    """
    count = len(kinds)
    window_start = today - timedelta(days=days)
    span = max(days - 21, 0)
    self_paced = 1 if count >= 3 else None
    cohorts = []
    for position in range(count):
        starts_on = window_start + timedelta(days=round(position * span / max(count - 1, 1)))
        code, title = COURSES[position % len(COURSES)]
        paced = position != self_paced
        labels = [] if paced else ["self-paced"]
        if kinds[position] is MOOC:
            labels.insert(0, "open course")
        label = f" ({', '.join(labels)})" if labels else ""
        cohorts.append(
            Cohort(
                id=uuid7_from(_date_ms(starts_on), rng.getrandbits(74)),
                name=f"{title} {starts_on:%b %Y}{label} #{position + 1}",
                course_code=code,
                starts_on=starts_on,
                ends_on=starts_on + timedelta(days=COURSE_DAYS - 1) if paced else None,
                timezone=TIMEZONES[position % len(TIMEZONES)],
            )
        )
    return cohorts


def _learner_counts(rng: random.Random, *, total: int, kinds: Sequence[CohortKind]) -> list[int]:
    """Uneven but deterministic cohort sizes that add up to ``total`` (open courses larger)."""
    cohorts = len(kinds)
    weights = [rng.uniform(0.7, 1.3) * kind.size for kind in kinds]
    scale = total / sum(weights)
    counts = [int(weight * scale) for weight in weights]
    for position in range(total - sum(counts)):
        counts[position % cohorts] += 1
    return counts


def _learners_generate(
    rng: random.Random,
    *,
    cohorts: Sequence[Cohort],
    kinds: Sequence[CohortKind],
    counts: Sequence[int],
    today: date,
) -> Iterator[DemoLearner]:
    cutoff_ms = _date_ms(today)
    index = 0
    for cohort, kind, count in zip(cohorts, kinds, counts, strict=True):
        for _ in range(count):
            index += 1
            yield _learner_generate(
                rng, index=index, cohort=cohort, kind=kind, today=today, cutoff_ms=cutoff_ms
            )


def _learner_generate(
    rng: random.Random,
    *,
    index: int,
    cohort: Cohort,
    kind: CohortKind,
    today: date,
    cutoff_ms: int,
) -> DemoLearner:
    plan = _plan(rng, index=index, cohort=cohort, kind=kind, today=today)
    learner_id = uuid7_from(plan.enrolled_ms, rng.getrandbits(74))
    timeline = _Timeline(rng, plan=plan, learner_id=learner_id, cutoff_ms=cutoff_ms)
    for day in _active_days(rng, plan):
        timeline.session(day, final=day == plan.final_day)
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    status = _status(rng, plan=plan, today=today)
    row = LearnerRow(
        id=learner_id,
        cohort_id=cohort.id,
        external_id=f"D{index:06d}",
        name=f"{first} {last}",
        email=f"{first}.{last}.{index}@example.org".lower(),
        status=status,
        enrolled_at=_ms_datetime(plan.enrolled_ms),
        last_active_at=timeline.events[-1].occurred_at if timeline.events else None,
        timezone=plan.timezone,
        locale=_locale(plan.timezone, index),
        finished_at=_finished_at(plan) if status in FINISHED_STATUSES else None,
    )
    return DemoLearner(
        row=row, archetype=plan.archetype.name, cohort_kind=kind.name, events=timeline.events
    )


def _finished_at(plan: _Plan) -> datetime:
    """Finished learners are marked so when their course is over (the end of its last day)."""
    end = plan.course_start + timedelta(days=COURSE_DAYS)
    return datetime.combine(end, time.min, tzinfo=UTC)


def _locale(zone: str, index: int) -> str:
    """Taken in turn, not drawn: the random stream, and every figure measured on it, stays the same."""
    choices = LOCALES.get(zone, ("en",))
    return choices[index % len(choices)]


def _plan(
    rng: random.Random, *, index: int, cohort: Cohort, kind: CohortKind, today: date
) -> _Plan:
    course_start, enrolled_ms, first_day = _enrolment(rng, cohort=cohort, today=today)
    archetype = rng.choices(kind.choices, cum_weights=kind.cum_weights)[0]
    low, high = kind.engagement_range
    engagement = min(max(rng.lognormvariate(0.0, kind.engagement_sigma), low), high)
    completion = archetype.completion + kind.completion_per_engagement * math.log(engagement)
    completes = rng.random() < min(max(completion, 0.02), 0.98)
    dropout_day = None if completes else _dropout_day(rng, archetype, first_day)
    final_day = LAST_FINAL_DAY - rng.randrange(4) if completes else None
    yesterday = (today - course_start).days - 1
    last_day = min(COURSE_DAYS - 1, yesterday, (dropout_day or COURSE_DAYS) - 1)
    break_start = rng.randrange(COURSE_DAYS)
    break_length = rng.randint(*kind.break_days) if rng.random() < kind.break_rate else 0
    score_shift = SCORE_PER_ENGAGEMENT * (engagement - 1.0) + rng.gauss(0.0, 0.06)
    return _Plan(
        index=index,
        kind=kind,
        archetype=archetype,
        engagement=engagement,
        score_mean=archetype.score_mean + score_shift,
        completes=completes,
        course_start=course_start,
        timezone=cohort.timezone,
        enrolled_ms=enrolled_ms,
        first_day=first_day,
        last_day=last_day,
        dropout_day=dropout_day,
        final_day=final_day,
        break_days=range(break_start, break_start + break_length),
        hour=rng.choices(STUDY_HOURS, cum_weights=STUDY_HOUR_WEIGHTS)[0],
    )


def _enrolment(rng: random.Random, *, cohort: Cohort, today: date) -> tuple[date, int, int]:
    """``(course start, enrolled_at in ms, first course day)``: most enrol in the fortnight
    before the start, some join late; self-paced learners start on the day they enrol."""
    latest = today - timedelta(days=1)
    if cohort.ends_on is None:
        course_start = cohort.starts_on + timedelta(
            days=rng.randrange(max((latest - cohort.starts_on).days, 1))
        )
        enrol_offset = 0
    else:
        course_start = cohort.starts_on
        late = rng.random() < 0.12
        enrol_offset = rng.randint(1, 21) if late else -rng.randint(1, 14)
        enrol_offset = min(enrol_offset, (latest - course_start).days)
    enrolled_on = course_start + timedelta(days=enrol_offset)
    enrolled_ms = _date_ms(enrolled_on) + rng.randrange(8 * 3600, 20 * 3600) * 1000
    return course_start, enrolled_ms, max(enrol_offset, 0)


def _dropout_day(rng: random.Random, archetype: Archetype, first_day: int) -> int:
    low, high = archetype.dropout_window
    return min(first_day + rng.randint(low, high), COURSE_DAYS - FADE_DAYS)


def _active_days(rng: random.Random, plan: _Plan) -> Iterator[int]:
    """The course days with a study session, drawn from the archetype's curve and the plan."""
    weekday = plan.course_start.weekday()
    daily = plan.archetype.daily
    for day in range(plan.first_day, plan.last_day + 1):
        if day == plan.final_day:
            yield day
            return
        if day == plan.first_day and plan.kind.first_day_active:
            yield day
            continue
        chance = daily[day] * plan.engagement * WEEKDAY_FACTOR[(weekday + day) % 7]
        if day in plan.break_days:
            chance *= 0.1
        if plan.dropout_day is not None and plan.kind.fades:
            chance *= min(1.0, max(0.2, (plan.dropout_day - day) / FADE_DAYS))
        if rng.random() < chance:
            yield day


def _status(rng: random.Random, *, plan: _Plan, today: date) -> str:
    """Finished courses end completed or withdrawn; running ones are active, a few paused."""
    today_day = (today - plan.course_start).days
    if today_day >= COURSE_DAYS:
        return LearnerStatus.COMPLETED.value if plan.completes else LearnerStatus.WITHDRAWN.value
    gone_quiet = (
        plan.dropout_day is not None
        and today_day - plan.dropout_day >= SILENT_DAYS_BEFORE_PAUSE
        and rng.random() < PAUSED_SHARE_OF_SILENT
    )
    return LearnerStatus.PAUSED.value if gone_quiet else LearnerStatus.ACTIVE.value


class _Timeline:
    """One learner's events, built session by session in time order and cut off at today."""

    def __init__(
        self, rng: random.Random, *, plan: _Plan, learner_id: uuid.UUID, cutoff_ms: int
    ) -> None:
        self.rng = rng
        self.plan = plan
        self.learner_id = learner_id
        self.cutoff_ms = cutoff_ms
        self.events: list[EventRow] = []
        self.lessons = 0
        self.assessment = 0
        self.attempts = 0
        self.cursor_ms = 0

    def session(self, day: int, *, final: bool) -> None:
        """A login, some reading and watching, then lessons, an assessment, maybe a post."""
        rng = self.rng
        self.cursor_ms = max(self._session_start_ms(day), self.plan.enrolled_ms + 60_000)
        self._emit(LOGIN)
        for _ in range(rng.randint(1, max(2, int(2 * self.plan.engagement)))):
            self._emit(CONTENT_VIEW, rng.randint(60, 900))
        if rng.random() < VIDEO_RATE:
            self._emit(VIDEO_WATCHED, rng.randint(180, 1500))
        diligence = self.plan.archetype.diligence
        if final or diligence == 1.0 or rng.random() < diligence:
            self._lessons(day, final=final)
            self._assessment(day)
        if rng.random() < self.plan.archetype.forum_rate:
            self._emit(FORUM_POST, rng.randint(60, 600))

    def _session_start_ms(self, day: int) -> int:
        plan = self.plan
        hour = min(max(plan.hour + self.rng.choice((-1, 0, 0, 1)), 6), 22)
        midnight = _local_midnight_ms(plan.timezone, plan.course_start.toordinal() + day)
        return midnight + hour * 3_600_000 + self.rng.randrange(3_600_000)

    def _lessons(self, day: int, *, final: bool) -> None:
        """Keep up with the schedule, catching up when behind and at most one lesson ahead (so
        only completers, who finish everything in their final session, reach full progress)."""
        rng = self.rng
        on_schedule = -(-(day + 1) * LESSONS // COURSE_DAYS)
        if final:
            count = LESSONS
        elif self.lessons < on_schedule:
            count = min(on_schedule - self.lessons, rng.randint(1, 3))
        else:
            count = int(self.lessons == on_schedule and rng.random() < AHEAD_RATE)
        for _ in range(min(count, LESSONS - self.lessons)):
            self._lesson_material()
            if self._emit(LESSON_COMPLETED, rng.randint(600, 2400)):
                self.lessons += 1

    def _lesson_material(self) -> None:
        """The pages and videos of a lesson, more of them for the more engaged: coursework is
        where the volume of a committed learner's activity comes from."""
        rng = self.rng
        for _ in range(rng.randint(1, max(2, round(2 * self.plan.engagement)))):
            self._emit(CONTENT_VIEW, rng.randint(60, 600))
        if rng.random() < VIDEO_RATE:
            self._emit(VIDEO_WATCHED, rng.randint(180, 1200))

    def _assessment(self, day: int) -> None:
        """Attempt the next open assessment: always once it is due, sometimes a little early."""
        if self.assessment >= len(ASSESSMENT_DUE_DAYS):
            return
        due = ASSESSMENT_DUE_DAYS[self.assessment]
        rng = self.rng
        if day < due - ASSESSMENT_OPENS_DAYS_BEFORE or (
            day < due and rng.random() >= EARLY_ATTEMPT_RATE
        ):
            return
        score = round(
            min(max(rng.gauss(self.plan.score_mean, self.plan.archetype.score_sd), 0.0), 1.0), 3
        )
        taken = rng.randint(600, 2700)
        self._emit(ASSESSMENT_STARTED, spend=taken)
        self._emit(ASSESSMENT_SUBMITTED, taken, score, spend=0)
        passed = score >= PASS_MARK
        self._emit(ASSESSMENT_PASSED if passed else ASSESSMENT_FAILED, score=score)
        self.attempts += 1
        if passed or self.attempts >= MAX_ATTEMPTS:
            self.assessment += 1
            self.attempts = 0

    def _emit(
        self,
        kind: str,
        duration: int | None = None,
        score: float | None = None,
        *,
        spend: int | None = None,
    ) -> bool:
        """Record an event at the cursor, unless that is already today; then move the cursor on
        by the time spent (``spend`` when it differs from the event's duration)."""
        at = self.cursor_ms
        if at >= self.cutoff_ms:
            return False
        self.events.append(
            EventRow(
                id=uuid7_from(at, self.rng.getrandbits(74)),
                learner_id=self.learner_id,
                kind=kind,
                occurred_at=_ms_datetime(at),
                duration_seconds=duration,
                score=score,
                source_event_id=f"demo-{self.plan.index}-{len(self.events) + 1}",
            )
        )
        seconds = (duration or 0) if spend is None else spend
        self.cursor_ms = at + (seconds + self.rng.randint(5, 90)) * 1000
        return True


def _date_ms(day: date) -> int:
    return (day.toordinal() - _EPOCH.toordinal()) * 86_400_000


def _ms_datetime(ms: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=ms)


@functools.lru_cache(maxsize=16384)
def _local_midnight_ms(tz_name: str, ordinal: int) -> int:
    day = date.fromordinal(ordinal)
    local = datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(tz_name))
    return int(local.timestamp()) * 1000


def _interpolate(knots: Sequence[tuple[float, float]], x: float) -> float:
    for (x0, y0), (x1, y1) in pairwise(knots):
        if x <= x1:
            return y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    return knots[-1][1]
