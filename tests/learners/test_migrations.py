"""Data migrations, run forward over rows written by the schema before them."""

import importlib
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from learners.models import CohortAssignment, Learner, RiskModel

BEFORE_FINISHED_AT = [("learners", "0008_drop_redundant_event_learner_index")]


@pytest.mark.django_db(transaction=True)
def test_finished_learners_are_stamped_with_when_they_finished() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE_FINISHED_AT)
    old = executor.loader.project_state(BEFORE_FINISHED_AT).apps
    Cohort, OldLearner = old.get_model("learners", "Cohort"), old.get_model("learners", "Learner")
    closed = Cohort.objects.create(name="Closed", starts_on="2026-01-05", ends_on="2026-04-30")
    self_paced = Cohort.objects.create(name="Self-paced", starts_on="2026-01-05")

    def learner(external_id: str, cohort: object, status: str, **extra: object) -> object:
        return OldLearner.objects.create(
            cohort=cohort,
            source="lms",
            external_id=external_id,
            status=status,
            enrolled_at="2026-01-05T09:00:00Z",
            **extra,
        )

    withdrawn = learner("w", closed, "withdrawn")
    completed = learner(
        "c", self_paced, "completed", last_active_at=datetime(2026, 3, 3, tzinfo=UTC)
    )
    studying = learner("a", closed, "active")

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    stamped = dict(Learner.objects.values_list("pk", "finished_at"))
    assert stamped[withdrawn.pk] == datetime(2026, 5, 1, tzinfo=UTC)
    assert stamped[completed.pk] == datetime(2026, 3, 3, tzinfo=UTC)
    assert stamped[studying.pk] is None


BEFORE_PROGRESS_FROM_SCORING = [("learners", "0012_other_event_kind")]


@pytest.mark.django_db(transaction=True)
def test_progress_becomes_the_explained_one_and_unscored_learners_wait_for_scoring() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE_PROGRESS_FROM_SCORING)
    old = executor.loader.project_state(BEFORE_PROGRESS_FROM_SCORING).apps
    Cohort, OldLearner = old.get_model("learners", "Cohort"), old.get_model("learners", "Learner")
    RiskModel = old.get_model("learners", "RiskModel")
    Assessment = old.get_model("learners", "RiskAssessment")
    cohort = Cohort.objects.create(name="Spring", starts_on="2026-01-05")
    model = RiskModel.objects.create(version=99, kind="rules", parameters={}, is_active=False)
    scored_at = datetime(2026, 3, 1, tzinfo=UTC)

    def learner(external_id: str, **extra: object) -> object:
        return OldLearner.objects.create(
            cohort=cohort,
            source="lms",
            external_id=external_id,
            enrolled_at="2026-01-05T09:00:00Z",
            **extra,
        )

    scored = learner("s", progress=0.0, risk_scored_at=scored_at, risk_score=0.2, risk_band="low")
    unscored = learner("u", progress=0.4)
    for when, actual in ((datetime(2026, 2, 1, tzinfo=UTC), 0.25), (scored_at, 0.75)):
        Assessment.objects.create(
            learner=scored,
            model=model,
            as_of=when,
            score=0.2,
            band="low",
            factors=[],
            features={"values": {}, "raw": {"actual_progress": actual}, "little_data": False},
            computed_at=when,
        )

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    after = {row.pk: row for row in Learner.objects.all()}
    assert after[scored.pk].progress == 0.75 and not after[scored.pk].risk_stale
    assert after[unscored.pk].progress == 0.4 and after[unscored.pk].risk_stale


BEFORE_ASSIGNMENTS = [("learners", "0016_timezone_validators")]
ASSIGNMENTS = [("learners", "0017_cohort_assignment")]


