"""The jobs pages' link for a ``simulation.run`` job: its simulation's page, from the moment
the run is asked for (registered with ``registry.add_job_kind`` from ``apps.py``)."""

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext

from engagement.models import Job
from simulation.selectors import simulation_list


def simulation_run_links(job: Job, viewer: Any) -> list[tuple[str, str]]:
    """The run's page (live progress while it runs), when the viewer may open it (a coach: the
    runs they asked for)."""
    simulation_id = (
        simulation_list(actor=viewer).filter(job=job).values_list("pk", flat=True).first()
    )
    if simulation_id is None:
        return []
    return [
        (
            gettext("The simulation and its results"),
            reverse("dashboard-simulation", args=[simulation_id]),
        )
    ]
