"""The learners app's Prometheus instruments: ingestion by door, rescoring, current risk.

Labels take values the code bounds (a door, an outcome, a band, a rescore scope), never a
learner, an id or a source system's name. The current risk (learners per band and the score
distribution of learners still studying) is not counted as events happen: a collector reads it
from the denormalised columns on each scrape of ``/metrics``, through a cached set-based
selector (:func:`learners.risk.selectors.risk_distribution`), so a scrape costs no query per
learner and at most one statement per ``RISK_METRICS_CACHE_SECONDS``.
"""

import logging
from collections.abc import Iterator

from django.db import DatabaseError
from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric

from learners.models import RiskBand
from learners.risk.selectors import risk_distribution

logger = logging.getLogger(__name__)

events_ingested = Counter(
    "learners_events_ingested",
    "Activity events received, by door (api, csv, xapi) and outcome (accepted, duplicate, "
    "rejected).",
    ["door", "outcome"],
)
rescore_duration = Histogram(
    "learners_rescore_duration_seconds",
    "How long a rescoring job took, by scope (all, cohort, stale).",
    ["scope"],
    buckets=(0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0),
)


def ingestion_count(
    door: str, *, accepted: int = 0, duplicates: int = 0, rejected: int = 0
) -> None:
    """Count one batch's outcome at ``door``."""
    for outcome, count in (
        ("accepted", accepted),
        ("duplicate", duplicates),
        ("rejected", rejected),
    ):
        if count:
            events_ingested.labels(door=door, outcome=outcome).inc(count)


class RiskCollector:
    """Learners still studying per current risk band, and their scores as a histogram."""

    def describe(self) -> list[Metric]:
        """Nothing to read at registration (prometheus-client would otherwise collect)."""
        return []

    def collect(self) -> Iterator[Metric]:
        try:
            distribution = risk_distribution()
        except DatabaseError as exc:  # the other metrics matter most while the database is down
            logger.warning("risk metrics skipped: %s", type(exc).__name__)
            return
        bands = GaugeMetricFamily(
            "learners_risk_band_learners",
            "Learners still studying, by current risk band (unscored: not scored yet).",
            labels=["band"],
        )
        for band in [*RiskBand.values, "unscored"]:
            bands.add_metric([band], distribution.bands.get(band, 0))
        yield bands
        yield HistogramMetricFamily(
            "learners_risk_score",
            "Current risk scores of learners still studying.",
            buckets=[
                *((str(edge), count) for edge, count in distribution.buckets),
                ("+Inf", distribution.scored),
            ],
            sum_value=distribution.score_sum,
        )
