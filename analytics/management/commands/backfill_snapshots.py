"""``manage.py backfill_snapshots [--days N | --since DAY [--until DAY]]``: write the daily
snapshots of past days from the stored events and risk history (re-running a day replaces it)."""

from datetime import date, timedelta
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils import timezone

from analytics.services import snapshots_backfill
from engagement.commands import ApplicationCommand
from engagement.input_bounds import parse_date
from engagement.wording import counted

MAX_DAYS = 3660


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return parse_date(value)
    except ValueError as exc:
        raise CommandError(f"{option}: {exc}") from exc


class Command(ApplicationCommand):
    help = (
        "Write the daily snapshots (per cohort and UTC day) of the last N days, today included "
        "(today's as of now), or of --since..--until. Bands come from the risk assessments kept "
        "(the latest at or before each day's end), so they are as dense as past scoring runs."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, help="The last N days, today included.")
        parser.add_argument("--since", help="First day (YYYY-MM-DD, UTC).")
        parser.add_argument("--until", help="Last day (YYYY-MM-DD, UTC; default today).")

    def handle(self, *args: Any, **options: Any) -> None:
        today = timezone.now().date()
        since = _day(options["since"], "--since")
        until = _day(options["until"], "--until") or today
        days = options["days"]
        if (days is None) == (since is None):
            raise CommandError("Give --days or --since (not both).")
        if days is not None:
            if not 1 <= days <= MAX_DAYS:
                raise CommandError(f"--days: give a number from 1 to {MAX_DAYS}.")
            since = until - timedelta(days=days - 1)
        if since is None or since > until:
            raise CommandError("--since must not be after --until.")
        if (until - since).days >= MAX_DAYS:
            raise CommandError(f"At most {MAX_DAYS} days at once.")
        written = snapshots_backfill(since=since, until=until)
        self.stdout.write(f"Wrote the snapshots of {counted(written, 'day')} ({since} to {until}).")
