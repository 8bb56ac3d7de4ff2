"""Factories for the experiments area's tests: experiments with their variants, and nudges
already sent (the lifecycle that sends them is another area's)."""

from datetime import datetime, timedelta
from typing import Any

from learners.models import Learner
from nudges.experiments import experiment_create
from nudges.models import (
    Channel,
    Experiment,
    ExperimentAssignment,
    Nudge,
    NudgeSource,
    NudgeStatus,
)


def experiment(
    *, holdout_share: float = 0.2, weights: dict[str, int] | None = None, **kwargs: Any
) -> Experiment:
    """An experiment with template variants named and weighted as given (default A and B)."""
    weights = weights or {"A": 1, "B": 1}
    return experiment_create(
        name=kwargs.pop("name", "Subject lines"),
        variants=[
            {"name": name, "weight": weight, "prompt": kwargs.get("prompts", {}).get(name)}
            for name, weight in weights.items()
        ],
        holdout_share=holdout_share,
        attribution_days=kwargs.get("attribution_days"),
        actor=None,
    )


def sent_nudge(learner: Learner, sent_at: datetime, **kwargs: Any) -> Nudge:
    return Nudge.objects.create(
        learner=learner,
        channel=Channel.EMAIL,
        source=NudgeSource.TEMPLATE,
        subject="Your course",
        body="Come back when you can.",
        status=NudgeStatus.SENT,
        sent_at=sent_at,
        **kwargs,
    )


def exposed(
    trial: Experiment, learners: list[Any], arm: str | None, re_engaged: int, *, at: datetime
) -> None:
    """``learners`` in ``arm`` (``None``: the holdout), assigned and exposed ``at``, the first
    ``re_engaged`` of them back a day later."""
    variant = trial.variants.get(name=arm) if arm else None
    ExperimentAssignment.objects.bulk_create(
        ExperimentAssignment(
            experiment=trial,
            learner=learner,
            variant=variant,
            assigned_at=at,
            exposed_at=at,
            re_engaged_at=at + timedelta(days=1) if n < re_engaged else None,
        )
        for n, learner in enumerate(learners)
    )
