"""``manage.py demo_accounts``: one user per role for trying the platform locally, credentials printed."""

from typing import Any

from engagement.accounts import demo_accounts_ensure
from engagement.commands import ApplicationCommand


class Command(ApplicationCommand):
    help = "Create (or reset) demo-admin, demo-coach and demo-analyst and print their passwords. Local use only."

    def handle(self, *args: Any, **options: Any) -> None:
        for username, role, password in demo_accounts_ensure():
            self.stdout.write(f"{role:>8}: username {username}  password {password}")
