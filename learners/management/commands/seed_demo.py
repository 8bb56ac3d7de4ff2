"""``manage.py seed_demo``: a realistic, reproducible demo population of cohorts and learners."""

import sys
import time
from argparse import ArgumentTypeError
from datetime import date
from typing import Any

from django.core.management.base import CommandParser
from django.utils import timezone
from tqdm import tqdm

from engagement.commands import ApplicationCommand
from engagement.input_bounds import parse_date
from engagement.wording import counted
from learners.demo.generator import SHAPES
from learners.demo.writer import demo_population_seed


def _positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ArgumentTypeError(f"must be at least 1, not {number}")
    return number


def _iso_date(value: str) -> date:
    try:
        return parse_date(value)
    except ValueError as error:
        raise ArgumentTypeError(str(error)) from error


class Command(ApplicationCommand):
    help = (
        "Seed demo cohorts, learners and their activity (source 'demo'). The same --seed and "
        "--today always produce the same rows."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--cohorts", type=_positive_int, default=6, help="Number of cohorts.")
        parser.add_argument(
            "--learners", type=_positive_int, default=600, help="Learners in total."
        )
        parser.add_argument(
            "--days", type=_positive_int, default=240, help="Days of history before today."
        )
        parser.add_argument("--seed", type=int, default=42, help="Random seed.")
        parser.add_argument(
            "--shape",
            choices=SHAPES,
            default="mixed",
            help="Kinds of cohort: open courses (mooc: most learners come a few days and drop "
            "out), degree programmes (steady, few drop out) or both in turn (mixed).",
        )
        parser.add_argument(
            "--today",
            type=_iso_date,
            default=None,
            help="End of the history, YYYY-MM-DD (default: today's UTC date); no activity on it.",
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing when any learner already exists.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        with tqdm(
            total=options["learners"],
            unit=" learners",
            disable=not sys.stderr.isatty(),
            file=sys.stderr,
        ) as bar:
            summary = demo_population_seed(
                cohorts=options["cohorts"],
                learners=options["learners"],
                days=options["days"],
                seed=options["seed"],
                shape=options["shape"],
                today=options["today"] or timezone.now().date(),
                if_empty=options["if_empty"],
                on_progress=bar.update,
            )
        if summary.skipped:
            self.stdout.write("Learners already exist: nothing seeded (--if-empty).")
            return
        seconds = time.monotonic() - started
        statuses = ", ".join(f"{count:,} {status}" for status, count in summary.statuses.items())
        self.stdout.write(
            f"Seeded {counted(summary.cohorts, 'cohort', grouped=True)}, "
            f"{counted(summary.learners, 'learner', grouped=True)} ({statuses}) and "
            f"{counted(summary.events, 'event', grouped=True)} in {seconds:.1f} s."
        )
