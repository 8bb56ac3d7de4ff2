"""Risk model metrics as a coach may see them: naming no cohort outside the coach's scope.

Stored metrics (see :mod:`learners.risk.metrics` and docs/risk.md) report per cohort under
``by_cohort`` (keyed by cohort) and list the cohorts of each side of the split under keys ending
in ``_cohorts``, at any depth. For a coach, those entries are kept only for the coach's own
cohorts; the overall figures stay, as they name no cohort. Admins and analysts see the metrics
whole: cohort names are not personal data.
"""

from collections.abc import Collection, Mapping
from typing import Any

COHORT_GROUPS = "by_cohort"
COHORT_LIST_SUFFIX = "_cohorts"


def metrics_within_scope(metrics: Any, cohorts: Collection[str]) -> Any:
    """``metrics`` without entries about cohorts other than ``cohorts`` (their ids or names)."""
    if isinstance(metrics, Mapping):
        return {key: _entry_within_scope(key, value, cohorts) for key, value in metrics.items()}
    if isinstance(metrics, list):
        return [metrics_within_scope(item, cohorts) for item in metrics]
    return metrics


def _entry_within_scope(key: str, value: Any, cohorts: Collection[str]) -> Any:
    if key == COHORT_GROUPS and isinstance(value, Mapping):
        return {
            cohort: metrics_within_scope(group, cohorts)
            for cohort, group in value.items()
            if cohort in cohorts
        }
    if key.endswith(COHORT_LIST_SUFFIX) and isinstance(value, list):
        return [cohort for cohort in value if isinstance(cohort, str) and cohort in cohorts]
    return metrics_within_scope(value, cohorts)
