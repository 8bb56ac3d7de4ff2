"""Apps add to the platform through engagement.registry, from their AppConfig.ready() only."""

import importlib
from collections.abc import Iterator
from typing import Any

import pytest
from celery.schedules import crontab
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings
from django.urls import URLResolver, clear_url_caches, reverse

from engagement import celery_app
from engagement import urls as site_urls
from engagement.api.throttling import ScopedClientRateThrottle
from engagement.registry import Registry, registry


class Readiness:
    """Stands in for ``apps.ready``: apps register while it is false, read once it is true."""

    def __init__(self) -> None:
        self.ready = False

    def __call__(self) -> bool:
        return self.ready


@pytest.fixture
def readiness() -> Readiness:
    return Readiness()


@pytest.fixture
def fresh(readiness: Readiness) -> Registry:
    return Registry(apps_ready=readiness)


def test_scopes_are_read_in_registration_order(fresh: Registry, readiness: Readiness) -> None:
    fresh.add_api_key_scopes([("b:write", "Write b")])
    fresh.add_api_key_scopes([("a:read", "Read a")])
    readiness.ready = True
    assert fresh.api_key_scopes() == {"b:write": "Write b", "a:read": "Read a"}


def test_nothing_is_read_before_every_app_is_ready(fresh: Registry) -> None:
    fresh.add_api_key_scopes([("a:read", "Read a")])
    with pytest.raises(ImproperlyConfigured, match="only once every app is ready"):
        fresh.api_key_scopes()
    with pytest.raises(ImproperlyConfigured, match="only once every app is ready"):
        fresh.api_url_modules()


def test_registering_after_start_up_is_refused(fresh: Registry, readiness: Readiness) -> None:
    readiness.ready = True
    with pytest.raises(ImproperlyConfigured, match=r"from AppConfig\.ready\(\)"):
        fresh.add_api_urls("someapp.api.urls")


@pytest.mark.parametrize(
    "register",
    [
        lambda r: r.add_api_key_scopes([("a:read", "Read a")]),
        lambda r: r.add_throttle_rate("a", variable="THROTTLE_REGISTRY_TEST", default="1/min"),
        lambda r: r.add_api_urls("someapp.api.urls"),
        lambda r: r.add_site_urls("dashboard/", "someapp.urls"),
        lambda r: r.add_beat_schedule({"tick": {"task": "a.tick", "schedule": 60}}),
        lambda r: r.add_schema_enum_names({"AEnum": "someapp.models.A"}),
        lambda r: r.add_settings({"REGISTRY_TEST_TWICE": 1}),
        lambda r: r.set_user_scope_provider(object()),
    ],
)
def test_one_name_registered_twice_is_refused(fresh: Registry, register: Any) -> None:
    register(fresh)
    with pytest.raises(ImproperlyConfigured, match="registered twice"):
        register(fresh)


