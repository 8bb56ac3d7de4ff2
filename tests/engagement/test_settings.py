"""Settings come from the environment; production refuses to start half-configured."""

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import environ
import pytest
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured

from engagement.environment import Environment
from engagement.settings import database as database_settings

ROOT = Path(__file__).resolve().parents[2]


def load_settings(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        key: value
        for key, value in os.environ.items()
        if key
        not in {"SECRET_KEY", "ALLOWED_HOSTS", "DEBUG", "FIELD_ENCRYPTION_KEYS", "FIELD_HASH_KEY"}
    }
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import engagement.settings as s; print(s.DATABASES['default']['ENGINE'])",
        ],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_production_without_secret_key_or_hosts_stops_with_a_clear_message() -> None:
    result = load_settings(DEBUG="false")
    assert result.returncode != 0
    assert (
        "SECRET_KEY, ALLOWED_HOSTS, FIELD_ENCRYPTION_KEYS, FIELD_HASH_KEY must be set when DEBUG is off"
        in result.stderr
    )


def test_production_with_every_secret_starts() -> None:
    result = load_settings(
        DEBUG="false",
        SECRET_KEY="x" * 50,
        ALLOWED_HOSTS="example.org",
        FIELD_ENCRYPTION_KEYS="M9OjwKiOvUHwsfsFcCg44kXmVrsaO8JwWhe-K5wBI-I=",
        FIELD_HASH_KEY="k" * 32,
        DATABASE_URL="",
    )
    assert result.returncode == 0, result.stderr


def test_debug_defaults_need_nothing() -> None:
    result = load_settings(DEBUG="true", DATABASE_URL="sqlite:////tmp/lep-settings-test.sqlite3")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "django_prometheus.db.backends.sqlite3"  # instrumented


def test_sqlite_runs_in_wal_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "sqlite:////tmp/x.sqlite3")
    database = database_settings._database(variable="DATABASE_URL", default="")
    assert "journal_mode=WAL" in database["OPTIONS"]["init_command"]


def test_postgres_url_switches_to_the_connection_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgres://app@db.internal:5432/engagement")
    monkeypatch.setenv("DATABASE_POOL_MAX_SIZE", "20")
    database = database_settings._database(variable="DATABASE_URL", default="")
    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert database["OPTIONS"]["pool"]["max_size"] == 20
    assert database["CONN_MAX_AGE"] == 0
    assert database["CONN_HEALTH_CHECKS"] is True


