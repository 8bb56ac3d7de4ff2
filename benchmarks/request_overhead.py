"""The fixed cost of one API request, in-process: CPU time, queries and cache round trips.

Issue 14 asks cheap endpoints to approach a bare Django view. This script runs the whole stack
(every middleware, DRF, JWT authentication, roles, throttles, renderer, request log) through
Django's test client, without a server, so that what it measures is the application's own cost
per request, with DEBUG off, on PostgreSQL and Redis:

1. migrates its scratch database and seeds a few learners (``seed_demo``) unless they exist;
2. signs an admin in for a JWT (``/api/v1/auth/token/``);
3. per path: a warm-up (the learner detail is then cached), one request under a query and
   Redis-command count, then ``--requests`` requests timed in CPU seconds of this process
   (``time.process_time``: contention from other processes does not enter it);
4. with ``--profile PATH``, a cProfile of that path's loop in CPU time, cumulative, to
   ``--profile-out`` (and the raw statistics beside it, ``.prof``, for pstats or snakeviz).

``/bare`` is a bare Django view (no middleware, 25 rows of one table as JSON, as in the issue's
comparison) and ``/healthz`` the floor of this stack: the same middleware, no DRF. Only 127.0.0.1 is used; only the
scratch database and the Redis db given are created and flushed (``--keep-db`` keeps the
database).

    .venv/bin/python benchmarks/request_overhead.py [--requests 2000] [--profile detail] \
        [--json-out benchmarks/results/request_overhead-<date>-<what>.json]
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import json
import os
import pstats
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ingest_throughput import OtherCpu, git_revision
from scratch_db import SERVER, admin_execute, scratch_arguments

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/4"
PASSWORD = "lep-overhead-benchmark-password-3"  # noqa: S105 - a throwaway user in a scratch database
ADMIN = "overhead-admin"


def bare_view(request: Any) -> Any:
    """A bare Django view, as in the issue's comparison: 25 rows of one table as JSON."""
    from django.http import JsonResponse

    from learners.models import Learner

    rows = Learner.objects.order_by("id").values("id", "external_id", "status")[:25]
    return JsonResponse({"results": [{**row, "id": str(row["id"])} for row in rows]})


def _urlpatterns() -> list[Any]:
    from django.urls import path

    return [path("bare", bare_view)]


def __getattr__(name: str) -> Any:
    """``urlpatterns`` for the bare view, built only when Django reads them (after setup)."""
    if name == "urlpatterns":
        return _urlpatterns()
    raise AttributeError(name)


def _environment(database: str, redis_url: str) -> None:
    """Production settings (DEBUG off) with throwaway secrets and a rate no loop reaches."""
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "engagement.settings",
            "DATABASE_URL": f"{SERVER}/{database}",
            "REDIS_URL": redis_url,
            "DEBUG": "false",
            "SECRET_KEY": "overhead-benchmark-secret-key-not-for-production-0123456789",
            "ALLOWED_HOSTS": "testserver",
            "FIELD_ENCRYPTION_KEYS": "ZGV2ZWxvcG1lbnQtb25seS1rZXktMDAwMDAwMDAwMDA=",
            "FIELD_HASH_KEY": "development-only-hash-key",
            "SECURE_SSL_REDIRECT": "false",
            "JWT_ACCESS_MINUTES": "120",
            "THROTTLE_PRINCIPAL": "100000000/min",
            "LOG_LEVEL": "INFO",
        }
    )


class RedisRoundTrips:
    """Counts the commands sent to Redis, a pipeline counting once (one round trip)."""

    def __init__(self) -> None:
        self.count = 0

    @contextmanager
    def counting(self) -> Iterator[None]:
        from redis.client import Pipeline, Redis

        command, execute = Redis.execute_command, Pipeline.execute

        def counted_command(client: Any, *args: Any, **options: Any) -> Any:
            if not isinstance(client, Pipeline):
                self.count += 1
            return command(client, *args, **options)

        def counted_execute(pipeline: Any, *args: Any, **options: Any) -> Any:
            self.count += 1
            return execute(pipeline, *args, **options)

        setattr(Redis, "execute_command", counted_command)  # noqa: B010 - typed as a method
        setattr(Pipeline, "execute", counted_execute)  # noqa: B010
        try:
            yield
        finally:
            setattr(Redis, "execute_command", command)  # noqa: B010
            setattr(Pipeline, "execute", execute)  # noqa: B010


