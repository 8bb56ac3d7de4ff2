"""Learner API lists and details on PostgreSQL behind gunicorn, side by side with a bare view.

Issue 14's table: each endpoint's throughput and latency under 10 concurrent clients, as a share
of what a bare Django view serving 25 rows of the same 100,000-row table reaches in the same run
on the same server. The script:

1. builds its scratch database with ``rescore.py``'s recipe (``seed_demo --cohorts 12 --learners
   100000 --days 365 --seed 1``, every learner active and scored); ``--keep-db`` keeps it,
   ``--reuse-db`` starts from it (or from a copy of another, ``--database``) after ``migrate``;
2. creates an admin and a coach who works with 3 of the 12 cohorts (``dashboard.py``'s users);
3. serves with gunicorn (``deploy/gunicorn.conf.py``, 2 sync workers, DEBUG off, Redis cache,
   Celery tasks queued in Redis, every throttle raised so that none trips), with
   ``bench_settings`` adding the bare view ``/bench/bare/`` (``bench_urls.py``) to the URLs;
4. signs in through ``POST /api/v1/auth/token/`` (JWT) and loads each endpoint with wrk (10
   connections, closed loop): a warm-up, then ``--duration`` seconds measured. The bare view is
   measured first and last; shares are of the mean of the two. "Uncached" details empty the
   cache first and then ask each learner once (20,000 learners cycled; a warning if a run asks
   for more than that, fewer learners at small sizes).

Figures: requests/s, p50/p95/p99 client latency (wrk's), errors (connection errors, timeouts
and HTTP statuses >= 400), the share of the bare view, and the other-CPU share (processes
other than ours and PostgreSQL's). Only 127.0.0.1 is used; only the scratch database and the
Redis db given are created, flushed and dropped.

    .venv/bin/python benchmarks/api_lists.py [--reuse-db] [--keep-db] [--database NAME] \
        [--json-out benchmarks/results/api_lists-<date>.json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import redis
import requests
from dashboard import ADMIN, COACH, COACH_COHORTS, PASSWORD, USERS_SNIPPET, machine, wait_ready
from ingest_throughput import OtherCpu, free_port, gunicorn_stop
from rescore import _env, _manage, _prepare
from scratch_db import SERVER, run_and_report, scratch_arguments

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT / "benchmarks"
BIN = Path(sys.executable).parent
HOST = "127.0.0.1"
DATABASE = "lep_api_lists_bench"
REDIS_URL = f"redis://{HOST}:6379/2"
WRK = "/usr/bin/wrk"
API = "/api/v1"
BARE_PATH = "/bench/bare/"
REQUEST_TIMEOUT = 60.0
#: The development keys that settings use with DEBUG on, which rescore.py's environment (and so
#: its seeded names and emails) has: a reused database stays readable with DEBUG off.
FIELD_KEYS = {
    "FIELD_ENCRYPTION_KEYS": "ZGV2ZWxvcG1lbnQtb25seS1rZXktMDAwMDAwMDAwMDA=",
    "FIELD_HASH_KEY": "development-only-hash-key",
}
#: Every throttle a staff workload meets (engagement/apps.py, learners/apps.py), raised by its
#: environment variable. A one-second window keeps the per-user history as short as the
#: production default (1,200/min) allows, although one client sends hundreds a second.
THROTTLE_VARIABLES = (
    "THROTTLE_PRINCIPAL",
    "THROTTLE_ANONYMOUS",
    "THROTTLE_LOGIN",
    "THROTTLE_INGEST",
)
THROTTLE_RATE = "1000000/s"
CACHED_LEARNERS = 5
UNCACHED_LEARNERS = 20_000
#: Issue 14's targets for every list and detail: p95 and share of the bare view.
TARGET_P95_MS = 50.0
TARGET_SHARE = 0.10

WRK_SCRIPT = """
local paths = {paths}
local threads = {threads}
created = 0
wrk.headers["Authorization"] = {authorization}

function setup(thread)
  thread:set("offset", created)
  created = created + 1
end

function init(args)
  index = offset or 0
end

