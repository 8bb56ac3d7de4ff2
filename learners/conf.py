"""The learners app's tunables: batch sizes, cache lifetimes and risk-engine tuning.

Read from the environment when the app loads (``LearnersConfig.ready()``), bounded like every
variable (a malformed one stops start-up in one line), and registered as Django settings of the
same name, so the app brings its configuration with it and code reads ``settings.NAME``.
"""

from typing import Any

from engagement.environment import Environment


def tunables() -> dict[str, Any]:
    """Each tunable's value from the environment, or its default."""
    env = Environment()
    return {
        "INGEST_MAX_EVENTS": env.int("INGEST_MAX_EVENTS", default=5000, minimum=1),
        "LEARNER_DETAIL_CACHE_SECONDS": env.int("LEARNER_DETAIL_CACHE_SECONDS", default=30 * 60),
        "RISK_SELF_PACED_DAYS": env.int("RISK_SELF_PACED_DAYS", default=84, minimum=1),
        "RISK_DETAIL_CACHE_SECONDS": env.int("RISK_DETAIL_CACHE_SECONDS", default=3600),
        "RISK_FEEDBACK_QUIET_DAYS": env.int("RISK_FEEDBACK_QUIET_DAYS", default=14),
        "RISK_FEEDBACK_RISE": env.float("RISK_FEEDBACK_RISE", default=0.1),
        "RISK_AGGREGATE_WORK_MEM": env.str("RISK_AGGREGATE_WORK_MEM", default="64MB"),
        "RISK_METRICS_CACHE_SECONDS": env.int("RISK_METRICS_CACHE_SECONDS", default=60),
    }
