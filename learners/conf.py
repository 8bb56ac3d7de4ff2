"""The learners app's tunables: batch sizes, cache lifetimes and risk-engine tuning.

Read from the environment when the app loads (``LearnersConfig.ready()``), bounded like every
variable (a malformed one stops start-up in one line), and registered as Django settings of the
same name, so the app brings its configuration with it and code reads ``settings.NAME``.
"""

from typing import Any

from django.core.exceptions import ImproperlyConfigured

from engagement.environment import Environment
from learners.risk.bands import (
    DEFAULT_HIGH_CAPACITY,
    DEFAULT_HIGH_MIN_PRECISION,
    DEFAULT_MEDIUM_CAPACITY,
)


def tunables() -> dict[str, Any]:
    """Each tunable's value from the environment, or its default; contradictory band
    capacities stop start-up."""
    env = Environment()
    values = {
        "INGEST_MAX_EVENTS": env.int("INGEST_MAX_EVENTS", default=5000, minimum=1),
        "IMPORT_UPLOAD_MAX_BYTES": env.int(
            "IMPORT_UPLOAD_MAX_BYTES", default=25 * 1024 * 1024, minimum=1
        ),
        "LEARNER_DETAIL_CACHE_SECONDS": env.int("LEARNER_DETAIL_CACHE_SECONDS", default=30 * 60),
        "RISK_SELF_PACED_DAYS": env.int("RISK_SELF_PACED_DAYS", default=84, minimum=1),
        "RISK_DETAIL_CACHE_SECONDS": env.int("RISK_DETAIL_CACHE_SECONDS", default=3600),
        "RISK_FEEDBACK_QUIET_DAYS": env.int("RISK_FEEDBACK_QUIET_DAYS", default=14),
        "RISK_FEEDBACK_RISE": env.float("RISK_FEEDBACK_RISE", default=0.1),
        "RISK_AGGREGATE_WORK_MEM": env.str("RISK_AGGREGATE_WORK_MEM", default="64MB"),
        "RISK_HIGH_BAND_CAPACITY": env.share(
            "RISK_HIGH_BAND_CAPACITY", default=DEFAULT_HIGH_CAPACITY, zero=False
        ),
        "RISK_HIGH_BAND_MIN_PRECISION": env.share(
            "RISK_HIGH_BAND_MIN_PRECISION", default=DEFAULT_HIGH_MIN_PRECISION
        ),
        "RISK_MEDIUM_BAND_CAPACITY": env.share(
            "RISK_MEDIUM_BAND_CAPACITY", default=DEFAULT_MEDIUM_CAPACITY, zero=False
        ),
        "RISK_METRICS_CACHE_SECONDS": env.int("RISK_METRICS_CACHE_SECONDS", default=60),
    }
    _check_band_capacities(values["RISK_HIGH_BAND_CAPACITY"], values["RISK_MEDIUM_BAND_CAPACITY"])
    return values


def _check_band_capacities(high: float, medium: float) -> None:
    """The medium capacity counts high and medium together (``learners.risk.bands``): below the
    high one it would leave the medium band empty."""
    if medium < high:
        raise ImproperlyConfigured(
            f"RISK_MEDIUM_BAND_CAPACITY ({medium:g}) must be at least RISK_HIGH_BAND_CAPACITY "
            f"({high:g}): it counts the high and medium bands together."
        )