@pytest.mark.django_db(transaction=True)
def test_coach_cohort_permissions_become_assignments_and_back() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE_ASSIGNMENTS)
    old = executor.loader.project_state(BEFORE_ASSIGNMENTS).apps
    Cohort, User = old.get_model("learners", "Cohort"), old.get_model("engagement", "User")
    Grant, Permission = (
        old.get_model("learners", "CohortCoachPermission"),
        old.get_model("auth", "Permission"),
    )
    work_with = Permission.objects.get(
        codename="work_with_cohort", content_type__app_label="learners"
    )
    view_only = Permission.objects.get(codename="view_cohort", content_type__app_label="learners")
    spring = Cohort.objects.create(name="Spring", starts_on="2026-01-05")
    autumn = Cohort.objects.create(name="Autumn", starts_on="2026-09-01")
    ada = User.objects.create(username="ada", role="coach")
    bo = User.objects.create(username="bo", role="coach")
    for user, cohort, permission in (
        (ada, spring, work_with),
        (ada, autumn, work_with),
        (bo, autumn, view_only),
    ):
        Grant.objects.create(user=user, content_object=cohort, permission=permission)
    granted = {(ada.pk, spring.pk), (ada.pk, autumn.pk)}

    executor = MigrationExecutor(connection)
    executor.migrate(ASSIGNMENTS)
    new = executor.loader.project_state(ASSIGNMENTS).apps
    assignments = new.get_model("learners", "CohortAssignment").objects
    assert set(assignments.values_list("user_id", "cohort_id")) == granted

    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE_ASSIGNMENTS)
    grants = Grant.objects.filter(permission__codename="work_with_cohort")
    assert set(grants.values_list("user_id", "content_object_id")) == granted

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    assert set(CohortAssignment.objects.values_list("user_id", "cohort_id")) == granted


BEFORE_RULES_SINCE_ENROLMENT = [("learners", "0020_risk_model_kind_boosted")]
RULES_SINCE_ENROLMENT = [("learners", "0021_rules_risk_model_since_enrolment")]


def _risk_models_at(target: list[tuple[str, str]], *models: tuple[int, str, bool]) -> Any:
    """Migrate to ``target`` and leave exactly ``models`` (version, kind, active) stored."""
    executor = MigrationExecutor(connection)
    executor.migrate(target)
    risk_model = executor.loader.project_state(target).apps.get_model("learners", "RiskModel")
    risk_model.objects.all().delete()
    for version, kind, active in models:
        risk_model.objects.create(version=version, kind=kind, parameters={}, is_active=active)
    return risk_model


def _migrate(target: list[tuple[str, str]] | None = None) -> None:
    """Migrate to ``target``, by default the latest state."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(target or executor.loader.graph.leaf_nodes())


def _stored_models() -> list[tuple[int, str, bool]]:
    return list(RiskModel.objects.order_by("version").values_list("version", "kind", "is_active"))


@pytest.mark.django_db(transaction=True)
def test_rules_since_enrolment_take_over_from_the_shipped_rules_and_back() -> None:
    _risk_models_at(BEFORE_RULES_SINCE_ENROLMENT, (1, "rules", True))

    _migrate(RULES_SINCE_ENROLMENT)
    assert _stored_models() == [(1, "rules", False), (2, "rules", True)]
    shipped = importlib.import_module("learners.migrations.0021_rules_risk_model_since_enrolment")
    assert RiskModel.objects.get(version=2).parameters == shipped.RULES_PARAMETERS

    _migrate(BEFORE_RULES_SINCE_ENROLMENT)
    assert _stored_models() == [(1, "rules", True)]
    _migrate()


@pytest.mark.django_db(transaction=True)
def test_rules_since_enrolment_leave_an_activated_trained_model_active() -> None:
    _risk_models_at(BEFORE_RULES_SINCE_ENROLMENT, (1, "rules", False), (2, "logistic", True))

    _migrate(RULES_SINCE_ENROLMENT)

    assert _stored_models() == [(1, "rules", False), (2, "logistic", True), (3, "rules", False)]
    _migrate(BEFORE_RULES_SINCE_ENROLMENT)
    assert _stored_models() == [(1, "rules", False), (2, "logistic", True)]
    _migrate()


@pytest.mark.parametrize(
    ("name", "count"), [("0024_caseload_indexes", 4), ("0027_caseload_band_indexes", 2)]
)
def test_caseload_indexes_build_concurrently_on_postgresql_only(name: str, count: int) -> None:
    """Writes to learners go on while PostgreSQL builds them (outside a transaction)."""
    module = importlib.import_module(f"learners.migrations.{name}")
    assert module.Migration.atomic is False
    (operation,) = module.Migration.operations
    for vendor, concurrently in (("postgresql", True), ("sqlite", False)):
        executed: list[str] = []
        editor = SimpleNamespace(connection=SimpleNamespace(vendor=vendor), execute=executed.append)
        operation.code(None, editor)
        operation.reverse_code(None, editor)
        assert len(executed) == 2 * count
        assert all(("CONCURRENTLY" in sql) == concurrently for sql in executed)
        assert executed[0].endswith("WHERE status IN ('active', 'paused')")
