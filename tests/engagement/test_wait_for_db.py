"""``wait_for_db``: back-off with jitter until the database answers, bounded by ``--timeout``."""

import random
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import OperationalError

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

    def __call__(self, alias: str = "default") -> None:
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
    assert out.getvalue() == "Database ready after 1 attempt(s).\n"


def test_the_command_refuses_an_unknown_alias() -> None:
    with pytest.raises(CommandError, match=r"no database alias 'nope'"):
        call_command("wait_for_db", "--database", "nope")