def test_a_throttle_rate_comes_from_its_variable_or_default(
    fresh: Registry, readiness: Readiness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("THROTTLE_REGISTRY_TEST", "7/min")
    fresh.add_throttle_rate("set", variable="THROTTLE_REGISTRY_TEST", default="1/min")
    fresh.add_throttle_rate("unset", variable="THROTTLE_REGISTRY_UNSET", default="3/hour")
    readiness.ready = True
    assert fresh.throttle_rate("set") == "7/min"
    assert fresh.throttle_rate("unset") == "3/hour"
    with pytest.raises(ImproperlyConfigured, match="No rate is registered for throttle scope"):
        fresh.throttle_rate("unknown")


def test_a_malformed_rate_is_named(fresh: Registry, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THROTTLE_REGISTRY_TEST", "many")
    with pytest.raises(ImproperlyConfigured, match="THROTTLE_REGISTRY_TEST must be a rate"):
        fresh.add_throttle_rate("a", variable="THROTTLE_REGISTRY_TEST", default="1/min")


def test_live_tables_show_later_registrations(fresh: Registry) -> None:
    names, schedule = fresh.schema_enum_names, fresh.beat_schedule
    fresh.add_schema_enum_names({"AEnum": "someapp.models.A"})
    fresh.add_beat_schedule({"tick": {"task": "a.tick", "schedule": 60}})
    assert dict(names) == {"AEnum": "someapp.models.A"}
    assert schedule == {"tick": {"task": "a.tick", "schedule": 60}}


def test_learners_registers_its_scopes_throttle_routes_schedules_and_enums() -> None:
    assert list(registry.api_key_scopes()) == [
        "events:write",
        "xapi:write",
        "inbox:read",
        "learners:read",
    ]
    assert registry.throttle_rate("ingest") == "600/min"
    assert "learners.api.urls" in registry.api_url_modules()
    assert reverse("events-ingest") == "/api/v1/events/"
    assert registry.beat_schedule["rescore-daily"] == {
        "task": "learners.rescore_daily",
        "schedule": crontab(hour=2, minute=15),
    }
    assert settings.SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"] is registry.schema_enum_names
    assert registry.schema_enum_names["JobStatusEnum"] == "engagement.models.JobStatus"
    assert registry.schema_enum_names["RiskBandEnum"] == "learners.models.RiskBand"


def test_beat_runs_the_registered_schedule_of_known_tasks() -> None:
    assert celery_app.conf.beat_schedule is registry.beat_schedule
    assert {"rescore-daily", "rescore-stale", "risk-digest"} <= registry.beat_schedule.keys()
    celery_app.loader.import_default_modules()  # what a worker or beat does at start: every tasks.py
    assert {entry["task"] for entry in registry.beat_schedule.values()} <= set(celery_app.tasks)


def test_throttles_read_the_registered_rate_of_their_scope() -> None:
    throttle = ScopedClientRateThrottle()
    throttle.scope = "ingest"
    assert throttle.get_rate() == "600/min"
    throttle.scope = None
    assert throttle.get_rate() is None
    throttle.scope = "nobody-registered-this"
    with pytest.raises(ImproperlyConfigured, match="No rate is registered"):
        throttle.get_rate()


@pytest.fixture
def site_route(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The site URLconf rebuilt as if an app had registered ``probe/``; restored afterwards."""
    monkeypatch.setattr(registry, "site_urls", lambda: {"learners.api.urls": "probe/"})
    importlib.reload(site_urls)
    yield
    monkeypatch.undo()
    importlib.reload(site_urls)
    clear_url_caches()


@pytest.mark.usefixtures("site_route")
def test_the_site_serves_the_url_modules_apps_register() -> None:
    routes = {
        str(p.pattern): p.urlconf_name for p in site_urls.urlpatterns if isinstance(p, URLResolver)
    }
    assert routes["probe/"].__name__ == "learners.api.urls"


def test_app_settings_become_settings_unless_the_project_sets_them(fresh: Registry) -> None:
    with override_settings(REGISTRY_TEST_PROJECT="project", REGISTRY_TEST_APP=None):
        del settings.REGISTRY_TEST_APP  # as if no project setting named it
        fresh.add_settings({"REGISTRY_TEST_PROJECT": "app", "REGISTRY_TEST_APP": 7})
        assert settings.REGISTRY_TEST_PROJECT == "project"
        assert settings.REGISTRY_TEST_APP == 7


def test_learners_brings_its_own_tunables() -> None:
    """The platform's settings package names none of them; the app registers them."""
    from engagement.settings import limits
    from learners.conf import tunables

    assert set(tunables()).isdisjoint(vars(limits))
    assert {name: getattr(settings, name) for name in tunables()} == tunables()


def test_a_medium_band_capacity_below_the_high_one_stops_start_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from learners.conf import tunables

    monkeypatch.setenv("RISK_HIGH_BAND_CAPACITY", "0.25")
    monkeypatch.setenv("RISK_MEDIUM_BAND_CAPACITY", "0.1")
    with pytest.raises(ImproperlyConfigured, match="must be at least RISK_HIGH_BAND_CAPACITY"):
        tunables()
    monkeypatch.setenv("RISK_MEDIUM_BAND_CAPACITY", "0.25")  # equal: an empty medium band, allowed
    assert tunables()["RISK_MEDIUM_BAND_CAPACITY"] == 0.25
