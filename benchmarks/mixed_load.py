"""The mixed staff workload of ``locustfile.py``: the highest request rate sustained with
p95 < 200 ms and no errors.

Same database, users, server and environment as ``api_lists.py`` (its ``--reuse-db``,
``--keep-db`` and ``--database``; gunicorn with 2 sync workers, DEBUG off, Redis cache, Celery
tasks queued in Redis, throttles raised). Locust runs headless with ``--users`` users (all
started at once, figures reset once they are) for ``--step-seconds`` at each rate of
``--rates`` in turn, every user at most rate / users requests per second. A step is sustained
when locust saw no failure, p95 < ``--p95-ms`` over all requests, and the rate reached at
least 95 % of the one offered; the steps stop at the first that is not. Each step reports the
rate, p50/p95/p99 per kind of request, failures, and the CPU share of locust (the client shares
the machine) and of other processes.

    .venv/bin/python benchmarks/mixed_load.py --reuse-db --keep-db --database NAME \
        [--json-out benchmarks/results/mixed-<date>.json]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psycopg
import redis
from api_lists import BIN, ROOT, common_arguments, fetch, prepare, scope, serving, token
from dashboard import ADMIN, COACH, PASSWORD, machine, sign_in
from ingest_throughput import OtherCpu
from scratch_db import SERVER, run_and_report

LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"
RATES = "5,10,20,40,80,120,160,240,320,400,500,640,800"
SAMPLE_LEARNERS = 5_000
SUSTAINED_SHARE = 0.95


def data_file(args: argparse.Namespace, data: dict[str, Any], base: str, workdir: Path) -> Path:
    """What locustfile.py reads: users signed in (a JWT and a session each, so that no step
    spends its time hashing passwords), and a seeded sample of learners per role."""
    rng = random.Random(args.seed)
    coach_learners = [
        row[0]
        for row in fetch(
            args,
            "SELECT id::text FROM learners_learner WHERE cohort_id = ANY(%s::uuid[]) ORDER BY 1",
            (data["coach_cohorts"],),
        )
    ]
    path = workdir / "locust-data.json"
    path.write_text(
        json.dumps(
            {
                "password": PASSWORD,
                "admin": ADMIN,
                "coach": COACH,
                "tokens": {"admin": token(base, ADMIN), "coach": token(base, COACH)},
                "sessions": {
                    role: sign_in(base, username).cookies["sessionid"]
                    for role, username in (("admin", ADMIN), ("coach", COACH))
                },
                "learner_ids": rng.sample(
                    data["learner_ids"], min(SAMPLE_LEARNERS, len(data["learner_ids"]))
                ),
                "coach_learner_ids": rng.sample(
                    coach_learners, min(SAMPLE_LEARNERS, len(coach_learners))
                ),
            }
        )
    )
    return path


def milliseconds(value: str) -> float | None:
    return None if value in ("", "N/A") else float(value)


def read_stats(prefix: Path) -> dict[str, Any]:
    """Locust's CSV figures: per request name and aggregated, and the first failures."""
    rows: dict[str, Any] = {}
    with Path(f"{prefix}_stats.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            rows[row["Name"]] = {
                "requests": int(row["Request Count"]),
                "failures": int(row["Failure Count"]),
                "requests_per_s": round(float(row["Requests/s"]), 1),
                "p50_ms": milliseconds(row["50%"]),
                "p95_ms": milliseconds(row["95%"]),
                "p99_ms": milliseconds(row["99%"]),
                "max_ms": milliseconds(row["100%"]),
            }
    failures = []
    with Path(f"{prefix}_failures.csv").open(newline="") as handle:
        failures = [
            f"{row['Method']} {row['Name']}: {row['Error']} ({row['Occurrences']}x)"
            for row in csv.DictReader(handle)
        ]
    total = rows.pop("Aggregated")
    return {**total, "failure_examples": failures[:5], "by_request": rows}


