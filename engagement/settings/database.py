"""The database: SQLite (WAL) by default, PostgreSQL with a connection pool through ``DATABASE_URL``;
optionally a read replica through ``DATABASE_REPLICA_URL``."""

import warnings
from typing import Any

import environ
from django.core.exceptions import ImproperlyConfigured

from engagement.settings.base import BASE_DIR, env

DATABASE_ENGINES = ("django.db.backends.sqlite3", "django.db.backends.postgresql")


def _database_url_config(url: str) -> dict[str, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # an unknown scheme is reported below, in one line
        database: dict[str, Any] = environ.Env.db_url_config(url)
    if database.get("ENGINE") not in DATABASE_ENGINES:
        raise ValueError(url)
    return database


def _pool() -> dict[str, int]:
    pool = {
        "min_size": env.int("DATABASE_POOL_MIN_SIZE", default=2),
        "max_size": env.int("DATABASE_POOL_MAX_SIZE", default=10, minimum=1),
        "timeout": env.int("DATABASE_POOL_TIMEOUT", default=10, minimum=1),
    }
    if pool["min_size"] > pool["max_size"]:
        raise ImproperlyConfigured("DATABASE_POOL_MIN_SIZE must be at most DATABASE_POOL_MAX_SIZE.")
    return pool


def _database(*, variable: str, default: str) -> dict[str, Any]:
    """SQLite in WAL mode by default; PostgreSQL through Django's psycopg 3 pool when configured.

    With the pool on, Django requires ``CONN_MAX_AGE`` = 0 (the pool keeps connections instead);
    without it, ``CONN_MAX_AGE`` keeps each connection for that many seconds.
    """
    database = env.url_config(
        variable,
        parse=_database_url_config,
        default=default,
        example="postgres://user:password@host:5432/name or sqlite:////path/db.sqlite3",
    )
    database["CONN_HEALTH_CHECKS"] = env.bool("CONN_HEALTH_CHECKS", default=True)
    if database["ENGINE"] == "django.db.backends.sqlite3":
        database["OPTIONS"] = {
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;"
            ),
            "transaction_mode": "IMMEDIATE",
        }
    elif env.bool("DATABASE_POOL", default=True):
        database["CONN_MAX_AGE"] = 0
        # Added beside the URL's own options (``?sslmode=require`` and other libpq parameters).
        database.setdefault("OPTIONS", {})["pool"] = _pool()
    else:
        database["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
    return database


DATABASES = {
    "default": _database(variable="DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
}
# An optional read replica for lists and analytics (engagement/db_routing.py). In tests it is a
# mirror of the test database: the same rows, reached through a second connection.
if env.str("DATABASE_REPLICA_URL", default=""):
    DATABASES["replica"] = {
        **_database(variable="DATABASE_REPLICA_URL", default=""),
        "TEST": {"MIRROR": "default"},
    }
DATABASE_ROUTERS = ["engagement.db_routing.PrimaryReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
