"""Ingestion throughput on PostgreSQL, measured end to end on a fresh scratch database.

Three figures: learners imported per second (``manage.py import_learners``), activity events
accepted per second through ``POST /api/v1/events/`` served by gunicorn, and activity rows
imported per second (``manage.py import_activity``). Input data is generated (seeded, so runs
are repeatable) and written or serialised before any clock starts. Only 127.0.0.1 is used, and
only the scratch database (``--database``, default ``lep_bench``) is created and dropped.

Run from the project root (see benchmarks/README.md for what each figure means)::

    .venv/bin/python benchmarks/ingest_throughput.py --learners 20000 --api-events 200000 \
        --csv-rows 1000000 --workers 2 --json-out benchmarks/results/ingest_throughput.json

Two sync workers are the default: on two cores they beat three or four sync workers and every
gthread layout tried (see the README), because more concurrent batches mostly wait on each
other's row locks on the learners they touch.
"""

from __future__ import annotations

import argparse
import base64
import csv
import json
import os
import queue
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unicodedata
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, LiteralString

import psycopg
import requests
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
HOST = "127.0.0.1"
SERVER_URL = f"postgres://postgres@{HOST}:5432"
# The scratch database: ``--database`` sets it once, before anything connects (engineers sharing
# one server each use their own).
DATABASE = "lep_bench"
SOURCE = "bench-lms"
BATCH_SIZE = 5000
COHORTS = 24
USERNAME = "bench"
PASSWORD = "bench-password-not-secret"  # noqa: S105 - throwaway user in a scratch database
# Throwaway personal-data keys: the learners exist only in the scratch database.
FIELD_ENCRYPTION_KEY = base64.urlsafe_b64encode(b"lep-benchmark-only-field-key-000").decode()
# As the TLS-terminating proxy in front of gunicorn would say (production keeps SSL redirects on).
PROXY_HEADERS = {"X-Forwarded-Proto": "https"}
REQUEST_TIMEOUT = 120.0
API_DEADLINE = 1800.0
COMMAND_TIMEOUT = 3600.0
TARGET_API_EVENTS_PER_S = 10_000
TARGET_CSV_ROWS_PER_S = 50_000
HISTORY = timedelta(days=180)

# Relative frequencies of event kinds in a typical LMS feed, and what each kind carries.
KIND_WEIGHTS = {
    "login": 20,
    "content_view": 30,
    "video_watched": 15,
    "lesson_completed": 12,
    "assessment_started": 5,
    "assessment_submitted": 5,
    "assessment_passed": 4,
    "assessment_failed": 2,
    "forum_post": 7,
}
TIMED_KINDS = {"content_view", "video_watched", "lesson_completed", "assessment_submitted"}
SCORED_KINDS = {"assessment_submitted", "assessment_passed", "assessment_failed"}
DEVICES = ("web", "ios", "android")
ACTIVITY_COLUMNS = (
    "learner_external_id",
    "source",
    "kind",
    "occurred_at",
    "duration_seconds",
    "score",
    "source_event_id",
)
LEARNER_COLUMNS = ("external_id", "source", "cohort", "name", "email", "enrolled_at", "status")
FIRST_NAMES = ("Ada", "Ben", "Chloé", "Dev", "Emeka", "Fatima", "Goran", "Hana", "Ines", "Jun")
LAST_NAMES = ("Okafor", "Nguyen", "Schmidt", "García", "Kowalski", "Haddad", "Silva", "Tanaka")


@dataclass
class Results:
    """Everything printed at the end and written with ``--json-out``."""

    machine: dict[str, Any] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)
    figures: dict[str, Any] = field(default_factory=dict)
    checks: dict[str, Any] = field(default_factory=dict)


# Scratch database and subprocesses ----------------------------------------------------------


def admin_execute(statement: LiteralString) -> None:
    """Run DDL on the scratch database from the maintenance database ``postgres``."""
    query = sql.SQL(statement).format(sql.Identifier(DATABASE))
    with psycopg.connect(f"{SERVER_URL}/postgres", autocommit=True) as connection:
        connection.execute(query)