def step(
    args: argparse.Namespace, base: str, rate: float, data: Path, workdir: Path
) -> dict[str, Any]:
    """One locust run at ``rate`` requests per second offered; its figures."""
    prefix = workdir / f"step-{rate:g}"
    env = {
        **os.environ,
        "LEP_BENCH_DATA": str(data),
        "LEP_BENCH_USER_RATE": str(rate / args.users),
    }
    command = [
        str(BIN / "locust"),
        f"--locustfile={LOCUSTFILE}",
        "--headless",
        f"--host={base}",
        f"--users={args.users}",
        f"--spawn-rate={args.users}",
        f"--run-time={args.step_seconds}s",
        "--reset-stats",
        "--only-summary",
        "--stop-timeout=10",
        "--loglevel=WARNING",
        f"--csv={prefix}",
    ]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    with OtherCpu() as other:
        completed = subprocess.run(
            command, cwd=ROOT, env=env, capture_output=True, text=True, check=False
        )
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if not Path(f"{prefix}_stats.csv").exists():
        sys.exit(f"locust failed:\n{completed.stdout[-3000:]}\n{completed.stderr[-3000:]}")
    figures = read_stats(prefix)
    used = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    sustained = (
        figures["failures"] == 0
        and figures["p95_ms"] is not None
        and figures["p95_ms"] < args.p95_ms
        and figures["requests_per_s"] >= SUSTAINED_SHARE * rate
    )
    return {
        "offered_per_s": rate,
        **figures,
        "sustained": sustained,
        "other_cpu": other.share,
        "client_cpu": round(used / (seconds * len(os.sched_getaffinity(0))), 3),
    }


def print_report(results: dict[str, Any]) -> None:
    lines = [
        "=" * 96,
        "Mixed staff workload (locust)",
        *(f"  {name:<10} {value}" for name, value in results["machine"].items()),
        "-" * 96,
        f"  {'offered/s':>9} {'reached/s':>9} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
        f"{'failures':>8} {'other':>6} {'client':>6}  verdict",
    ]
    for figure in results["steps"]:
        lines.append(
            f"  {figure['offered_per_s']:>9g} {figure['requests_per_s']:>9.1f} "
            f"{figure['p50_ms'] or 0:>8.0f} {figure['p95_ms'] or 0:>8.0f} "
            f"{figure['p99_ms'] or 0:>8.0f} {figure['failures']:>8} {figure['other_cpu']:>6.0%} "
            f"{figure['client_cpu']:>6.0%}  {'sustained' if figure['sustained'] else 'NOT sustained'}"
        )
    last = results["steps"][-1]
    lines.append("  p95 by request at the last step:")
    lines.extend(
        f"    {name:<36} {row['requests']:>6} req  p95 {row['p95_ms'] or 0:>7.0f} ms"
        f"  {row['failures']} failed"
        for name, row in last["by_request"].items()
    )
    lines.extend(f"    {failure}" for failure in last["failure_examples"])
    lines.append(
        f"  highest rate sustained (p95 < {results['p95_ms']:.0f} ms, no errors): "
        f"{results['highest_sustained_per_s']} req/s"
    )
    lines.append("=" * 96)
    print("\n".join(lines))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    common_arguments(parser)
    parser.add_argument("--users", type=int, default=100, help="locust users")
    parser.add_argument("--rates", default=RATES, help="comma-separated req/s offered, in turn")
    parser.add_argument("--step-seconds", type=int, default=30, help="seconds per rate")
    parser.add_argument("--p95-ms", type=float, default=200.0, help="p95 bound of a step")
    args = parser.parse_args()
    args.rate_steps = [float(rate) for rate in args.rates.split(",") if rate.strip()]
    if min(args.learners, args.workers, args.users, args.step_seconds) < 1 or not args.rate_steps:
        parser.error("learners, workers, users, step seconds and rates must be positive")
    return args


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    steps = prepare(args)
    data = scope(args)
    cache = redis.Redis.from_url(args.redis_url)
    cache.flushdb()
    figures: list[dict[str, Any]] = []
    try:
        with OtherCpu() as other, serving(args, workdir) as base:
            data_path = data_file(args, data, base, workdir)
            for rate in args.rate_steps:
                print(f"  {rate:g} req/s offered ...", flush=True)
                figures.append(step(args, base, rate, data_path, workdir))
                if not figures[-1]["sustained"]:
                    break
    finally:
        cache.flushdb()
    sustained = [figure["offered_per_s"] for figure in figures if figure["sustained"]]
    with psycopg.connect(f"{SERVER}/{args.database}") as connection:
        row = connection.execute(
            "SELECT count(*) FROM learners_activityevent WHERE source = 'bench-mixed'"
        ).fetchone()
    return {
        "machine": {**machine(args), "other_cpu_whole_run": other.share},
        "parameters": {k: str(v) for k, v in vars(args).items() if k != "json_out"},
        "preparation": steps,
        "data": {key: value for key, value in data.items() if not isinstance(value, list)},
        "events_ingested": row[0] if row else 0,
        "p95_ms": args.p95_ms,
        "steps": figures,
        "highest_sustained_per_s": max(sustained, default=0),
    }


def main() -> None:
    run_and_report(parse_args(), prefix="lep-mixed-", run=run, report=print_report)


if __name__ == "__main__":
    main()
