"""``manage.py rotate_encryption_keys``: re-encrypt personal data under the first configured key."""

from typing import Any

from engagement.commands import ApplicationCommand
from engagement.wording import counted
from learners.privacy import learners_reencrypt


class Command(ApplicationCommand):
    help = (
        "Re-encrypt every learner's name and email with the first key of FIELD_ENCRYPTION_KEYS. "
        "Prepend the new key, run this, then remove the old key."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        rows = learners_reencrypt()
        self.stdout.write(f"Re-encrypted {counted(rows, 'learner')} under the primary key.")