def test_without_the_pool_connections_live_conn_max_age(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgres://app@db.internal:5432/engagement")
    monkeypatch.setenv("DATABASE_POOL", "false")
    monkeypatch.setenv("CONN_MAX_AGE", "60")
    monkeypatch.setenv("CONN_HEALTH_CHECKS", "false")
    database = database_settings._database(variable="DATABASE_URL", default="")
    assert "pool" not in database.get("OPTIONS", {})
    assert (database["CONN_MAX_AGE"], database["CONN_HEALTH_CHECKS"]) == (60, False)


def test_a_pool_whose_minimum_exceeds_its_maximum_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgres://app@db.internal:5432/engagement")
    monkeypatch.setenv("DATABASE_POOL_MIN_SIZE", "5")
    monkeypatch.setenv("DATABASE_POOL_MAX_SIZE", "4")
    with pytest.raises(ImproperlyConfigured, match="DATABASE_POOL_MIN_SIZE must be at most"):
        database_settings._database(variable="DATABASE_URL", default="")


@pytest.mark.parametrize("pool", ["true", "false"])
def test_postgres_url_can_require_tls(monkeypatch: pytest.MonkeyPatch, pool: str) -> None:
    monkeypatch.setenv(
        "DATABASE_URL",
        "postgres://app@db.internal:5432/engagement?sslmode=verify-full&sslrootcert=/etc/ca.pem",
    )
    monkeypatch.setenv("DATABASE_POOL", pool)
    options = database_settings._database(variable="DATABASE_URL", default="")["OPTIONS"]
    assert options["sslmode"] == "verify-full"
    assert options["sslrootcert"] == "/etc/ca.pem"
    assert ("pool" in options) is (pool == "true")


def test_redis_url_selects_django_redis() -> None:
    cache = environ.Env().cache_url_config("redis://127.0.0.1:6379/0")
    assert cache["BACKEND"] == "django_redis.cache.RedisCache"


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``python manage.py ...`` in a clean environment: only the interpreter's path and ``env``."""
    return subprocess.run(  # noqa: S603 - this interpreter, our manage.py, test arguments
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={"PATH": os.environ.get("PATH", ""), **env},
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize("command", [("migrate",), ("check",), ("rescore",), ("seed_demo",)])
def test_a_command_without_production_settings_names_them_in_one_line(
    command: tuple[str, ...],
) -> None:
    result = run_manage(*command)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        "error: SECRET_KEY, ALLOWED_HOSTS, FIELD_ENCRYPTION_KEYS, FIELD_HASH_KEY must be set "
        "when DEBUG is off (set DEBUG=true for local development; see README, Configuration)."
    ]


def test_a_command_names_only_the_settings_still_missing() -> None:
    result = run_manage("check", SECRET_KEY="x" * 50, ALLOWED_HOSTS="example.org")
    assert result.returncode == 2
    assert result.stderr.startswith("error: FIELD_ENCRYPTION_KEYS, FIELD_HASH_KEY must be set")
    assert len(result.stderr.splitlines()) == 1


PRODUCTION = {
    "SECRET_KEY": "x" * 50,
    "ALLOWED_HOSTS": "example.org",
    "FIELD_ENCRYPTION_KEYS": "M9OjwKiOvUHwsfsFcCg44kXmVrsaO8JwWhe-K5wBI-I=",
    "FIELD_HASH_KEY": "k" * 32,
}


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("JWT_ACCESS_MINUTES", "abc", "must be a whole number"),
        ("JWT_USER_CACHE_SECONDS", "-1", "must be a whole number of at least 0"),
        ("TRUSTED_PROXY_COUNT", "1.5", "must be a whole number"),
        ("TRUSTED_PROXY_COUNT", "-1", "must be a whole number of at least 0"),
        ("RISK_SELF_PACED_DAYS", "0", "must be a whole number of at least 1"),
        ("RISK_FEEDBACK_RISE", "nan", "must be a finite number of at least 0"),
        ("RISK_FEEDBACK_RISE", "-0.5", "must be a finite number of at least 0"),
        ("RISK_FEEDBACK_RISE", "abc", "must be a number"),
        ("READINESS_TIMEOUT", "0", "must be a finite number above 0"),
        ("READINESS_TIMEOUT", "-1", "must be a finite number above 0"),
        ("CACHE_SOCKET_TIMEOUT", "0", "must be a finite number above 0"),
        ("CACHE_SOCKET_TIMEOUT", "inf", "must be a finite number above 0"),
        ("RISK_FEEDBACK_RISE", "0.1x", "must be a number"),
        ("RISK_HIGH_BAND_CAPACITY", "0", "must be a number from above 0 to 1"),
        ("RISK_HIGH_BAND_CAPACITY", "1.5", "must be a number from above 0 to 1"),
        ("RISK_HIGH_BAND_MIN_PRECISION", "-0.1", "must be a number from 0 to 1"),
        ("RISK_MEDIUM_BAND_CAPACITY", "half", "must be a number"),
        ("DEBUG", "maybe", "must be true or false"),
        ("SECURE_COOKIES", "sometimes", "must be true or false"),
        ("CELERY_TASK_ALWAYS_EAGER", "x", "must be true or false"),
        ("DATABASE_URL", "foo", "must be a URL such as postgres://"),
        ("DATABASE_URL", "nope://host/db", "must be a URL such as postgres://"),
        ("CACHE_URL", "bogus://x", "must be a URL such as redis://"),
        ("REDIS_URL", "notaurl", "must be a URL such as redis://"),
        ("EMAIL_URL", "weird", "must be a URL such as smtp+tls://"),
        ("LOG_LEVEL", "LOUD", "must be one of CRITICAL, ERROR, WARNING, INFO, DEBUG"),
        ("THROTTLE_LOGIN", "abc", "must be a rate such as 60/min"),
        ("THROTTLE_PRINCIPAL", "ten/min", "must be a rate such as 60/min"),
        ("THROTTLE_INGEST", "abc", "must be a rate such as 60/min"),
        ("SITE_URL", "x", "must be an http(s) URL"),
        ("FIELD_ENCRYPTION_KEYS", "notakey", "key 1 is not a Fernet key"),
    ],
)
def test_a_malformed_variable_is_named_in_one_line(
    variable: str, value: str, expected: str
) -> None:
    result = run_manage("check", **{**PRODUCTION, variable: value})
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [result.stderr.strip()]
    assert result.stderr.startswith(f"error: {variable}")
    assert expected in result.stderr


