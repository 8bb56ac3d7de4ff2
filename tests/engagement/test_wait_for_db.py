"""``wait_for_db``: back-off with jitter until the database answers, bounded by ``--timeout``."""

import copy
import random
import socket
from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import OperationalError, connections
from django.db.backends.postgresql.base import DatabaseWrapper as PostgreSQLWrapper

from engagement import database_wait
from engagement.database_wait import Backoff, DatabaseUnavailable, wait_for_database


class _FakeTime:
    """A clock that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class _Refusing:
    """A database that refuses ``times`` connections, then answers; counts the attempts."""

    def __init__(self, times: int) -> None:
        self.times = times
        self.calls = 0

    def __call__(self, alias: str, connect_timeout: float) -> None:
        self.calls += 1
        if self.calls <= self.times:
            raise OperationalError("connection refused")


def test_a_database_that_refuses_then_answers_is_waited_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    database = _Refusing(3)
    monkeypatch.setattr(database_wait, "database_answers", database)
    fake = _FakeTime()
    attempts = wait_for_database(
        timeout=60, rng=random.Random(1), sleep=fake.sleep, clock=lambda: fake.now
    )
    assert attempts == 4
    assert database.calls == 4
    assert len(fake.sleeps) == 3
    bounds = [0.5, 1.0, 2.0]  # the exponential bounds the jittered waits stay under
    assert all(0 <= wait <= bound for wait, bound in zip(fake.sleeps, bounds, strict=True))


def test_jittered_waits_grow_exponentially_up_to_the_ceiling() -> None:
    backoff = Backoff(first=1, factor=2, ceiling=5)
    rng = random.Random(7)
    waits = [[backoff.delay(attempt, rng) for _ in range(200)] for attempt in range(5)]
    assert [round(max(w), 1) for w in waits] == [1.0, 2.0, 4.0, 5.0, 5.0]
    assert len({round(w, 6) for w in waits[2]}) > 100  # jittered, not one fixed delay


def test_giving_up_after_the_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(database_wait, "database_answers", _Refusing(10_000))
    fake = _FakeTime()
    with pytest.raises(DatabaseUnavailable, match=r"within 5 s \(\d+ attempts\): connection"):
        wait_for_database(timeout=5, sleep=fake.sleep, clock=lambda: fake.now)
    assert fake.now == pytest.approx(5)  # the last wait is cut to the deadline


def test_the_command_exits_non_zero_when_it_gives_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(database_wait, "database_answers", _Refusing(10_000))
    monkeypatch.setattr(database_wait.time, "sleep", lambda seconds: None)
    with pytest.raises(CommandError, match=r"^Giving up: the database did not answer within 0 s"):
        call_command("wait_for_db", "--timeout", "0", stderr=StringIO())


@pytest.mark.django_db
def test_the_command_returns_once_the_real_database_answers() -> None:
    out = StringIO()
    call_command("wait_for_db", "--timeout", "5", stdout=out)
    assert out.getvalue() == "Database ready after 1 attempt.\n"


def test_the_command_refuses_an_unknown_alias() -> None:
    with pytest.raises(CommandError, match=r"no database alias 'nope'"):
        call_command("wait_for_db", "--database", "nope")


@pytest.fixture
def pooled_database_nobody_listens_on(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A PostgreSQL alias with Django's pool on, at a port bound but not listening (refused)."""
    with socket.socket() as bound:
        bound.bind(("127.0.0.1", 0))
        settings_dict = copy.deepcopy(connections["default"].settings_dict)
        settings_dict.update(
            ENGINE="django.db.backends.postgresql",
            NAME="nothing",
            USER="postgres",
            HOST="127.0.0.1",
            PORT=str(bound.getsockname()[1]),
            CONN_MAX_AGE=0,
            OPTIONS={"pool": {"min_size": 1, "max_size": 2, "timeout": 10}},
        )
        monkeypatch.setitem(connections.settings, "dead", settings_dict)
        yield "dead"
        del connections["dead"]


def test_with_the_pool_on_each_attempt_is_a_direct_connection_within_the_deadline(
    pooled_database_nobody_listens_on: str, django_db_blocker: Any
) -> None:
    """The pool's own wait (10 s here) would make one attempt of a 3 s wait; direct ones do not."""
    fake = _FakeTime()
    retries: list[int] = []
    with (
        django_db_blocker.unblock(),
        pytest.raises(DatabaseUnavailable, match=r"within 3 s \(\d+ attempts\): connection"),
    ):
        wait_for_database(
            timeout=3,
            alias=pooled_database_nobody_listens_on,
            sleep=fake.sleep,
            clock=lambda: fake.now,
            on_retry=lambda attempt, delay, error: retries.append(attempt),
        )
    assert len(retries) >= 2
    assert fake.now == pytest.approx(3)
    assert pooled_database_nobody_listens_on not in PostgreSQLWrapper._connection_pools


def test_one_attempt_is_said_in_the_singular(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(database_wait, "database_answers", _Refusing(10_000))
    with pytest.raises(DatabaseUnavailable, match=r"\(1 attempt\)"):
        wait_for_database(timeout=0)
