"""The scratch PostgreSQL database of a benchmark: its options and administration, on
127.0.0.1 only. Only the scratch database is ever created and dropped."""

import argparse
import json
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

SERVER = "postgres://postgres@127.0.0.1:5432"


def _database_name(value: str) -> str:
    """A name safe to write into ``CREATE`` and ``DROP DATABASE`` as it is."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", value):
        raise argparse.ArgumentTypeError("lower-case letters, digits and _")
    return value


def scratch_arguments(parser: argparse.ArgumentParser, *, default: str) -> None:
    """``--keep-db``, ``--reuse-db`` and ``--database`` (the scratch database's name)."""
    parser.add_argument(
        "--keep-db", action="store_true", help="Leave the scratch database for another run."
    )
    parser.add_argument(
        "--reuse-db", action="store_true", help="Use the database a --keep-db run left."
    )
    parser.add_argument(
        "--database",
        default=default,
        type=_database_name,
        help="The scratch database (dropped unless --keep-db): lower-case letters, digits and _.",
    )


def admin_execute(sql: str) -> None:
    """One statement on the server's ``postgres`` database (create or drop the scratch one)."""
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as connection:
        connection.execute(sql)


def scalars(database: str, queries: dict[str, str]) -> dict[str, Any]:
    """Each named query's one value, read from the scratch database (row counts, say)."""
    with psycopg.connect(f"{SERVER}/{database}") as connection:
        return {name: connection.execute(sql).fetchall()[0][0] for name, sql in queries.items()}


def run_and_report(
    args: argparse.Namespace,
    *,
    prefix: str,
    run: Callable[[argparse.Namespace, Path], dict[str, Any] | None],
    report: Callable[[dict[str, Any]], None],
) -> None:
    """Run a benchmark in a temporary working directory, drop its scratch database afterwards
    (even when it failed) unless ``--keep-db``, then print its results and write them to
    ``--json-out``. A run that returns ``None`` (set-up only) reports nothing."""
    try:
        with tempfile.TemporaryDirectory(prefix=prefix) as workdir:
            results = run(args, Path(workdir))
    finally:
        if not args.keep_db:
            admin_execute(f"DROP DATABASE IF EXISTS {args.database} WITH (FORCE)")
    if results is None:
        return
    report(results)
    if args.json_out:
        args.json_out.write_text(json.dumps(results, indent=2) + "\n")
