"""Production smoke test: the container topology, run natively on loopback (`make prod-smoke`).

Starts what the containers run, from the same files: gunicorn (`deploy/gunicorn.conf.py`), a
Celery worker and beat on PostgreSQL and Redis, nginx with `deploy/nginx/engagement.conf.template`
in front, and Prometheus with `deploy/prometheus/` (only the targets, the token file and the
scrape interval are rewritten). Then, through nginx: sign in (JWT), create an API key, ingest
events with it, request a rescore and wait for the worker to finish it; and in Prometheus: both
targets up and a metric only the worker produces. Everything it started is stopped on exit
(also on Ctrl-C or SIGTERM), and the fresh database and Redis db it used are emptied.

Environment: `SMOKE_DATABASE_URL` (default postgres://postgres@127.0.0.1:5432/engagement_smoke;
the database is dropped and created), `SMOKE_REDIS_URL` (default redis://127.0.0.1:6379/14; the
db is flushed), `SMOKE_PORT` (default 18000: nginx there, gunicorn +1, worker metrics +2,
Prometheus +3). nginx and Prometheus come from Debian's packages, installed if missing.
"""

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import redis
import requests
import yaml
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DEPLOY = ROOT / "deploy"
PACKAGES = {"nginx": "nginx", "prometheus": "prometheus", "promtool": "prometheus"}
WAIT_SECONDS = 90
STOP_SECONDS = 30


class SmokeFailure(Exception):
    """A step did not give what production must give."""


@dataclass
class Topology:
    """The processes started, each the leader of its own process group."""

    workdir: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, name: str, command: list[str], env: dict[str, str]) -> None:
        log = (self.workdir / f"{name}.log").open("wb")
        self.processes[name] = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        step(f"started {name} (pid {self.processes[name].pid})")

    def check_alive(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise SmokeFailure(f"{name} exited with status {process.returncode}")

    def stop(self) -> list[str]:
        """SIGTERM every group, SIGKILL what is left after the grace time; returns strays."""
        for process in self.processes.values():
            _signal_group(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        for process in self.processes.values():
            try:
                process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                _signal_group(process.pid, signal.SIGKILL)
                process.wait()
        time.sleep(0.5)
        return [name for name, process in self.processes.items() if _group_alive(process.pid)]

    def log_tail(self, name: str, lines: int = 30) -> str:
        text = (self.workdir / f"{name}.log").read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])


def _signal_group(pgid: int, signum: int) -> None:
    with suppress(ProcessLookupError):
        os.killpg(pgid, signum)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def step(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def wait_for(what: str, probe: Callable[[], Any], topology: Topology) -> Any:
    """Call ``probe`` until it returns something truthy (exceptions count as not yet)."""
    deadline = time.monotonic() + WAIT_SECONDS
    last: Exception | None = None
    while time.monotonic() < deadline:
        topology.check_alive()
        try:
            result = probe()
        except (requests.RequestException, SmokeFailure, KeyError, ValueError) as exc:
            last, result = exc, None
        if result:
            return result
        time.sleep(0.5)
    raise SmokeFailure(f"timed out waiting for {what}" + (f" ({last})" if last else ""))


# Set-up -----------------------------------------------------------------------------------------


def ensure_packages() -> None:
    """Debian's nginx and prometheus, installed (never started as services) if missing."""
    missing = sorted({package for tool, package in PACKAGES.items() if not shutil.which(tool)})
    if not missing:
        return
    step(f"installing Debian packages: {', '.join(missing)}")
    policy = Path("/usr/sbin/policy-rc.d")
    added_policy = not policy.exists()
    if added_policy:  # keep apt from starting them as system services
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
    try:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing],
            check=True,
            env=env,
            stdout=subprocess.DEVNULL,
        )
    finally:
        if added_policy:
            policy.unlink()


def free_ports(base: int) -> dict[str, int]:
    ports = {"nginx": base, "web": base + 1, "worker": base + 2, "prometheus": base + 3}
    for name, port in ports.items():
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                raise SmokeFailure(f"port {port} (for {name}) is in use; set SMOKE_PORT")
    return ports


