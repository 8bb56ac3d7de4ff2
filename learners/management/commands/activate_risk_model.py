"""``manage.py activate_risk_model VERSION [--force]``: switch the active model; rollback is
activating an older version."""

from typing import Any

from django.core.management.base import CommandParser

from engagement.commands import ApplicationCommand
from learners.risk.selectors import risk_model_get
from learners.risk.services import risk_model_activate
from learners.selectors import risk_model_active


class Command(ApplicationCommand):
    help = (
        "Make a stored risk model version the active one (rollback: activate an older version). "
        "A version measured worse than the active one on the same test set, or that did not "
        "beat the best naive baseline there, needs --force (recorded in the audit log). "
        "Current risks follow at the next rescore, or at once with `manage.py rescore`."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("version", type=int, help="The RiskModel version to activate.")
        parser.add_argument(
            "--force",
            action="store_true",
            help="Activate even if it is worse than the active one or a baseline.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        model = risk_model_get(version=options["version"])
        previous = risk_model_active()
        risk_model_activate(model=model, actor=None, force=options["force"])
        if previous.pk == model.pk:
            self.stdout.write(f"Risk model v{model.version} ({model.kind}) is already active.")
            return
        self.stdout.write(
            f"Activated risk model v{model.version} ({model.kind}); v{previous.version} "
            f"({previous.kind}) is no longer active. Run `manage.py rescore` to rescore now."
        )
