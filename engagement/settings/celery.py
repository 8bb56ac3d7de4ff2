"""Celery: eager (in-process) unless a broker is configured.

Nothing is lost when a worker dies mid-task: a task is acknowledged only after it finished
(``acks_late``), a task whose pool process was killed is handed back to the broker
(``reject_on_worker_lost``), and each worker holds one message at a time beyond those it runs
(prefetch 1). When the whole worker dies (SIGKILL, a lost node), the Redis broker redelivers its
unacknowledged messages once ``CELERY_VISIBILITY_TIMEOUT`` has passed, so that timeout must
exceed the longest task's hard time limit (61 minutes for model training), or a task still
running would be delivered a second time. Tasks are idempotent, so a redelivery adds nothing twice.
"""

from engagement.settings.base import env

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="memory://")
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or None
CELERY_TASK_ALWAYS_EAGER = env.bool(
    "CELERY_TASK_ALWAYS_EAGER", default=CELERY_BROKER_URL == "memory://"
)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=2 * 60 * 60, minimum=1)
}
# A task that failed or timed out is acknowledged (not redelivered forever); retries are explicit.
CELERY_TASK_ACKS_ON_FAILURE_OR_TIMEOUT = True
CELERY_TIMEZONE = "UTC"
# Each app registers its periodic tasks (engagement/registry.py); beat keeps them in the database.
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