def fresh_database(url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise SmokeFailure(f"database name {name!r}: use lower-case letters, digits and _")
    admin = urlsplit(url)._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def drop_database(url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    admin = urlsplit(url)._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def app_environment(
    workdir: Path, ports: dict[str, int], database: str, cache: str
) -> dict[str, str]:
    """Production settings (DEBUG off), with fresh secrets for this run only."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "LANG": "C.UTF-8",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "FIELD_HASH_KEY": secrets.token_urlsafe(32),
        "DATABASE_URL": database,
        "REDIS_URL": cache,
        "CELERY_BROKER_URL": cache,
        "SECURE_SSL_REDIRECT": "false",  # no TLS on loopback; nginx terminates it in compose
        "TRUSTED_PROXY_COUNT": "1",
        "METRICS_TOKEN": secrets.token_urlsafe(24),
        "METRICS_ALLOWED_NETWORKS": "127.0.0.0/8",
        "METRICS_WORKER_ADDRESS": "127.0.0.1",
        "METRICS_WORKER_PORT": str(ports["worker"]),
        "SITE_URL": f"http://127.0.0.1:{ports['nginx']}",
        "RISK_METRICS_CACHE_SECONDS": "2",  # the smoke waits for fresh bands, not a minute
    }


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def multiprocess_dir(workdir: Path, name: str) -> str:
    path = workdir / f"metrics-{name}"
    path.mkdir()
    return str(path)


def nginx_config(workdir: Path, ports: dict[str, int]) -> Path:
    """The repo's site file with its placeholders filled, inside a minimal nginx.conf."""
    home = workdir / "nginx"
    (home / "snippets").mkdir(parents=True)
    # Started as root, nginx's workers run as an unprivileged user that must reach its temp files.
    workdir.chmod(0o711)
    values = {
        "ENGAGEMENT_UPSTREAM": f"127.0.0.1:{ports['web']}",
        "NGINX_LISTEN": f"127.0.0.1:{ports['nginx']}",
        "NGINX_STATIC_ROOT": str(ROOT / "staticfiles"),
        "NGINX_SNIPPETS": str(home / "snippets"),
    }
    template = (DEPLOY / "nginx" / "engagement.conf.template").read_text()
    site = re.sub(r"\$\{(\w+)\}", lambda match: values[match.group(1)], template)
    (home / "engagement.conf").write_text(site)
    temp = " ".join(
        f"{kind}_temp_path {home / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    main = home / "nginx.conf"
    main.write_text(
        f"worker_processes 1;\npid {home / 'nginx.pid'};\nerror_log stderr notice;\ndaemon off;\n"
        "events { worker_connections 256; }\n"
        f"http {{\n  include /etc/nginx/mime.types;\n  default_type application/octet-stream;\n"
        f"  {temp}\n  include {home / 'engagement.conf'};\n}}\n"
    )
    return main


def prometheus_config(workdir: Path, ports: dict[str, int], token: str) -> Path:
    """The repo's prometheus.yml and rules; only targets, token file and intervals change.

    Each job's discovery (compose's DNS) is replaced by its one loopback target."""
    home = workdir / "prometheus"
    shutil.copytree(DEPLOY / "prometheus", home)
    (home / "metrics-token").write_text(token)
    (home / "metrics-token").chmod(0o600)
    config = yaml.safe_load((home / "prometheus.yml").read_text())
    config["global"]["scrape_interval"] = config["global"]["evaluation_interval"] = "2s"
    targets = {"web": ports["web"], "worker": ports["worker"], "prometheus": ports["prometheus"]}
    for job in config["scrape_configs"]:
        job.pop("dns_sd_configs", None)
        job["static_configs"] = [{"targets": [f"127.0.0.1:{targets[job['job_name']]}"]}]
        if "authorization" in job:
            job["authorization"]["credentials_file"] = str(home / "metrics-token")
    path = home / "prometheus.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    rules = sorted(str(rule) for rule in (home / "rules").glob("*.yml"))
    for check in (
        ["check", "config", str(path)],
        ["check", "rules", *rules],
        ["test", "rules", str(home / "tests" / "alerts.test.yml")],
    ):
        subprocess.run(["promtool", *check], check=True, stdout=subprocess.DEVNULL)
    step("promtool check config, check rules and test rules: passed")
    return path


# The journey -----------------------------------------------------------------------------------


@dataclass
class Journey:
    site: str
    session: requests.Session = field(default_factory=requests.Session)
    facts: dict[str, Any] = field(default_factory=dict)

    def call(self, method: str, path: str, expect: int, **kwargs: Any) -> requests.Response:
        response = self.session.request(method, self.site + path, timeout=30, **kwargs)
        if response.status_code != expect:
            raise SmokeFailure(f"{method} {path}: {response.status_code} {response.text[:300]}")
        return response

    def through_nginx(self, password: str, learners: int, events_each: int) -> str:
        """Sign in, make a key, ingest with it, rescore on the worker; returns the job's id."""
        health = self.call("GET", "/healthz", 200, headers={"X-Request-ID": "smoke-check-1"})
        if health.headers.get("X-Request-ID") != "smoke-check-1":
            raise SmokeFailure("the request id did not travel through nginx and back")
        for header in ("X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy"):
            if header not in health.headers:
                raise SmokeFailure(f"nginx did not add {header}")
        self.call("GET", "/metrics", 404)  # never public through the proxy
        static = self.call("GET", "/static/rest_framework/css/default.css", 200)
        self.facts["static file served by nginx"] = static.headers.get("Server", "?")
        token = self.call(
            "POST",
            "/api/v1/auth/token/",
            200,
            json={"username": "smoke-admin", "password": password},
        ).json()["access"]
        admin = {"Authorization": f"Bearer {token}"}
        key = self.call(
            "POST", "/api/v1/api-keys/", 201, headers=admin,
            json={"name": "smoke LMS", "scopes": ["events:write"]},
        ).json()["key"]  # fmt: skip
        cohort = self.call(
            "POST", "/api/v1/cohorts/", 201, headers=admin,
            json={"name": "Smoke cohort", "starts_on": (datetime.now(UTC) - timedelta(days=30)).date().isoformat()},
        ).json()["id"]  # fmt: skip
        enrolled = (datetime.now(UTC) - timedelta(days=29)).isoformat()
        for number in range(learners):
            self.call(
                "POST", "/api/v1/learners/", 201, headers=admin,
                json={"cohort": cohort, "source": "smoke", "external_id": f"s{number}",
                      "name": f"Smoke Learner {number}", "enrolled_at": enrolled},
            )  # fmt: skip
        now = datetime.now(UTC)
        events = [
            {
                "learner_external_id": f"s{number}",
                "source": "smoke",
                "source_event_id": f"s{number}-{index}",
                "kind": "lesson_completed" if index % 3 else "login",
                "occurred_at": (now - timedelta(days=index, minutes=number)).isoformat(),
                "duration_seconds": 600,
            }
            for number in range(learners)
            for index in range(events_each)
        ]
        report = self.call(
            "POST", "/api/v1/events/", 200, headers={"Authorization": f"Api-Key {key}"}, json=events
        ).json()
        if report["accepted"] != len(events):
            raise SmokeFailure(f"ingestion: {report}")
        self.facts["events accepted (API key)"] = report["accepted"]
        job = self.call("POST", "/api/v1/risk/rescore/", 202, headers=admin, json={}).json()
        self.facts["admin"] = admin
        return str(job["id"])

    def job_done(self, job_id: str) -> dict[str, Any] | None:
        job = self.call("GET", f"/api/v1/jobs/{job_id}/", 200, headers=self.facts["admin"]).json()
        if job["status"] in ("failed", "cancelled"):
            raise SmokeFailure(f"the rescore job ended {job['status']}: {job.get('error')}")
        return job if job["status"] == "succeeded" else None


def prometheus_value(base: str, query: str) -> float | None:
    answer = requests.get(f"{base}/api/v1/query", params={"query": query}, timeout=10).json()
    results = answer["data"]["result"]
    return float(results[0]["value"][1]) if results else None


def metrics_direct(url: str, token: str) -> tuple[int, int]:
    """The web's /metrics straight from gunicorn: refused without the token, served with it."""
    refused = requests.get(url, timeout=10).status_code
    served = requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code
    return refused, served


# Main ------------------------------------------------------------------------------------------


@contextmanager
def stopped_on_signals() -> Iterator[None]:
    """SIGTERM and SIGHUP end the run like Ctrl-C, so the clean-up below always runs."""

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def start_topology(topology: Topology, env: dict[str, str], ports: dict[str, int]) -> None:
    workdir = topology.workdir
    web_env = {**env, "PROMETHEUS_MULTIPROC_DIR": multiprocess_dir(workdir, "web")}
    worker_env = {**env, "PROMETHEUS_MULTIPROC_DIR": multiprocess_dir(workdir, "worker")}
    topology.start(
        "gunicorn",
        [str(BIN / "gunicorn"), "-c", str(DEPLOY / "gunicorn.conf.py"),
         "--bind", f"127.0.0.1:{ports['web']}", "--workers", "2"],
        web_env,
    )  # fmt: skip
    topology.start(
        "worker",
        [str(BIN / "celery"), "-A", "engagement", "--quiet", "worker", "--loglevel", "info",
         "--concurrency", "2", "--hostname", f"smoke-{os.getpid()}@%h"],
        worker_env,
    )  # fmt: skip
    topology.start(
        "beat",
        [str(BIN / "celery"), "-A", "engagement", "--quiet", "beat", "--loglevel", "info",
         "--pidfile", str(workdir / "beat.pid")],
        env,
    )  # fmt: skip
    nginx = nginx_config(workdir, ports)
    topology.start(
        "nginx", ["nginx", "-c", str(nginx), "-p", str(nginx.parent), "-e", "stderr"], env
    )
    prometheus = prometheus_config(workdir, ports, env["METRICS_TOKEN"])
    topology.start(
        "prometheus",
        ["prometheus", f"--config.file={prometheus}", f"--storage.tsdb.path={workdir / 'tsdb'}",
         f"--web.listen-address=127.0.0.1:{ports['prometheus']}", "--log.level=warn"],
        env,
    )  # fmt: skip


def run(workdir: Path, database: str, cache: str, ports: dict[str, int]) -> dict[str, Any]:
    env = app_environment(workdir, ports, database, cache)
    password = secrets.token_urlsafe(16)
    fresh_database(database)
    redis.Redis.from_url(cache).flushdb()
    step(f"fresh database {urlsplit(database).path.lstrip('/')} and Redis {cache}")
    manage(env, "migrate", "--noinput")
    manage(env, "collectstatic", "--noinput")
    manage(
        {**env, "DJANGO_SUPERUSER_PASSWORD": password},
        "createsuperuser", "--noinput", "--username", "smoke-admin", "--email", "smoke@example.org",
    )  # fmt: skip
    step("migrated, static files collected, admin created")
    topology = Topology(workdir)
    started = time.monotonic()
    try:
        start_topology(topology, env, ports)
        site = f"http://127.0.0.1:{ports['nginx']}"
        prometheus = f"http://127.0.0.1:{ports['prometheus']}"
        wait_for(
            "nginx and gunicorn", lambda: requests.get(f"{site}/readyz", timeout=2).ok, topology
        )
        wait_for(
            "Prometheus", lambda: requests.get(f"{prometheus}/-/ready", timeout=2).ok, topology
        )
        step("all processes answer")
        journey = Journey(site)
        job_id = journey.through_nginx(password, learners=5, events_each=12)
        step(f"signed in, API key made, events ingested, rescore job {job_id} queued")
        job = wait_for(
            "the worker to finish the rescore", lambda: journey.job_done(job_id), topology
        )
        step(f"the worker finished the rescore: {job['result']['learners']} learners scored")
        refused, served = metrics_direct(
            f"http://127.0.0.1:{ports['web']}/metrics", env["METRICS_TOKEN"]
        )
        if (refused, served) != (401, 200):
            raise SmokeFailure(f"gunicorn /metrics without/with the token: {refused}/{served}")
        checks = {
            "web target up": 'up{job="web"}',
            "worker target up": 'up{job="worker"}',
            "rescore jobs succeeded (worker)": 'sum(engagement_jobs_finished_total{job="worker",kind="learners.rescore",outcome="succeeded"})',
            "Celery tasks succeeded (worker)": 'sum(engagement_celery_tasks_total{job="worker",outcome="succeeded"})',
            "events accepted (web)": 'sum(learners_events_ingested_total{job="web",door="api",outcome="accepted"})',
            "learners per band (web)": 'sum(learners_risk_band_learners{job="web",band!="unscored"})',
            "rule groups loaded": "count(prometheus_rule_group_rules)",
        }

        def all_seen() -> dict[str, float | None] | None:
            values = {name: prometheus_value(prometheus, query) for name, query in checks.items()}
            return values if all(values.values()) else None

        seen = wait_for("web and worker metrics in Prometheus", all_seen, topology)
        step("Prometheus scrapes web and worker")
        summary = {
            **{k: v for k, v in journey.facts.items() if k != "admin"},
            "rescore job": f"{job_id} succeeded, {job['result']['learners']} learners",
            "gunicorn /metrics without / with token": f"{refused} / {served}",
            **{f"prometheus: {name}": value for name, value in seen.items()},
            "seconds from start to checks passed": round(time.monotonic() - started, 1),
        }
    except BaseException:
        for name in topology.processes:
            print(f"--- last lines of {name}.log ---\n{topology.log_tail(name)}", file=sys.stderr)
        raise
    finally:
        strays = topology.stop()
        step("stopped: " + (f"STRAY PROCESSES in {strays}" if strays else "no stray processes"))
        redis.Redis.from_url(cache).flushdb()
        drop_database(database)
    if strays:
        raise SmokeFailure(f"processes left running: {strays}")
    summary["processes left running"] = 0
    return summary


def main() -> int:
    database = os.environ.get(
        "SMOKE_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/engagement_smoke"
    )
    cache = os.environ.get("SMOKE_REDIS_URL", "redis://127.0.0.1:6379/14")
    ensure_packages()
    ports = free_ports(int(os.environ.get("SMOKE_PORT", "18000")))
    workdir = Path(tempfile.mkdtemp(prefix="prod-smoke-"))
    try:
        with stopped_on_signals():
            summary = run(workdir, database, cache, ports)
    except (SmokeFailure, subprocess.CalledProcessError, psycopg.Error, redis.RedisError) as exc:
        print(f"prod-smoke FAILED: {exc} (logs in {workdir})", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"prod-smoke interrupted; everything it started is stopped (logs in {workdir})")
        return 130
    print("prod-smoke passed:")
    print(json.dumps(summary, indent=2))
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
