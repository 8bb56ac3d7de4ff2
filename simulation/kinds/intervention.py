"""Intervention planning: a weekly nudge budget spent under each targeting rule, and how many
learners each is expected to bring back, with an interval (``simulation.engine.intervention``).

Research on targeting (Athey et al. 2023) finds that nudging the riskiest learners can bring
back fewer than nudging those the nudge moves most: the results put the rules side by side,
with the best one and each rule's shortfall against it.

Learners are the studying, scored learners of the run's cohorts who may be nudged (those who
opted out are left out). With the active model, each has their live score and band as scoring
stored them; with another ``model_version``, that model's score and band of the same live facts
(the what-if's base, rescored exactly as live scoring would), so "highest risk" means highest by
the model asked for. Uplift per band is, in this order: the ``uplift`` param (assumed, taken
as exact); else the uplift measured by the nudges app's experiments in those cohorts (with its
interval); else, for a band without a holdout to compare with, :data:`ASSUMED_UPLIFT`. Each
figure in the results says which (``source``). A fixed number of queries, whatever the number of
learners.
"""

from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any

import numpy as np
from rest_framework import serializers

from learners import contracts as learners
from nudges import contracts as nudges
from simulation.engine import intervention as engine
from simulation.kinds import what_if
from simulation.kinds.base import CohortField, RunContext, SimulationKind, SimulationParams

#: Uplift assumed for a band without a measurement: a few points, most in the middle band,
#: least in the low one (whose learners mostly come back anyway). An assumption, labelled so in
#: the results, until an experiment with a holdout measures the band.
ASSUMED_UPLIFT: Mapping[str, float] = MappingProxyType({"low": 0.02, "medium": 0.06, "high": 0.04})
#: Learners each arm (nudged, holdout) of a band needs before its measured uplift is used: fewer
#: give an estimate too noisy to rank rules by, so the band falls back to the assumption, and the
#: results say how many were measured.
MIN_MEASURED_PER_ARM = 30
#: Monte Carlo draws behind every interval.
DRAWS = 2000
#: Rows of the first week's picks kept per rule.
PICKED_ROWS = 100
MEASURED, ASSUMED = "measured", "assumed"


class UpliftParams(serializers.Serializer[Any]):
    """An assumed uplift per band: the extra chance, from -1 to 1, that a nudge brings a learner
    of that band back."""

    low = serializers.FloatField(min_value=-1, max_value=1)
    medium = serializers.FloatField(min_value=-1, max_value=1)
    high = serializers.FloatField(min_value=-1, max_value=1)

    def to_internal_value(self, data: Any) -> dict[str, float]:
        if isinstance(data, Mapping):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {key: ["Not a band: give low, medium and high."] for key in unknown}
                )
        values: dict[str, float] = super().to_internal_value(data)
        return values


class InterventionParams(SimulationParams):
    cohort = CohortField(required=False, help_text="One cohort (default: every cohort in scope).")
    budget = serializers.IntegerField(min_value=1, max_value=100_000, help_text="Nudges a week.")
    weeks = serializers.IntegerField(min_value=1, max_value=26, default=4)
    rules = serializers.ListField(
        child=serializers.ChoiceField(choices=engine.RULES),
        min_length=1,
        default=lambda: list(engine.RULES),
        help_text="Targeting rules to compare (default: all).",
    )
    uplift = UpliftParams(
        required=False, help_text="Assumed uplift per band (default: measured, else assumed)."
    )

    def validate_rules(self, rules: list[str]) -> list[str]:
        return list(dict.fromkeys(rules))


def _cohorts(params: Mapping[str, Any], context: RunContext) -> frozenset[Any] | None:
    """The cohorts to read: the ``cohort`` param within the run's scope, else the scope."""
    cohort = params.get("cohort")
    if cohort is None:
        return context.cohort_ids
    if context.cohort_ids is not None and cohort not in context.cohort_ids:
        return frozenset()
    return frozenset({cohort})


