"""Celery's side of the metrics: task outcomes and durations, and the worker's own exporter.

Task signals count every execution wherever it runs (a worker's pool process, or in process).
A worker serves what its pool processes recorded in ``PROMETHEUS_MULTIPROC_DIR`` over HTTP on
``METRICS_WORKER_ADDRESS:METRICS_WORKER_PORT`` (any path), guarded like the web's ``/metrics``,
so that Prometheus scrapes web and workers alike. The server starts in the worker's main
process once it is ready; a pool process that exits is marked dead so its live values go.
"""

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from celery import signals
from django.conf import settings
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.multiprocess import mark_process_dead

from engagement.metrics import celery_task_duration, celery_tasks
from engagement.metrics_exposition import BEARER_CHALLENGE, metrics_refusal, metrics_registry

logger = logging.getLogger(__name__)

_started: dict[str, float] = {}
StartResponse = Callable[[str, list[tuple[str, str]]], Any]


@signals.task_prerun.connect
def _task_started(task_id: str, **kwargs: Any) -> None:
    _started[task_id] = time.monotonic()


@signals.task_postrun.connect
def _task_ended(task_id: str, task: Any, **kwargs: Any) -> None:
    started = _started.pop(task_id, None)
    if started is not None:
        celery_task_duration.labels(task=task.name).observe(time.monotonic() - started)


def _count(outcome: str) -> Callable[..., None]:
    def receiver(sender: Any = None, **kwargs: Any) -> None:
        celery_tasks.labels(task=getattr(sender, "name", "unknown"), outcome=outcome).inc()

    return receiver


for _signal, _outcome in (
    (signals.task_success, "succeeded"),
    (signals.task_failure, "failed"),
    (signals.task_retry, "retried"),
    (signals.task_revoked, "revoked"),
):
    _signal.connect(_count(_outcome), weak=False)


def exporter_app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    """WSGI app of the worker's exporter: the metrics page, or 401/403 as ``/metrics`` would."""
    refusal = metrics_refusal(environ.get("HTTP_AUTHORIZATION", ""), environ.get("REMOTE_ADDR"))
    if refusal is not None:
        status, reason = refusal
        headers = [("Content-Type", "text/plain")]
        if status == 401:
            headers.append(("WWW-Authenticate", BEARER_CHALLENGE))
        start_response(f"{status} {'Unauthorized' if status == 401 else 'Forbidden'}", headers)
        return [f"{reason}\n".encode()]
    start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST)])
    return [generate_latest(metrics_registry(app_collectors=False))]


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes are not worth a log line each."""


def exporter_start(address: str, port: int) -> WSGIServer:
    """Serve :func:`exporter_app` from a daemon thread; returns the server (``server_port``)."""
    server = make_server(
        address, port, exporter_app, server_class=_ThreadingServer, handler_class=_QuietHandler
    )
    threading.Thread(target=server.serve_forever, name="metrics-exporter", daemon=True).start()
    logger.info("worker metrics on %s:%s", address, server.server_port)
    return server


@signals.worker_init.connect
def _forget_previous_run(**kwargs: Any) -> None:
    """Values a previous worker left in the directory are not this worker's."""
    if settings.PROMETHEUS_MULTIPROC_DIR:
        for stale in Path(settings.PROMETHEUS_MULTIPROC_DIR).glob("*.db"):
            stale.unlink(missing_ok=True)


@signals.worker_ready.connect
def _serve_metrics(**kwargs: Any) -> None:
    if settings.METRICS_WORKER_PORT:
        exporter_start(settings.METRICS_WORKER_ADDRESS, settings.METRICS_WORKER_PORT)


@signals.worker_process_shutdown.connect
def _pool_process_gone(pid: int | None = None, **kwargs: Any) -> None:
    if settings.PROMETHEUS_MULTIPROC_DIR:
        mark_process_dead(pid or os.getpid(), settings.PROMETHEUS_MULTIPROC_DIR)
