"""Dashboard pages on PostgreSQL behind gunicorn: latency under 10 concurrent clients, and queries.

Issue 12 asks, with 100,000 learners, for the p50 and p95 server time of the overview, the
learners table (first page; a filtered, sorted page) and a learner page, against p95 < 50 ms for
the table and learner page and < 200 ms for the overview, with query counts that do not grow
with the data. This script:

1. seeds its scratch database (``seed_demo --cohorts 12 --learners N --days 60 --seed 1``),
   scores everyone (``manage.py rescore``) and backfills the daily snapshots
   (``manage.py backfill_snapshots``, skipped with a note where the command does not exist);
   ``--keep-db`` keeps it and ``--reuse-db`` starts from it (migrating it first);
2. creates an admin and a coach who works with 3 of the 12 cohorts, and picks learners in the
   coach's cohorts for the learner page (the one with most events and a seeded sample);
3. counts the queries of every page with Django's test client in a separate process, with the
   cache empty and again with it filled (run at two sizes to see that counts do not grow);
4. serves with gunicorn (``deploy/gunicorn.conf.py``, 2 sync workers, DEBUG off, Redis cache),
   signs every client in through ``/accounts/login/`` once per role, then for each page: a
   warm-up, ``--requests`` requests from ``--clients`` threads (closed loop, no think time),
   and ``--cold`` requests one at a time each after emptying the cache.

Server time is what the request log (``engagement.request_log``) records per request as
``duration_ms``, matched to each request by the ``X-Request-ID`` the client sends: it excludes
the time a request waits for a free worker, which with 10 clients and 2 workers is most of the
client's latency. Both are reported. Only 127.0.0.1 is used; only the scratch database and the
Redis db given are created, flushed and dropped.

    .venv/bin/python benchmarks/dashboard.py --learners 100000 [--keep-db] [--reuse-db] \
        [--json-out benchmarks/results/dashboard-<date>.json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import redis
import requests
from ingest_throughput import (
    OtherCpu,
    cpuinfo_model,
    free_port,
    git_revision,
    gunicorn_stop,
    memory_gib,
)
from scratch_db import admin_execute, run_and_report

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
HOST = "127.0.0.1"
SERVER_URL = f"postgres://postgres@{HOST}:5432"
DATABASE = "lep_dashboard_bench"
REDIS_URL = f"redis://{HOST}:6379/7"
PASSWORD = "lep-dashboard-benchmark-password-7"  # noqa: S105 - throwaway users in a scratch database
ADMIN, COACH = "bench-admin", "bench-coach"
COACH_COHORTS = 3
SAMPLE_LEARNERS = 4
REQUEST_TIMEOUT = 60.0
COMMAND_TIMEOUT = 3600.0
#: p95 server-time targets of issue 12, in milliseconds, per kind of page.
TARGETS_MS = {"overview": 200.0, "table": 50.0, "filtered": 50.0, "learner": 50.0}
FILTERED_QUERY = "band=high&ordering=-last_active"


@dataclass(frozen=True)
class Target:
    """One page measured as one role: ``paths`` are cycled through (several learners)."""

    name: str
    kind: str
    role: str
    paths: tuple[str, ...]


# Scratch database, environment and commands -------------------------------------------------


def django_env(args: argparse.Namespace) -> dict[str, str]:
    """Production settings (DEBUG off, Redis cache) with throwaway keys, fixed so that a kept
    database stays readable by the next run (its names and emails are encrypted with them)."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "engagement.settings",
        "DATABASE_URL": f"{SERVER_URL}/{args.database}",
        "REDIS_URL": args.redis_url,
        "SECRET_KEY": "lep-dashboard-benchmark-only-secret-key-not-used-anywhere-else",
        "FIELD_ENCRYPTION_KEYS": "bGVwLWRhc2hib2FyZC1iZW5jaG1hcmstb25seS1rZXk=",
        "FIELD_HASH_KEY": "lep-dashboard-benchmark-only-hash-key",
        "ALLOWED_HOSTS": f"{HOST},localhost",
        "DEBUG": "false",
        # Plain HTTP on loopback: no TLS redirect and cookies without the Secure flag, as
        # `make prod-smoke` runs it (the proxy terminates TLS in production).
        "SECURE_SSL_REDIRECT": "false",
        "SECURE_COOKIES": "false",
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "INFO",
        # Every client signs in once per role; the default 20/min per IP would refuse some.
        "THROTTLE_LOGIN": "1000/min",
    }


