"""Simulations on PostgreSQL: a what-if over every learner, a projection of 100,000 x 200 x 8.

Issue 15's targets: a what-if over 100,000 learners under 15 s, a projection of 100,000
learners x 200 runs x 8 weeks under 60 s, on this machine. The script builds a scratch database
as ``rescore.py`` does (``seed_demo``, every learner active, a first rescore), or reuses one
(``--reuse-db``; a copy of the prepared one is quick: ``CREATE DATABASE ... TEMPLATE
lep_perf_tpl``), migrates it, then times the kinds' own ``run`` functions in a child process
(no Celery, no HTTP): the zero-change what-if, a what-if with every kind of change, and the
projection. Each is timed from the call to its results, split at its first progress report
(the reads before it, the maths after). The projection starts at the latest live assessment's
time, so the recent activity it reads is the seeded one. Only 127.0.0.1 is used.

    .venv/bin/python benchmarks/simulations.py [--learners 100000] [--runs 200] [--weeks 8]
        [--keep-db] [--reuse-db] [--database NAME] [--json-out FILE]
"""

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ingest_throughput import OtherCpu
from rescore import _env, _manage, _prepare
from scratch_db import admin_execute, scalars, scratch_arguments

ROOT = Path(__file__).resolve().parent.parent
DATABASE = "lep_simulation_bench"
BENCH_USER = "simulation-bench"
EVERY_CHANGE = [
    {"kind": "activity_pct", "value": -50},
    {"kind": "no_activity_days", "value": 14},
    {"kind": "assessment_points", "value": -10},
    {"kind": "thresholds", "medium": 0.3, "high": 0.6},
]


def _timed(kind: Any, data: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    """One run of ``kind`` with ``data``: seconds in all, until the first progress report (the
    reads), CPU seconds of this process, other processes' CPU share, and the headline."""
    from simulation.kinds.base import RunContext

    serializer = kind.params(data=data, context={"actor": context["actor"]})
    serializer.is_valid(raise_exception=True)
    marks: list[float] = []
    run_context = RunContext(
        simulation_id=uuid.uuid4(),
        progress=lambda fraction: marks.append(time.perf_counter()),
        **context,
    )
    with OtherCpu() as other:
        cpu, started = time.process_time(), time.perf_counter()
        results = kind.run(serializer.validated_data, run_context)
        seconds = time.perf_counter() - started
        cpu_seconds = time.process_time() - cpu
    return {
        "params": data,
        "seconds": round(seconds, 2),
        "read_seconds": round(marks[0] - started, 2) if marks else None,
        "cpu_seconds": round(cpu_seconds, 2),
        "other_cpu_share": other.share,
        "headline": kind.headline(results),
    }


def child(options: argparse.Namespace) -> None:
    """In the platform's environment: time the kinds' runs; print the figures as JSON."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "engagement.settings")
    import django

    django.setup()
    from engagement.models import Role, User
    from learners import contracts
    from simulation.kinds import projection, what_if

    admin, _ = User.objects.get_or_create(
        username=BENCH_USER, defaults={"role": Role.ADMIN, "is_staff": True, "is_superuser": True}
    )
    spec = contracts.risk_model_spec()
    assert spec is not None, "no active risk model"
    context = {
        "actor": admin,
        "cohort_ids": None,
        "seed": 1,
        "model_version": spec.version,
        "now": datetime.fromisoformat(options.now),
    }
    figures = {
        "what_if_no_change": _timed(what_if.KIND, {"changes": []}, context),
        "what_if_every_change": _timed(what_if.KIND, {"changes": EVERY_CHANGE}, context),
        "projection": _timed(
            projection.KIND, {"runs": options.runs, "weeks": options.weeks}, context
        ),
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    print(json.dumps(figures))


def _facts(database: str) -> dict[str, Any]:
    queries = {
        "learners": "SELECT count(*) FROM learners_learner",
        "studying_scored": "SELECT count(*) FROM learners_learner "
        "WHERE status IN ('active', 'paused') AND risk_scored_at IS NOT NULL",
        "events": "SELECT count(*) FROM learners_activityevent",
        "latest_score": "SELECT max(risk_scored_at) FROM learners_learner",
    }
    return scalars(database, queries)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--weeks", type=int, default=8)
    parser.add_argument("--json-out", type=Path, help="Also write the results as JSON here.")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--now", help=argparse.SUPPRESS)
    scratch_arguments(parser, default=DATABASE)
    options = parser.parse_args()
    if options.child:
        child(options)
        return
    database = options.database
    if options.reuse_db:
        _manage(database, "migrate", "-v0")
    else:
        _prepare(database, options.learners, options.days)
        _manage(database, "rescore")
    facts = _facts(database)
    load_average = os.getloadavg()[0]
    output = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            "--database",
            database,
            "--runs",
            str(options.runs),
            "--weeks",
            str(options.weeks),
            "--now",
            facts["latest_score"].isoformat(),
        ],
        cwd=ROOT,
        env=_env(database),
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    results = {
        "date": datetime.now(UTC).date().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "load_average_before": load_average,
        **{name: value for name, value in facts.items() if name != "latest_score"},
        "projection_starts_at": facts["latest_score"].isoformat(),
        **json.loads(output.strip().splitlines()[-1]),
    }
    print(json.dumps(results, indent=2))
    if options.json_out:
        options.json_out.write_text(json.dumps(results, indent=2) + "\n")
    if not options.keep_db:
        admin_execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")


if __name__ == "__main__":
    main()
