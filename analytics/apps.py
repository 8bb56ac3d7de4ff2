from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "analytics"
    verbose_name = "Analytics"

    def ready(self) -> None:
        """Add the overview page and its navigation link to the dashboard."""
        from engagement.dashboard import NavEntry
        from engagement.registry import registry

        registry.add_site_urls("dashboard/", "analytics.urls")
        registry.add_dashboard_nav(
            NavEntry(key="overview", label="Overview", url_name="dashboard", order=10)
        )
