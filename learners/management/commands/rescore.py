"""``manage.py rescore [--cohort ID] [--as-of T] [--stale-only]``: score learners now or as of T."""

from datetime import datetime
from typing import Any

from django.core.management.base import CommandError, CommandParser

from engagement.commands import ApplicationCommand
from engagement.input_bounds import parse_datetime
from engagement.wording import counted
from learners.risk.services import RescoreSummary, learners_rescore, rescore_as_of_check


def _as_of(value: str | None, cohort_id: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return rescore_as_of_check(parse_datetime(value), cohort_id=cohort_id)
    except ValueError as exc:
        raise CommandError(f"--as-of: {exc}") from exc


def _skipped(summary: RescoreSummary) -> str:
    """What the run left alone, when anything: backfilled learners, learners not enrolled yet."""
    parts = []
    if summary.history_only:
        parts.append(f"{summary.history_only} kept a later current risk (history only)")
    if summary.not_enrolled:
        parts.append(f"{counted(summary.not_enrolled, 'learner')} not enrolled yet")
    return "".join(f"; {part}" for part in parts)


class Command(ApplicationCommand):
    help = (
        "Score learners with the active risk model: those studying as of now, those who finished "
        "as of when they finished (once per model version), those not enrolled yet not at all. "
        "With --as-of, score as of that time: the result becomes a learner's current risk unless "
        "they have a later assessment (a backfill adds history only)."
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
            as_of=_as_of(options["as_of"], options["cohort"]),
            stale_only=options["stale_only"],
        )
        bands = (
            ", ".join(f"{count} {band}" for band, count in sorted(summary.bands.items())) or "none"
        )
        self.stdout.write(
            f"Scored {counted(summary.learners, 'learner')} with model v{summary.model_version} as of "
            f"{summary.as_of.isoformat()}: studying {bands}; {summary.finished} finished; "
            f"{counted(summary.assessments_created, 'new assessment')}, "
            f"{summary.entered_high} newly high{_skipped(summary)}."
        )
