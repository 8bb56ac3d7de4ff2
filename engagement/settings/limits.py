"""Domain limits: batch sizes, cache lifetimes and risk-engine tuning."""

from engagement.settings.base import env

INGEST_MAX_EVENTS = env.int("INGEST_MAX_EVENTS", default=5000, minimum=1)
LEARNER_DETAIL_CACHE_SECONDS = env.int("LEARNER_DETAIL_CACHE_SECONDS", default=30 * 60)
RISK_SELF_PACED_DAYS = env.int("RISK_SELF_PACED_DAYS", default=84, minimum=1)
RISK_DETAIL_CACHE_SECONDS = env.int("RISK_DETAIL_CACHE_SECONDS", default=3600)
RISK_FEEDBACK_QUIET_DAYS = env.int("RISK_FEEDBACK_QUIET_DAYS", default=14)
RISK_FEEDBACK_RISE = env.float("RISK_FEEDBACK_RISE", default=0.1)
RISK_AGGREGATE_WORK_MEM = env.str("RISK_AGGREGATE_WORK_MEM", default="64MB")
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int(
    "DATA_UPLOAD_MAX_MEMORY_SIZE", default=10 * 1024 * 1024, minimum=1
)