def database_recreate() -> None:
    database_drop()
    admin_execute("CREATE DATABASE {}")


def database_drop() -> None:
    admin_execute("DROP DATABASE IF EXISTS {} WITH (FORCE)")


def scalar(query: LiteralString) -> Any:
    with psycopg.connect(f"{SERVER_URL}/{DATABASE}") as connection:
        row = connection.execute(query).fetchone()
    return row[0] if row else None


def django_env() -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": f"{SERVER_URL}/{DATABASE}",
        "SECRET_KEY": "lep-benchmark-only-secret-key-not-used-anywhere-else",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DEBUG": "false",
        "JWT_ACCESS_MINUTES": "120",
        "LOG_LEVEL": "WARNING",
        "DJANGO_SUPERUSER_PASSWORD": PASSWORD,
        "FIELD_ENCRYPTION_KEYS": FIELD_ENCRYPTION_KEY,
        "FIELD_HASH_KEY": "lep-benchmark-only-hash-key",
        # Background tasks are queued, as a deployment hands them to Celery workers: without a
        # broker they would run eagerly inside the request (each batch rescoring its learners).
        "CELERY_TASK_ALWAYS_EAGER": "false",
    }


def manage(*args: str) -> tuple[float, str]:
    """Run ``manage.py`` with the benchmark environment; returns (wall seconds, stdout)."""
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=django_env(),
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )
    seconds = time.perf_counter() - started
    if completed.returncode != 0:
        sys.exit(f"manage.py {args[0]} failed:\n{completed.stdout}\n{completed.stderr}")
    return seconds, completed.stdout.strip()


# Interference from other work on the machine -----------------------------------------------


def process_table() -> dict[int, tuple[int, str, int]]:
    """Every process as ``pid -> (parent pid, command name, CPU jiffies used so far)``."""
    table: dict[int, tuple[int, str, int]] = {}
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text() if entry.name.isdigit() else ""
        except OSError:  # the process ended meanwhile
            continue
        if stat:
            name = stat[stat.index("(") + 1 : stat.rindex(")")]
            fields = stat[stat.rindex(")") + 2 :].split()
            table[int(entry.name)] = (int(fields[1]), name, int(fields[11]) + int(fields[12]))
    return table


class OtherCpu:
    """Share of all CPUs that processes other than ours and PostgreSQL's used during a phase.

    On a shared machine other work skews every figure, so each phase reports it. Processes are
    sampled twice a second; one that starts and ends between two samples goes unseen.
    """

    interval = 0.5

    def __init__(self, database: str | None = None) -> None:
        self.baseline: dict[int, int] = {}
        self.latest: dict[int, tuple[int, str, int]] = {}
        self.share = 0.0
        # With ``database``: CPU seconds of the server side (our child processes and the
        # PostgreSQL backends serving that database), which contention disturbs less than rates.
        self.database = database
        self.server_seconds = 0.0
        self._started = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> OtherCpu:
        self.latest = process_table()
        self.baseline = {pid: jiffies for pid, (_, _, jiffies) in self.latest.items()}
        self._started = time.perf_counter()
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()
        self.latest.update(process_table())
        seconds = time.perf_counter() - self._started
        used = sum(
            jiffies - self.baseline.get(pid, 0)
            for pid, (_, name, jiffies) in self.latest.items()
            if name != "postgres" and not self._ours(pid)
        )
        capacity = seconds * os.sysconf("SC_CLK_TCK") * len(os.sched_getaffinity(0))
        self.share = round(used / capacity, 2)
        if self.database:
            server = sum(
                jiffies - self.baseline.get(pid, 0)
                for pid, (_, name, jiffies) in self.latest.items()
                if (name != "postgres" and pid != os.getpid() and self._ours(pid))
                or (name == "postgres" and self._serves(pid))
            )
            self.server_seconds = round(server / os.sysconf("SC_CLK_TCK"), 2)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.latest.update(process_table())

    def _serves(self, pid: int) -> bool:
        """A PostgreSQL backend connected to our database (its title names the database)."""
        try:
            title = (Path("/proc") / str(pid) / "cmdline").read_bytes().decode(errors="replace")
        except OSError:  # ended meanwhile: its CPU is lost to this measure
            return False
        return f" {self.database} " in title

    def _ours(self, pid: int) -> bool:
        """This process or a descendant (gunicorn and its workers, manage.py commands)."""
        for _ in range(64):
            if pid == os.getpid():
                return True
            if pid not in self.latest or pid <= 1:
                return False
            pid = self.latest[pid][0]
        return False


