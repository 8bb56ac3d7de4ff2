"""Prometheus metrics: who may read /metrics (and the worker's exporter), and what the platform
counts (jobs, Celery tasks, outbox deliveries, cache uses)."""

import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.error import HTTPError

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from prometheus_client import REGISTRY, Counter
from prometheus_client.multiprocess import MultiProcessCollector

from engagement import metrics_exposition
from engagement.celery import app
from engagement.jobs import job_run
from engagement.metrics import cache_lookup_count
from engagement.metrics_worker import exporter_start
from engagement.models import Job
from engagement.outbox import EMAIL_CHANNEL, outbox_deliver, outbox_enqueue
from engagement.registry import Registry
from engagement.settings import metrics as metrics_settings

# The page also shows the figures apps read from the database (the learners' risk collector).
pytestmark = pytest.mark.django_db

TOKEN = "s3cret-scrape-token"


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
def closed(settings: Any) -> Any:
    """Production: /metrics guarded by whatever the test sets."""
    settings.METRICS_OPEN = False
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_NETWORKS = ()
    return settings


# --- who may read them -------------------------------------------------------------------------


def test_open_in_development_and_shows_the_request_metrics(settings: Any) -> None:
    settings.METRICS_OPEN = True
    Client().get("/healthz")
    response = Client().get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    assert b"django_http_requests_latency_seconds_by_view_method_bucket" in response.content


def test_production_without_a_guard_refuses_everyone(closed: Any) -> None:
    response = Client().get("/metrics")
    assert response.status_code == 403
    assert b"METRICS_TOKEN" in response.content


