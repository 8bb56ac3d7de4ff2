"""gunicorn's configuration for the web process: containers, Kubernetes and `make prod-smoke`
all start `gunicorn -c deploy/gunicorn.conf.py` (command-line options override it, e.g.
`--bind 127.0.0.1:18000`).

Every worker process records its metrics in `PROMETHEUS_MULTIPROC_DIR` (one directory per
web instance, empty at start: an emptyDir or tmpfs); `/metrics` adds them up. The directory is
emptied when gunicorn starts, and a worker that exits is marked dead so its live values go.

gunicorn's own log lines go through the application's formatter (JSON lines with
``LOG_FORMAT=json``), at the settings' ``LOG_LEVEL``.
"""

import os
from pathlib import Path
from typing import Any

from prometheus_client import multiprocess

from engagement.logs import gunicorn_logging
from engagement.settings import LOG_FORMAT, LOG_LEVEL

wsgi_app = "engagement.wsgi:application"
bind = ["0.0.0.0:8000"]
# gunicorn's own variable; 2-4 per core is usual for this I/O-bound app.
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
timeout = 60
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then (jittered so they do not restart together).
max_requests = 2000
max_requests_jitter = 200
# Heartbeat files in memory: the container's root filesystem is read-only.
worker_tmp_dir = "/dev/shm" if Path("/dev/shm").is_dir() else None  # noqa: S108
# Headers a proxy sets (X-Forwarded-Proto) are believed from these addresses only.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
logconfig_dict = gunicorn_logging(LOG_FORMAT, LOG_LEVEL)
# gunicorn 27's control socket (for gunicornc) would live under $HOME, read-only in the
# containers (every start logged "Control server error"); nothing here uses it.
control_socket_disable = True


def _multiprocess_dir() -> str:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")


def on_starting(server: Any) -> None:
    """Values left by a previous run are not this run's."""
    if _multiprocess_dir():
        for stale in Path(_multiprocess_dir()).glob("*.db"):
            stale.unlink(missing_ok=True)


def child_exit(server: Any, worker: Any) -> None:
    """A worker that exited (recycled, timed out, killed) no longer reports live values."""
    if _multiprocess_dir():
        multiprocess.mark_process_dead(worker.pid, _multiprocess_dir())
