"""``manage.py simulate KIND --params JSON [--user USERNAME] [--name NAME]``: run a simulation
here and now as a user, and print its id, status and results (JSON)."""

import json
from collections.abc import Iterator
from typing import Any

from django.core.management.base import CommandError, CommandParser

from engagement.accounts import ACTIVE_ADMIN
from engagement.commands import ApplicationCommand
from engagement.errors import ValidationFailed
from engagement.input_bounds import check_json, check_text
from engagement.models import JobStatus, User
from simulation.models import Simulation, SimulationKindName
from simulation.selectors import simulation_results
from simulation.services import simulation_request


def _params(text: str) -> dict[str, Any]:
    """``--params`` as a JSON object within the platform's input bounds."""
    try:
        parsed = json.loads(text)
    except RecursionError as exc:
        raise CommandError("--params: arrays and objects nest too deeply.") from exc
    except ValueError as exc:  # json.JSONDecodeError, or an integer too long to read
        raise CommandError(f"--params: not JSON ({exc}).") from exc
    try:
        params = check_json(parsed, name="--params")
    except ValueError as exc:  # the message names the place
        raise CommandError(str(exc)) from exc
    if not isinstance(params, dict):
        raise CommandError("--params: must be a JSON object.")
    return params


def _name(text: str) -> str:
    limit = Simulation._meta.get_field("name").max_length or 0
    if len(text) > limit:
        raise CommandError(f"--name: at most {limit} characters.")
    try:
        return check_text(text)
    except ValueError as exc:
        raise CommandError(f"--name: {exc}") from exc


def _actor(username: str | None) -> User:
    """The named active user, or the first active admin."""
    if username is not None:
        user = User.objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"--user: no active user named {username!r}.")
        return user
    admin = User.objects.filter(ACTIVE_ADMIN).order_by("date_joined", "pk").first()
    if admin is None:
        raise CommandError("There is no active admin to run as: name a user with --user.")
    return admin


def _reasons(detail: Any, where: str) -> Iterator[str]:
    """Each reason of a validation error's detail, after the field it is about
    (``params.cohort: No such cohort.``)."""
    if isinstance(detail, dict):
        for field, inner in detail.items():
            yield from _reasons(inner, f"{where}.{field}" if where else str(field))
    elif isinstance(detail, list) and all(isinstance(item, str) for item in detail):
        yield f"{where}: {' '.join(detail)}"
    elif isinstance(detail, list):
        for index, inner in enumerate(detail):
            yield from _reasons(inner, f"{where}[{index}]")
    else:
        yield f"{where}: {detail}"


class Command(ApplicationCommand):
    help = (
        "Run a simulation of KIND with the params given (JSON), here and now, as --user (default: "
        "the first active admin); print its id, status and results as that user may read them. "
        "The run is recorded as a job and a simulation, like one requested from the API."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=SimulationKindName.values, help="The kind to run.")
        parser.add_argument(
            "--params",
            default="{}",
            help='The kind\'s params as a JSON object, e.g. \'{"cohort": "<id>", "seed": 7}\'.',
        )
        parser.add_argument("--user", help="Run as this user (username).")
        parser.add_argument("--name", default="", help="A label for the run.")

    def handle(self, *args: Any, **options: Any) -> None:
        params, name = _params(options["params"]), _name(options["name"])
        actor = _actor(options["user"])
        try:
            simulation = simulation_request(
                actor=actor,
                kind=options["kind"],
                params=params,
                name=name,
                in_process=True,
            )
        except ValidationFailed as error:
            raise CommandError("; ".join(_reasons(error.detail, ""))) from error
        job = simulation.job
        if job.status != JobStatus.SUCCEEDED:
            raise CommandError(f"Simulation {simulation.pk} {job.status}: {job.error}")
        self.stdout.write(f"Simulation {simulation.pk}: {job.status}")
        results = simulation_results(actor=actor, simulation=simulation)
        self.stdout.write(json.dumps(results, indent=2, ensure_ascii=False))
