"""Stand-ins for the services campaigns call that other areas write (generation, lifecycle,
experiments, flags), installed with ``monkeypatch``: the campaign machinery is tested on its own,
with every call counted.

``install(monkeypatch, only_missing=True)`` replaces only the functions still unimplemented on
this branch (their interface raises ``NotImplementedError``), so the tests using it run against
the real services once those are merged.

A test module takes the fixtures below by name: ``fakes = campaigns_fakes.fakes``.
"""

import hashlib
import inspect
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest
from django.utils import timezone

from nudges import experiments, flags, generation, lifecycle
from nudges.models import (
    Experiment,
    ExperimentAssignment,
    ExperimentVariant,
    Nudge,
    NudgeSource,
    NudgeStatus,
)


@dataclass
class Fakes:
    """What the stand-ins were asked, and the flags they answer with."""

    generated: Counter[uuid.UUID] = field(default_factory=Counter)
    sent: Counter[uuid.UUID] = field(default_factory=Counter)
    flags_off: set[str] = field(default_factory=set)
    flag_cohorts: dict[str, set[uuid.UUID]] = field(default_factory=dict)
    replaced: list[str] = field(default_factory=list)
    on_generate: Callable[[uuid.UUID], None] | None = None

    def nudge_generate(self, **kwargs: Any) -> Nudge:
        learner_id = kwargs["learner_id"]
        self.generated[learner_id] += 1
        if self.on_generate is not None:
            self.on_generate(learner_id)
        variant = kwargs.get("variant")
        return Nudge.objects.create(
            learner_id=learner_id,
            channel=kwargs["channel"],
            category=kwargs["category"],
            source=NudgeSource.TEMPLATE,
            fallback_reason="no_key",
            subject="Your course misses you",
            body="Hello, a short lesson today keeps you on track.",
            campaign=kwargs.get("campaign"),
            occurrence=kwargs.get("occurrence", ""),
            experiment=kwargs.get("experiment"),
            variant=variant,
            prompt=kwargs.get("prompt"),
        )

    def nudge_send(self, *, nudge: Nudge, actor: Any) -> Nudge:
        """Sends by conditional UPDATE, as the lifecycle does: at most once."""
        sent = Nudge.objects.filter(
            pk=nudge.pk, status__in=(NudgeStatus.DRAFT, NudgeStatus.APPROVED)
        ).update(status=NudgeStatus.SENT, sent_at=timezone.now())
        if sent:
            self.sent[nudge.learner_id] += 1
        nudge.refresh_from_db()
        return nudge

    def experiment_assign(
        self, experiment: Experiment, learner_ids: Iterable[uuid.UUID], *, now: datetime
    ) -> dict[uuid.UUID, ExperimentVariant | None]:
        """A hash of experiment and learner: the holdout below ``holdout_share``, else an arm."""
        ids = list(learner_ids)
        variants = list(experiment.variants.order_by("name"))
        rows = []
        for learner_id in ids:
            digest = hashlib.sha256(f"{experiment.pk}:{learner_id}".encode()).digest()
            share = digest[0] / 256
            arm = None if share < experiment.holdout_share else variants[digest[1] % len(variants)]
            rows.append(
                ExperimentAssignment(
                    experiment=experiment, learner_id=learner_id, variant=arm, assigned_at=now
                )
            )
        ExperimentAssignment.objects.bulk_create(rows, ignore_conflicts=True)
        stored = ExperimentAssignment.objects.filter(
            experiment=experiment, learner_id__in=ids
        ).select_related("variant")
        return {row.learner_id: row.variant for row in stored}

    def flag_enabled(self, name: str, cohort_id: uuid.UUID | None = None) -> bool:
        if name in self.flags_off:
            return False
        cohorts = self.flag_cohorts.get(name)
        return cohorts is None or cohort_id is None or cohort_id in cohorts

    def cohorts_where(self, name: str, cohort_ids: Iterable[uuid.UUID]) -> frozenset[uuid.UUID]:
        return frozenset(
            cohort_id for cohort_id in cohort_ids if self.flag_enabled(name, cohort_id)
        )


def _unimplemented(function: Callable[..., Any]) -> bool:
    return "raise NotImplementedError" in inspect.getsource(function)


def install(monkeypatch: pytest.MonkeyPatch, *, only_missing: bool = False) -> Fakes:
    fakes = Fakes()
    for module, name in (
        (generation, "nudge_generate"),
        (lifecycle, "nudge_send"),
        (experiments, "experiment_assign"),
        (flags, "flag_enabled"),
        (flags, "cohorts_where"),
    ):
        if only_missing and not _unimplemented(getattr(module, name)):
            continue
        monkeypatch.setattr(module, name, getattr(fakes, name))
        fakes.replaced.append(name)
    return fakes


@pytest.fixture
def fakes(monkeypatch: pytest.MonkeyPatch) -> Fakes:
    return install(monkeypatch)


@pytest.fixture(autouse=True)
def one_thread(settings: Any) -> None:
    """Runs inline: other threads cannot see the rows of a test's transaction."""
    settings.CAMPAIGN_CONCURRENCY = 1