function request()
  local path = paths[(index % #paths) + 1]
  index = index + threads
  return wrk.format("GET", path)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {{"requests": %d, "duration_us": %d, "p50_us": %d, "p95_us": %d, "p99_us": %d, '
    .. '"max_us": %d, "connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
"""


@dataclass(frozen=True)
class Target:
    """One endpoint as one role. ``paths`` are cycled through; ``cold`` empties the cache
    before the warm-up, which then asks ``warmup_paths`` (other learners) only."""

    name: str
    role: str
    paths: tuple[str, ...]
    warmup_paths: tuple[str, ...] = ()
    cold: bool = False


# Database, users and environment ------------------------------------------------------------


def server_env(args: argparse.Namespace) -> dict[str, str]:
    """Production settings (DEBUG off, Redis cache, Celery tasks queued in Redis) with
    rescore.py's keys, the bare view's settings module, and every throttle raised."""
    return {
        **_env(args.database),
        **FIELD_KEYS,
        "DEBUG": "false",
        "DJANGO_SETTINGS_MODULE": "bench_settings",
        "PYTHONPATH": os.pathsep.join(
            filter(None, (str(BENCHMARKS), os.environ.get("PYTHONPATH")))
        ),
        "SECRET_KEY": "lep-api-lists-benchmark-only-secret-key-not-used-anywhere-else",
        "ALLOWED_HOSTS": f"{HOST},localhost",
        # Plain HTTP on loopback, as `make prod-smoke` runs it (the proxy terminates TLS).
        "SECURE_SSL_REDIRECT": "false",
        "SECURE_COOKIES": "false",
        "REDIS_URL": args.redis_url,
        "CELERY_BROKER_URL": args.redis_url,
        "JWT_ACCESS_MINUTES": "240",
        **dict.fromkeys(THROTTLE_VARIABLES, args.throttle_rate),
    }


def prepare(args: argparse.Namespace) -> dict[str, Any]:
    """Seed and score (unless reused; then migrate), users, static files, statistics."""
    steps: dict[str, Any] = {}
    if args.reuse_db:
        steps["migrate_seconds"] = round(_manage(args.database, "migrate", "-v0"), 1)
    else:
        print(f"Seeding {args.database} with {args.learners:,} learners ...", flush=True)
        steps["seed_seconds"] = round(_prepare(args.database, args.learners, args.days), 1)
        print("Scoring every learner (manage.py rescore) ...", flush=True)
        steps["rescore_seconds"] = round(_manage(args.database, "rescore"), 1)
    snippet = USERS_SNIPPET.format(
        admin=ADMIN, coach=COACH, password=PASSWORD, cohorts=COACH_COHORTS
    )
    _manage(args.database, "shell", "-c", snippet)
    # DEBUG off serves hashed static names from the manifest (the dashboard pages need it).
    _manage(args.database, "collectstatic", "--noinput", "-v0")
    started = time.perf_counter()
    with psycopg.connect(f"{SERVER}/{args.database}", autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")
    steps["vacuum_seconds"] = round(time.perf_counter() - started, 1)
    return steps


def fetch(args: argparse.Namespace, query: str, params: tuple[Any, ...] = ()) -> list[Any]:
    with psycopg.connect(f"{SERVER}/{args.database}") as connection:
        return connection.execute(query, params).fetchall()


def scope(args: argparse.Namespace) -> dict[str, Any]:
    """What the requests name: the coach's cohorts, every learner id, every cohort id, and
    the size of the data."""
    coach_cohorts = [
        row[0]
        for row in fetch(
            args,
            "SELECT a.cohort_id::text FROM learners_cohortassignment a "
            "JOIN engagement_user u ON u.id = a.user_id WHERE u.username = %s ORDER BY 1",
            (COACH,),
        )
    ]
    counts = fetch(
        args,
        "SELECT (SELECT count(*) FROM learners_learner), "
        "(SELECT count(*) FROM learners_activityevent), "
        "(SELECT count(*) FROM learners_learner WHERE risk_band = 'high'), "
        "(SELECT count(*) FROM learners_learner WHERE cohort_id = ANY(%s::uuid[]))",
        (coach_cohorts,),
    )[0]
    return {
        "learners": counts[0],
        "events": counts[1],
        "high_risk": counts[2],
        "coach_learners": counts[3],
        "coach_cohorts": coach_cohorts,
        "cohorts": [
            row[0] for row in fetch(args, "SELECT id::text FROM learners_cohort ORDER BY 1")
        ],
        "learner_ids": [
            row[0] for row in fetch(args, "SELECT id::text FROM learners_learner ORDER BY 1")
        ],
    }


# Serving and signing in ---------------------------------------------------------------------


@contextmanager
def serving(args: argparse.Namespace, workdir: Path) -> Iterator[str]:
    """gunicorn with the deployment's configuration (workers not recycled unless
    ``--max-requests``: a restart every 2,000 requests would weigh on the fastest views only);
    yields the base URL, stops gunicorn on the way out."""
    port = free_port()
    base = f"http://{HOST}:{port}"
    log = workdir / "gunicorn.log"
    metrics_dir = workdir / "metrics"
    metrics_dir.mkdir(exist_ok=True)
    command = [
        str(BIN / "gunicorn"),
        "-c",
        "deploy/gunicorn.conf.py",
        f"--bind={HOST}:{port}",
        f"--workers={args.workers}",
        f"--max-requests={args.max_requests}",
    ]
    env = {**server_env(args), "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    with log.open("wb") as handle:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=handle, stderr=handle)
    try:
        wait_ready(base, process, log)
        yield base
    finally:
        gunicorn_stop(process)


def token(base: str, username: str) -> str:
    """A JWT access token from the API's token endpoint."""
    response = requests.post(
        f"{base}{API}/auth/token/",
        json={"username": username, "password": PASSWORD},
        timeout=REQUEST_TIMEOUT,
    )
    response.raise_for_status()
    return str(response.json()["access"])


# Targets and wrk ----------------------------------------------------------------------------


def targets_build(data: dict[str, Any], seed: int) -> list[Target]:
    """Issue 14's rows, then every other documented filter and ordering as admin."""
    rng = random.Random(seed)
    uncached = min(UNCACHED_LEARNERS, (len(data["learner_ids"]) - CACHED_LEARNERS) // 2)
    learners = rng.sample(data["learner_ids"], CACHED_LEARNERS + 2 * uncached)
    cached = learners[:CACHED_LEARNERS]
    warmup = learners[CACHED_LEARNERS : CACHED_LEARNERS + uncached]
    cold = learners[CACHED_LEARNERS + uncached :]

    def details(suffix: str, ids: list[str]) -> tuple[str, ...]:
        return tuple(f"{API}/learners/{learner}/{suffix}" for learner in ids)

    lists = f"{API}/learners/"
    return [
        Target("learners-admin", "admin", (lists,)),
        Target("learners-high-risk-admin", "admin", (f"{lists}?risk_band=high&ordering=-risk",)),
        Target("learners-coach", "coach", (lists,)),
        Target("learner-detail-cached", "admin", details("", cached)),
        Target("learner-detail-uncached", "admin", details("", cold), details("", warmup), True),
        Target("risk-detail-cached", "admin", details("risk/", cached)),
        Target(
            "risk-detail-uncached", "admin", details("risk/", cold), details("risk/", warmup), True
        ),
        Target("learners-last-active-admin", "admin", (f"{lists}?ordering=last_active",)),
        Target("learners-enrolled-desc-admin", "admin", (f"{lists}?ordering=-enrolled",)),
        Target("learners-status-admin", "admin", (f"{lists}?status=active",)),
        Target("learners-inactive-admin", "admin", (f"{lists}?inactive_days=14",)),
        Target("learners-cohort-admin", "admin", (f"{lists}?cohort={data['cohorts'][0]}",)),
    ]


def wrk_script(paths: tuple[str, ...], authorization: str, threads: int, workdir: Path) -> Path:
    script = workdir / "wrk.lua"
    script.write_text(
        WRK_SCRIPT.format(
            paths="{" + ",".join(json.dumps(path) for path in paths) + "}",
            threads=threads,
            authorization=json.dumps(authorization) if authorization else "nil",
        )
    )
    return script


def wrk(
    args: argparse.Namespace, base: str, script: Path, seconds: float
) -> tuple[dict[str, Any], float]:
    """One wrk run; (its summary, the CPU share wrk used of all CPUs)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    completed = subprocess.run(
        [
            WRK,
            f"--threads={args.wrk_threads}",
            f"--connections={args.clients}",
            f"--duration={max(1, round(seconds))}s",
            "--timeout=30s",
            f"--script={script}",
            base,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    found = re.search(r"^WRK_JSON (.*)$", completed.stdout, re.MULTILINE)
    if completed.returncode != 0 or not found:
        sys.exit(f"wrk failed:\n{completed.stdout}\n{completed.stderr}")
    summary: dict[str, Any] = json.loads(found[1])
    used = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    wall = summary["duration_us"] / 1e6
    return summary, round(used / (wall * len(os.sched_getaffinity(0))), 3)


def load(
    args: argparse.Namespace,
    base: str,
    target: Target,
    authorization: str,
    cache: redis.Redis,
    workdir: Path,
) -> dict[str, Any]:
    """Probe, warm up and measure one target; its figures."""
    headers = {"Authorization": authorization} if authorization else {}
    probe = requests.get(f"{base}{target.paths[0]}", headers=headers, timeout=REQUEST_TIMEOUT)
    if probe.status_code != 200:
        return {"path": target.paths[0], "skipped": f"HTTP {probe.status_code}: {probe.text[:200]}"}
    threads = args.wrk_threads
    if target.cold:
        cache.flushdb()
    warmup = wrk_script(target.warmup_paths or target.paths, authorization, threads, workdir)
    wrk(args, base, warmup, args.warmup)
    script = wrk_script(target.paths, authorization, threads, workdir)
    with OtherCpu() as other:
        summary, client_cpu = wrk(args, base, script, args.duration)
    seconds = summary["duration_us"] / 1e6
    errors = {kind: summary[kind] for kind in ("connect", "read", "write", "status", "timeout")}
    figure = {
        "path": target.paths[0],
        "role": target.role,
        "requests": summary["requests"],
        "seconds": round(seconds, 2),
        "requests_per_s": round(summary["requests"] / seconds, 1),
        **{f"{name}_ms": round(summary[f"{name}_us"] / 1000, 1) for name in ("p50", "p95", "p99")},
        "max_ms": round(summary["max_us"] / 1000, 1),
        "errors": sum(errors.values()),
        "error_kinds": {kind: count for kind, count in errors.items() if count},
        "other_cpu": other.share,
        "client_cpu": client_cpu,
    }
    if target.cold:
        figure["distinct_paths"] = len(target.paths)
        figure["cache_hits_possible"] = max(0, summary["requests"] - len(target.paths))
    return figure


def measure(
    args: argparse.Namespace, targets: list[Target], workdir: Path
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Serve, sign in, and load the bare view, every target, and the bare view again."""
    cache = redis.Redis.from_url(args.redis_url)
    cache.flushdb()
    endpoints: dict[str, Any] = {}
    bare: dict[str, Any] = {}
    try:
        with serving(args, workdir) as base:
            authorization = {
                "anonymous": "",
                "admin": f"Bearer {token(base, ADMIN)}",
                "coach": f"Bearer {token(base, COACH)}",
            }
            bare_target = Target("bare", "anonymous", (BARE_PATH,))
            bare["first"] = load(args, base, bare_target, "", cache, workdir)
            print(f"  bare view: {bare['first']['requests_per_s']:.0f} req/s", flush=True)
            for target in targets:
                figure = load(args, base, target, authorization[target.role], cache, workdir)
                endpoints[target.name] = figure
                print(f"  {target.name}: {figure.get('requests_per_s', figure.get('skipped'))}")
            bare["last"] = load(args, base, bare_target, "", cache, workdir)
            print(f"  bare view: {bare['last']['requests_per_s']:.0f} req/s", flush=True)
    finally:
        cache.flushdb()
    bare["requests_per_s"] = round(
        (bare["first"]["requests_per_s"] + bare["last"]["requests_per_s"]) / 2, 1
    )
    for figure in endpoints.values():
        if "skipped" not in figure:
            figure["share_of_bare"] = round(figure["requests_per_s"] / bare["requests_per_s"], 4)
            figure["meets_target"] = (
                figure["p95_ms"] < TARGET_P95_MS
                and figure["share_of_bare"] >= TARGET_SHARE
                and not figure["errors"]
            )
    return bare, endpoints


# Report and entry point ---------------------------------------------------------------------


def print_report(results: dict[str, Any]) -> None:
    bare = results["bare"]
    lines = [
        "=" * 104,
        "Learner API against a bare view",
        *(f"  {name:<10} {value}" for name, value in results["machine"].items()),
        *(f"  {name:<10} {value}" for name, value in results["data"].items()),
        "-" * 104,
        f"  {'endpoint':<30} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
        f"{'errors':>7} {'share':>7} {'other':>6} {'client':>6}  verdict",
    ]
    rows = [("bare (first)", bare["first"]), *results["endpoints"].items()]
    for name, figure in [*rows, ("bare (last)", bare["last"])]:
        if "skipped" in figure:
            lines.append(f"  {name:<30} skipped: {figure['skipped'][:60]}")
            continue
        share = figure.get("share_of_bare")
        verdict = "" if share is None else ("meets" if figure["meets_target"] else "MISSES")
        lines.append(
            f"  {name:<30} {figure['requests_per_s']:>8.1f} {figure['p50_ms']:>8.1f} "
            f"{figure['p95_ms']:>8.1f} {figure['p99_ms']:>8.1f} {figure['errors']:>7} "
            f"{'' if share is None else f'{share:.1%}':>7} {figure['other_cpu']:>6.0%} "
            f"{figure['client_cpu']:>6.0%}  {verdict}"
        )
    lines.append(
        f"  targets: p95 < {TARGET_P95_MS:.0f} ms and >= {TARGET_SHARE:.0%} of the bare view"
    )
    lines.append("=" * 104)
    print("\n".join(lines))


def common_arguments(parser: argparse.ArgumentParser) -> None:
    """The database, server and client options ``mixed_load.py`` shares."""
    parser.add_argument("--learners", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=1, help="seed of the learners sampled")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument(
        "--max-requests", type=int, default=0, help="gunicorn worker recycling (0: never)"
    )
    parser.add_argument("--redis-url", default=REDIS_URL, help="Redis db for cache and broker")
    parser.add_argument(
        "--throttle-rate", default=THROTTLE_RATE, help="rate of every throttle (N/s, N/min)"
    )
    parser.add_argument("--json-out", type=Path, help="also write the results as JSON here")
    scratch_arguments(parser, default=DATABASE)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    common_arguments(parser)
    parser.add_argument("--clients", type=int, default=10, help="concurrent connections")
    parser.add_argument("--wrk-threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds measured each")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of warm-up each")
    parser.add_argument(
        "--only", default="", help="comma-separated endpoint names (default: every one)"
    )
    args = parser.parse_args()
    if min(args.learners, args.clients, args.workers, args.wrk_threads) < 1:
        parser.error("learners, clients, workers and wrk threads must be positive")
    return args


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    steps = prepare(args)
    data = scope(args)
    targets = targets_build(data, args.seed)
    only = {name.strip() for name in args.only.split(",") if name.strip()}
    targets = [target for target in targets if not only or target.name in only]
    print(f"Serving with gunicorn ({args.workers} sync workers), {args.clients} clients ...")
    with OtherCpu() as other:
        bare, endpoints = measure(args, targets, workdir)
    return {
        "machine": {**machine(args), "other_cpu_whole_run": other.share},
        "parameters": {k: str(v) for k, v in vars(args).items() if k != "json_out"},
        "steps": steps,
        "data": {key: value for key, value in data.items() if not isinstance(value, list)},
        "bare": bare,
        "endpoints": endpoints,
        "targets": {"p95_ms": TARGET_P95_MS, "share_of_bare": TARGET_SHARE},
    }


def main() -> None:
    run_and_report(parse_args(), prefix="lep-api-lists-", run=run, report=print_report)


if __name__ == "__main__":
    main()