def _prepare() -> tuple[str, str]:
    """Migrate, seed a few learners if there are none; an admin's access token, a learner id."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    from learners.models import Learner

    call_command("migrate", verbosity=0)
    if not Learner.objects.exists():
        call_command(
            "seed_demo", "--cohorts", "2", "--learners", "40", "--days", "10", "--seed", "1"
        )
    user_model = get_user_model()
    if not user_model.objects.filter(username=ADMIN).exists():
        user_model.objects.create_user(username=ADMIN, password=PASSWORD, role="admin")
    answer = Client().post("/api/v1/auth/token/", {"username": ADMIN, "password": PASSWORD})
    if answer.status_code != 200:
        raise SystemExit(f"sign-in failed: {answer.status_code} {answer.content[:200]!r}")
    learner = Learner.objects.order_by("external_id", "id").first()
    assert learner is not None
    return answer.json()["access"], str(learner.pk)


def _measure(
    get: Callable[[], Any], *, requests: int, profile: cProfile.Profile | None
) -> dict[str, Any]:
    from django.db import connection

    for _ in range(20):
        status = get().status_code
    queries: list[str] = []

    def counted(execute: Callable[..., Any], sql: str, *args: Any) -> Any:
        queries.append(sql)
        return execute(sql, *args)

    round_trips = RedisRoundTrips()
    # Not CaptureQueriesContext: the request_started signal empties the log it reads.
    with connection.execute_wrapper(counted), round_trips.counting():
        get()
    started_cpu, started = time.process_time(), time.perf_counter()
    if profile is not None:
        profile.enable()
    for _ in range(requests):
        get()
    if profile is not None:
        profile.disable()
    cpu, wall = time.process_time() - started_cpu, time.perf_counter() - started
    return {
        "status": status,
        "queries": len(queries),
        "redis_round_trips": round_trips.count,
        "cpu_ms_per_request": round(cpu / requests * 1000, 3),
        "wall_ms_per_request": round(wall / requests * 1000, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL)
    parser.add_argument("--profile", choices=["bare", "healthz", "detail", "cohorts"])
    parser.add_argument("--profile-out", type=Path, default=Path("request_overhead_profile.txt"))
    parser.add_argument("--json-out", type=Path)
    scratch_arguments(parser, default="h_overhead_bench")
    args = parser.parse_args()
    if not args.reuse_db:
        admin_execute(f"DROP DATABASE IF EXISTS {args.database} WITH (FORCE)")
        admin_execute(f"CREATE DATABASE {args.database}")
    _environment(args.database, args.redis_url)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    import logging

    from django.core.cache import cache
    from django.db import connections
    from django.test import Client, override_settings

    # The request log is part of the cost; its lines go nowhere so the terminal stays readable.
    discarded = open(os.devnull, "w")  # noqa: SIM115 - open until the process ends
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(discarded)
    cache.clear()
    access, learner = _prepare()
    client = Client(HTTP_AUTHORIZATION=f"Bearer {access}")
    paths = {
        "bare": "/bare",
        "healthz": "/healthz",
        "detail": f"/api/v1/learners/{learner}/",
        "cohorts": "/api/v1/cohorts/",
    }
    results: dict[str, Any] = {}
    for name, path in paths.items():
        # CPU time per function: waits on PostgreSQL and Redis show as round trips, not here.
        profile = cProfile.Profile(time.process_time) if args.profile == name else None
        # The bare view: no middleware, this module's URLconf, a client built under them.
        bare = name == "bare"
        with (
            override_settings(MIDDLEWARE=[], ROOT_URLCONF="request_overhead")
            if bare
            else nullcontext()
        ):
            get = functools.partial((Client() if bare else client).get, path)
            with OtherCpu() as other:
                results[name] = _measure(get, requests=args.requests, profile=profile)
        results[name]["other_cpu_share"] = other.share
        if profile is not None:
            profile.dump_stats(args.profile_out.with_suffix(".prof"))
            with args.profile_out.open("w") as out:
                pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(80)
        print(name, results[name], flush=True)
    report = {
        "script": "request_overhead",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "git_revision": git_revision(),
        "requests": args.requests,
        "paths": results,
    }
    print(json.dumps(report, indent=2))
    if args.json_out:
        args.json_out.write_text(json.dumps(report, indent=2) + "\n")
    connections.close_all()
    if not args.keep_db:
        admin_execute(f"DROP DATABASE IF EXISTS {args.database} WITH (FORCE)")


if __name__ == "__main__":
    main()
