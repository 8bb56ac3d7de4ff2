"""The scratch PostgreSQL database of a benchmark: its options and administration, on
127.0.0.1 only. Only the scratch database is ever created and dropped."""

import argparse

import psycopg

SERVER = "postgres://postgres@127.0.0.1:5432"


def scratch_arguments(parser: argparse.ArgumentParser, *, default: str) -> None:
    """``--keep-db``, ``--reuse-db`` and ``--database`` (the scratch database's name)."""
    parser.add_argument(
        "--keep-db", action="store_true", help="Leave the scratch database for another run."
    )
    parser.add_argument(
        "--reuse-db", action="store_true", help="Use the database a --keep-db run left."
    )
    parser.add_argument(
        "--database", default=default, help="The scratch database (dropped unless --keep-db)."
    )


def admin_execute(sql: str) -> None:
    """One statement on the server's ``postgres`` database (create or drop the scratch one)."""
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as connection:
        connection.execute(sql)