def test_a_bad_encryption_key_is_named_by_position_without_echoing_a_secret() -> None:
    good = PRODUCTION["FIELD_ENCRYPTION_KEYS"]
    result = run_manage("rescore", **{**PRODUCTION, "FIELD_ENCRYPTION_KEYS": f"{good},secret-ish"})
    assert result.returncode == 2
    assert result.stderr.startswith("error: FIELD_ENCRYPTION_KEYS: key 2 is not a Fernet key")
    assert "secret-ish" not in result.stderr


@pytest.mark.parametrize(
    ("value", "expected"),
    [("true", True), (" Yes ", True), ("1", True), ("off", False), ("0", False)],
)
def test_booleans_read_the_usual_words(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: bool
) -> None:
    monkeypatch.setenv("SOME_FLAG", value)
    assert Environment().bool("SOME_FLAG", default=not expected) is expected


@pytest.mark.parametrize(
    ("broker", "quiet"), [("memory://", True), ("redis://127.0.0.1:6379/1", False)]
)
def test_in_process_task_lines_are_quiet_only_without_a_broker(broker: str, quiet: bool) -> None:
    """A command running its job in process prints its result, not Celery's per-task lines;
    a worker (a real broker) keeps them."""
    shown = subprocess.run(
        [
            sys.executable,
            "-c",
            "import engagement.settings as s; "
            "print(sorted(n for n in s.LOGGING['loggers'] if n.startswith(('celery', 'kombu'))))",
        ],
        cwd=ROOT,
        env={"PATH": os.environ.get("PATH", ""), "DEBUG": "true", "CELERY_BROKER_URL": broker},
        capture_output=True,
        text=True,
        check=True,
    )
    loggers = "['celery.app.trace', 'kombu.connection']" if quiet else "[]"
    assert shown.stdout.strip() == loggers


def variables_read(source: str) -> set[str]:
    """Environment variables named in ``source``: ``env.<cast>("NAME", ...)``,
    ``Environment().<cast>("NAME", ...)`` and ``variable="NAME"`` (an app's throttle rate)."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        receiver = getattr(node.func, "value", None)
        from_env = isinstance(receiver, ast.Name) and receiver.id == "env"
        from_env |= isinstance(receiver, ast.Call) and getattr(receiver.func, "id", None) == (
            "Environment"
        )
        first = node.args[0] if node.args else None
        if from_env and isinstance(first, ast.Constant) and isinstance(first.value, str):
            names.add(first.value)
        names |= {
            keyword.value.value
            for keyword in node.keywords
            if keyword.arg == "variable" and isinstance(keyword.value, ast.Constant)
        }
    return names


def test_the_readme_configuration_table_lists_every_variable_read() -> None:
    """Every variable the settings or an app reads has a row, and every row is read."""
    read = set()
    for config in apps.get_app_configs():
        if Path(config.path).parent == ROOT:
            for path in Path(config.path).rglob("*.py"):
                read |= variables_read(path.read_text())
    readme = (ROOT / "README.md").read_text().split("\n## Configuration\n", 1)[1]
    table = [line for line in readme.split("\n## ", 1)[0].splitlines() if line.startswith("| `")]
    documented = {name for row in table for name in re.findall(r"`(\w+)`", row.split("|")[1])}
    assert read, "no variables found: the pattern no longer matches the settings"
    assert documented == read


def test_variables_read_sees_every_way_of_reading_one() -> None:
    source = (
        'A = env.int("ONE", default=1)\n'
        'B = env.bool(\n    "TWO", default=True\n)\n'
        'registry.add_throttle_rate("x", variable="THREE", default="1/min")\n'
        'C = Environment().str("FOUR")\n'
        'os.environ.setdefault("DJANGO_SETTINGS_MODULE", "x")\n'
    )
    assert variables_read(source) == {"ONE", "TWO", "THREE", "FOUR"}


def test_python_warnings_are_logged_in_the_structured_format() -> None:
    result = run_manage(
        "shell",
        "-c",
        "import warnings; warnings.warn('probe warning')",
        LOG_FORMAT="json",
        **PRODUCTION,
    )
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if "probe warning" in line]
    assert lines, result.stderr
    assert all(json.loads(line)["logger"] == "py.warnings" for line in lines)
