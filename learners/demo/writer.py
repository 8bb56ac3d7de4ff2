"""Storing a generated demo population: the ``seed_demo`` command's service.

The population streams in chunks, one transaction each: COPY on PostgreSQL, ``bulk_create``
elsewhere. Learners pass through their model, so names and emails are encrypted and hashed like
any other write; events, millions of them, go as plain tuples.
"""

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from django.db import connection, transaction
from django.utils import timezone

from engagement.bulk import copy_objects, copy_rows
from engagement.errors import Conflict, ValidationFailed
from engagement.input_bounds import EARLIEST_DATE
from engagement.iterables import chunked
from learners.demo.generator import (
    DEMO_SOURCE,
    DemoLearner,
    EventRow,
    LearnerRow,
    demo_population_generate,
)
from learners.models import ActivityEvent, Cohort, Learner
from learners.services import learner_prepare

CHUNK_SIZE = 2000
BULK_BATCH_SIZE = 1000


@dataclass
class SeedSummary:
    """What a seeding run stored; ``skipped`` when ``if_empty`` found learners already there."""

    cohorts: int = 0
    learners: int = 0
    events: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    skipped: bool = False


def demo_population_seed(
    *,
    cohorts: int,
    learners: int,
    days: int,
    seed: int,
    today: date,
    shape: str = "mixed",
    if_empty: bool = False,
    chunk_size: int = CHUNK_SIZE,
    on_progress: Callable[[int], None] | None = None,
) -> SeedSummary:
    """Generate and store a demo population, ``chunk_size`` learners per transaction.

    ``shape`` picks the kinds of cohort (``learners.demo.generator.SHAPES``). With ``if_empty``
    nothing happens when any learner exists (safe to run on every start).
    Otherwise existing demo data is a conflict: seed into a database without it. A failure
    part-way leaves the chunks already committed; clear the demo rows and run again.
    ``on_progress`` is called with the number of learners written after each chunk.
    """
    if days > (today - EARLIEST_DATE).days:
        raise ValidationFailed(
            f"{days} days before {today.isoformat()} is before {EARLIEST_DATE.isoformat()}."
        )
    if if_empty and Learner.objects.exists():
        return SeedSummary(skipped=True)
    population = demo_population_generate(
        cohorts=cohorts, learners=learners, days=days, seed=seed, today=today, shape=shape
    )
    _ensure_no_demo_data(population.cohorts)
    written_at = timezone.now()
    with transaction.atomic():
        Cohort.objects.bulk_create(population.cohorts)
    summary = SeedSummary(cohorts=len(population.cohorts))
    for chunk in chunked(population.learners, chunk_size):
        _chunk_write(chunk, written_at=written_at)
        summary.learners += len(chunk)
        summary.events += sum(len(learner.events) for learner in chunk)
        summary.statuses.update(learner.row.status for learner in chunk)
        if on_progress is not None:
            on_progress(len(chunk))
    return summary


def _ensure_no_demo_data(cohorts: Sequence[Cohort]) -> None:
    names = [cohort.name for cohort in cohorts]
    if (
        Learner.objects.filter(source=DEMO_SOURCE).exists()
        or Cohort.objects.filter(name__in=names).exists()
    ):
        raise Conflict("Demo data is already stored; seed into a database without it.")


def _chunk_write(chunk: Sequence[DemoLearner], *, written_at: datetime) -> None:
    """Store one chunk's learners and then their events in a single transaction."""
    learners = [_learner_build(learner.row, written_at=written_at) for learner in chunk]
    events = (event for learner in chunk for event in learner.events)
    event_constants = {"source": DEMO_SOURCE, "metadata": {}, "ingested_at": written_at}
    with transaction.atomic():
        if connection.vendor == "postgresql":
            copy_objects(Learner, learners)
            copy_rows(ActivityEvent, events, EventRow._fields, event_constants)
        else:
            Learner.objects.bulk_create(learners, batch_size=BULK_BATCH_SIZE)
            ActivityEvent.objects.bulk_create(
                (ActivityEvent(**event._asdict(), **event_constants) for event in events),
                batch_size=BULK_BATCH_SIZE,
            )


def _learner_build(row: LearnerRow, *, written_at: datetime) -> Learner:
    """An unsaved learner with its derived values set (``learner_prepare``), as every bulk write
    needs."""
    learner = Learner(
        **row._asdict(), source=DEMO_SOURCE, created_at=written_at, updated_at=written_at
    )
    learner_prepare(learner, now=written_at)
    return learner
