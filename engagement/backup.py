"""Backing up and restoring the whole database, in the database's own format.

PostgreSQL: ``pg_dump`` / ``pg_restore`` in the custom format (compressed, restorable table by
table; the client tools' major version must be at least the server's). SQLite: the online
backup API, a consistent page copy even while the application writes. Both act on a database
given by its Django settings, so a restore can target a fresh database as well as the configured
one.
"""

import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable, Mapping
from contextlib import closing
from pathlib import Path
from typing import Any

# Vendors by the last part of ENGINE: Django's backends and django-prometheus' instrumented ones.
POSTGRESQL = "postgresql"
SQLITE = "sqlite3"


class BackupFailed(Exception):
    """The dump or restore could not be made; the message says why in one line."""


def _sqlite_connect(database: Mapping[str, Any]) -> sqlite3.Connection:
    name = str(database["NAME"])
    return sqlite3.connect(name, uri=name.startswith("file:"))


def _sqlite_copy(
    source: Callable[[], sqlite3.Connection], target: Callable[[], sqlite3.Connection]
) -> None:
    """Copy every page of one database into another with SQLite's online backup."""
    try:
        with closing(source()) as reading, closing(target()) as writing:
            reading.backup(writing)
    except (sqlite3.Error, OSError) as error:
        raise BackupFailed(str(error)) from error


def _pg_tool(name: str) -> str:
    tool = shutil.which(name)
    if tool is None:
        raise BackupFailed(f"{name} is not installed (PostgreSQL client tools are needed)")
    return tool


def _pg_arguments(database: Mapping[str, Any]) -> list[str]:
    pairs = (("--host", "HOST"), ("--port", "PORT"), ("--username", "USER"))
    return [f"{flag}={database[key]}" for flag, key in pairs if database.get(key)]


def _pg_environment(database: Mapping[str, Any]) -> dict[str, str]:
    """The password travels in the environment, never on the command line (``ps`` shows it)."""
    environment = dict(os.environ)
    if database.get("PASSWORD"):
        environment["PGPASSWORD"] = str(database["PASSWORD"])
    if database.get("OPTIONS", {}).get("sslmode"):
        environment["PGSSLMODE"] = str(database["OPTIONS"]["sslmode"])
    return environment


def _run(command: list[str], database: Mapping[str, Any]) -> None:
    finished = subprocess.run(  # noqa: S603 - fixed tools, arguments built from settings
        command, env=_pg_environment(database), capture_output=True, text=True, check=False
    )
    if finished.returncode != 0:
        lines = finished.stderr.strip().splitlines() or [f"exit status {finished.returncode}"]
        raise BackupFailed(f"{Path(command[0]).name} failed: {lines[-1]}")


def database_vendor(database: Mapping[str, Any]) -> str:
    """``postgresql`` or ``sqlite3``, whichever package provides the backend."""
    engine = str(database["ENGINE"])
    vendor = engine.rsplit(".", 1)[-1]
    if vendor not in (POSTGRESQL, SQLITE):
        raise BackupFailed(f"backups of {engine} are not supported")
    return vendor


def backup_database(database: Mapping[str, Any], path: Path) -> None:
    """Write a full copy of ``database`` to ``path`` (replaced if it exists)."""
    if database_vendor(database) == SQLITE:
        path.unlink(missing_ok=True)
        _sqlite_copy(lambda: _sqlite_connect(database), lambda: sqlite3.connect(path))
        return
    _run(
        [
            _pg_tool("pg_dump"),
            *_pg_arguments(database),
            "--format=custom",
            "--no-owner",
            "--no-privileges",
            f"--file={path}",
            str(database["NAME"]),
        ],
        database,
    )


def restore_database(database: Mapping[str, Any], path: Path) -> None:
    """Replace the contents of ``database`` with the backup at ``path``, in one transaction."""
    if not path.is_file():
        raise BackupFailed(f"{path}: no such backup file")
    if database_vendor(database) == SQLITE:
        read_only = f"{path.resolve().as_uri()}?mode=ro"
        _sqlite_copy(
            lambda: sqlite3.connect(read_only, uri=True), lambda: _sqlite_connect(database)
        )
        return
    _run(
        [
            _pg_tool("pg_restore"),
            *_pg_arguments(database),
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
            f"--dbname={database['NAME']}",
            str(path),
        ],
        database,
    )
