"""What apps add to the platform, registered from each app's ``AppConfig.ready()``.

``engagement`` names no app: an app registers its API key scopes, throttle scopes and rates, URL
modules, dashboard navigation, job kinds, beat schedule entries, schema enum names, outbox channels and
metrics collectors here,
and the platform builds its API-key validation, throttles, URLconf, Celery beat, OpenAPI
document and ``/metrics`` from what was registered. A new
app touches only its own folder plus its line in ``INSTALLED_APPS``.

Registering is for ``ready()`` only (before every app is ready); reading what was registered is
for after, so that nothing builds on half the apps.
"""

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from engagement.environment import Environment

if TYPE_CHECKING:
    from engagement.dashboard import NavEntry
    from engagement.models import Job
    from engagement.user_scopes import UserScopeProvider


class LiveMapping(Mapping[str, Any]):
    """A read-only view of a registry table, for a setting read only once the apps are ready."""

    def __init__(self, table: dict[str, Any]) -> None:
        self._table = table

    def __getitem__(self, key: str) -> Any:
        return self._table[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._table)

    def __len__(self) -> int:
        return len(self._table)

    def __repr__(self) -> str:
        return f"LiveMapping({self._table!r})"


#: ``links(job, viewer)``: the ``(text, url)`` pairs of the pages a job made or worked on.
JobLinks = Callable[["Job", Any], list[tuple[str, str]]]


@dataclass(frozen=True)
class JobKind:
    """A registered job kind: its id, its label, and the pages its jobs link to."""

    kind: str
    label: str
    links: JobLinks | None = None


