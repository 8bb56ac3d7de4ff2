"""``manage.py rescore [--cohort ID] [--as-of T] [--stale-only]``: score learners now or as of T."""

from datetime import datetime
from typing import Any

from django.core.management.base import CommandError, CommandParser

from engagement.commands import ApplicationCommand
from engagement.input_bounds import parse_datetime
from engagement.wording import counted
from learners.risk.scoring import learners_rescore, rescore_as_of_check


def _as_of(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return rescore_as_of_check(parse_datetime(value))
    except ValueError as exc:
        raise CommandError(f"--as-of: {exc}") from exc


class Command(ApplicationCommand):
    help = (
        "Score learners with the active risk model: those studying as of now, those who finished "
        "as of when they finished (once per model version). With --as-of, score as of that time "
        "and set the current risk to the result (how historical imports and backfills are scored)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--cohort", help="Only this cohort (id).")
        parser.add_argument("--as-of", help="ISO 8601 time to score as of (default: now).")
        parser.add_argument(
            "--stale-only", action="store_true", help="Only learners with new activity."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        summary = learners_rescore(
            cohort_id=options["cohort"],
            as_of=_as_of(options["as_of"]),
            stale_only=options["stale_only"],
        )
        bands = (
            ", ".join(f"{count} {band}" for band, count in sorted(summary.bands.items())) or "none"
        )
        self.stdout.write(
            f"Scored {counted(summary.learners, 'learner')} with model v{summary.model_version} as of "
            f"{summary.as_of.isoformat()}: studying {bands}; {summary.finished} finished; "
            f"{counted(summary.assessments_created, 'new assessment')}, "
            f"{summary.entered_high} newly high."
        )