# Generated data -----------------------------------------------------------------------------


def external_id(index: int) -> str:
    return f"L{index:07d}"


def ascii_email(first: str, last: str, index: int) -> str:
    """Accents folded: the learner email rule takes ASCII local parts only."""
    local = unicodedata.normalize("NFKD", f"{first}.{last}.{index}").encode("ascii", "ignore")
    return f"{local.decode().lower()}@example.org"


def write_learners_csv(path: Path, *, count: int, rng: random.Random, now: datetime) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(LEARNER_COLUMNS)
        for index in range(count):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            enrolled = now - HISTORY - timedelta(days=rng.randrange(60))
            writer.writerow(
                (
                    external_id(index),
                    SOURCE,
                    f"Bench cohort {index % COHORTS:02d}",
                    f"{first} {last}",
                    ascii_email(first, last, index),
                    enrolled.date().isoformat(),
                    rng.choices(("active", "paused", "withdrawn"), weights=(90, 6, 4))[0],
                )
            )


def events(
    *, count: int, prefix: str, learners: int, rng: random.Random, now: datetime
) -> Iterator[dict[str, Any]]:
    """Plausible activity: weighted kinds, timestamps over the last 180 days, unique ids."""
    kinds, weights = list(KIND_WEIGHTS), list(KIND_WEIGHTS.values())
    history = int(HISTORY.total_seconds())
    for number in range(count):
        kind = rng.choices(kinds, weights)[0]
        yield {
            "learner_external_id": external_id(rng.randrange(learners)),
            "source": SOURCE,
            "source_event_id": f"{prefix}-{number:09d}",
            "kind": kind,
            "occurred_at": (now - timedelta(seconds=rng.randrange(history))).isoformat(),
            "duration_seconds": rng.randrange(5, 3600) if kind in TIMED_KINDS else None,
            "score": round(rng.random(), 3) if kind in SCORED_KINDS else None,
        }


def api_bodies(*, count: int, learners: int, rng: random.Random, now: datetime) -> list[bytes]:
    """The API batches, JSON-encoded up front so that client encoding is not timed."""
    bodies: list[bytes] = []
    batch: list[dict[str, Any]] = []
    for event in events(count=count, prefix="api", learners=learners, rng=rng, now=now):
        event["metadata"] = {"device": rng.choice(DEVICES), "course": f"C{rng.randrange(40):03d}"}
        batch.append(event)
        if len(batch) == BATCH_SIZE:
            bodies.append(json.dumps(batch).encode())
            batch = []
    if batch:
        bodies.append(json.dumps(batch).encode())
    return bodies


def write_activity_csv(
    path: Path, *, count: int, learners: int, rng: random.Random, now: datetime
) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=ACTIVITY_COLUMNS)
        writer.writeheader()
        writer.writerows(events(count=count, prefix="csv", learners=learners, rng=rng, now=now))


# The API under gunicorn ---------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def gunicorn_start(
    *, port: int, workers: int, worker_class: str, threads: int, log: Path
) -> subprocess.Popen[bytes]:
    command = [
        str(BIN / "gunicorn"),
        "engagement.wsgi",
        f"--bind={HOST}:{port}",
        f"--workers={workers}",
        f"--worker-class={worker_class}",
        f"--threads={threads}",
        "--timeout=120",
        "--graceful-timeout=30",
        "--no-control-socket",
    ]
    with log.open("wb") as handle:
        return subprocess.Popen(command, cwd=ROOT, env=django_env(), stdout=handle, stderr=handle)


