"""A 10,000-learner campaign against the local LLM server answering in 300 ms, 16 at a time.

Measures what issue 13 asks for: nudges written per second, and the share of the run's thread
time spent outside the LLM wait (prompt rendering, guardrails, database writes, the policy and
the outbox when auto-approved). The LLM wait is the sum of the recorded calls' latencies
(``LLMCall.latency_ms``, retries included), so

    share outside = 1 - LLM wait / (wall time x concurrency)

and the ceiling the LLM alone allows is ``concurrency / mean latency`` nudges per second. The
share of all CPUs that processes other than the run's own (and PostgreSQL) used is reported too.

The script seeds a scratch PostgreSQL database with ``seed_demo`` (kept with ``--keep-db`` for
repeated runs), marks every learner active and scores them, starts ``manage.py
fake_llm_server --delay 0.3`` on loopback, then runs one campaign over every learner in this
process (``campaign_run_request(..., in_process=True)``: the job a Celery worker would run, on
``CAMPAIGN_CONCURRENCY`` threads) with the response cache off and an LLM budget far above the
run's needs, so neither flatters nor throttles the figure. Drafts for review by default;
``--approval auto`` also sends each nudge (policy and outbox; delivery left queued). Only
127.0.0.1 is used, and only the scratch database is created and dropped.

    .venv/bin/python benchmarks/campaign.py [--learners 10000] [--concurrency 16]
        [--delay 0.3] [--approval review|auto] [--keep-db] [--reuse-db] [--database NAME]
"""

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from ingest_throughput import OtherCpu
from scratch_db import SERVER, admin_execute, scratch_arguments

ROOT = Path(__file__).resolve().parent.parent
DATABASE = "lep_campaign_bench"  # the scratch database unless --database names another
CHILD = "--run-campaign-child"
BENCH_USER = "bench-admin"


def _env(options: argparse.Namespace) -> dict[str, str]:
    """The platform's environment for every process of the run (server, commands, campaign)."""
    auto = options.approval == "auto"
    return {
        **os.environ,
        "DATABASE_URL": f"{SERVER}/{options.database}",
        # Production settings, as a worker runs: DEBUG off (no query log), structured logs at
        # info, and throwaway keys fixed so that a kept database stays readable by the next run.
        "DEBUG": "false",
        "SECRET_KEY": "lep-campaign-benchmark-only-secret-key-not-used-anywhere-else",
        "FIELD_ENCRYPTION_KEYS": "bGVwLWNhbXBhaWduLWJlbmNobWFyay1vbmx5LWtleTA=",
        "FIELD_HASH_KEY": "lep-campaign-benchmark-only-hash-key",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "INFO",
        "SECURE_SSL_REDIRECT": "false",
        # As Celery workers are deployed (compose, Kubernetes): no pool, one connection per
        # thread, so 16 threads never wait for one of the pool's 10.
        "DATABASE_POOL": "false",
        "OPENAI_BASE_URL": f"http://127.0.0.1:{options.llm_port}/v1",
        "OPENAI_API_KEY": "benchmark",
        "CAMPAIGN_CONCURRENCY": str(options.concurrency),
        "LLM_CACHE_SECONDS": "0",
        "LLM_REQUESTS_PER_MINUTE": "10000000",
        "LLM_TOKENS_PER_MINUTE": "10000000000",
        "EMAIL_URL": "memorymail://",
        # Auto-approved nudges are handed to the outbox; its delivery (a worker's job) is left
        # queued in memory instead of running eagerly on the campaign's threads.
        **({"CELERY_TASK_ALWAYS_EAGER": "false"} if auto else {}),
    }


def _manage(options: argparse.Namespace, *args: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=_env(options), check=True)
    return time.perf_counter() - started


def _prepare(options: argparse.Namespace) -> float:
    """A fresh scratch database: migrated, seeded, every learner studying and scored."""
    database = options.database
    admin_execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
    admin_execute(f"CREATE DATABASE {database}")
    _manage(options, "migrate", "-v0")
    seconds = _manage(
        options,
        *("seed_demo", "--cohorts", "12", "--learners", str(options.learners)),
        *("--days", "120", "--seed", "1", "--today", datetime.now(UTC).date().isoformat()),
    )
    with psycopg.connect(f"{SERVER}/{database}", autocommit=True) as connection:
        connection.execute(
            "UPDATE learners_learner SET status = 'active', finished_at = NULL, "
            "nudge_opt_out = false"
        )
        connection.execute("VACUUM ANALYZE")
    _manage(options, "rescore")
    return seconds


def _clear_nudges(options: argparse.Namespace) -> None:
    """A reused database starts the run without the previous run's nudges, calls and jobs."""
    statements = (
        "DELETE FROM nudges_nudge",
        "DELETE FROM nudges_experimentassignment",
        "DELETE FROM nudges_campaign_cohorts",
        "DELETE FROM nudges_campaign",
        "DELETE FROM nudges_llmcall",
        "DELETE FROM engagement_outboxmessage",
        "DELETE FROM engagement_job",
    )
    with psycopg.connect(f"{SERVER}/{options.database}", autocommit=True) as connection:
        for statement in statements:
            connection.execute(statement)