def python(args: argparse.Namespace, argv: list[str], failure: str) -> str:
    """Run Python with ``argv`` in the benchmark environment; its stdout, or exit with
    ``failure`` and what it printed."""
    completed = subprocess.run(
        [sys.executable, *argv],
        cwd=ROOT,
        env=django_env(args),
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )
    if completed.returncode != 0:
        sys.exit(f"{failure}:\n{completed.stdout}\n{completed.stderr[-4000:]}")
    return completed.stdout.strip()


def manage(args: argparse.Namespace, *command: str) -> tuple[float, str]:
    """Run ``manage.py`` with the benchmark environment; returns (wall seconds, stdout)."""
    started = time.perf_counter()
    stdout = python(args, ["manage.py", *command], f"manage.py {command[0]} failed")
    return time.perf_counter() - started, stdout


def fetch(args: argparse.Namespace, query: str, params: tuple[Any, ...] = ()) -> list[Any]:
    with psycopg.connect(f"{SERVER_URL}/{args.database}") as connection:
        return connection.execute(query, params).fetchall()


def command_exists(args: argparse.Namespace, name: str) -> bool:
    _, listing = manage(args, "help", "--commands")
    return name in listing.split()


def snapshots_exist(args: argparse.Namespace) -> bool:
    table = fetch(args, "SELECT to_regclass('analytics_dailysnapshot')")[0][0]
    return bool(table) and bool(
        fetch(args, "SELECT EXISTS (SELECT FROM analytics_dailysnapshot)")[0][0]
    )