def gunicorn_stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM is gunicorn's graceful shutdown; kill only if it does not finish in time."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=40)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def wait_healthy(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    for _ in range(120):
        if process.poll() is not None:
            sys.exit(f"gunicorn exited early:\n{log.read_text(errors='replace')}")
        try:
            answer = requests.get(
                f"{base}/healthz", headers=PROXY_HEADERS, timeout=2, allow_redirects=False
            )
            if answer.status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):  # workers still starting
            pass
        time.sleep(0.5)
    sys.exit(f"gunicorn did not become healthy:\n{log.read_text(errors='replace')}")


def obtain_token(base: str) -> str:
    response = requests.post(
        f"{base}/api/v1/auth/token/",
        json={"username": USERNAME, "password": PASSWORD},
        headers=PROXY_HEADERS,
        timeout=30,
        allow_redirects=False,
    )
    response.raise_for_status()
    return str(response.json()["access"])


def answer_body(response: requests.Response) -> dict[str, Any]:
    """The JSON answer, or the start of whatever else came back (an error page, say)."""
    try:
        body = response.json()
    except requests.JSONDecodeError:
        return {"non_json": response.text[:300]}
    return body if isinstance(body, dict) else {"non_object": str(body)[:300]}


def post_all(url: str, token: str, bodies: list[bytes], clients: int) -> tuple[float, list[Any]]:
    """POST every body from ``clients`` sessions; returns (wall seconds, answers).

    Sessions keep connections alive where the server allows it (gunicorn's sync workers close
    after each response; gthread workers keep them). The clock runs from just before the first
    request to the last response.
    """
    sessions: queue.Queue[requests.Session] = queue.Queue()
    headers = {
        **PROXY_HEADERS,
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
    }
    for _ in range(clients):
        session = requests.Session()
        session.headers.update(headers)
        sessions.put(session)
    deadline = time.monotonic() + API_DEADLINE

    def send(body: bytes) -> tuple[int, Any]:
        if time.monotonic() > deadline:
            raise TimeoutError(f"API phase exceeded {API_DEADLINE:.0f} s")
        session = sessions.get()
        try:
            response = session.post(url, data=body, timeout=REQUEST_TIMEOUT, allow_redirects=False)
            return response.status_code, answer_body(response)
        finally:
            sessions.put(session)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        answers = list(pool.map(send, bodies))
    seconds = time.perf_counter() - started
    while not sessions.empty():
        sessions.get().close()
    return seconds, answers


def check_answers(answers: list[tuple[int, Any]], sizes: list[int]) -> list[str]:
    """One line per batch that was not a 200 with every event accepted."""
    return [
        f"batch {number}: HTTP {status}, expected {size} accepted: {str(body)[:300]}"
        for number, ((status, body), size) in enumerate(zip(answers, sizes, strict=True))
        if status != 200 or body.get("accepted") != size or body.get("rejected")
    ]


def check_idempotent(url: str, token: str, body: bytes, size: int) -> list[str]:
    _, [(status, answer)] = post_all(url, token, [body], clients=1)
    if status != 200 or answer.get("accepted") != 0 or answer.get("duplicates") != size:
        return [f"re-sent batch: HTTP {status}, expected {size} duplicates: {str(answer)[:300]}"]
    return []


def fail_with_log(failures: list[str], log: Path) -> None:
    """Stop the run, showing what went wrong and the end of the server's log."""
    tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
    sys.exit("\n".join([*failures[:10], "--- gunicorn log (end) ---", tail]))


