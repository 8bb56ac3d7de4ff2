"""The jobs pages' link for a ``simulation.run`` job: its simulation's page (registered with
``registry.add_job_kind`` from ``apps.py``).

A job's links see its params and result only, and the simulation's id is in the result (the
run writes it), so the link shows once the run has finished.
"""

import uuid
from collections.abc import Mapping
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext

from simulation.selectors import simulation_list


def simulation_run_links(
    params: Mapping[str, Any], result: Mapping[str, Any], viewer: Any
) -> list[tuple[str, str]]:
    """The run's page, when the viewer may open it (a coach: the runs they asked for)."""
    try:
        simulation_id = uuid.UUID(str(result.get("simulation_id")))
    except ValueError:
        return []
    if not simulation_list(actor=viewer).filter(pk=simulation_id).exists():
        return []
    return [
        (
            gettext("The simulation and its results"),
            reverse("dashboard-simulation", args=[simulation_id]),
        )
    ]
