"""One parameter for a set of ids, on SQLite and PostgreSQL alike."""

import pytest

from engagement.id_sets import id_subquery
from engagement.ids import uuid7
from learners.models import Learner
from tests.factories import LearnerFactory

pytestmark = pytest.mark.django_db


def test_the_subquery_selects_exactly_the_ids_given() -> None:
    wanted, other = LearnerFactory.create_batch(3), LearnerFactory()
    ids = [learner.pk for learner in wanted] + [uuid7()]  # an id of no row changes nothing
    selected = Learner.objects.filter(pk__in=id_subquery(ids)).values_list("pk", flat=True)
    assert set(selected) == {learner.pk for learner in wanted}
    assert other.pk not in set(selected)
    _, params = selected.query.sql_with_params()
    assert len(params) == 1  # one parameter, not one per id


def test_no_ids_select_nothing() -> None:
    LearnerFactory()
    assert not Learner.objects.filter(pk__in=id_subquery([])).exists()
