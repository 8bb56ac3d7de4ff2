"""Full rescore on PostgreSQL: 100,000 learners and about 5.8 million events, against floors.

The read floor is one bare aggregate over the same events (count and latest time per learner),
the least any scoring that reads every event must do. The write floor is the least any rescore
that keeps history must write: one bare INSERT of an assessment row per learner and one UPDATE
of every learner's current risk (foreign keys checked), in a transaction that is rolled back.

The script seeds a scratch database with ``seed_demo`` (kept with ``--keep-db`` for repeated
runs), marks every learner active so that all of them are scored, runs a first rescore (every
learner new, an alert for each high one), then times both floors and a second ``manage.py
rescore`` end to end (process start, features, scoring, assessment inserts, current-risk
updates): the steady daily run. Only 127.0.0.1 is used, and only the scratch database is
created and dropped.

    .venv/bin/python benchmarks/rescore.py --learners 100000 --days 365 [--keep-db] [--reuse-db]
        [--database NAME] [--json-out FILE]

The tables a rescore writes are vacuumed (not timed) before the read floor and again before
the rescore, as autovacuum would in production (it is off on this machine). Each timed phase
reports the share of the machine's CPUs that other processes used meanwhile
(``OtherCpu``), and the rescore its own CPU seconds.
"""

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from ingest_throughput import OtherCpu
from scratch_db import SERVER, admin_execute, scalars, scratch_arguments

ROOT = Path(__file__).resolve().parent.parent
DATABASE = "lep_rescore_bench"  # the scratch database unless --database names another


def _env(database: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": f"{SERVER}/{database}",
        "DEBUG": "true",
        "SECURE_SSL_REDIRECT": "false",
    }


def _manage(database: str, *args: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=_env(database), check=True)
    return time.perf_counter() - started


def _children_cpu() -> float:
    """CPU seconds (user and system) of the finished child processes so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _prepare(database: str, learners: int, days: int) -> float:
    admin_execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
    admin_execute(f"CREATE DATABASE {database}")
    _manage(database, "migrate", "-v0")
    seconds = _manage(
        database,
        "seed_demo",
        "--cohorts",
        "12",
        "--learners",
        str(learners),
        "--days",
        str(days),
        "--seed",
        "1",
        "--today",
        datetime.now(UTC).date().isoformat(),
    )
    with psycopg.connect(f"{SERVER}/{database}", autocommit=True) as connection:
        connection.execute("UPDATE learners_learner SET status = 'active', finished_at = NULL")
        connection.execute("VACUUM ANALYZE")
    return seconds


def _floor(database: str) -> tuple[float, int]:
    with psycopg.connect(f"{SERVER}/{database}") as connection:
        started = time.perf_counter()
        rows = connection.execute(
            "SELECT learner_id, count(*), max(occurred_at) FROM learners_activityevent GROUP BY learner_id"
        ).fetchall()
        return time.perf_counter() - started, len(rows)


WRITE_FLOOR = (
    "INSERT INTO learners_riskassessment "
    "(id, learner_id, model_id, as_of, score, band, factors, features, computed_at) "
    "SELECT gen_random_uuid(), l.id, m.id, now(), 0.5, 'medium', '[]', '{}', now() "
    "FROM learners_learner l CROSS JOIN (SELECT id FROM learners_riskmodel LIMIT 1) m",
    "UPDATE learners_learner SET risk_score = 0.5, risk_band = 'medium', "
    "risk_scored_at = now(), risk_stale = false",
    "SET CONSTRAINTS ALL IMMEDIATE",
)


def _write_floor(database: str) -> float:
    with psycopg.connect(f"{SERVER}/{database}") as connection:
        started = time.perf_counter()
        for statement in WRITE_FLOOR:
            connection.execute(statement)
        seconds = time.perf_counter() - started
        connection.rollback()
        return seconds


# What a rescore and the write floor rewrite. Autovacuum is off on this machine's PostgreSQL, so
# without this each run on a kept database finds 100,000 more dead learner rows (and index
# entries) than the one before, and the figures drift with the number of runs.
VACUUMED = ("learners_learner", "learners_riskassessment", "learners_riskalert")


def _vacuum(database: str) -> None:
    with psycopg.connect(f"{SERVER}/{database}", autocommit=True) as connection:
        connection.execute(f"VACUUM ANALYZE {', '.join(VACUUMED)}")


def _counts(database: str) -> dict[str, int]:
    queries = {
        "learners": "SELECT count(*) FROM learners_learner",
        "events": "SELECT count(*) FROM learners_activityevent",
        "scored": "SELECT count(*) FROM learners_learner WHERE risk_score IS NOT NULL",
    }
    return scalars(database, queries)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--json-out", type=Path, help="Also write the results as JSON here.")
    scratch_arguments(parser, default=DATABASE)
    options = parser.parse_args()
    database = options.database
    seeding = None if options.reuse_db else _prepare(database, options.learners, options.days)
    # The first scoring of a fresh database also queues an alert for every learner who is high;
    # the figure compared with the floors is the next run, the steady daily rescore.
    first_seconds = None if options.reuse_db else _manage(database, "rescore")
    _vacuum(database)
    with OtherCpu() as floor_other:
        floor_seconds, floor_rows = _floor(database)
    with OtherCpu() as write_floor_other:
        write_floor_seconds = _write_floor(database)
    _vacuum(database)  # the write floor's rolled-back rows
    cpu_before = _children_cpu()
    with OtherCpu() as rescore_other:
        rescore_seconds = _manage(database, "rescore")
    rescore_cpu = _children_cpu() - cpu_before
    results = {
        "date": datetime.now(UTC).date().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        **_counts(database),
        "seed_seconds": None if seeding is None else round(seeding, 1),
        "floor_seconds": round(floor_seconds, 2),
        "floor_rows": floor_rows,
        "write_floor_seconds": round(write_floor_seconds, 2),
        "first_rescore_seconds": None if first_seconds is None else round(first_seconds, 2),
        "rescore_seconds": round(rescore_seconds, 2),
        # The rescore process's own CPU (Python; PostgreSQL's work is not in it).
        "rescore_cpu_seconds": round(rescore_cpu, 2),
        # Share of all CPUs that other processes (neither ours nor PostgreSQL) used meanwhile.
        "other_cpu_share": {
            "read_floor": floor_other.share,
            "write_floor": write_floor_other.share,
            "rescore": rescore_other.share,
        },
        "ratio_to_floor": round(rescore_seconds / floor_seconds, 2),
        "ratio_to_read_and_write_floors": round(
            rescore_seconds / (floor_seconds + write_floor_seconds), 2
        ),
    }
    print(json.dumps(results, indent=2))
    if options.json_out:
        options.json_out.write_text(json.dumps(results, indent=2) + "\n")
    if not options.keep_db:
        admin_execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")


if __name__ == "__main__":
    main()
