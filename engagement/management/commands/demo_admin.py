"""``manage.py demo_admin``: a superuser for trying the platform locally, credentials printed."""

import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Create (or reset) the demo administrator and print its credentials. For local use only."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="demo-admin")
        parser.add_argument("--password", default="", help="Defaults to a new random password.")

    def handle(self, *args: Any, **options: Any) -> None:
        password = options["password"] or secrets.token_urlsafe(12)
        user, created = get_user_model().objects.get_or_create(
            username=options["username"], defaults={"email": "demo-admin@example.org"}
        )
        user.is_staff = user.is_superuser = user.is_active = True
        user.set_password(password)
        user.save()
        verb = "Created" if created else "Reset"
        self.stdout.write(
            f"{verb} demo admin -> username: {user.get_username()}  password: {password}"
        )
