"""``manage.py send_due_nudges``: send the scheduled nudges whose time has come, as the beat
task ``nudges.send_due`` does every minute; for the embedded mode (``make run`` starts no beat)
and for operators who want them out now."""

from typing import Any

from engagement.commands import ApplicationCommand
from nudges.lifecycle import nudges_send_due


class Command(ApplicationCommand):
    help = (
        "Send the scheduled nudges that are due (quiet hours over, chosen time reached); the "
        "contact policy judges each again. Safe to run beside the beat: a nudge moves once."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        counts = nudges_send_due()
        self.stdout.write(
            f"Due nudges: {counts['sent']:,} sent, {counts['scheduled']:,} scheduled again, "
            f"{counts['suppressed']:,} suppressed."
        )