def api_phase(args: argparse.Namespace, bodies: list[bytes], workdir: Path) -> dict[str, Any]:
    """Serve with gunicorn, post every batch, verify, re-send one batch, stop gunicorn."""
    port = free_port()
    base = f"http://{HOST}:{port}"
    log = workdir / "gunicorn.log"
    process = gunicorn_start(
        port=port,
        workers=args.workers,
        worker_class=args.worker_class,
        threads=args.threads,
        log=log,
    )
    try:
        wait_healthy(base, process, log)
        token = obtain_token(base)
        url = f"{base}/api/v1/events/"
        with OtherCpu(DATABASE) as other:
            seconds, answers = post_all(url, token, bodies, args.clients)
        sizes = [min(BATCH_SIZE, args.api_events - i * BATCH_SIZE) for i in range(len(bodies))]
        failures = check_answers(answers, sizes) or check_idempotent(
            url, token, bodies[0], sizes[0]
        )
    finally:
        gunicorn_stop(process)
    if failures:
        fail_with_log(failures, log)
    return {
        "events": args.api_events,
        "batches": len(bodies),
        "seconds": round(seconds, 3),
        "events_per_s": round(args.api_events / seconds),
        "other_cpu": other.share,
        "server_cpu_seconds": other.server_seconds,
        "server_cpu_us_per_event": round(other.server_seconds * 1e6 / args.api_events, 1),
        "idempotent_resend": {"status": 200, "accepted": 0, "duplicates": sizes[0]},
    }


# Phases -------------------------------------------------------------------------------------


def learners_phase(args: argparse.Namespace, workdir: Path, rng: random.Random) -> dict[str, Any]:
    path = workdir / "learners.csv"
    write_learners_csv(path, count=args.learners, rng=rng, now=datetime.now(UTC))
    with OtherCpu() as other:
        seconds, output = manage("import_learners", str(path))
    stored = scalar("SELECT count(*) FROM learners_learner")
    if stored != args.learners:
        sys.exit(f"expected {args.learners} learners, found {stored}: {output}")
    return {
        "rows": args.learners,
        "seconds": round(seconds, 3),
        "rows_per_s": round(args.learners / seconds),
        "other_cpu": other.share,
        "command_output": output,
    }


def csv_phase(args: argparse.Namespace, workdir: Path, rng: random.Random) -> dict[str, Any]:
    path = workdir / "activity.csv"
    write_activity_csv(
        path, count=args.csv_rows, learners=args.learners, rng=rng, now=datetime.now(UTC)
    )
    with OtherCpu() as other:
        seconds, output = manage("import_activity", str(path))
    return {
        "rows": args.csv_rows,
        "file_mib": round(path.stat().st_size / 2**20, 1),
        "seconds": round(seconds, 3),
        "rows_per_s": round(args.csv_rows / seconds),
        "other_cpu": other.share,
        "command_output": output,
    }


def verify_counts(args: argparse.Namespace) -> dict[str, Any]:
    expected = args.api_events + args.csv_rows
    stored = scalar("SELECT count(*) FROM learners_activityevent")
    active = scalar("SELECT count(*) FROM learners_learner WHERE last_active_at IS NOT NULL")
    if stored != expected:
        sys.exit(f"expected {expected} events in the database, found {stored}")
    return {"events_stored": stored, "events_expected": expected, "learners_with_activity": active}


# Report -------------------------------------------------------------------------------------


def cpuinfo_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def memory_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return round(int(line.split()[1]) / 2**20, 1)
    return 0.0


def git(*args: str) -> str:
    completed = subprocess.run(
        ["git", *args], cwd=ROOT, capture_output=True, text=True, check=False, timeout=10
    )
    return completed.stdout.strip()


def git_revision() -> str:
    """The commit measured, marked ``+dirty`` when the working tree has uncommitted changes."""
    revision = git("rev-parse", "--short", "HEAD") or "unknown"
    return f"{revision}+dirty" if git("status", "--porcelain", "--untracked-files=no") else revision


def machine() -> dict[str, Any]:
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "nproc": len(os.sched_getaffinity(0)),
        "memory_gib": memory_gib(),
        "cpu": cpuinfo_model(),
        "postgresql": scalar("SHOW server_version"),
        "python": sys.version.split()[0],
        "git": git_revision(),
    }


