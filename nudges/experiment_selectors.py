"""Reading experiments: the list, one experiment, and its results per arm.

Results count learners, never name them: analysts see them like everyone else. A coach's
results count only the learners of their cohorts (``learners.contracts.visible_cohort_ids``).
"""

import uuid
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet

from engagement.ids import row_by_id
from learners.contracts import visible_cohort_ids
from nudges.experiment_stats import rate, two_proportion_test
from nudges.experiments import HOLDOUT, assignment_exposure
from nudges.flags import LLM_GENERATION, flag_cohorts
from nudges.llm.client import llm_configured
from nudges.models import Campaign, Experiment, ExperimentAssignment, ExperimentVariant
from nudges.selectors import campaigns_openable


def experiment_list(*, actor: Any) -> QuerySet[Experiment]:
    """The experiments ``actor`` may see, newest first, with their variants and prompt versions
    (two queries). A coach sees those not used by any campaign yet (to run one) and those a
    campaign runs in one of their cohorts; an experiment only other cohorts run is not theirs."""
    experiments = Experiment.objects.select_related("winner").prefetch_related(
        Prefetch("variants", queryset=ExperimentVariant.objects.select_related("prompt"))
    )
    cohort_ids = visible_cohort_ids(actor=actor)
    if cohort_ids is None:
        return experiments
    used = Campaign.objects.filter(experiment__isnull=False)
    return experiments.filter(
        ~Q(pk__in=used.values("experiment_id"))
        | Q(pk__in=used.filter(cohorts__in=cohort_ids).values("experiment_id"))
    )


def experiment_get(*, actor: Any, experiment_id: uuid.UUID | str) -> Experiment:
    """One experiment ``actor`` may see (``NotFound`` otherwise, as for one that does not exist)."""
    return row_by_id(
        experiment_list(actor=actor), experiment_id, missing="No experiment with this id."
    )


def experiment_campaigns(*, experiment: Experiment, actor: Any) -> list[Campaign]:
    """The campaigns running ``experiment`` whose page ``actor`` may open, by name (two
    queries): the experiment page links back to them."""
    running = list(
        Campaign.objects.filter(experiment=experiment).only("id", "name").order_by("name")
    )
    openable = campaigns_openable(actor=actor, campaign_ids=[campaign.pk for campaign in running])
    return [campaign for campaign in running if campaign.pk in openable]


#: Why an experiment's prompt arms are written by the template after all (docs/nudges.md).
NO_LLM_KEY = "no_llm_key"
GENERATION_OFF = "generation_off"


def template_only_reason(
    *, experiment: Experiment, cohort_ids: Iterable[uuid.UUID] = ()
) -> str | None:
    """Why ``experiment``'s arms with a prompt version would be written by the template, so
    that the experiment compares the template with itself: :data:`NO_LLM_KEY`, or
    :data:`GENERATION_OFF` when the LLM generation flag holds nowhere (in none of
    ``cohort_ids`` when given); ``None`` when it has no such arm or the LLM writes them. Uses
    the prefetched variants; a query for the flag's cohorts."""
    if not any(variant.prompt_id for variant in experiment.variants.all()):
        return None
    if not llm_configured():
        return NO_LLM_KEY
    held = flag_cohorts(LLM_GENERATION)
    if held is None:
        return None
    given = frozenset(cohort_ids)
    return GENERATION_OFF if not held or (given and held.isdisjoint(given)) else None


@dataclass(frozen=True, slots=True)
class ArmResult:
    """One arm: learners assigned, exposed (``n``: sent its nudge; the holdout: all), those
    who came back within the window, their rate, and, for a variant, the comparison with the
    holdout (``None`` without a holdout or with an empty arm)."""

    arm: str
    variant_id: uuid.UUID | None
    prompt_id: uuid.UUID | None
    prompt_version: int | None
    assigned: int
    n: int
    re_engaged: int
    rate: float | None
    difference: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None


@dataclass(frozen=True, slots=True)
class ExperimentResults:
    experiment_id: uuid.UUID
    status: str
    winner: str | None
    attribution_days: int
    arms: tuple[ArmResult, ...]


