"""The simulation run as a Celery task: it finds its job and calls ``simulation_run``.

A run is idempotent (it only overwrites its own results, computed from stored params and
seed), so a redelivery after a lost worker runs it again from the start.
"""

from typing import Any

from celery import Task
from django.utils.translation import gettext_lazy

from engagement.celery import app
from engagement.jobs import job_run_retrying, job_task_options

SIMULATION_RUN = "simulation.run"
#: The run's kind as the jobs pages name it.
SIMULATION_RUN_LABEL: Any = gettext_lazy("Simulation")


@app.task(**job_task_options(SIMULATION_RUN, retries=2, minutes=30))
def simulation_run_task(self: Task, job_id: str) -> None:
    from simulation.services import simulation_run  # services sends this task

    job_run_retrying(
        self,
        job_id,
        lambda job, report_progress: simulation_run(job=job, on_progress=report_progress),
    )