def _figure(
    value: float, low: float, high: float, source: str, n: int, measured_n: int = 0
) -> dict[str, Any]:
    """One band's uplift: ``n`` learners behind a measured figure; ``measured_n`` those an
    experiment had measured when too few to use (the figure is then assumed)."""
    return {
        "value": value,
        "low": low,
        "high": high,
        "source": source,
        "n": n,
        "measured_n": measured_n,
    }


def uplift_figures(
    given: Mapping[str, float] | None, *, cohort_ids: frozenset[Any] | None
) -> dict[str, dict[str, Any]]:
    """Each band's uplift with its interval, source and the learners measured (``n``)."""
    if given is not None:
        return {
            band: _figure(given[band], given[band], given[band], ASSUMED, 0)
            for band in engine.BANDS
        }
    measured = nudges.measured_uplift(cohort_ids=cohort_ids)
    figures = {}
    for band in engine.BANDS:
        found = measured[band]
        n = found.nudged + found.holdout
        if (
            found.uplift is None
            or found.ci_low is None
            or found.ci_high is None
            or min(found.nudged, found.holdout) < MIN_MEASURED_PER_ARM
        ):
            assumed = ASSUMED_UPLIFT[band]
            figures[band] = _figure(assumed, assumed, assumed, ASSUMED, 0, measured_n=n)
        else:
            figures[band] = _figure(found.uplift, found.ci_low, found.ci_high, MEASURED, n)
    return figures


def _pair(values: np.ndarray) -> list[float]:
    return [round(float(value), 6) for value in values]


@dataclass(frozen=True)
class Scored:
    """The learners a plan may pick (rows of ``live``), with their score and band index by the
    run's model, and whether those were rescored (``False``: the live ones)."""

    live: learners.LiveScores
    rows: np.ndarray
    scores: np.ndarray
    bands: np.ndarray
    rescored: bool


def _scored(
    params: Mapping[str, Any], context: RunContext, cohort_ids: frozenset[Any] | None
) -> Scored:
    """Today's learners who may be nudged, scored by the run's model (module docstring)."""
    live = learners.live_scores(cohort_ids=cohort_ids)
    spec = learners.risk_model_spec(version=context.model_version)
    if spec is None:
        raise ValueError(f"No risk model version {context.model_version}.")
    if spec.is_active:
        rows = np.flatnonzero(~live.nudge_opt_out)
        bands = np.array([engine.BANDS.index(live.bands[i]) for i in rows], dtype=np.int64)
        return Scored(live, rows, live.scores[rows], bands, rescored=False)
    # The what-if's base with no change: the live facts, scored by this model.
    other = what_if.simulate(
        {"cohort": params.get("cohort"), "changes": []},
        replace(context, progress=lambda fraction: context.progress(0.2 * fraction)),
    )
    position = {learner_id: row for row, learner_id in enumerate(other.learner_ids)}
    rows = np.array(
        [
            row
            for row, learner_id in enumerate(live.learner_ids)
            if not live.nudge_opt_out[row] and learner_id in position
        ],
        dtype=np.int64,
    )
    picked = [position[live.learner_ids[row]] for row in rows]
    bands = np.array([engine.BANDS.index(band) for band in other.bands_after[picked]], np.int64)
    return Scored(live, rows, other.after[picked], bands, rescored=True)


