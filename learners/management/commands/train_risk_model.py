"""``manage.py train_risk_model [--cutoff-day N] [--kind auto|logistic|boosted]
[--activate [--force]] [--json] [--queue]``: the run is recorded as a ``learners.train_risk_model``
job."""

import json
from typing import Any

from django.core.management.base import CommandError, CommandParser

from engagement.commands import JobCommand
from engagement.wording import counted
from learners.management.commands.evaluate_risk_model import baseline_lines, comparison_lines
from learners.models import RiskModel
from learners.risk.dataset import DEFAULT_CUTOFF_DAYS
from learners.risk.kind_selection import KIND_CHOICES
from learners.risk.selectors import risk_model_get
from learners.services import risk_model_train_request


def summary(model: RiskModel) -> dict[str, Any]:
    """The ``--json`` object (documented in docs/risk.md)."""
    return {
        "version": model.version,
        "kind": model.kind,
        "is_active": model.is_active,
        "trained_at": model.trained_at.isoformat() if model.trained_at else None,
        "cutoff_days": model.parameters["cutoff_days"],
        "thresholds": model.parameters["thresholds"],
        "metrics": model.metrics,
    }


def selection_line(selection: dict[str, Any]) -> str:
    """How the kind was chosen, with each candidate's validation ROC AUC."""
    judged = ", ".join(
        f"{kind} {'n/a' if auc is None else f'{auc:.3f}'}"
        for kind, auc in selection["validation_roc_auc"].items()
    )
    return (
        f"Kind {selection['chosen']} ({selection['reason']}; "
        f"validation ROC AUC: {judged or 'none'})."
    )


class Command(JobCommand):
    help = (
        "Train a risk model (the kind with the best validation ROC AUC unless --kind names one) "
        "on earlier cohorts, evaluate it and the active model on "
        "later ones, and store it as a new version (inactive unless --activate). The run is "
        "recorded as a job; it runs here and now unless --queue hands it to the workers."
    )

    field_options = {"force": "--force"}

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--cutoff-day",
            dest="cutoff_days",
            type=int,
            default=DEFAULT_CUTOFF_DAYS,
            help="Take features this many days after each learner's enrolment.",
        )
        parser.add_argument(
            "--kind",
            choices=KIND_CHOICES,
            default="auto",
            help="auto (default): the trainable kind with the best ROC AUC on the latest "
            "training cohorts; or fit this kind.",
        )
        parser.add_argument(
            "--activate",
            action="store_true",
            help="Activate the new version if it is at least as good as the active one and "
            "beats the best naive baseline.",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="With --activate: activate even if it is worse than the active one or a "
            "baseline (recorded in the audit log).",
        )
        parser.add_argument(
            "--json", action="store_true", help="Print one JSON object (see docs/risk.md)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        job = risk_model_train_request(
            cutoff_days=options["cutoff_days"],
            kind=options["kind"],
            activate=options["activate"],
            force=options["force"],
            in_process=not options["queue"],
        )
        result = self.job_result(job, options)
        if result is None:
            return
        model = risk_model_get(version=result["version"])
        if options["json"]:
            self.stdout.write(json.dumps(summary(model), allow_nan=False))
        else:
            self.report(model)
        if "activation_refused" in result:
            raise CommandError(result["activation_refused"]["detail"])

    def report(self, model: RiskModel) -> None:
        """The stored version, how its kind was chosen and its comparisons on the test set."""
        metrics = model.metrics
        active = metrics["active_on_same_test"]
        self.stdout.write(
            f"Stored risk model v{model.version} ({model.kind}, "
            f"{'active' if model.is_active else 'inactive'}), features as of day "
            f"{metrics['cutoff_days']}: trained on "
            f"{counted(metrics['n_train'], 'learner')} in "
            f"{counted(len(metrics['train_cohorts']), 'cohort')}, tested on "
            f"{counted(metrics['test']['n'], 'learner')} in "
            f"{counted(len(metrics['test_cohorts']), 'later cohort')}."
        )
        self.stdout.write(selection_line(metrics["kind_selection"]))
        for line in comparison_lines(
            {
                f"new v{model.version}": metrics["test"],
                f"v{active['version']} {active['kind']}": active,
            }
        ):
            self.stdout.write(line)
        for line in baseline_lines(metrics, f"v{model.version}"):
            self.stdout.write(line)
