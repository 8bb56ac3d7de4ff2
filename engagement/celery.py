"""The Celery application; configuration comes from Django settings (``CELERY_*``).

Beat's schedule is the registry's table, which each app fills from ``AppConfig.ready()``; beat
reads it only after Django is set up. Task outcomes and the worker's metrics exporter are
wired by :mod:`engagement.metrics_worker`.
"""

import os

from celery import Celery

from engagement import metrics_worker  # noqa: F401 - connects the task and worker metrics
from engagement.registry import registry

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "engagement.settings")

app = Celery("engagement")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.conf.beat_schedule = registry.beat_schedule
