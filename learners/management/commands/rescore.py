"""``manage.py rescore [--cohort ID] [--as-of T] [--stale-only] [--queue]``: score learners now or
as of T, recorded as a ``learners.rescore`` job."""

from datetime import datetime
from typing import Any

from django.core.management.base import CommandError, CommandParser

from engagement.commands import JobCommand
from engagement.input_bounds import parse_datetime
from engagement.wording import counted
from learners.services import learners_rescore_request


def _as_of(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_datetime(value)
    except ValueError as exc:
        raise CommandError(f"--as-of: {exc}") from exc


def _skipped(result: dict[str, Any]) -> str:
    """What the run left alone, when anything: backfilled learners, learners not enrolled yet."""
    parts = []
    if result["history_only"]:
        parts.append(f"{result['history_only']} kept a later current risk (history only)")
    if result["not_enrolled"]:
        parts.append(f"{counted(result['not_enrolled'], 'learner')} not enrolled yet")
    return "".join(f"; {part}" for part in parts)


def summary_line(result: dict[str, Any]) -> str:
    """One line from a rescore job's result (``RescoreSummary.as_dict``)."""
    bands = ", ".join(f"{count} {band}" for band, count in sorted(result["bands"].items()))
    return (
        f"Scored {counted(result['learners'], 'learner')} with model v{result['model_version']} "
        f"as of {result['as_of']}: studying {bands or 'none'}; {result['finished']} finished; "
        f"{counted(result['assessments_created'], 'new assessment')}, "
        f"{result['entered_high']} newly high{_skipped(result)}."
    )


class Command(JobCommand):
    help = (
        "Score learners with the active risk model: those studying as of now, those who finished "
        "as of when they finished (once per model version), those not enrolled yet not at all. "
        "With --as-of, score as of that time: the result becomes a learner's current risk unless "
        "they have a later assessment (a backfill adds history only). The run is recorded as a "
        "job; it runs here and now unless --queue hands it to the workers."
    )
    field_options = {"as_of": "--as-of"}

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--cohort", help="Only this cohort (id).")
        parser.add_argument("--as-of", help="ISO 8601 time to score as of (default: now).")
        parser.add_argument(
            "--stale-only", action="store_true", help="Only learners with new activity."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        job = learners_rescore_request(
            cohort_id=options["cohort"],
            as_of=_as_of(options["as_of"]),
            stale_only=options["stale_only"],
            in_process=not options["queue"],
        )
        result = self.job_result(job, options)
        if result is not None:
            self.stdout.write(summary_line(result))