def figure_line(label: str, figure: dict[str, Any], *, count: str, rate: str, target: int) -> str:
    verdict = ""
    if target:
        verdict = f"  {'meets' if figure[rate] >= target else 'MISSES'} target {target:,}"
    return (
        f"  {label:<13} {figure[count]:>9,} in {figure['seconds']:>7.2f} s = "
        f"{figure[rate]:>7,} {rate.removesuffix('_per_s')}/s"
        f"  (other CPU {figure['other_cpu']:.0%}){verdict}"
    )


def print_results(results: Results) -> None:
    figures = results.figures
    lines = [
        "=" * 78,
        "Ingestion throughput",
        *(f"  {name:<13} {value}" for name, value in results.machine.items()),
        *(f"  {name:<13} {value}" for name, value in results.parameters.items()),
        "-" * 78,
        figure_line(
            "learners CSV", figures["csv_learners"], count="rows", rate="rows_per_s", target=0
        ),
        figure_line(
            "events API",
            figures["api"],
            count="events",
            rate="events_per_s",
            target=TARGET_API_EVENTS_PER_S,
        ),
        figure_line(
            "activity CSV",
            figures["csv_activity"],
            count="rows",
            rate="rows_per_s",
            target=TARGET_CSV_ROWS_PER_S,
        ),
        "-" * 78,
        f"  API server CPU {figures['api']['server_cpu_us_per_event']} µs per event "
        "(gunicorn workers and the database's PostgreSQL backends)",
        f"  re-sent batch {figures['api']['idempotent_resend']}",
        f"  database      {results.checks}",
        f"  commands      {figures['csv_learners']['command_output']}",
        f"                {figures['csv_activity']['command_output']}",
        "=" * 78,
    ]
    print("\n".join(lines))


# Entry point --------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--learners", type=int, default=20_000)
    parser.add_argument("--api-events", type=int, default=200_000)
    parser.add_argument("--csv-rows", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--worker-class", choices=("sync", "gthread"), default="sync")
    parser.add_argument("--threads", type=int, default=1, help="threads per gthread worker")
    parser.add_argument("--clients", type=int, default=0, help="client threads (default: workers)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json-out", type=Path, help="also write the results as JSON here")
    parser.add_argument("--keep-db", action="store_true", help="keep the scratch database")
    parser.add_argument(
        "--database", default=DATABASE, help="the scratch database (dropped unless --keep-db)"
    )
    args = parser.parse_args()
    args.clients = args.clients or args.workers
    if min(args.learners, args.api_events, args.csv_rows, args.workers, args.clients) < 1:
        parser.error("counts, workers and clients must be positive")
    return args


def run(args: argparse.Namespace, workdir: Path) -> Results:
    rng = random.Random(args.seed)
    results = Results(parameters={k: str(v) for k, v in vars(args).items() if k != "json_out"})
    print(f"Creating {DATABASE} and migrating ...", flush=True)
    database_recreate()
    manage("migrate", "--noinput")
    manage("createsuperuser", "--noinput", f"--username={USERNAME}", "--email=bench@example.org")
    results.machine = machine()
    print(f"Importing {args.learners:,} learners ...", flush=True)
    results.figures["csv_learners"] = learners_phase(args, workdir, rng)
    bodies = api_bodies(
        count=args.api_events, learners=args.learners, rng=rng, now=datetime.now(UTC)
    )
    print(f"Posting {args.api_events:,} events in {len(bodies)} batches ...", flush=True)
    results.figures["api"] = api_phase(args, bodies, workdir)
    del bodies
    print(f"Writing and importing {args.csv_rows:,} activity rows ...", flush=True)
    results.figures["csv_activity"] = csv_phase(args, workdir, rng)
    results.checks = verify_counts(args)
    return results


def main() -> None:
    global DATABASE  # set once from the command line, before any connection
    args = parse_args()
    DATABASE = args.database
    try:
        with tempfile.TemporaryDirectory(prefix="lep-bench-") as workdir:
            results = run(args, Path(workdir))
    finally:
        if not args.keep_db:
            database_drop()
    print_results(results)
    if args.json_out:
        args.json_out.write_text(json.dumps(asdict(results), indent=2) + "\n")


if __name__ == "__main__":
    main()
