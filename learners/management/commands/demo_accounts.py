"""``manage.py demo_accounts``: one user per role for trying the platform locally, credentials printed."""

from typing import Any

from engagement.commands import ApplicationCommand
from learners.assignments import demo_accounts_ensure_with_cohorts


class Command(ApplicationCommand):
    help = "Create (or reset) demo-admin, demo-coach and demo-analyst and print their passwords. Local use only."

    def handle(self, *args: Any, **options: Any) -> None:
        for username, role, password in demo_accounts_ensure_with_cohorts():
            self.stdout.write(f"{role:>8}: username {username}  password {password}")