def test_a_token_is_required_when_set(closed: Any) -> None:
    closed.METRICS_TOKEN = TOKEN
    client = Client()
    missing = client.get("/metrics")
    assert missing.status_code == 401
    assert missing["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION=TOKEN).status_code == 401  # no scheme
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200


def test_an_allow_list_admits_only_its_networks(closed: Any) -> None:
    closed.METRICS_ALLOWED_NETWORKS = metrics_settings.networks_parse("10.0.0.0/8")
    assert Client(REMOTE_ADDR="10.1.2.3").get("/metrics").status_code == 200
    assert Client(REMOTE_ADDR="192.0.2.7").get("/metrics").status_code == 403


def test_the_allow_list_sees_the_client_behind_trusted_proxies(closed: Any) -> None:
    closed.METRICS_ALLOWED_NETWORKS = metrics_settings.networks_parse("10.0.0.0/8")
    closed.TRUSTED_PROXY_COUNT = 1
    through_proxy = Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert through_proxy.get("/metrics").status_code == 403


def test_token_and_allow_list_together_both_apply(closed: Any) -> None:
    closed.METRICS_TOKEN = TOKEN
    closed.METRICS_ALLOWED_NETWORKS = metrics_settings.networks_parse("127.0.0.0/8")
    inside = Client(REMOTE_ADDR="127.0.0.1")
    outside = Client(REMOTE_ADDR="192.0.2.7")
    assert inside.get("/metrics").status_code == 401
    assert outside.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 403
    assert inside.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200


@pytest.mark.parametrize("value", ["10.0.0.0/33", "not-a-network", "10.0.0.1/8"])
def test_a_malformed_allow_list_is_named(value: str) -> None:
    with pytest.raises(ImproperlyConfigured, match="METRICS_ALLOWED_NETWORKS must be"):
        metrics_settings.networks_parse(value)


def test_a_missing_multiprocess_directory_is_named(tmp_path: Path) -> None:
    with pytest.raises(ImproperlyConfigured, match="PROMETHEUS_MULTIPROC_DIR must name"):
        metrics_settings.multiprocess_dir_check(str(tmp_path / "absent"))
    assert metrics_settings.multiprocess_dir_check(str(tmp_path)) == str(tmp_path)


def test_request_method_labels_stay_bounded(settings: Any) -> None:
    settings.METRICS_OPEN = True
    Client().generic("BREW", "/healthz")
    page = Client().get("/metrics").content.decode()
    assert 'method="BREW"' not in page
    assert 'method="<invalid method>",view="healthz"' in page


# --- the worker's exporter ---------------------------------------------------------------------


@pytest.fixture
def exporter(closed: Any) -> Iterator[str]:
    closed.METRICS_TOKEN = TOKEN
    server = exporter_start("127.0.0.1", 0)
    yield f"http://127.0.0.1:{server.server_port}/metrics"
    server.shutdown()
    server.server_close()


def test_the_worker_exporter_is_guarded_like_the_web(exporter: str) -> None:
    with pytest.raises(HTTPError) as refused:
        urllib.request.urlopen(exporter, timeout=5)  # noqa: S310 - a local test server
    assert refused.value.code == 401
    request = urllib.request.Request(  # noqa: S310 - a local test server
        exporter, headers={"Authorization": f"Bearer {TOKEN}"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
        assert response.status == 200
        page = response.read()
    assert b"engagement_celery_tasks_total" in page
    assert b"learners_risk_band_learners" not in page  # the web's page alone reads the database


def test_with_a_multiprocess_directory_the_page_adds_up_the_processes(
    settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.PROMETHEUS_MULTIPROC_DIR = str(tmp_path)
    built: list[Any] = []

    def collector(registry: Any, path: str) -> MultiProcessCollector:
        built.append(path)
        return MultiProcessCollector(registry, path=path)

    monkeypatch.setattr(metrics_exposition, "MultiProcessCollector", collector)
    metrics_exposition.metrics_registry()
    assert built == [str(tmp_path)]


# --- what the platform counts ------------------------------------------------------------------


def test_jobs_are_counted_by_kind_and_outcome() -> None:
    before = {
        outcome: sample("engagement_jobs_finished_total", kind="tests.metrics", outcome=outcome)
        for outcome in ("succeeded", "failed")
    }
    done = Job.objects.create(kind="tests.metrics", params={})
    job_run(done.pk, lambda job, report: {"ok": True})
    broken = Job.objects.create(kind="tests.metrics", params={})

    def fail(job: Job, report: Any) -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        job_run(broken.pk, fail)
    for outcome in ("succeeded", "failed"):
        counted = sample("engagement_jobs_finished_total", kind="tests.metrics", outcome=outcome)
        assert counted == before[outcome] + 1
    assert sample("engagement_job_duration_seconds_count", kind="tests.metrics", outcome="failed")


@app.task(name="tests.metrics.divide")
def divide(a: int, b: int) -> float:
    return a / b


def test_celery_task_outcomes_are_counted_by_task() -> None:
    def counted(outcome: str) -> float:
        return sample("engagement_celery_tasks_total", task="tests.metrics.divide", outcome=outcome)

    before = counted("succeeded"), counted("failed")
    divide.apply(args=(1, 1))
    divide.apply(args=(1, 0), throw=False)
    assert (counted("succeeded"), counted("failed")) == (before[0] + 1, before[1] + 1)
    assert sample("engagement_celery_task_duration_seconds_count", task="tests.metrics.divide")


def test_outbox_deliveries_are_counted_by_channel_and_status(
    django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent_before = sample("engagement_outbox_deliveries_total", channel=EMAIL_CHANNEL, status="sent")
    with django_capture_on_commit_callbacks(execute=False):
        message = outbox_enqueue(
            channel=EMAIL_CHANNEL,
            payload={"to": "someone@example.org", "subject": "Hi", "body": "Body"},
            idempotency_key="metrics-1",
        )
    outbox_deliver(message_id=message.pk)
    sent = sample("engagement_outbox_deliveries_total", channel=EMAIL_CHANNEL, status="sent")
    assert sent == sent_before + 1


def test_cache_lookups_are_counted_per_use() -> None:
    before = sample("engagement_cache_lookups_total", use="tests", result="hit")
    cache_lookup_count("tests", hits=2, misses=1)
    assert sample("engagement_cache_lookups_total", use="tests", result="hit") == before + 2


def test_an_app_collector_joins_the_page(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    class One:
        def describe(self) -> list[Any]:
            return []

        def collect(self) -> Iterator[Any]:
            counter = Counter("tests_collected", "A test figure.", registry=None)
            counter.inc()
            yield from counter.collect()

    ready = False
    table = Registry(apps_ready=lambda: ready)
    collector = One()
    table.add_metrics_collector(collector)
    with pytest.raises(ImproperlyConfigured, match="registered twice"):
        table.add_metrics_collector(collector)
    ready = True
    settings.PROMETHEUS_MULTIPROC_DIR = ""
    monkeypatch.setattr(metrics_exposition, "registry", table)
    page = metrics_exposition.metrics_registry()
    assert page.get_sample_value("tests_collected_total") == 1.0