def run(params: Mapping[str, Any], context: RunContext) -> dict[str, Any]:
    """Plan every rule over the same uplift draws and compare them (module docstring)."""
    cohort_ids = _cohorts(params, context)
    scored = _scored(params, context, cohort_ids)
    live, keep, scores, bands = scored.live, scored.rows, scored.scores, scored.bands
    figures = uplift_figures(params.get("uplift"), cohort_ids=cohort_ids)
    context.progress(0.2)
    uplift = engine.Uplift(
        value=np.array([figures[band]["value"] for band in engine.BANDS]),
        low=np.array([figures[band]["low"] for band in engine.BANDS]),
        high=np.array([figures[band]["high"] for band in engine.BANDS]),
    )
    rng = np.random.default_rng(context.seed)
    drawn = engine.uplift_draws(uplift, rng=rng, draws=DRAWS)
    plans: dict[str, engine.RulePlan] = {}
    outcomes: dict[str, np.ndarray] = {}
    for done, rule in enumerate(params["rules"], start=1):
        plans[rule] = engine.rule_plan(
            rule,
            scores=scores,
            bands=bands,
            uplift=uplift.value,
            budget=params["budget"],
            weeks=params["weeks"],
        )
        outcomes[rule] = engine.outcome_draws(plans[rule], drawn_uplift=drawn, rng=rng)
        context.progress(0.2 + 0.8 * done / len(params["rules"]))
    best = max(plans, key=lambda rule: plans[rule].expected)
    best_totals = outcomes[best].sum(axis=1)
    others = [plan.expected for rule, plan in plans.items() if rule != best]
    return {
        "learners": len(keep),
        "opted_out": int(live.nudge_opt_out.sum()),
        "rescored": scored.rescored,
        "budget": params["budget"],
        "weeks": params["weeks"],
        "draws": DRAWS,
        "uplift": figures,
        "rules": {
            rule: _rule_results(plan, outcomes[rule], best=plans[best], best_totals=best_totals)
            for rule, plan in plans.items()
        },
        "best_rule": best,
        "best_margin": round(plans[best].expected - max(others), 6) if others else None,
        "picked": [
            {
                "rule": rule,
                "learner_id": str(live.learner_ids[keep[i]]),
                "cohort_id": str(live.cohort_ids[keep[i]]),
                "score": float(scores[i]),
                "band": engine.BANDS[bands[i]],
                "uplift": float(uplift.value[bands[i]]),
            }
            for rule, plan in plans.items()
            for i in plan.picks[0][:PICKED_ROWS]
        ],
    }


def _rule_results(
    plan: engine.RulePlan,
    outcomes: np.ndarray,
    *,
    best: engine.RulePlan,
    best_totals: np.ndarray,
) -> dict[str, Any]:
    """A rule's expectation with its interval, per week, by band, and against the best rule."""
    weekly = engine.interval(outcomes)
    totals = outcomes.sum(axis=1)
    return {
        "expected": round(plan.expected, 6),
        "interval": _pair(engine.interval(totals)),
        "nudged": int(plan.counts.sum()),
        "picked_by_band": {
            band: int(count)
            for band, count in zip(engine.BANDS, plan.counts.sum(axis=0), strict=True)
        },
        "weeks": [
            {
                "week": week + 1,
                "nudged": int(plan.counts[week].sum()),
                "expected": round(float(plan.expected_per_week[week]), 6),
                "interval": _pair(weekly[:, week]),
            }
            for week in range(len(plan.picks))
        ],
        "behind_best": round(best.expected - plan.expected, 6),
        "behind_best_interval": _pair(engine.interval(best_totals - totals)),
    }


def headline(results: Mapping[str, Any]) -> dict[str, float | int | None]:
    """Expected re-engaged per rule (``None`` for a rule not run), the best rule's expectation
    and its margin over the runner-up (the best rule's name is ``results["best_rule"]``: a
    headline holds numbers only)."""
    figures: dict[str, float | int | None] = {
        f"expected_{rule}": results["rules"][rule]["expected"] if rule in results["rules"] else None
        for rule in engine.RULES
    }
    figures["best_expected"] = results["rules"][results["best_rule"]]["expected"]
    figures["best_margin"] = results["best_margin"]
    return figures


KIND = SimulationKind(
    name="intervention",
    label="Intervention planning",
    params=InterventionParams,
    run=run,
    headline=headline,
    learner_keys=("picked",),
)