def prepare(args: argparse.Namespace) -> dict[str, Any]:
    """Seed (unless reused), migrate, score and backfill; returns what each step took."""
    steps: dict[str, Any] = {}
    if not args.reuse_db:
        print(f"Creating {args.database} and seeding {args.learners:,} learners ...", flush=True)
        admin_execute(f"DROP DATABASE IF EXISTS {args.database} WITH (FORCE)")
        admin_execute(f"CREATE DATABASE {args.database}")
    steps["migrate_seconds"] = round(manage(args, "migrate", "--noinput", "-v0")[0], 1)
    if not args.reuse_db:
        seconds, output = manage(
            args,
            "seed_demo",
            *("--cohorts", "12", "--learners", str(args.learners), "--days", str(args.days)),
            *("--seed", str(args.seed)),
        )
        steps["seed_seconds"], steps["seed_output"] = round(seconds, 1), output
        with psycopg.connect(f"{SERVER_URL}/{args.database}", autocommit=True) as connection:
            connection.execute("VACUUM ANALYZE")
    unscored = fetch(args, "SELECT count(*) FROM learners_learner WHERE risk_score IS NULL")
    if not args.reuse_db or unscored[0][0]:
        print("Scoring every learner (manage.py rescore) ...", flush=True)
        seconds, output = manage(args, "rescore")
        steps["rescore_seconds"], steps["rescore_output"] = round(seconds, 1), output
    if not command_exists(args, "backfill_snapshots"):
        steps["backfill_output"] = "skipped: manage.py backfill_snapshots does not exist here"
    elif args.reuse_db and snapshots_exist(args):
        steps["backfill_output"] = "skipped: the reused database has snapshots"
    else:
        print("Backfilling daily snapshots (manage.py backfill_snapshots) ...", flush=True)
        seconds, output = manage(args, "backfill_snapshots", "--days", str(args.days))
        steps["backfill_seconds"], steps["backfill_output"] = round(seconds, 1), output
    if "backfill_seconds" not in steps:
        print(f"Note: snapshots {steps['backfill_output']}.", flush=True)
    # What autovacuum does soon after a rescore rewrote every learner row (it may be off on a
    # test server): without it, index-only scans read the heap and plans change.
    started = time.perf_counter()
    with psycopg.connect(f"{SERVER_URL}/{args.database}", autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")
    steps["vacuum_seconds"] = round(time.perf_counter() - started, 1)
    return steps


USERS_SNIPPET = """
from engagement.accounts import user_create
from engagement.models import Role, User
from learners.assignments import cohort_assignments_set
from learners.models import Cohort

for username, role in (({admin!r}, Role.ADMIN), ({coach!r}, Role.COACH)):
    if not User.objects.filter(username=username).exists():
        user_create(actor=None, username=username, email="", role=role, password={password!r})
coach = User.objects.get(username={coach!r})
cohorts = list(Cohort.objects.order_by("-starts_on", "name").values_list("pk", flat=True))
cohort_assignments_set(user=coach, cohort_ids=cohorts[:{cohorts}])
"""


def users_ensure(args: argparse.Namespace) -> None:
    """An admin and a coach with 3 cohorts, through the account and assignment services."""
    snippet = USERS_SNIPPET.format(
        admin=ADMIN, coach=COACH, password=PASSWORD, cohorts=COACH_COHORTS
    )
    manage(args, "shell", "-c", snippet)


def scope(args: argparse.Namespace) -> dict[str, Any]:
    """The coach's cohorts and the learners whose pages are measured (all in those cohorts):
    the one with the most events, and a seeded sample of those still studying."""
    cohorts = fetch(
        args,
        "SELECT a.cohort_id::text, c.name FROM learners_cohortassignment a "
        "JOIN learners_cohort c ON c.id = a.cohort_id JOIN engagement_user u ON u.id = a.user_id "
        "WHERE u.username = %s ORDER BY c.name",
        (COACH,),
    )
    ids = [cohort for cohort, _ in cohorts]
    busiest = fetch(
        args,
        "SELECT e.learner_id::text, count(*) FROM learners_activityevent e "
        "JOIN learners_learner l ON l.id = e.learner_id WHERE l.cohort_id = ANY(%s::uuid[]) "
        "GROUP BY e.learner_id ORDER BY count(*) DESC, e.learner_id LIMIT 1",
        (ids,),
    )
    studying = fetch(
        args,
        "SELECT id::text FROM learners_learner WHERE cohort_id = ANY(%s::uuid[]) "
        "AND status IN ('active', 'paused') ORDER BY id",
        (ids,),
    )
    sample = random.Random(args.seed).sample([row[0] for row in studying], SAMPLE_LEARNERS)
    learners = [busiest[0][0], *sample] if busiest else sample
    counts = fetch(
        args,
        "SELECT (SELECT count(*) FROM learners_learner), "
        "(SELECT count(*) FROM learners_activityevent), "
        "(SELECT count(*) FROM learners_learner WHERE cohort_id = ANY(%s::uuid[])), "
        "(SELECT count(*) FROM learners_learner WHERE risk_band = 'high')",
        (ids,),
    )[0]
    return {
        "coach_cohorts": [name for _, name in cohorts],
        "learner_ids": learners,
        "busiest_learner_events": busiest[0][1] if busiest else 0,
        "learners": counts[0],
        "events": counts[1],
        "coach_learners": counts[2],
        "high_risk": counts[3],
    }


def targets_build(learner_ids: list[str], only: set[str], filtered: str) -> list[Target]:
    learner_paths = tuple(f"/dashboard/learners/{learner}/" for learner in learner_ids)
    every = [
        Target(f"{kind}-{role}", kind, role, paths)
        for kind, paths in (
            ("overview", ("/dashboard/",)),
            ("table", ("/dashboard/learners/",)),
            ("filtered", (f"/dashboard/learners/?{filtered}",)),
            ("learner", learner_paths),
        )
        for role in ("coach", "admin")
    ]
    return [target for target in every if not only or target.name in only or target.kind in only]


# Query counts (a separate Django process: the test client and CaptureQueriesContext) ---------


def slowest(queries: list[dict[str, str]], keep: int = 3) -> list[dict[str, Any]]:
    """The ``keep`` slowest queries (time in ms, start of the SQL), to see where a page waits."""
    ranked = sorted(queries, key=lambda query: float(query["time"]), reverse=True)[:keep]
    return [{"ms": round(float(q["time"]) * 1000, 1), "sql": q["sql"][:400]} for q in ranked]


def count_queries_child(spec: dict[str, Any]) -> None:
    """Print, as JSON, each target's queries with the cache emptied and then filled, the time of
    the second request alone (no other client) and the slowest queries of the first."""
    sys.path.insert(0, str(ROOT))  # this checkout's apps, as manage.py would import them
    import django

    django.setup()
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from engagement.models import User

    clients = {}
    for role, username in (("admin", ADMIN), ("coach", COACH)):
        clients[role] = Client(HTTP_HOST=HOST, raise_request_exception=False)
        clients[role].force_login(User.objects.get(username=username))
    results: dict[str, Any] = {}
    for name, role, paths in spec["targets"]:
        pages = []
        for path in paths:
            cache.clear()
            with CaptureQueriesContext(connection) as cold:
                first = clients[role].get(path)
            # Twice, keeping the fewer: the cache's time slot may turn between two requests.
            runs = []
            for _ in range(2):
                started = time.perf_counter()
                with CaptureQueriesContext(connection) as captured:
                    second = clients[role].get(path)
                runs.append((len(captured), time.perf_counter() - started, captured))
            _, seconds, warm = min(runs, key=lambda run: run[0])
            pages.append(
                {
                    "path": path,
                    "status": [first.status_code, second.status_code],
                    "cold": len(cold),
                    "warm": len(warm),
                    "warm_ms": round(seconds * 1000, 1),
                    "warm_sql_ms": round(sum(float(q["time"]) for q in warm) * 1000, 1),
                    "slowest_cold": slowest(cold.captured_queries),
                }
            )
        results[name] = pages
    cache.clear()
    print(json.dumps(results))


def count_queries(args: argparse.Namespace, targets: list[Target]) -> dict[str, Any]:
    spec = {"targets": [(t.name, t.role, list(t.paths)) for t in targets]}
    stdout = python(
        args, [__file__, "--count-queries-child", json.dumps(spec)], "counting queries failed"
    )
    pages: dict[str, list[dict[str, Any]]] = json.loads(stdout.splitlines()[-1])
    return {
        name: {
            "status": sorted({status for page in rows for status in page["status"]}),
            "cold": sorted({page["cold"] for page in rows}),
            "warm": sorted({page["warm"] for page in rows}),
            "warm_ms_max": max(page["warm_ms"] for page in rows),
            "pages": rows,
        }
        for name, rows in pages.items()
    }


# gunicorn and the clients ---------------------------------------------------------------------


def gunicorn_start(
    args: argparse.Namespace, port: int, log: Path, metrics_dir: Path
) -> subprocess.Popen[bytes]:
    command = [
        str(BIN / "gunicorn"),
        "-c",
        "deploy/gunicorn.conf.py",
        f"--bind={HOST}:{port}",
        f"--workers={args.workers}",
    ]
    env = {**django_env(args), "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    with log.open("wb") as handle:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=handle, stderr=handle)


def wait_ready(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    for _ in range(120):
        if process.poll() is not None:
            sys.exit(f"gunicorn exited early:\n{log.read_text(errors='replace')[-4000:]}")
        try:
            if requests.get(f"{base}/healthz", timeout=5).status_code == 200:
                return
        except requests.RequestException:  # not listening yet, or a worker still starting
            pass
        time.sleep(0.5)
    sys.exit(f"gunicorn did not become healthy:\n{log.read_text(errors='replace')[-4000:]}")


def sign_in(base: str, username: str) -> requests.Session:
    """A session signed in through the sign-in page, as a browser would (CSRF cookie + field)."""
    session = requests.Session()
    page = session.get(f"{base}/accounts/login/", timeout=REQUEST_TIMEOUT)
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    if page.status_code != 200 or not found:
        sys.exit(f"sign-in page: HTTP {page.status_code} without a CSRF field")
    answer = session.post(
        f"{base}/accounts/login/",
        data={"username": username, "password": PASSWORD, "csrfmiddlewaretoken": found[1]},
        headers={"Referer": f"{base}/accounts/login/"},
        timeout=REQUEST_TIMEOUT,
        allow_redirects=False,
    )
    if answer.status_code != 302 or "sessionid" not in session.cookies:
        sys.exit(f"signing in as {username}: HTTP {answer.status_code}, no session")
    return session


def error_text(status: int, body: bytes) -> str:
    """What a page that did not answer 200 said: its HTML title, or the start of the body."""
    if status == 200:
        return ""
    text = body.decode(errors="replace")
    title = re.search(r"<title>\s*(.*?)\s*</title>", text, re.DOTALL)
    return title[1] if title else " ".join(text.split())[:200]


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (the value below which ``share`` of the values lie)."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(share * len(ordered) + 0.5) - 1))]


def summary(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    return {
        "p50": round(percentile(values, 0.50), 1),
        "p95": round(percentile(values, 0.95), 1),
        "p99": round(percentile(values, 0.99), 1),
        "max": round(max(values), 1),
        "mean": round(statistics.fmean(values), 1),
    }


class Driver:
    """``clients`` threads, each with one signed-in session per role, sending GETs."""

    def __init__(self, base: str, clients: int) -> None:
        self.base = base
        self.clients = clients
        self.sessions = {
            role: [sign_in(base, username) for _ in range(clients)]
            for role, username in (("admin", ADMIN), ("coach", COACH))
        }
        self.local = threading.local()
        self.counter = iter(range(10**9))

    def _session(self, role: str) -> requests.Session:
        if not hasattr(self.local, "slot"):
            self.local.slot = next(self.counter) % self.clients
        return self.sessions[role][self.local.slot]

    def get(self, role: str, path: str) -> tuple[str, int, float, str]:
        """One request: (request id, status, client latency in ms, start of an error body)."""
        request_id = f"bench-{uuid.uuid4().hex}"
        started = time.perf_counter()
        response = self._session(role).get(
            f"{self.base}{path}",
            headers={"X-Request-ID": request_id},
            timeout=REQUEST_TIMEOUT,
            allow_redirects=False,
        )
        body = response.content
        milliseconds = (time.perf_counter() - started) * 1000
        return (
            request_id,
            response.status_code,
            milliseconds,
            error_text(response.status_code, body),
        )

    def run(self, target: Target, count: int) -> tuple[float, list[tuple[str, int, float, str]]]:
        """``count`` requests from every client at once; (wall seconds, results)."""
        paths = [target.paths[number % len(target.paths)] for number in range(count)]
        self.counter = iter(range(10**9))
        self.local = threading.local()
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=self.clients) as pool:
            answers = list(pool.map(lambda path: self.get(target.role, path), paths))
        return time.perf_counter() - started, answers


def server_times(log: Path) -> dict[str, float]:
    """``duration_ms`` of each request the request log recorded, by request id."""
    durations: dict[str, float] = {}
    for line in log.read_text(errors="replace").splitlines():
        if '"duration_ms"' not in line:
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("event") == "request" and "request_id" in entry:
            durations[entry["request_id"]] = float(entry["duration_ms"])
    return durations


def measure(args: argparse.Namespace, targets: list[Target], workdir: Path) -> dict[str, Any]:
    """Serve with gunicorn and time every target; returns figures per target."""
    port = free_port()
    base = f"http://{HOST}:{port}"
    log = workdir / "gunicorn.log"
    metrics_dir = workdir / "metrics"
    metrics_dir.mkdir()
    cache = redis.Redis.from_url(args.redis_url)
    cache.flushdb()
    process = gunicorn_start(args, port, log, metrics_dir)
    raw: dict[str, Any] = {}
    try:
        wait_ready(base, process, log)
        driver = Driver(base, args.clients)
        for target in targets:
            probe = driver.get(target.role, target.paths[0])
            if probe[1] != 200:
                raw[target.name] = {"skipped": f"HTTP {probe[1]} ({probe[3]})"}
                print(f"  {target.name}: {raw[target.name]['skipped']}, skipped", flush=True)
                continue
            cold = []
            for number in range(args.cold):
                cache.flushdb()
                cold.append(driver.get(target.role, target.paths[number % len(target.paths)]))
            driver.run(target, args.warmup)
            client_started = sum(os.times()[:2])
            with OtherCpu() as other:
                seconds, answers = driver.run(target, args.requests)
            client_cpu = (sum(os.times()[:2]) - client_started) / (
                seconds * len(os.sched_getaffinity(0))
            )
            raw[target.name] = {
                "seconds": seconds,
                "answers": answers,
                "cold": cold,
                "other": other.share,
                "client_cpu": round(client_cpu, 2),
            }
            print(f"  {target.name}: {args.requests / seconds:.1f} req/s", flush=True)
    finally:
        gunicorn_stop(process)
        cache.flushdb()
    durations = server_times(log)
    return {name: figures(entry, durations, args) for name, entry in raw.items()}


def figures(entry: dict[str, Any], durations: dict[str, float], args: argparse.Namespace) -> Any:
    if "skipped" in entry:
        return entry
    answers, cold = entry["answers"], entry["cold"]
    failures = [f"HTTP {status}: {error}" for _, status, _, error in answers if status != 200]
    server = [durations[rid] for rid, *_ in answers if rid in durations]
    return {
        "requests": len(answers),
        "failures": len(failures),
        "failure_examples": failures[:3],
        "requests_per_s": round(len(answers) / entry["seconds"], 1),
        "server_ms": summary(server),
        "server_ms_matched": len(server),
        "client_ms": summary([milliseconds for _, _, milliseconds, _ in answers]),
        "cold_server_ms": summary([durations[rid] for rid, *_ in cold if rid in durations]),
        "cold_client_ms": summary([milliseconds for _, _, milliseconds, _ in cold]),
        "other_cpu": entry["other"],
        "client_cpu": entry["client_cpu"],
    }


# Report ---------------------------------------------------------------------------------------


def machine(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "nproc": len(os.sched_getaffinity(0)),
        "memory_gib": memory_gib(),
        "cpu": cpuinfo_model(),
        "postgresql": fetch(args, "SHOW server_version")[0][0],
        "postgresql_settings": {
            name: fetch(args, f"SHOW {name}")[0][0]
            for name in ("shared_buffers", "work_mem", "jit", "autovacuum")
        },
        "python": sys.version.split()[0],
        "git": git_revision(),
    }


def counts_text(counts: list[int] | None) -> str:
    """One count, or the range when pages of the same kind differ (several learners)."""
    if not counts:
        return "?"
    return str(counts[0]) if len(counts) == 1 else f"{counts[0]}-{counts[-1]}"


def print_report(results: dict[str, Any]) -> None:
    lines = [
        "=" * 100,
        "Dashboard pages",
        *(f"  {name:<10} {value}" for name, value in results["machine"].items()),
        *(f"  {name:<10} {value}" for name, value in results["data"].items()),
        "-" * 100,
        f"  {'page':<17} {'server p50/p95 ms':>18} {'client p50/p95 ms':>18} {'req/s':>7} "
        f"{'cold p50 ms':>11} {'queries cold/warm':>18} {'other':>6} {'client':>6}  verdict",
    ]
    for name, figure in results["pages"].items():
        queries = results["queries"].get(name, {})
        counted = f"{counts_text(queries.get('cold'))}/{counts_text(queries.get('warm'))}"
        if "skipped" in figure:
            lines.append(f"  {name:<17} skipped: {figure['skipped'][:70]}")
            continue
        server, client = figure["server_ms"], figure["client_ms"]
        target = TARGETS_MS[name.split("-")[0]]
        verdict = "meets" if server.get("p95", 1e9) < target else "MISSES"
        lines.append(
            f"  {name:<17} {server.get('p50', 0):>8.1f} /{server.get('p95', 0):>7.1f} "
            f"{client['p50']:>9.1f} /{client['p95']:>7.1f} {figure['requests_per_s']:>7.1f} "
            f"{figure['cold_server_ms'].get('p50', 0):>11.1f} {counted:>18} "
            f"{figure['other_cpu']:>6.0%} {figure['client_cpu']:>6.0%}  {verdict} p95 < {target:.0f} ms"
            + (f"  {figure['failures']} FAILED" if figure["failures"] else "")
        )
    lines.append("=" * 100)
    print("\n".join(lines))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--learners", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--clients", type=int, default=10, help="concurrent client threads")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--requests", type=int, default=300, help="timed requests per page")
    parser.add_argument("--warmup", type=int, default=30, help="untimed requests per page first")
    parser.add_argument("--cold", type=int, default=5, help="requests per page, cache emptied")
    parser.add_argument(
        "--urls", default="", help="comma-separated page names or kinds (default: all)"
    )
    parser.add_argument(
        "--filtered-query", default=FILTERED_QUERY, help="query string of the filtered table page"
    )
    parser.add_argument("--database", default=DATABASE, help="scratch database (dropped)")
    parser.add_argument("--redis-url", default=REDIS_URL, help="Redis db for the cache (flushed)")
    parser.add_argument("--keep-db", action="store_true", help="keep the scratch database")
    parser.add_argument("--reuse-db", action="store_true", help="start from a kept database")
    parser.add_argument(
        "--setup-only", action="store_true", help="prepare and keep the database, then stop"
    )
    parser.add_argument("--json-out", type=Path, help="also write the results as JSON here")
    args = parser.parse_args()
    if min(args.learners, args.clients, args.workers, args.requests) < 1:
        parser.error("learners, clients, workers and requests must be positive")
    args.keep_db = args.keep_db or args.setup_only
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", args.database):
        parser.error("--database: lower-case letters, digits and _")
    return args


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any] | None:
    steps = prepare(args)
    users_ensure(args)
    data = scope(args)
    if args.setup_only:
        print(json.dumps({"steps": steps, "data": data}, indent=2))
        return None
    # DEBUG off serves hashed static names from the manifest, as `make prod-smoke` builds it.
    manage(args, "collectstatic", "--noinput", "-v0")
    only = {name.strip() for name in args.urls.split(",") if name.strip()}
    targets = targets_build(data["learner_ids"], only, args.filtered_query)
    print("Counting queries (Django test client) ...", flush=True)
    queries = count_queries(args, targets)
    print(f"Serving with gunicorn ({args.workers} sync workers), {args.clients} clients ...")
    pages = measure(args, targets, workdir)
    return {
        "machine": machine(args),
        "parameters": {k: str(v) for k, v in vars(args).items() if k != "json_out"},
        "steps": steps,
        "data": data,
        "queries": queries,
        "pages": pages,
        "targets_p95_ms": TARGETS_MS,
    }


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--count-queries-child":
        count_queries_child(json.loads(sys.argv[2]))
        return
    run_and_report(parse_args(), prefix="lep-dashboard-bench-", run=run, report=print_report)


if __name__ == "__main__":
    main()
