"""``manage.py export_training_data FILE.csv [--cutoff-day N]``: the training set with feedback."""

import csv
from pathlib import Path
from typing import Any

from django.core.management.base import CommandParser

from engagement.commands import ApplicationCommand
from engagement.wording import counted
from learners.risk.dataset import DEFAULT_CUTOFF_DAYS, EXPORT_COLUMNS, training_data_export


class Command(ApplicationCommand):
    help = (
        "Write the risk training set (features at the cutoff, outcome, coach feedback marks) as CSV. "
        "Pseudonymous: platform ids only."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="Where to write the CSV.")
        parser.add_argument(
            "--cutoff-day", type=int, default=DEFAULT_CUTOFF_DAYS, dest="cutoff_days"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        rows = 0
        with Path(options["file"]).open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=EXPORT_COLUMNS)
            writer.writeheader()
            for row in training_data_export(cutoff_days=options["cutoff_days"]):
                writer.writerow(row)
                rows += 1
        self.stdout.write(f"Wrote {counted(rows, 'learner')} to {options['file']}.")