def _llm_server_start(options: argparse.Namespace) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "fake_llm_server",
            *("--port", str(options.llm_port), "--delay", str(options.delay)),
        ],
        cwd=ROOT,
        env=_env(options),
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"fake_llm_server exited with status {server.returncode}")
        try:
            socket.create_connection(("127.0.0.1", options.llm_port), timeout=1).close()
            return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise SystemExit("fake_llm_server did not start listening within 30 s")


def run_campaign_child(approval: str) -> None:
    """In the platform's environment: one campaign over every learner, run as its job runs on a
    worker, and the figures of its recorded LLM calls; prints them as JSON."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "engagement.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.db.models import Count, Q, Sum
    from django.utils import timezone

    from engagement.models import Role, User
    from learners.models import Cohort
    from nudges import campaigns
    from nudges.models import LLMCall, Nudge

    admin, _ = User.objects.get_or_create(
        username=BENCH_USER, defaults={"role": Role.ADMIN, "is_staff": True, "is_superuser": True}
    )
    campaign = campaigns.campaign_create(
        actor=admin,
        name=f"benchmark {timezone.now().isoformat(timespec='seconds')}",
        cohort_ids=list(Cohort.objects.values_list("pk", flat=True)),
        channel="email",
        prompt_key="reengage",
        approval=approval,
    )
    started_at = timezone.now()
    cpu_started, started = time.process_time(), time.perf_counter()
    job = campaigns.campaign_run_request(campaign=campaign, requested_by=admin, in_process=True)
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started
    job.refresh_from_db()
    calls = LLMCall.objects.filter(created_at__gte=started_at).aggregate(
        calls=Count("id"),
        cache_hits=Count("id", filter=Q(cache_hit=True)),
        failed=Count("id", filter=~Q(outcome="ok")),
        latency_ms=Sum("latency_ms", default=0),
        tokens_in=Sum("tokens_in", default=0),
        tokens_out=Sum("tokens_out", default=0),
    )
    nudges = Nudge.objects.filter(campaign=campaign)
    by_source = dict(nudges.values_list("source").annotate(count=Count("id")).order_by())
    print(
        json.dumps(
            {
                "job_status": job.status,
                "job_result": job.result,
                "seconds": seconds,
                "cpu_seconds": cpu_seconds,
                "nudges": nudges.count(),
                "by_source": by_source,
                "concurrency": settings.CAMPAIGN_CONCURRENCY,
                **calls,
            }
        )
    )


def _run(options: argparse.Namespace) -> dict[str, Any]:
    """The campaign in a child process with the platform's environment (its own settings)."""
    done = subprocess.run(
        [sys.executable, __file__, CHILD, options.approval],
        cwd=ROOT,
        env=_env(options),
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def _figures(run: dict[str, Any], options: argparse.Namespace) -> dict[str, Any]:
    seconds, nudges, concurrency = run["seconds"], run["nudges"], run["concurrency"]
    llm_wait = run["latency_ms"] / 1000
    mean_latency = llm_wait / max(run["calls"] - run["cache_hits"], 1)
    return {
        "date": datetime.now(UTC).date().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "learners": options.learners,
        "approval": options.approval,
        "llm_delay_seconds": options.delay,
        "concurrency": concurrency,
        "job_status": run["job_status"],
        "nudges": nudges,
        "by_source": run["by_source"],
        "llm_calls": run["calls"],
        "llm_cache_hits": run["cache_hits"],
        "llm_failed_calls": run["failed"],
        "seconds": round(seconds, 1),
        "nudges_per_second": round(nudges / seconds, 1),
        "llm_bound_nudges_per_second": round(concurrency / mean_latency, 1) if llm_wait else None,
        "mean_llm_latency_ms": round(mean_latency * 1000),
        "share_outside_llm_wait": round(1 - llm_wait / (seconds * concurrency), 3),
        "cpu_ms_per_nudge": round(run["cpu_seconds"] * 1000 / max(nudges, 1), 1),
        "job_result": run["job_result"],
    }


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == CHILD:
        run_campaign_child(sys.argv[2])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=16, help="CAMPAIGN_CONCURRENCY.")
    parser.add_argument("--delay", type=float, default=0.3, help="The LLM server's answer time.")
    parser.add_argument("--approval", choices=("review", "auto"), default="review")
    parser.add_argument("--llm-port", type=int, default=8109, help="The local LLM server's port.")
    scratch_arguments(parser, default=DATABASE)
    options = parser.parse_args()
    seeding = None
    if options.reuse_db:
        _clear_nudges(options)
    else:
        seeding = _prepare(options)
    server = _llm_server_start(options)
    try:
        with OtherCpu() as other:
            run = _run(options)
    finally:
        server.terminate()
        server.wait(timeout=10)
    results = {
        **_figures(run, options),
        "other_cpu_share": other.share,
        "seed_seconds": seeding and round(seeding, 1),
    }
    print(json.dumps(results, indent=2))
    if not options.keep_db:
        admin_execute(f"DROP DATABASE IF EXISTS {options.database} WITH (FORCE)")


if __name__ == "__main__":
    main()
