"""Grafana's provisioned dashboards read only metrics that exist, through provisioned data sources.

A metric "exists" when the code defines it (a prometheus-client instrument or collector family in
our apps), django-prometheus defines it (its standard request, database and cache metrics), a
recording rule of deploy/prometheus/ records it, or Prometheus makes it itself (``up``). Names
are read from the source rather than a running registry, so the answer does not depend on which
cache or database this test process happens to be configured with.
"""

import ast
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import django_prometheus
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
GRAFANA = ROOT / "deploy" / "grafana"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))
APP_PACKAGES = [ROOT / "engagement", ROOT / "learners"]

# What each kind of instrument exposes, by prometheus-client's naming (a counter's own trailing
# "_total" is dropped, then added back).
SUFFIXES = {
    "Counter": ("_total", "_created"),
    "CounterMetricFamily": ("_total", "_created"),
    "Gauge": ("",),
    "GaugeMetricFamily": ("",),
    "Histogram": ("_bucket", "_sum", "_count", "_created"),
    "HistogramMetricFamily": ("_bucket", "_sum", "_count"),
    "Summary": ("_sum", "_count", "_created"),
    "SummaryMetricFamily": ("_sum", "_count"),
}
PROMETHEUS_OWN = {"up", "scrape_duration_seconds", "scrape_samples_scraped"}
PROMQL_WORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or",
    "unless", "offset", "inf", "nan",
}  # fmt: skip


def _callee(node: ast.Call) -> str:
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _defined_in(source: str) -> Iterator[str]:
    """Exposed names of the instruments a module creates (also through a ``register_metric``)."""
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        kind, args = _callee(node), list(node.args)
        if kind == "register_metric" and args and isinstance(args[0], ast.Name):
            kind, args = args[0].id, args[1:]
        if kind not in SUFFIXES or not args:
            continue
        if isinstance(args[0], ast.Constant) and isinstance(args[0].value, str):
            base = args[0].value.removesuffix("_total") if "Counter" in kind else args[0].value
            yield from (base + suffix for suffix in SUFFIXES[kind])


def _recorded_by_rules() -> Iterator[str]:
    for path in sorted((ROOT / "deploy" / "prometheus").rglob("*.y*ml")):
        for group in (yaml.safe_load(path.read_text()) or {}).get("groups", []):
            yield from (rule["record"] for rule in group.get("rules", []) if "record" in rule)


def known_metrics() -> set[str]:
    packages = [*APP_PACKAGES, Path(django_prometheus.__file__).parent]
    names = set(PROMETHEUS_OWN) | set(_recorded_by_rules())
    for package in packages:
        for path in package.rglob("*.py"):
            if "tests" not in path.parts and "migrations" not in path.parts:
                names.update(_defined_in(path.read_text()))
    return names


def metrics_in(expr: str) -> set[str]:
    """Metric names a PromQL expression reads: identifiers that are neither functions, keywords,
    label names (in matchers or ``by (...)`` lists), ranges nor string literals."""
    expr = re.sub(r'"(?:\\.|[^"\\])*"', '""', expr)
    expr = re.sub(r"\{[^}]*\}|\[[^\]]*\]", " ", expr)
    expr = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)
    names = re.findall(r"(?<![\w.])([A-Za-z_:][\w:]*)\b(?!\s*\()", expr)
    return {name for name in names if name.lower() not in PROMQL_WORDS}


def provisioned_datasources() -> dict[str, str]:
    provisioning = yaml.safe_load(
        (GRAFANA / "provisioning" / "datasources" / "datasources.yml").read_text()
    )
    return {source["uid"]: source["type"] for source in provisioning["datasources"]}


def panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])  # panels folded into a row


def test_there_are_dashboards_for_every_area() -> None:
    titles = {json.loads(path.read_text())["uid"] for path in DASHBOARDS}
    assert titles == {
        "engagement-api",
        "engagement-risk",
        "engagement-celery",
        "engagement-database",
    }


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda path: path.stem)
def test_every_query_reads_a_known_metric_from_a_provisioned_source(path: Path) -> None:
    dashboard = json.loads(path.read_text())
    sources, known = provisioned_datasources(), known_metrics()
    ids = [panel["id"] for panel in panels(dashboard)]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for panel in panels(dashboard):
        assert panel.get("targets"), f"{panel['title']}: no query"
        for target in panel["targets"]:
            source = target.get("datasource", panel.get("datasource"))
            assert sources.get(source["uid"]) == source["type"], (
                f"{panel['title']}: data source {source} is not provisioned"
            )
            if source["type"] == "prometheus":
                used = metrics_in(target["expr"])
                assert used, f"{panel['title']}: {target['expr']!r} reads no metric"
                assert used <= known, f"{panel['title']}: unknown metrics {used - known}"


def test_metric_names_are_read_from_promql() -> None:
    expr = (
        'histogram_quantile(0.95, sum by (le, view) (rate(django_x_bucket{status=~"5.."}'
        "[$__rate_interval]))) / on(job) group_left(instance) up offset 5m"
    )
    assert metrics_in(expr) == {"django_x_bucket", "up"}


def test_instruments_are_found_with_their_exposed_names() -> None:
    source = (
        'a = Counter("jobs_total", "d", ["kind"])\n'
        'b = metrics.Histogram("took_seconds", "d")\n'
        'c = self.register_metric(Gauge, "queued", "d")\n'
        "d = GaugeMetricFamily(name, 'd')\n"
    )
    assert set(_defined_in(source)) == {
        "jobs_total",
        "jobs_created",
        "took_seconds_bucket",
        "took_seconds_sum",
        "took_seconds_count",
        "took_seconds_created",
        "queued",
    }
