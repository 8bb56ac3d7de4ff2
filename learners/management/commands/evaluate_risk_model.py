"""``manage.py evaluate_risk_model VERSION [--json]``: how a stored model does on later cohorts.

The ``--json`` output is a public interface, documented in ``docs/risk.md``: change it only in
a backwards-compatible way.
"""

import json
from collections.abc import Iterator, Mapping
from typing import Any

from django.core.management.base import CommandParser

from engagement.commands import ApplicationCommand
from engagement.wording import counted
from learners.models import Cohort
from learners.risk.selectors import risk_model_evaluate, risk_model_get

# (label, how to read the figure out of a metrics dict)
SUMMARY_ROWS = (
    ("ROC AUC", lambda m: m["roc_auc"]),
    ("PR AUC", lambda m: m["pr_auc"]),
    ("Brier score", lambda m: m["brier"]),
    ("Top-decile lift", lambda m: m["top_decile_lift"]),
    ("High band precision", lambda m: m["high_band"]["precision"]),
    ("High band recall", lambda m: m["high_band"]["recall"]),
    # Metrics stored before the share was measured have none.
    ("High band share", lambda m: m["high_band"].get("share_flagged")),
)


def _figure(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def comparison_lines(
    columns: Mapping[str, Mapping[str, Any]],
) -> Iterator[str]:
    """A small table: one row per summary metric, one column per model (heading → metrics)."""
    yield f"{'':22}" + "".join(f"{heading:>14}" for heading in columns)
    for label, read in SUMMARY_ROWS:
        yield f"{label:22}" + "".join(f"{_figure(read(m)):>14}" for m in columns.values())


def baseline_lines(measured: Mapping[str, Any], model: str) -> Iterator[str]:
    """The naive rankings on the same learners, and whether ``model`` (its label) beats the best
    (``measured``: an evaluation with the ``baselines`` keys, see docs/risk.md)."""
    yield "Naive baselines on the same learners (rankings, no model):"
    for figures in measured["baselines"].values():
        yield (
            f"  {figures['description']:38} ROC AUC {_figure(figures['roc_auc'])}  "
            f"PR AUC {_figure(figures['pr_auc'])}"
        )
    best, beats = measured["best_baseline"], measured["beats_best_baseline"]
    if best is None:
        yield "No baseline could be measured (one outcome only)."
        return
    verdict = {True: "beats it", False: "does NOT beat it (not activated unless forced)"}
    yield (
        f"Best baseline: {best['name']} (ROC AUC {_figure(best['roc_auc'])}); {model} "
        f"{verdict.get(beats, 'cannot be compared')}."
    )


def _group_lines(
    title: str, groups: Mapping[str, Mapping[str, Any]], names: Mapping[str, str]
) -> Iterator[str]:
    yield f"{title}:"
    for label, group in groups.items():
        yield (
            f"  {names.get(label, label):38} n={group['n']:<6} withdrew {_figure(group['base_rate'])}  "
            f"ROC AUC {_figure(group['roc_auc'])}  Brier {_figure(group['brier'])}"
        )


def report_lines(report: Mapping[str, Any], cohort_names: Mapping[str, str]) -> Iterator[str]:
    """The evaluation report for people (cohorts by name); ``--json`` gives the same facts, by
    cohort id, for machines."""
    active = report["active_model"]
    yield (
        f"Risk model v{report['version']} ({report['kind']}, features as of day "
        f"{report['cutoff_days']}) on {counted(report['n_test'], 'learner')} of "
        f"{counted(len(report['test_cohorts']), 'later cohort')}; withdrawal rate "
        f"{_figure(report['base_rate'])}."
    )
    yield from comparison_lines(
        {f"v{report['version']}": report, f"active v{active['version']}": active}
    )
    yield from baseline_lines(report, f"v{report['version']}")
    yield "Calibration (score bin: learners, mean predicted, observed withdrawal rate):"
    for row in report["calibration"]:
        yield (
            f"  {row['lower']:.1f}-{row['upper']:.1f}: {row['count']:>6}  "
            f"{_figure(row['mean_predicted']):>6}  {_figure(row['observed_rate']):>6}"
        )
    yield from _group_lines("By cohort", report["by_cohort"], cohort_names)
    yield from _group_lines("By locale", report["by_locale"], {})


class Command(ApplicationCommand):
    help = (
        "Re-evaluate a stored risk model version on the later-cohort test split of the current "
        "data, next to the active model on the same learners."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("version", type=int, help="The RiskModel version to evaluate.")
        parser.add_argument(
            "--json", action="store_true", help="Print one JSON object (see docs/risk.md)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        report = risk_model_evaluate(model=risk_model_get(version=options["version"]))
        if options["json"]:
            self.stdout.write(json.dumps(report, allow_nan=False))
            return
        tested = Cohort.objects.filter(id__in=list(report["by_cohort"]))
        names = {str(cohort_id): name for cohort_id, name in tested.values_list("id", "name")}
        for line in report_lines(report, names):
            self.stdout.write(line)
