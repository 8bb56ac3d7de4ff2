"""Data for the nudges page tests: two cohorts (the coach works with the first), a learner in
each, staff of every role, and nudges written straight to the table."""

import importlib
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from learners.models import Cohort, Learner
from nudges.models import Channel, Nudge, NudgeSource, NudgeStatus
from tests.factories import CohortAssignmentFactory, CohortFactory, LearnerFactory, UserFactory


@dataclass
class World:
    mine: Cohort
    other: Cohort
    learner: Learner  # in the coach's cohort
    outsider: Learner  # in the other cohort
    coach: Any
    admin: Any
    analyst: Any


def make_world() -> World:
    mine, other = CohortFactory(name="Mine"), CohortFactory(name="Other")
    coach = UserFactory(username="coach", role="coach")
    CohortAssignmentFactory(user=coach, cohort=mine)
    return World(
        mine=mine,
        other=other,
        learner=LearnerFactory(cohort=mine, name="Ann Inside", external_id="in-1"),
        outsider=LearnerFactory(cohort=other, name="Otto Outside", external_id="out-1"),
        coach=coach,
        admin=UserFactory(username="boss", role="admin"),
        analyst=UserFactory(username="analyst", role="analyst"),
    )


def nudge(learner: Learner, **fields: Any) -> Nudge:
    """A stored nudge: a template draft by email unless ``fields`` say otherwise."""
    values: dict[str, Any] = {
        "channel": Channel.EMAIL,
        "source": NudgeSource.TEMPLATE,
        "status": NudgeStatus.DRAFT,
        "subject": f"A word for {learner.name.split()[0]}",
        "body": f"Hello {learner.name.split()[0]}, your course misses you.",
    }
    return Nudge.objects.create(learner=learner, **(values | fields))


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


class Calls:
    """A stand-in for a service function: records each call's keyword arguments and answers
    with ``answer(**kwargs)``."""

    def __init__(self, answer: Any) -> None:
        self.answer = answer
        self.calls: list[dict[str, Any]] = []

    def __call__(self, **kwargs: Any) -> Any:
        self.calls.append(kwargs)
        return self.answer(**kwargs)


def service_module(monkeypatch: pytest.MonkeyPatch, name: str, **functions: Any) -> None:
    """Serve ``functions`` in place of those of the module ``nudges.<name>`` for this test (the
    pages call the services through their module)."""
    module = importlib.import_module(f"nudges.{name}")
    for function_name, function in functions.items():
        monkeypatch.setattr(module, function_name, function)
