"""``manage.py seed_nudges_demo``: the demo's nudges, a past campaign with an experiment and
drafts to review (``make run``, after the learners are seeded and scored)."""

from typing import Any

from django.core.management.base import CommandParser
from django.utils import timezone

from engagement.commands import ApplicationCommand
from engagement.wording import counted
from nudges.demo import PILOT_NAME, nudges_demo_seed


class Command(ApplicationCommand):
    help = (
        "Seed the demo's nudges: the reengage prompts when missing, a campaign with an "
        "experiment that ran 10 days ago (sends and re-engagement read from the seeded "
        "activity), drafts waiting for review and a fresh experiment for a new campaign. "
        "Does nothing when the demo campaign exists."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=42, help="Random seed.")

    def handle(self, *args: Any, **options: Any) -> None:
        summary = nudges_demo_seed(now=timezone.now(), seed=options["seed"])
        if summary.skipped:
            self.stdout.write("The demo campaign exists: no nudges seeded.")
            return
        if not summary.learners:
            self.stdout.write(
                f"Seeded {counted(summary.prompts, 'prompt')}; no scored learner to nudge yet."
            )
            return
        arms = ", ".join(f"{count:,} {arm}" for arm, count in sorted(summary.arms.items()))
        statuses = ", ".join(f"{count:,} {status}" for status, count in summary.statuses.items())
        self.stdout.write(
            f"Seeded a demo campaign and experiment: "
            f"{counted(summary.learners, 'learner', grouped=True)} assigned ({arms}), "
            f"nudges {statuses}, {summary.re_engaged:,} re-engaged, "
            f"{counted(summary.llm_calls, 'LLM call', grouped=True)}, "
            f"{counted(summary.prompts, 'prompt')} added. The fresh experiment "
            f'"{PILOT_NAME}" waits for a campaign.'
        )
