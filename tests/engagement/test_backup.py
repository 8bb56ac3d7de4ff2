"""``backup`` and ``restore``: a backup restored into a fresh database holds the same rows."""

from collections.abc import Iterator, Mapping
from contextlib import closing
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from engagement.backup import POSTGRESQL, SQLITE, database_vendor, restore_database
from learners.models import Learner
from tests.factories import ActivityEventFactory, LearnerFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _contents(cursor: Any, tables: list[str]) -> dict[str, Any]:
    """Row counts of every table, and the learners' stored rows (encrypted columns as stored)."""
    contents: dict[str, Any] = {}
    for table in tables:
        cursor.execute(f'SELECT COUNT(*) FROM "{table}"')  # noqa: S608 - introspected names
        contents[table] = cursor.fetchone()[0]
    cursor.execute(
        f'SELECT id, external_id, name, email, status FROM "{Learner._meta.db_table}" ORDER BY id'  # noqa: S608
    )
    contents["learner rows"] = [tuple(map(str, row)) for row in cursor.fetchall()]
    return contents


def _live_contents() -> dict[str, Any]:
    with connection.cursor() as cursor:
        temporary = _temporary_tables(cursor)
        tables = connection.introspection.table_names(cursor)
        return _contents(cursor, [table for table in tables if table not in temporary])


def _temporary_tables(cursor: Any) -> set[str]:
    """The session's own temporary tables (ingestion's staging tables on PostgreSQL, kept empty
    between batches), which belong to no backup."""
    if connection.vendor != "postgresql":
        return set()
    cursor.execute("SELECT relname FROM pg_class WHERE relpersistence = 't'")
    return {name for (name,) in cursor.fetchall()}


@pytest.fixture
def some_data() -> None:
    for learner in LearnerFactory.create_batch(3):
        ActivityEventFactory.create_batch(2, learner=learner)


@pytest.fixture
def fresh_database(tmp_path: Path) -> Iterator[Mapping[str, Any]]:
    """An empty database of the same kind as the test database."""
    live = connection.settings_dict
    if connection.vendor == "sqlite":
        yield {"ENGINE": "django.db.backends.sqlite3", "NAME": str(tmp_path / "fresh.sqlite3")}
        return
    import psycopg

    fresh = {**live, "NAME": f"{live['NAME']}_restore"}
    admin_settings = {"host": live["HOST"], "port": live["PORT"], "user": live["USER"]}
    if live.get("PASSWORD"):
        admin_settings["password"] = live["PASSWORD"]
    with psycopg.connect(dbname="postgres", autocommit=True, **admin_settings) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{fresh["NAME"]}"')
        admin.execute(f'CREATE DATABASE "{fresh["NAME"]}"')
        try:
            yield fresh
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{fresh["NAME"]}" WITH (FORCE)')


def _fresh_contents(fresh: Mapping[str, Any], tables: list[str]) -> dict[str, Any]:
    if database_vendor(fresh) == SQLITE:
        import sqlite3

        with closing(sqlite3.connect(fresh["NAME"])) as database:
            return _contents(database.cursor(), tables)
    import psycopg

    assert database_vendor(fresh) == POSTGRESQL
    with psycopg.connect(
        dbname=fresh["NAME"], host=fresh["HOST"], port=fresh["PORT"], user=fresh["USER"]
    ) as database:
        return _contents(database.cursor(), tables)


def test_a_backup_restored_into_a_fresh_database_holds_the_same_rows(
    some_data: None, fresh_database: Mapping[str, Any], tmp_path: Path
) -> None:
    backup = tmp_path / "engagement.backup"
    out = StringIO()
    call_command("backup", str(backup), stdout=out)
    assert out.getvalue().startswith(f"Backed up to {backup} (")
    restore_database(fresh_database, backup)
    live = _live_contents()
    assert live[Learner._meta.db_table] == 3
    assert _fresh_contents(fresh_database, [t for t in live if t != "learner rows"]) == live


def test_restore_brings_back_what_was_lost_since_the_backup(
    some_data: None, tmp_path: Path
) -> None:
    backup = tmp_path / "engagement.backup"
    call_command("backup", str(backup), stdout=StringIO())
    before = _live_contents()
    Learner.objects.order_by("pk").first().delete()
    LearnerFactory()
    call_command("restore", str(backup), "--noinput", stdout=StringIO())
    assert _live_contents() == before


def test_restore_of_a_missing_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match=r"nope\.backup: no such backup file\.$"):
        call_command("restore", str(tmp_path / "nope.backup"), "--noinput")


def test_backup_into_a_missing_directory_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match=r"no such directory\.$"):
        call_command("backup", str(tmp_path / "missing" / "x.backup"))


@pytest.mark.parametrize(
    ("answering", "refusal"),
    [
        ({"builtins.input": lambda prompt: "no"}, r"^Restore cancelled\.$"),
        # `restore PATH < /dev/null`: input() meets the end of the input
        ({"sys.stdin": StringIO("")}, r"^No answer .* use --noinput to restore without asking\.$"),
    ],
    ids=["no", "no terminal"],
)
def test_restore_without_a_yes_replaces_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, answering: dict[str, Any], refusal: str
) -> None:
    backup = tmp_path / "engagement.backup"
    call_command("backup", str(backup), stdout=StringIO())
    learner = LearnerFactory()
    for target, value in answering.items():
        monkeypatch.setattr(target, value)
    with pytest.raises(CommandError, match=refusal):
        call_command("restore", str(backup), stdout=StringIO())
    assert Learner.objects.filter(pk=learner.pk).exists()
