"""Thin Celery tasks of campaigns: a run as a job, and the hourly start of automations.

A run is idempotent (a nudge is unique per campaign, learner and occurrence; sending is a
conditional UPDATE in ``nudges.lifecycle``), so it is acknowledged once finished and given back
when its worker is lost: the redelivered job resumes where the dead worker stopped.
"""

from typing import Any

from celery import Task
from celery.schedules import crontab
from django.utils.translation import gettext_lazy

from engagement.celery import app
from engagement.jobs import job_run_retrying, job_task_options
from nudges import campaigns  # its request service sends the run task below

CAMPAIGN_RUN = "nudges.campaign_run"
CAMPAIGN_AUTOMATIONS = "nudges.campaign_automations"
#: The run's kind as the jobs pages name it.
CAMPAIGN_RUN_LABEL: Any = gettext_lazy("Nudge campaign run")
RUN_MINUTES = 60

BEAT_SCHEDULE = {
    # Hourly: the day's (or week's) run of each automation, once; later hours find it started.
    "campaign-automations": {"task": CAMPAIGN_AUTOMATIONS, "schedule": crontab(minute=20)},
}


@app.task(**job_task_options(CAMPAIGN_RUN, retries=3, minutes=RUN_MINUTES))
def campaign_run_task(self: Task, job_id: str) -> None:
    """Database trouble backs off and runs the job again (it goes back to queued)."""
    job_run_retrying(
        self,
        job_id,
        lambda job, report_progress: campaigns.campaign_run(job=job, on_progress=report_progress),
    )


@app.task(name=CAMPAIGN_AUTOMATIONS, acks_late=True, soft_time_limit=60, time_limit=90)
def campaign_automations_task() -> int:
    """How many automation runs were asked for (already started ones count again)."""
    return len(campaigns.campaign_automations_run())
