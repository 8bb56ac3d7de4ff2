"""``manage.py demo_accounts``: one user per role for trying the platform locally, credentials printed."""

from typing import Any

from django.conf import settings
from django.core.management.base import CommandError

from engagement.commands import ApplicationCommand
from learners.assignments import demo_accounts_ensure_with_cohorts


class Command(ApplicationCommand):
    help = (
        "Create (or reset) demo-admin, demo-coach and demo-analyst and print their passwords. "
        "Local use only: refused unless DEBUG is on."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        # A known superuser with a password printed to a terminal (or a deploy log) must not
        # appear in a production database; DEBUG is on only where the platform runs locally.
        if not settings.DEBUG:
            raise CommandError(
                "demo_accounts is for local use only and refuses to run with DEBUG off "
                "(it creates or resets a superuser and prints its password)."
            )
        for username, role, password in demo_accounts_ensure_with_cohorts():
            self.stdout.write(f"{role:>8}: username {username}  password {password}")