def experiment_results(*, experiment: Experiment, actor: Any) -> ExperimentResults:
    """Each arm's counts and its comparison with the holdout (two-proportion z-test): the
    holdout first, then the variants by name; one counting query (two for a coach)."""
    return _results(experiment, _arm_counts([experiment.pk], actor=actor))


@dataclass(frozen=True, slots=True)
class ExperimentSummary:
    """A row of the experiments list: the experiment, its results, the learners exposed in all
    arms (``n``) and the headline: the promoted arm, else the variant furthest above the
    holdout (``None`` without a comparison)."""

    experiment: Experiment
    results: ExperimentResults
    n: int
    headline: ArmResult | None


def experiment_summaries(
    *, experiments: Sequence[Experiment], actor: Any
) -> list[ExperimentSummary]:
    """The list rows of ``experiments`` (from :func:`experiment_list`, variants prefetched):
    one counting query for them all (two for a coach), none without experiments."""
    if not experiments:
        return []
    counts = _arm_counts([experiment.pk for experiment in experiments], actor=actor)
    return [_summary(experiment, _results(experiment, counts)) for experiment in experiments]


def _summary(experiment: Experiment, results: ExperimentResults) -> ExperimentSummary:
    compared = [arm for arm in results.arms if arm.difference is not None]
    headline = next((arm for arm in compared if arm.arm == results.winner), None) or max(
        compared, key=lambda arm: arm.difference or 0.0, default=None
    )
    return ExperimentSummary(
        experiment=experiment,
        results=results,
        n=sum(arm.n for arm in results.arms),
        headline=headline,
    )


_Counts = dict[tuple[uuid.UUID, uuid.UUID | None], dict[str, int]]


def _arm_counts(experiment_ids: Collection[uuid.UUID], *, actor: Any) -> _Counts:
    """Learners assigned, exposed and re-engaged per experiment and arm (``None``: the
    holdout), within a coach's cohorts: one query (and one for the cohorts)."""
    assignments = ExperimentAssignment.objects.filter(experiment_id__in=experiment_ids)
    cohorts = visible_cohort_ids(actor=actor)
    if cohorts is not None:
        assignments = assignments.filter(learner__cohort_id__in=cohorts)
    return {
        (row["experiment_id"], row["variant_id"]): row
        for row in assignments.annotate(exposure=assignment_exposure())
        .order_by()
        .values("experiment_id", "variant_id")
        .annotate(
            assigned=Count("id"),
            n=Count("id", filter=Q(exposure__isnull=False)),
            re_engaged=Count("id", filter=Q(re_engaged_at__isnull=False)),
        )
    }


def _results(experiment: Experiment, counts: _Counts) -> ExperimentResults:
    empty = {"assigned": 0, "n": 0, "re_engaged": 0}
    holdout = counts.get((experiment.pk, None), empty)
    variants = sorted(experiment.variants.all(), key=lambda variant: variant.name)
    arms = [_arm(None, holdout, control=empty)] if experiment.holdout_share else []
    arms += [
        _arm(variant, counts.get((experiment.pk, variant.pk), empty), control=holdout)
        for variant in variants
    ]
    return ExperimentResults(
        experiment_id=experiment.pk,
        status=experiment.status,
        winner=experiment.winner.name if experiment.winner else None,
        attribution_days=experiment.attribution_days,
        arms=tuple(arms),
    )


def _arm(
    variant: ExperimentVariant | None, row: dict[str, int], *, control: dict[str, int]
) -> ArmResult:
    """An arm's result, compared with ``control`` (no one in it: no comparison)."""
    comparison = two_proportion_test(
        row["re_engaged"], row["n"], control["re_engaged"], control["n"]
    )
    prompt = variant.prompt if variant else None
    return ArmResult(
        arm=variant.name if variant else HOLDOUT,
        variant_id=variant.pk if variant else None,
        prompt_id=prompt.pk if prompt else None,
        prompt_version=prompt.version if prompt else None,
        assigned=row["assigned"],
        n=row["n"],
        re_engaged=row["re_engaged"],
        rate=rate(row["re_engaged"], row["n"]),
        difference=comparison.difference,
        ci_low=comparison.ci_low,
        ci_high=comparison.ci_high,
        p_value=comparison.p_value,
    )
