from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "analytics"
    verbose_name = "Analytics"

    def ready(self) -> None:
        """Add the dashboard pages, their navigation, the API, the settings and the snapshot
        schedule to the platform."""
        from analytics.conf import tunables
        from analytics.schedules import BEAT_SCHEDULE
        from engagement.dashboard import NavEntry
        from engagement.registry import registry

        registry.add_settings(tunables())
        registry.add_site_urls("dashboard/", "analytics.urls")
        registry.add_api_urls("analytics.api.urls")
        registry.add_beat_schedule(BEAT_SCHEDULE)
        registry.add_dashboard_nav(
            NavEntry(key="overview", label="Overview", url_name="dashboard", order=10)
        )
        registry.add_dashboard_nav(
            NavEntry(key="cohorts", label="Cohorts", url_name="dashboard-cohorts", order=30)
        )