class Registry:
    """The tables apps fill from ``ready()``; ``apps_ready`` tells whether every app is ready."""

    def __init__(self, *, apps_ready: Callable[[], bool]) -> None:
        self._apps_ready = apps_ready
        self._api_key_scopes: dict[str, str] = {}
        self._throttle_rates: dict[str, str] = {}
        self._api_url_modules: list[str] = []
        self._site_urls: dict[str, str] = {}
        self._dashboard_nav: dict[str, NavEntry] = {}
        self._job_kinds: dict[str, JobKind] = {}
        self.beat_schedule: dict[str, dict[str, Any]] = {}
        """Celery beat's table itself (``engagement/celery.py``); beat reads it after set-up."""
        self._schema_enum_names: dict[str, str] = {}
        self.schema_enum_names = LiveMapping(self._schema_enum_names)
        """drf-spectacular's ``ENUM_NAME_OVERRIDES`` (``engagement/settings/api.py``)."""
        self._outbox_channels: dict[str, Callable[[Any], None]] = {}
        self._user_scope_provider: UserScopeProvider | None = None
        self._settings: dict[str, Any] = {}
        self._metrics_collectors: list[Any] = []

    def _registering(self, what: str) -> None:
        if self._apps_ready():
            raise ImproperlyConfigured(
                f"Register {what} from AppConfig.ready(); every app is ready already."
            )

    def _reading(self, what: str) -> None:
        if not self._apps_ready():
            raise ImproperlyConfigured(
                f"The registered {what} are known only once every app is ready."
            )

    @staticmethod
    def _add(table: dict[str, Any], key: str, value: Any, *, what: str) -> None:
        if key in table:
            raise ImproperlyConfigured(f"{what} {key!r} is registered twice.")
        table[key] = value

    def add_api_key_scopes(self, choices: Iterable[tuple[str, str]]) -> None:
        """Scopes an API key may carry, as ``(value, label)`` pairs (a ``TextChoices.choices``)."""
        self._registering("API key scopes")
        for value, label in choices:
            self._add(self._api_key_scopes, value, label, what="API key scope")

    def api_key_scopes(self) -> dict[str, str]:
        """Every registered scope and its label, in registration order."""
        self._reading("API key scopes")
        return dict(self._api_key_scopes)

    def add_throttle_rate(self, scope: str, *, variable: str, default: str) -> None:
        """A throttle scope whose rate the environment variable ``variable`` may override."""
        self._registering("throttle rates")
        rate = Environment().rate(variable, default=default)
        self._add(self._throttle_rates, scope, rate, what="Throttle scope")

    def throttle_rate(self, scope: str) -> str:
        self._reading("throttle rates")
        try:
            return self._throttle_rates[scope]
        except KeyError:
            raise ImproperlyConfigured(
                f"No rate is registered for throttle scope {scope!r}."
            ) from None

    def add_api_urls(self, module: str) -> None:
        """A URLconf module (dotted path) whose routes join ``/api/v1/``."""
        self._registering("API URLs")
        if module in self._api_url_modules:
            raise ImproperlyConfigured(f"API URL module {module!r} is registered twice.")
        self._api_url_modules.append(module)

    def api_url_modules(self) -> tuple[str, ...]:
        self._reading("API URL modules")
        return tuple(self._api_url_modules)

    def add_site_urls(self, route: str, module: str) -> None:
        """A URLconf module (dotted path) served under ``route`` of the site (pages, dashboards).

        Several apps may share a prefix (each adds its own pages under ``dashboard/``); a module
        is registered once.
        """
        self._registering("site URLs")
        self._add(self._site_urls, module, route, what="Site URL module")

    def site_urls(self) -> dict[str, str]:
        """URLconf module to its route prefix, in registration order."""
        self._reading("site URLs")
        return dict(self._site_urls)

    def add_dashboard_nav(self, entry: "NavEntry") -> None:
        """A link of the dashboard's navigation (see :mod:`engagement.dashboard`)."""
        self._registering("dashboard navigation")
        self._add(self._dashboard_nav, entry.key, entry, what="Dashboard navigation entry")

    def dashboard_nav(self) -> tuple["NavEntry", ...]:
        """Every navigation entry, in their declared order."""
        self._reading("dashboard navigation")
        return tuple(sorted(self._dashboard_nav.values(), key=lambda entry: entry.order))

    def add_job_kind(self, kind: str, label: str, *, links: JobLinks | None = None) -> None:
        """A kind of background job (its task's Celery name) and the words the jobs pages show
        for it; ``links(job, viewer)`` names the pages a job of this kind made or worked on
        that the viewer may open, as ``(text, url)`` pairs."""
        self._registering("job kinds")
        self._add(self._job_kinds, kind, JobKind(kind, label, links), what="Job kind")

    def job_kinds(self) -> dict[str, "JobKind"]:
        """Every registered job kind, in registration order."""
        self._reading("job kinds")
        return dict(self._job_kinds)

    def add_beat_schedule(self, entries: Mapping[str, dict[str, Any]]) -> None:
        """Celery beat entries (name to ``{"task": ..., "schedule": ...}``)."""
        self._registering("beat schedules")
        for name, entry in entries.items():
            self._add(self.beat_schedule, name, entry, what="Beat schedule entry")

    def add_settings(self, values: Mapping[str, Any]) -> None:
        """An app's own tunables (read from the environment in its ``ready()``) become Django
        settings of the same name, unless the project's settings define them already; code reads
        ``settings.NAME`` and tests override it as any setting."""
        self._registering("settings")
        for name, value in values.items():
            self._add(self._settings, name, value, what="Setting")
            if not hasattr(settings, name):
                setattr(settings, name, value)

    def add_schema_enum_names(self, names: Mapping[str, str]) -> None:
        """OpenAPI component names for choice sets (name to the choices' dotted path)."""
        self._registering("schema enum names")
        for name, choices in names.items():
            self._add(self._schema_enum_names, name, choices, what="Schema enum name")

    def add_outbox_channel(self, name: str, handler: Callable[[Any], None]) -> None:
        """A channel of :mod:`engagement.outbox`: ``handler(message)`` sends one message or raises."""
        self._registering("outbox channels")
        self._add(self._outbox_channels, name, handler, what="Outbox channel")

    def outbox_channel(self, name: str) -> Callable[[Any], None] | None:
        self._reading("outbox channels")
        return self._outbox_channels.get(name)

    def add_metrics_collector(self, collector: Any) -> None:
        """A prometheus-client collector read on every scrape of ``/metrics`` (web processes
        only): figures that come from the database rather than from events, such as the current
        risk bands. Its ``collect()`` must be cheap (cache what it reads)."""
        self._registering("metrics collectors")
        if collector in self._metrics_collectors:
            raise ImproperlyConfigured(f"Metrics collector {collector!r} is registered twice.")
        self._metrics_collectors.append(collector)

    def metrics_collectors(self) -> tuple[Any, ...]:
        self._reading("metrics collectors")
        return tuple(self._metrics_collectors)

    def set_user_scope_provider(self, provider: "UserScopeProvider") -> None:
        """The app that owns cohorts tells user management which cohorts a user works with."""
        self._registering("the user scope provider")
        if self._user_scope_provider is not None:
            raise ImproperlyConfigured("A user scope provider is registered twice.")
        self._user_scope_provider = provider

    def user_scope_provider(self) -> "UserScopeProvider | None":
        """The registered provider, or ``None`` when no installed app assigns cohorts."""
        self._reading("user scope provider")
        return self._user_scope_provider


registry = Registry(apps_ready=lambda: apps.ready)
