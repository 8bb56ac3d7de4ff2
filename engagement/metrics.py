"""The platform's own Prometheus instruments: jobs, Celery tasks, outbox deliveries, cache lookups.

Each label takes a value from a set the code bounds (a job kind or task name is a registered
Celery name, a channel a registered outbox channel, a cache use a constant of the caller),
never an id, an address or anything personal. Under gunicorn and Celery's pool the values live
in ``PROMETHEUS_MULTIPROC_DIR`` and ``/metrics`` (or the worker's exporter) adds them up.
"""

from prometheus_client import Counter, Histogram

# Jobs and tasks run from under a second (a digest) to an hour (training a model).
DURATION_BUCKETS = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)

jobs_finished = Counter(
    "engagement_jobs_finished",
    "Jobs whose run ended, by kind and outcome (succeeded, failed, cancelled, retried).",
    ["kind", "outcome"],
)
job_duration = Histogram(
    "engagement_job_duration_seconds",
    "How long a job's run took, by kind and outcome.",
    ["kind", "outcome"],
    buckets=DURATION_BUCKETS,
)
celery_tasks = Counter(
    "engagement_celery_tasks",
    "Celery task executions by task name and outcome (succeeded, failed, retried, revoked).",
    ["task", "outcome"],
)
celery_task_duration = Histogram(
    "engagement_celery_task_duration_seconds",
    "How long a Celery task ran, by task name.",
    ["task"],
    buckets=DURATION_BUCKETS,
)
outbox_deliveries = Counter(
    "engagement_outbox_deliveries",
    "Outbox delivery attempts by channel and result (sent; retry: failed, tried again later; "
    "failed: failed for good).",
    ["channel", "status"],
)
cache_lookups = Counter(
    "engagement_cache_lookups",
    "Cache lookups by use (risk_detail, learner_detail, cohort_norms, ...) and result.",
    ["use", "result"],
)


def cache_lookup_count(use: str, *, hits: int = 0, misses: int = 0) -> None:
    """Count lookups of one cached use; ``use`` is a constant of the caller, never a key."""
    if hits:
        cache_lookups.labels(use=use, result="hit").inc(hits)
    if misses:
        cache_lookups.labels(use=use, result="miss").inc(misses)
