"""The database: SQLite (WAL) by default, PostgreSQL with a connection pool through ``DATABASE_URL``."""

import warnings
from typing import Any

import environ

from engagement.settings.base import BASE_DIR, env

DATABASE_ENGINES = ("django.db.backends.sqlite3", "django.db.backends.postgresql")


def _database_url_config(url: str) -> dict[str, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # an unknown scheme is reported below, in one line
        database: dict[str, Any] = environ.Env.db_url_config(url)
    if database.get("ENGINE") not in DATABASE_ENGINES:
        raise ValueError(url)
    return database


def _database() -> dict[str, Any]:
    """SQLite in WAL mode by default; PostgreSQL through Django's psycopg 3 pool when configured."""
    database = env.url_config(
        "DATABASE_URL",
        parse=_database_url_config,
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        example="postgres://user:password@host:5432/name or sqlite:////path/db.sqlite3",
    )
    if database["ENGINE"] == "django.db.backends.sqlite3":
        database["OPTIONS"] = {
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;"
            ),
            "transaction_mode": "IMMEDIATE",
        }
    elif database["ENGINE"] == "django.db.backends.postgresql" and env.bool(
        "DATABASE_POOL", default=True
    ):
        database["CONN_MAX_AGE"] = 0
        # Added beside the URL's own options (``?sslmode=require`` and other libpq parameters).
        database.setdefault("OPTIONS", {})["pool"] = {
            "min_size": env.int("DATABASE_POOL_MIN_SIZE", default=2),
            "max_size": env.int("DATABASE_POOL_MAX_SIZE", default=10, minimum=1),
            "timeout": env.int("DATABASE_POOL_TIMEOUT", default=10, minimum=1),
        }
    return database


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
